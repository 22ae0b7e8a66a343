using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Presentation;
using Gateway.Policy.Context;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;

namespace Gateway.Reporting;

/// <summary>
/// One report for the webhook: a filter that asked for reports fired, or a user used the protocol's report
/// endpoint. Carries the raw text and the conversation that led up to it; it exists only in memory until sent.
/// </summary>
internal sealed class Report
{
    public const int SchemaVersion = 1;

    public required Guid Id { get; init; }

    public required DateTimeOffset Time { get; init; }

    /// <summary>"filter" or "user_report".</summary>
    public required string Kind { get; init; }

    public required string Protocol { get; init; }

    public string? Backend { get; init; }

    public string? Route { get; init; }

    public string? Room { get; init; }

    public bool Direct { get; init; }

    public string? Sender { get; init; }

    public IReadOnlyList<string> Recipients { get; init; } = Array.Empty<string>();

    public IReadOnlyList<string> Filters { get; init; } = Array.Empty<string>();

    public string? Action { get; init; }

    public IReadOnlyList<MessageField> Original { get; init; } = Array.Empty<MessageField>();

    public IReadOnlyList<MessageField>? Delivered { get; init; }

    public IReadOnlyList<FilterMatch> Matches { get; init; } = Array.Empty<FilterMatch>();

    /// <summary>Set once, by the instance that keeps the conversation, before the report is queued.</summary>
    public IReadOnlyList<ContextMessage> Context { get; set; } = Array.Empty<ContextMessage>();

    public string? Reporter { get; init; }

    public string? Reason { get; init; }

    /// <summary>User reports: the reporter's comment, when the protocol's report carries one.</summary>
    public string? Comment { get; init; }

    /// <summary>User reports: the reported message as the report carried it, when it does.</summary>
    public string? ReportedText { get; init; }

    public string? ClientIp { get; init; }

    /// <summary>Never prints text: a report is only ever described by its id.</summary>
    public override string ToString() => $"report {Id}";

    public static Report ForVerdict(ChatMessage message, Verdict verdict, RequestInfo request, IReadOnlyList<ContextMessage> context,
        DateTimeOffset now)
    {
        var filters = new List<string>();
        foreach (var m in verdict.Matches)
        {
            if (!m.DryRun && !filters.Contains(m.Filter))
            {
                filters.Add(m.Filter);
            }
        }

        return new Report
        {
            Id = Guid.CreateVersion7(now),
            Time = now,
            Kind = "filter",
            Protocol = message.Protocol,
            Backend = request.Backend,
            Route = request.Route,
            Room = message.Room,
            Direct = message.IsDirect,
            Sender = message.Sender,
            Recipients = message.Recipients is { Count: > 0 } others ? others
                : message.Recipient is null ? Array.Empty<string>() : new[] { message.Recipient },
            Filters = filters,
            Action = verdict.Action.ToString().ToLowerInvariant(),
            Original = message.Fields,
            Delivered = verdict.Action is VerdictAction.Drop or VerdictAction.Reject ? null : verdict.Rewritten ?? message.Fields,
            Matches = verdict.Matches,
            Context = context,
            ClientIp = request.ClientIp,
        };
    }

    /// <summary>The versioned gateway format (documented in the README).</summary>
    public byte[] ToGatewayJson()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("version", SchemaVersion);
            w.WriteString("id", Id.ToString());
            w.WriteString("time", Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteString("kind", Kind);
            w.WriteString("protocol", Protocol);
            WriteNullable(w, "backend", Backend);
            WriteNullable(w, "route", Route);
            WriteNullable(w, "room", Room);
            w.WriteBoolean("direct", Direct);
            WriteNullable(w, "sender", Sender);
            w.WriteStartArray("recipients");
            foreach (var r in Recipients)
            {
                w.WriteStringValue(r);
            }

            w.WriteEndArray();
            if (Kind == "user_report")
            {
                WriteNullable(w, "reporter", Reporter);
                WriteNullable(w, "reason", Reason);
                if (Comment is not null)
                {
                    w.WriteString("comment", Comment);
                }

                if (ReportedText is not null)
                {
                    w.WriteString("message", ReportedText);
                }
            }
            else
            {
                w.WriteStartArray("filters");
                foreach (var f in Filters)
                {
                    w.WriteStringValue(f);
                }

                w.WriteEndArray();
                WriteNullable(w, "action", Action);
                WriteFields(w, "original", Original);
                if (Delivered is null)
                {
                    w.WriteNull("delivered");
                }
                else
                {
                    WriteFields(w, "delivered", Delivered);
                }

                w.WriteStartArray("matches");
                foreach (var m in Matches)
                {
                    w.WriteStartObject();
                    w.WriteString("filter", m.Filter);
                    w.WriteString("term", m.Term);
                    w.WriteString("field", VerdictPresenter.FieldName(m.Field));
                    w.WriteNumber("start", m.Start);
                    w.WriteNumber("end", m.End);
                    w.WriteBoolean("dry_run", m.DryRun);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteStartArray("context");
            foreach (var c in Context)
            {
                w.WriteStartObject();
                w.WriteString("time", c.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                w.WriteString("sender", c.Sender);
                w.WriteString("text", c.Text);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (ClientIp is not null)
            {
                w.WriteString("client_ip", ClientIp);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The protocol-neutral view a module's report format writes from.</summary>
    public ReportView ToView() => new()
    {
        Id = Id,
        Time = Time,
        Kind = Kind,
        Protocol = Protocol,
        Backend = Backend,
        Route = Route,
        Room = Room,
        Direct = Direct,
        Sender = Sender,
        Recipients = Recipients,
        Filters = Filters,
        Action = Action,
        Original = Original,
        Context = Context,
        Reporter = Reporter,
        Reason = Reason,
        Comment = Comment,
        ReportedText = ReportedText,
    };

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteFields(Utf8JsonWriter w, string name, IReadOnlyList<MessageField> fields)
    {
        w.WriteStartObject(name);
        foreach (var f in fields)
        {
            w.WriteString(VerdictPresenter.FieldName(f.Kind), f.Text);
        }

        w.WriteEndObject();
    }
}

/// <summary>Request facts a report may carry.</summary>
internal readonly record struct RequestInfo(string? Backend, string? Route, string? ClientIp);
