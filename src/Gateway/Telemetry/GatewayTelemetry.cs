using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Policy.Context;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;

namespace Gateway.Telemetry;

/// <summary>Why a client's request failed on the client's side (issue 9, defect 11): the bounded reason tag.</summary>
internal enum ClientFault
{
    /// <summary>Malformed framing: a bad chunk size, a body shorter than its Content-Length, invalid bytes.</summary>
    BadRequest = 0,

    /// <summary>The body arrived slower than Kestrel's MinRequestBodyDataRate.</summary>
    Timeout = 1,

    /// <summary>The client went away mid-request (reset, closed, aborted).</summary>
    Aborted = 2,
}

/// <summary>
/// The one holder of the gateway's <see cref="System.Diagnostics.ActivitySource"/> and <see cref="System.Diagnostics.Metrics.Meter"/>
/// (the opentelemetry-dotnet InstrumentationSource pattern). Names follow the semantic-convention style, every
/// instrument has a unit, and every tag set is bounded: protocols and actions are fixed sets, route and filter names
/// are capped (<see cref="MaxTagValues"/> distinct values, then "other").
/// <para>Privacy: no instrument or span takes message text, tokens or bodies; tags are names, counts and ids.</para>
/// <para>Cost when telemetry is off: nothing listens, so every <c>Add</c>/<c>Record</c> is skipped by checking
/// <c>Enabled</c> first and <see cref="System.Diagnostics.ActivitySource.StartActivity(string, ActivityKind)"/> returns null. The plain
/// totals kept for the admin /status page are a few interlocked increments.</para>
/// </summary>
internal sealed class GatewayTelemetry : IDisposable
{
    public const string SourceName = "Gateway";
    public const int MaxTagValues = 100;

    // Instrument names. The Grafana dashboard test reads the instruments this class publishes, so a rename here that
    // is not made in deploy/grafana/dashboards/gateway.json fails the tests.
    public const string MessagesInspected = "gateway.messages.inspected";
    public const string Verdicts = "gateway.verdicts";
    public const string EvaluationDuration = "gateway.evaluation.duration";
    public const string OpaqueMessages = "gateway.opaque.messages";
    public const string AclDenials = "gateway.acl.denials";
    public const string IpDenials = "gateway.ip.denials";
    public const string Reports = "gateway.reports";
    public const string ReportQueueDepth = "gateway.reports.queue_depth";
    public const string ContextConversations = "gateway.context.conversations";
    public const string ContextSize = "gateway.context.size";
    public const string ConfigReloads = "gateway.config.reloads";
    public const string ConfigVersion = "gateway.config.version";
    public const string ClientFaults = "gateway.client.faults";
    public const string RuleHits = "gateway.rule.hits";
    public const string CounterKeys = "gateway.counters.keys";
    public const string CounterEvictions = "gateway.counters.evictions";
    public const string SenderBlocks = "gateway.sender_blocks";

    // Span names.
    public const string ParseSpan = "gateway.adapter.parse";
    public const string EvaluateSpan = "gateway.evaluate";
    public const string ReportSpan = "gateway.report.send";

    // Tag keys.
    public const string ProtocolTag = "gateway.protocol";
    public const string RouteTag = "gateway.route";
    public const string ActionTag = "gateway.action";
    public const string FilterTag = "gateway.filter";
    public const string OpaqueKindTag = "gateway.opaque.kind";
    public const string OutcomeTag = "gateway.report.outcome";
    public const string ResultTag = "gateway.reload.result";
    public const string ReasonTag = "reason";
    public const string RuleTag = "gateway.rule";
    public const string DryRunTag = "gateway.dry_run";

    private static readonly string[] ActionNames = ["forward", "censor", "drop", "reject"];
    private static readonly string[] OpaqueNames = ["encrypted", "signed", "onion"];
    private static readonly string[] ClientFaultNames = ["bad_request", "timeout", "aborted"];

    // Seconds: a clean message evaluates in microseconds, a big regex set in milliseconds.
    private static readonly double[] DurationBuckets =
        [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

    private readonly Counter<long> _inspected;
    private readonly Counter<long> _verdicts;
    private readonly Histogram<double> _evaluationDuration;
    private readonly Counter<long> _opaque;
    private readonly Counter<long> _aclDenials;
    private readonly Counter<long> _ipDenials;
    private readonly Counter<long> _clientFaults;
    private readonly Counter<long> _ruleHits;
    private readonly BoundedTagValues _rules = new(MaxTagValues);
    private readonly TimeProvider _time;
    private readonly BoundedTagValues _routes = new(MaxTagValues);
    private readonly BoundedTagValues _filters = new(MaxTagValues);

    private readonly long[] _verdictTotals = new long[ActionNames.Length];
    private readonly long[] _opaqueTotals = new long[OpaqueNames.Length];
    private readonly long[] _clientFaultTotals = new long[ClientFaultNames.Length];
    private long _inspectedTotal;
    private long _aclDenialTotal;
    private long _ipDenialTotal;

    public GatewayTelemetry(IConfigReadings config, IReportReadings reports, ConversationStore store, TimeProvider time)
    {
        _time = time;
        StartedAt = time.GetUtcNow();
        var version = typeof(GatewayTelemetry).Assembly.GetName().Version?.ToString() ?? "0";
        ActivitySource = new ActivitySource(SourceName, version);
        Meter = new Meter(SourceName, version);

        _inspected = Meter.CreateCounter<long>(MessagesInspected, "{message}", "Messages evaluated by the policy engine.");
        _verdicts = Meter.CreateCounter<long>(Verdicts, "{verdict}", "Verdicts by action and deciding filter.");
        _evaluationDuration = Meter.CreateHistogram(EvaluationDuration, "s", "Time to evaluate one message.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _opaque = Meter.CreateCounter<long>(OpaqueMessages, "{message}", "Messages that could not be inspected: encrypted, signed or onion-routed.");
        _aclDenials = Meter.CreateCounter<long>(AclDenials, "{request}", "Federation requests refused by the server ACL.");
        _ipDenials = Meter.CreateCounter<long>(IpDenials, "{request}", "Requests refused by the IP block list.");
        _ruleHits = Meter.CreateCounter<long>(RuleHits, "{hit}", "Hits per filter or protection, dry runs included (gateway.dry_run).");
        _clientFaults = Meter.CreateCounter<long>(ClientFaults, "{request}",
            "Requests that failed on the client's side: malformed body framing, a body too slow, a client gone mid-request.");

        Meter.CreateObservableCounter(Reports, () => new[]
        {
            new Measurement<long>(reports.Enqueued, new KeyValuePair<string, object?>(OutcomeTag, "enqueued")),
            new Measurement<long>(reports.Sent, new KeyValuePair<string, object?>(OutcomeTag, "sent")),
            new Measurement<long>(reports.Retried, new KeyValuePair<string, object?>(OutcomeTag, "retried")),
            new Measurement<long>(reports.Dropped, new KeyValuePair<string, object?>(OutcomeTag, "dropped")),
            new Measurement<long>(reports.Rejected, new KeyValuePair<string, object?>(OutcomeTag, "rejected")),
        }, "{report}", "Webhook reports by outcome.");
        Meter.CreateObservableUpDownCounter(ReportQueueDepth, () => (long)reports.Waiting, "{report}", "Reports waiting for the webhook.");
        Meter.CreateObservableUpDownCounter(ContextConversations, () => store.Conversations, "{conversation}", "Conversations with a context buffer (RAM only).");
        Meter.CreateObservableUpDownCounter(ContextSize, () => store.Bytes, "By", "Bytes held by all context buffers.");
        Meter.CreateObservableCounter(ConfigReloads, () => new[]
        {
            new Measurement<long>(config.Version - 1, new KeyValuePair<string, object?>(ResultTag, "success")),
            new Measurement<long>(config.ReloadFailures, new KeyValuePair<string, object?>(ResultTag, "failure")),
        }, "{reload}", "Config reloads, swapped in or refused.");
        Meter.CreateObservableGauge(ConfigVersion, () => config.Version, "{version}", "The config version serving now (1 at start, +1 per reload).");
    }

    public ActivitySource ActivitySource { get; }

    public Meter Meter { get; }

    public DateTimeOffset StartedAt { get; }

    public long InspectedTotal => Interlocked.Read(ref _inspectedTotal);

    public long AclDenialTotal => Interlocked.Read(ref _aclDenialTotal);

    public long IpDenialTotal => Interlocked.Read(ref _ipDenialTotal);

    public long VerdictTotal(VerdictAction action) => Interlocked.Read(ref _verdictTotals[(int)action]);

    public long OpaqueTotal(OpaqueKind kind) => Interlocked.Read(ref _opaqueTotals[(int)kind]);

    public long ClientFaultTotal(ClientFault reason) => Interlocked.Read(ref _clientFaultTotals[(int)reason]);

    public static string Name(ClientFault reason) => ClientFaultNames[(int)reason];

    /// <summary>A span around an adapter's parse; null when nobody listens.</summary>
    public Activity? StartParse(string protocol, string route)
    {
        var activity = ActivitySource.StartActivity(ParseSpan, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(ProtocolTag, protocol);
            activity.SetTag(RouteTag, _routes.Get(route));
        }

        return activity;
    }

    /// <summary>A span around the evaluation of a request's messages; <see cref="Evaluated"/> adds the outcome.</summary>
    public Activity? StartEvaluate(string protocol, string route, int messages)
    {
        var activity = ActivitySource.StartActivity(EvaluateSpan, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(ProtocolTag, protocol);
            activity.SetTag(RouteTag, _routes.Get(route));
            activity.SetTag("gateway.messages", messages);
        }

        return activity;
    }

    /// <summary>A span around one webhook delivery attempt round; the report id is a random UUID, not content.</summary>
    public Activity? StartReport(string kind, Guid reportId)
    {
        var activity = ActivitySource.StartActivity(ReportSpan, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gateway.report.kind", kind);
            activity.SetTag("gateway.report.id", reportId.ToString());
        }

        return activity;
    }

    /// <summary>A filter or protection matched a message (whether or not it acted: dry runs are tagged).</summary>
    public void RuleHit(string rule, bool dryRun)
    {
        if (_ruleHits.Enabled)
        {
            _ruleHits.Add(1, new KeyValuePair<string, object?>(RuleTag, _rules.Get(rule)), new KeyValuePair<string, object?>(DryRunTag, dryRun));
        }
    }

    /// <summary>The protections' memory: counter keys held, keys evicted to stay in bounds, senders blocked.</summary>
    public void ObserveProtections(Func<long> keys, Func<long> evictions, Func<long> blocks)
    {
        Meter.CreateObservableUpDownCounter(CounterKeys, keys, "{key}", "Protection counter keys held in process.");
        Meter.CreateObservableCounter(CounterEvictions, evictions, "{key}", "Protection counter keys evicted to stay within [counters] max_keys.");
        Meter.CreateObservableUpDownCounter(SenderBlocks, blocks, "{sender}", "Senders blocked now (escalation or the admin API).");
    }

    /// <summary>Call before evaluating; 0 when the duration histogram has no listener (no clock read).</summary>
    public long EvaluationStarting() => _evaluationDuration.Enabled ? _time.GetTimestamp() : 0;

    /// <summary>One message evaluated: counts it, its verdict and (when measured) how long it took.</summary>
    public void Evaluated(string protocol, string route, Verdict verdict, long startTimestamp, Activity? span = null)
    {
        Interlocked.Increment(ref _inspectedTotal);
        Interlocked.Increment(ref _verdictTotals[(int)verdict.Action]);
        var action = ActionNames[(int)verdict.Action];
        if (_inspected.Enabled)
        {
            _inspected.Add(1, new KeyValuePair<string, object?>(ProtocolTag, protocol), new KeyValuePair<string, object?>(RouteTag, _routes.Get(route)));
        }

        var filter = verdict.DecidingFilter ?? (verdict.Matches.Count > 0 ? verdict.Matches[0].Filter : null);
        if (_verdicts.Enabled)
        {
            _verdicts.Add(1, new KeyValuePair<string, object?>(ActionTag, action),
                new KeyValuePair<string, object?>(FilterTag, filter is null ? "none" : _filters.Get(filter)));
        }

        if (startTimestamp != 0)
        {
            _evaluationDuration.Record(_time.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>(ProtocolTag, protocol));
        }

        if (span is { IsAllDataRequested: true } && verdict.Action != VerdictAction.Forward)
        {
            // The most severe verdict of the request wins the span's tags: drop/reject over censor.
            if (span.GetTagItem(ActionTag) is not string previous || Array.IndexOf(ActionNames, previous) < (int)verdict.Action)
            {
                span.SetTag(ActionTag, action);
                span.SetTag(FilterTag, filter is null ? "none" : _filters.Get(filter));
            }
        }
    }

    /// <summary>
    /// A message the gateway could not read (encrypted, signed, onion): counted by protocol and kind. For adapters
    /// (encrypted events, onion requests without a key).
    /// </summary>
    public void CountOpaque(string protocol, OpaqueKind kind)
    {
        Interlocked.Increment(ref _opaqueTotals[(int)kind]);
        if (_opaque.Enabled)
        {
            _opaque.Add(1, new KeyValuePair<string, object?>(ProtocolTag, protocol), new KeyValuePair<string, object?>(OpaqueKindTag, OpaqueNames[(int)kind]));
        }
    }

    /// <summary>A federation request refused by the server ACL.</summary>
    public void CountAclDenied(string protocol)
    {
        Interlocked.Increment(ref _aclDenialTotal);
        if (_aclDenials.Enabled)
        {
            _aclDenials.Add(1, new KeyValuePair<string, object?>(ProtocolTag, protocol));
        }
    }

    /// <summary>A request refused by the IP block list.</summary>
    public void CountIpDenied()
    {
        Interlocked.Increment(ref _ipDenialTotal);
        if (_ipDenials.Enabled)
        {
            _ipDenials.Add(1);
        }
    }

    /// <summary>A request that failed because of its client (bad framing, too slow, gone).</summary>
    public void CountClientFault(ClientFault reason)
    {
        Interlocked.Increment(ref _clientFaultTotals[(int)reason]);
        if (_clientFaults.Enabled)
        {
            _clientFaults.Add(1, new KeyValuePair<string, object?>(ReasonTag, ClientFaultNames[(int)reason]));
        }
    }

    public void Dispose()
    {
        ActivitySource.Dispose();
        Meter.Dispose();
    }
}

/// <summary>
/// Caps a tag's cardinality: the first <c>capacity</c> distinct values are kept as they are, later ones become
/// "other". Lookups of known values take no lock and allocate nothing.
/// </summary>
internal sealed class BoundedTagValues(int capacity)
{
    public const string Other = "other";

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _known = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public string Get(string value)
    {
        if (_known.TryGetValue(value, out var known))
        {
            return known;
        }

        lock (_gate)
        {
            if (_known.TryGetValue(value, out known))
            {
                return known;
            }

            if (_known.Count >= capacity)
            {
                return Other;
            }

            _known[value] = value;
            return value;
        }
    }
}
