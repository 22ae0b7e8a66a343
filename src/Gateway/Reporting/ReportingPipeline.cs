using System.Net;
using Gateway.Configuration;
using Gateway.Policy.Context;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Runtime;

namespace Gateway.Reporting;

/// <summary>
/// Step 6 of the data flow, never blocking: the DM context ring append, the report enqueue and the audit event for
/// each evaluated message; and the enriched report for a user's "report this".
/// </summary>
internal sealed class ReportingPipeline(
    GatewayState state,
    ConversationStore store,
    ReportQueue queue,
    AuditTrail audit,
    RecentVerdicts recent,
    TimeProvider time,
    ILogger<ReportingPipeline> logger,
    IPairOwners? owners = null)
{
    public ConversationStore Store => store;

    public ReportQueue Queue => queue;

    /// <summary>Called once per evaluated message, after the verdict, before the response.</summary>
    public void OnVerdict(ChatMessage message, Verdict verdict, RouteBinding binding, IPAddress? clientIp)
    {
        var config = state.Current.Config;
        if (verdict.Action != VerdictAction.Forward)
        {
            audit.Record(message, verdict, binding.RouteId);
        }

        recent.Record(message, verdict, binding.RouteId);

        var key = KeyFor(message.Protocol, message.Sender, message.Recipient, message.Room, message.IsDirect, config.Context);
        var now = time.GetUtcNow();
        Report? report = null;
        if (verdict.Report && config.ReportsFor(binding.Backend).Enabled)
        {
            var info = new RequestInfo(binding.Backend, binding.RouteId, config.Reports.IncludeClientIp ? clientIp?.ToString() : null);
            report = Report.ForVerdict(message, verdict, info, Array.Empty<ContextMessage>(), now);
        }

        if (key is not { } k)
        {
            if (report is not null)
            {
                queue.TryEnqueue(report);
            }

            return;
        }

        var texts = new List<string>(1);
        foreach (var f in message.Fields)
        {
            if (message.Sender is not null && f.Kind == FieldKind.Body && f.Text.Length > 0)
            {
                texts.Add(f.Text);
            }
        }

        if (report is null && texts.Count == 0)
        {
            return;
        }

        var append = new PairAppend(k, message.Sender ?? "", now, texts, report, UserReport: false);
        if (!k.IsPair || owners?.TryHandOff(append) != true)
        {
            Apply(append);
        }
    }

    /// <summary>
    /// Applies one conversation step here, where the conversation's context is kept: the report first, with the
    /// context that led up to the message (not the message itself), then the message's texts appended.
    /// </summary>
    public void Apply(PairAppend append)
    {
        if (append.Report is { } report)
        {
            if (!append.UserReport)
            {
                report.Context = store.Snapshot(append.Key);
            }
            else if (store.Contains(append.Key, append.Sender))
            {
                report.Context = store.Snapshot(append.Key);
            }
            else
            {
                Log.UserReportNotParticipant(logger, report.Route ?? "-");
            }

            queue.TryEnqueue(report);
        }

        foreach (var text in append.Texts)
        {
            store.Append(append.Key, append.Sender, text, append.Time);
        }
    }

    /// <summary>A user's report: enriched with the conversation only when the reporter took part in it.</summary>
    public void OnUserReport(UserReport report, RouteBinding binding, IPAddress? clientIp)
    {
        var config = state.Current.Config;
        if (!config.ReportsFor(binding.Backend).Enabled)
        {
            return;
        }

        var key = KeyFor(report.Protocol, report.Reporter, report.About, report.Room, report.IsDirect, config.Context);
        var now = time.GetUtcNow();
        var made = new Report
        {
            Id = Guid.CreateVersion7(now),
            Time = now,
            Kind = "user_report",
            Protocol = report.Protocol,
            Backend = binding.Backend,
            Route = binding.RouteId,
            Room = report.Room,
            Direct = report.IsDirect,
            Sender = report.Reporter,
            Reporter = report.Reporter,
            Reason = report.Reason,
            Comment = report.Comment,
            ReportedText = report.Text,
            Recipients = report.About is not null ? new[] { report.About } : report.IsDirect && report.Members is { } members ? members : Array.Empty<string>(),
            ClientIp = config.Reports.IncludeClientIp ? clientIp?.ToString() : null,
        };
        if (key is not { } k)
        {
            queue.TryEnqueue(made);
            return;
        }

        // Enriched only when the reporter took part: checked where the conversation is kept (its owner instance).
        var append = new PairAppend(k, report.Reporter, now, Array.Empty<string>(), made, UserReport: true);
        if (!k.IsPair || owners?.TryHandOff(append) != true)
        {
            Apply(append);
        }
    }

    /// <summary>
    /// Direct conversations are keyed by the unordered pair of participants (both directions share one buffer), or by
    /// the room when the protocol gives a DM room id instead of a recipient; public rooms only when configured.
    /// </summary>
    internal static ConversationKey? KeyFor(string protocol, string? sender, string? other, string? room, bool direct, ContextSettings settings)
    {
        if (direct)
        {
            if (sender is not null && other is not null)
            {
                return ConversationKey.Direct(protocol, sender, other);
            }

            return room is null ? null : ConversationKey.Room(protocol, room);
        }

        return settings.PublicRooms && room is not null ? ConversationKey.Room(protocol, room) : null;
    }
}
