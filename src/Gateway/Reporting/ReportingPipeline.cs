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
    ILogger<ReportingPipeline> logger)
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
        if (verdict.Report && config.ReportsFor(binding.Backend).Enabled)
        {
            // Context first: the conversation that led up to this message, without the message itself.
            var context = key is { } k ? store.Snapshot(k) : Array.Empty<ContextMessage>();
            var info = new RequestInfo(binding.Backend, binding.RouteId, config.Reports.IncludeClientIp ? clientIp?.ToString() : null);
            queue.TryEnqueue(Report.ForVerdict(message, verdict, info, context, time.GetUtcNow()));
        }

        if (key is { } appendKey && message.Sender is not null)
        {
            foreach (var f in message.Fields)
            {
                if (f.Kind == FieldKind.Body && f.Text.Length > 0)
                {
                    store.Append(appendKey, message.Sender, f.Text);
                }
            }
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
        IReadOnlyList<ContextMessage> context = Array.Empty<ContextMessage>();
        if (key is { } k)
        {
            if (store.Contains(k, report.Reporter))
            {
                context = store.Snapshot(k);
            }
            else
            {
                Log.UserReportNotParticipant(logger, binding.RouteId);
            }
        }

        var now = time.GetUtcNow();
        queue.TryEnqueue(new Report
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
            Context = context,
            ClientIp = config.Reports.IncludeClientIp ? clientIp?.ToString() : null,
        });
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
