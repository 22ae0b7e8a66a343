using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Policy.Model;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.BareRtc;

/// <summary>
/// BareRTC's own report webhook payload (pkg/webhook_messages.go upstream), so a site's existing BareRTC report
/// receiver reads the gateway's reports unchanged: <c>{"Action":"report","APIKey":…,"Report":{"FromUsername",
/// "AboutUsername","Channel","Timestamp","Reason","Message","Comment"}}</c>, fields in upstream's order. Filter reports
/// are written as upstream's reportFilteredMessage writes them (Reason "Server Side Message Filter", the context in the
/// Comment); user reports as its OnReport does (the DM context appended to the Message). The APIKey is the target's
/// <c>api_key_env</c>/<c>api_key_file</c> (BareRTC's AdminAPIKey).
/// </summary>
internal sealed class BareRtcReportFormat : IReportFormat
{
    public string Name => BareRtcCodec.ProtocolName;

    private const string NoHistory = "(No recent message history in this channel)";

#pragma warning disable CA1507 // "Action", "Reason": BareRTC's wire names, not references to members
    public byte[] Write(ReportView report, Secret? apiKey)
    {
        var filter = report.Kind != "user_report";
        var about = filter ? report.Sender : report.Recipients.Count > 0 ? report.Recipients[0] : null;
        var other = report.Recipients.Count > 0 ? report.Recipients[0] : null;
        var channel = report.Direct ? "@" + (other ?? string.Empty) : report.Room ?? string.Empty;
        string message, comment;
        if (filter)
        {
            message = Body(report.Original);
            comment = "This is an automated report via server side chat filters.\n\n"
                + "The recent context in this channel included the following conversation:\n\n"
                + Context(report, current: message);
        }
        else
        {
            message = report.ReportedText ?? string.Empty;
            if (report.Direct)
            {
                message += "\n\nRecent message context:\n\n" + Context(report, current: null);
            }

            comment = report.Comment ?? string.Empty;
        }

        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("Action", "report");
            w.WriteString("APIKey", apiKey is null ? string.Empty : Encoding.UTF8.GetString(apiKey.Value));
            w.WriteStartObject("Report");
            w.WriteString("FromUsername", (filter ? report.Sender : report.Reporter) ?? string.Empty);
            w.WriteString("AboutUsername", about ?? string.Empty);
            w.WriteString("Channel", channel);
            w.WriteString("Timestamp", report.Time.UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
            w.WriteString("Reason", filter ? "Server Side Message Filter" : report.Reason ?? string.Empty);
            w.WriteString("Message", message);
            w.WriteString("Comment", comment);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
#pragma warning restore CA1507

    private static string Body(IReadOnlyList<MessageField> fields)
    {
        foreach (var f in fields)
        {
            if (f.Kind == FieldKind.Body)
            {
                return f.Text;
            }
        }

        return fields.Count > 0 ? fields[0].Text : string.Empty;
    }

    /// <summary>
    /// Upstream's getMessageContext: "2006-01-02 15:04:05 [username] message" lines joined by blank lines. Upstream
    /// pushes the filtered message before it reports, so a filter report's context ends with it.
    /// </summary>
    private static string Context(ReportView report, string? current)
    {
        var lines = new List<string>(report.Context.Count + 1);
        foreach (var c in report.Context)
        {
            lines.Add(Line(c.Time, c.Sender, c.Text));
        }

        if (current is not null)
        {
            lines.Add(Line(report.Time, report.Sender ?? string.Empty, current));
        }

        return lines.Count == 0 ? NoHistory : string.Join("\n\n", lines);
    }

    private static string Line(DateTimeOffset time, string sender, string text) =>
        time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " [" + sender + "] " + text.Trim();
}
