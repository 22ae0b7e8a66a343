using System.Net;
using Gateway.Configuration;
using Gateway.Policy.Model;
using Gateway.Policy.Protections;
using Gateway.Policy.Rules;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Telemetry;

namespace Gateway.Inspection;

/// <summary>
/// Step 5 and 6 of the data flow for any transport: evaluates a transport's messages against one config version —
/// the sender block list, then the protections (one counter batch per message), then the filters — and does the side
/// effects (telemetry, rule hit counters, the verdict log line, DM context and reports). Transports apply the
/// verdicts themselves. With the in-process counters every step completes synchronously.
/// </summary>
internal sealed class MessageEvaluator(ReportingPipeline reporting, GatewayTelemetry telemetry, ProtectionState protections, TimeProvider time,
    ILogger<MessageEvaluator> logger)
{
    /// <summary>The sender-block rule name, as verdicts, reports and metrics carry it.</summary>
    public const string SenderBlockRule = "sender_block";

    /// <summary>Fills <paramref name="verdicts"/> (one per message, same order; at least as long as the list).</summary>
    public async ValueTask EvaluateAsync(RuntimeSnapshot snapshot, RouteBinding binding, string protocol, IReadOnlyList<ChatMessage> messages,
        IPAddress? clientIp, Verdict[] verdicts, CancellationToken cancellationToken = default)
    {
        if (messages.Count == 0)
        {
            return;
        }

        using var span = telemetry.StartEvaluate(protocol, binding.RouteId, messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var started = telemetry.EvaluationStarting();
            var decision = DecideAsync(snapshot, binding, messages[i], cancellationToken);
            var v = decision.IsCompletedSuccessfully ? decision.Result : await decision;
            if (v.Action == VerdictAction.Censor && !binding.Capabilities.CanRewrite)
            {
                v = Fallback(v, binding.CensorFallback);
            }

            telemetry.Evaluated(protocol, binding.RouteId, v, started, span);
            verdicts[i] = v;
            if (v.Matches.Count > 0)
            {
                CountHits(v, snapshot.Version);
            }

            if (v.Action != VerdictAction.Forward)
            {
                Log.Verdict(logger, v.Action.ToString().ToLowerInvariant(), v.DecidingFilter, binding.RouteId, protocol, messages[i].IsDirect);
            }

            reporting.OnVerdict(messages[i], v, binding, clientIp);
        }
    }

    /// <summary>The synchronous form for callers that cannot await (decision APIs); the in-process counters never block.</summary>
    public void Evaluate(RuntimeSnapshot snapshot, RouteBinding binding, string protocol, IReadOnlyList<ChatMessage> messages,
        IPAddress? clientIp, Verdict[] verdicts)
    {
        var pending = EvaluateAsync(snapshot, binding, protocol, messages, clientIp, verdicts);
        if (!pending.IsCompletedSuccessfully)
        {
            pending.AsTask().GetAwaiter().GetResult();
        }
    }

    private ValueTask<Verdict> DecideAsync(RuntimeSnapshot snapshot, RouteBinding binding, ChatMessage message, CancellationToken cancellationToken)
    {
        if (protections.Blocks.Find(message.Sender) is { } block)
        {
            return new ValueTask<Verdict>(FromProtections(ProtectionResult.Blocked(block)));
        }

        if (snapshot.Protections.IsEmpty)
        {
            return new ValueTask<Verdict>(snapshot.Policy.Evaluate(message, binding.Backend));
        }

        var check = snapshot.Protections.CheckAsync(message, binding.Backend, protections.Store, protections.Blocks, time, cancellationToken);
        return check.IsCompletedSuccessfully
            ? new ValueTask<Verdict>(Combine(check.Result, snapshot, binding, message))
            : Slow(check, snapshot, binding, message);

        async ValueTask<Verdict> Slow(ValueTask<ProtectionResult> pending, RuntimeSnapshot s, RouteBinding b, ChatMessage m) =>
            Combine(await pending, s, b, m);
    }

    /// <summary>
    /// A protection that drops or rejects decides (the filters are not run: nothing will be delivered); otherwise the
    /// filters decide and the protections' hits (dry runs, report-only, warnings) ride along in the matches.
    /// </summary>
    private static Verdict Combine(ProtectionResult p, RuntimeSnapshot snapshot, RouteBinding binding, ChatMessage message)
    {
        if (p.IsEmpty)
        {
            return snapshot.Policy.Evaluate(message, binding.Backend);
        }

        if (p.Action is VerdictAction.Drop or VerdictAction.Reject)
        {
            return FromProtections(p);
        }

        var v = snapshot.Policy.Evaluate(message, binding.Backend);
        var matches = new List<FilterMatch>(p.Hits.Count + v.Matches.Count);
        matches.AddRange(p.Matches());
        matches.AddRange(v.Matches);
        return v with
        {
            Matches = matches,
            Report = v.Report || p.Report,
            Notice = v.Notice ?? p.Notice,
            DecidingFilter = v.DecidingFilter ?? p.DecidingRule,
        };
    }

    private static Verdict FromProtections(ProtectionResult p) => new()
    {
        Action = p.Action,
        DecidingFilter = p.DecidingRule,
        Notice = p.Notice,
        Report = p.Report,
        Matches = p.Matches(),
    };

    private void CountHits(Verdict v, long version)
    {
        string? previous = null;
        foreach (var m in v.Matches)
        {
            if (m.Filter == previous)
            {
                continue;
            }

            previous = m.Filter;
            protections.Hits.Record(m.Filter, m.DryRun, version);
            telemetry.RuleHit(m.Filter, m.DryRun);
        }
    }

    /// <summary>
    /// A censor verdict on a route whose protocol cannot rewrite (signed bodies): the route's censor_fallback decides,
    /// and no rewritten text is carried, so no transport can forward it.
    /// </summary>
    internal static Verdict Fallback(Verdict censor, CensorFallback fallback) => censor with
    {
        Action = fallback switch
        {
            CensorFallback.Drop => VerdictAction.Drop,
            CensorFallback.Forward => VerdictAction.Forward,
            _ => VerdictAction.Reject,
        },
        Rewritten = null,
    };
}
