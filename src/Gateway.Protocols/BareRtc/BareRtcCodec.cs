using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Json;

namespace Gateway.Protocols.BareRtc;

/// <summary>The fields of one BareRTC frame the module reads, and where its <c>message</c> sits for a rewrite.</summary>
internal sealed record BareRtcFrame(string? Action, string? Channel, string? Username, string? Message, string? Jwt, JsonValueLocation? MessageAt);

/// <summary>
/// BareRTC's wire format (pkg/messages/messages.go upstream): flat JSON objects with an <c>action</c>. Reads the few
/// fields that matter, builds the frames the server itself would send, and renders text the way the server does
/// for plain text (Markdown through blackfriday, sanitised by bluemonday: <c>&lt;p&gt;escaped&lt;/p&gt;</c>).
/// </summary>
internal static class BareRtcCodec
{
    public const string ProtocolName = "barertc";

    /// <summary>The name the server speaks under in notices (<c>sub.ChatServer(…)</c> upstream).</summary>
    public const string ChatServer = "ChatServer";

    public const string DefaultRejectNotice = "Your message was not sent: it breaks this chat's rules.";

    private static readonly JsonFieldScanner FrameScanner = Scanner("/action", "/channel", "/username", "/message", "/jwt");

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    internal static JsonFieldScanner Scanner(params string[] pointers)
    {
        var list = new List<JsonPointer>(pointers.Length);
        foreach (var p in pointers)
        {
            if (!JsonPointer.TryParse(p, out var pointer, out var error))
            {
                throw new InvalidOperationException(error);
            }

            list.Add(pointer);
        }

        return new JsonFieldScanner(list, maxDepth: 64);
    }

    /// <summary>Reads a frame; false when it is not a JSON object (the detail says why, without its text).</summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out BareRtcFrame frame, out string? error) =>
        TryRead(FrameScanner, json, 0, out frame, out error);

    /// <summary>Reads the five frame fields from the scanner's pointers <paramref name="first"/>…<paramref name="first"/>+4.</summary>
    internal static bool TryRead(JsonFieldScanner scanner, ReadOnlySpan<byte> json, int first, out BareRtcFrame frame, out string? error)
    {
        Span<JsonValueLocation?> found = stackalloc JsonValueLocation?[scanner.PointerCount];
        frame = new BareRtcFrame(null, null, null, null, null, null);
        var result = scanner.Scan(json, found, out _);
        if (result != JsonScanError.None)
        {
            error = result == JsonScanError.NotAnObject ? "the frame is not a JSON object" : "the frame is not valid JSON";
            return false;
        }

        error = null;
        var messageAt = found[first + 3] is { TokenType: JsonTokenType.String } m ? m : (JsonValueLocation?)null;
        frame = new BareRtcFrame(Str(json, found[first]), Str(json, found[first + 1]), Str(json, found[first + 2]), Str(json, found[first + 3]),
            Str(json, found[first + 4]), messageAt);
        return true;
    }

    internal static string? Str(ReadOnlySpan<byte> json, JsonValueLocation? at) =>
        at is { TokenType: JsonTokenType.String } loc ? JsonValues.ReadString(json, loc) : null;

    /// <summary>
    /// A chat message as the engine sees it: the raw text the user typed (not the server's HTML). A channel
    /// <c>@bob</c> is a DM to bob, keyed in context by the pair of names.
    /// </summary>
    public static ChatMessage ToChatMessage(string? sender, bool moderator, string? channel, string text)
    {
        var direct = channel is { Length: > 1 } && channel[0] == '@';
        return new ChatMessage
        {
            Protocol = ProtocolName,
            Sender = sender,
            Room = direct ? null : channel,
            IsDirect = direct,
            Recipient = direct ? channel![1..] : null,
            SenderIsModerator = moderator,
            Fields = new[] { new MessageField(FieldKind.Body, text) },
        };
    }

    private static readonly JsonFieldScanner ReportScanner = Scanner("/reason", "/comment");

    internal static readonly JsonFieldScanner PollReportScanner = Scanner("/msg/reason", "/msg/comment");

    /// <summary>
    /// A user's <c>report</c> frame (<c>{"action":"report","channel","username","timestamp","reason","comment","message"}</c>)
    /// as the gateway's user report: <c>username</c> is who is reported, a channel <c>@name</c> makes it a DM (the
    /// context is that pair's, as upstream's getDirectMessageContext(reporter, username)). Null without a reporter.
    /// </summary>
    public static UserReport? ToUserReport(string? reporter, BareRtcFrame frame, ReadOnlySpan<byte> json, JsonFieldScanner? scanner = null)
    {
        if (string.IsNullOrEmpty(reporter))
        {
            return null;
        }

        scanner ??= ReportScanner;
        Span<JsonValueLocation?> found = stackalloc JsonValueLocation?[scanner.PointerCount];
        scanner.Scan(json, found, out _);
        var direct = frame.Channel is { Length: > 1 } && frame.Channel[0] == '@';
        var about = string.IsNullOrEmpty(frame.Username) ? direct ? frame.Channel![1..] : null : frame.Username;
        return new UserReport(ProtocolName, reporter, about, direct ? null : frame.Channel, direct, Str(json, found[0]),
            direct ? new[] { frame.Channel![1..] } : null, Str(json, found[1]), frame.Message);
    }

    /// <summary>
    /// The censored text to send on: the engine's stars escaped as <c>\*</c>, because the server renders Markdown
    /// (blackfriday honours backslash escapes for '*'), so that recipients see stars, not a rule or emphasis. Stars
    /// the user typed keep their Markdown meaning.
    /// </summary>
    public static string EscapeCensorStars(string original, string censored, IReadOnlyList<FilterMatch> matches)
    {
        var spans = new List<(int Start, int End)>();
        foreach (var m in matches)
        {
            if (m.Action == FilterAction.Censor && !m.DryRun && m.Field == FieldKind.Body)
            {
                spans.Add((m.Start, m.End));
            }
        }

        spans.Sort(static (a, b) => a.Start.CompareTo(b.Start));
        var sb = new StringBuilder(censored.Length + 16);
        int o = 0, c = 0;
        foreach (var (start, end) in Merge(spans))
        {
            if (start < o || start > original.Length)
            {
                return EscapeAllStars(censored);
            }

            var gap = start - o;
            if (c + gap > censored.Length || !original.AsSpan(o, gap).SequenceEqual(censored.AsSpan(c, gap)))
            {
                return EscapeAllStars(censored);
            }

            sb.Append(censored, c, gap);
            c += gap;
            o = Math.Min(end, original.Length);

            // The replacement is the run of stars here, less the stars the original text has right after the span.
            var run = 0;
            while (c + run < censored.Length && censored[c + run] == '*')
            {
                run++;
            }

            var following = 0;
            while (o + following < original.Length && original[o + following] == '*')
            {
                following++;
            }

            var stars = Math.Max(0, run - following);
            for (var i = 0; i < stars; i++)
            {
                sb.Append("\\*");
            }

            c += stars;
        }

        if (!original.AsSpan(o).SequenceEqual(censored.AsSpan(Math.Min(c, censored.Length))))
        {
            return EscapeAllStars(censored);
        }

        sb.Append(censored, c, censored.Length - c);
        return sb.ToString();
    }

    private static List<(int Start, int End)> Merge(List<(int Start, int End)> sorted)
    {
        var merged = new List<(int Start, int End)>(sorted.Count);
        foreach (var s in sorted)
        {
            if (merged.Count > 0 && s.Start <= merged[^1].End)
            {
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, s.End));
            }
            else
            {
                merged.Add(s);
            }
        }

        return merged;
    }

    // Could not line the two texts up (never expected): safer to lose the user's own emphasis than to send a rule.
    private static string EscapeAllStars(string text) => text.Replace("*", "\\*", StringComparison.Ordinal);

    /// <summary>
    /// Plain text as the server renders it: paragraphs split on blank lines in <c>&lt;p&gt;</c>, line breaks inside
    /// one as <c>&lt;br&gt;</c>, and <c>&lt; &gt; &amp; "</c> escaped. Markdown markup in the text is not
    /// interpreted: the echo shows what the user typed.
    /// </summary>
    public static string RenderPlain(string text)
    {
        var sb = new StringBuilder(text.Length + 16);
        var paragraphs = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var p in paragraphs)
        {
            if (sb.Length > 0)
            {
                sb.Append('\n');
            }

            sb.Append("<p>").Append(WebUtility.HtmlEncode(p).Replace("&quot;", "&#34;", StringComparison.Ordinal)
                .Replace("\n", "<br>\n", StringComparison.Ordinal)).Append("</p>");
        }

        return sb.ToString();
    }

    /// <summary>A delivered chat message, as the server sends it (channel, username, message, msgID).</summary>
    public static byte[] MessageFrame(string? channel, string? username, string html, long msgId) => Write(w =>
    {
        w.WriteString("action", "message");
        if (!string.IsNullOrEmpty(channel))
        {
            w.WriteString("channel", channel);
        }

        if (!string.IsNullOrEmpty(username))
        {
            w.WriteString("username", username);
        }

        w.WriteString("message", html);
        w.WriteNumber("msgID", msgId);
    });

    /// <summary>A ChatServer notice: <c>{"action":"error","username":"ChatServer","message":…}</c>.</summary>
    public static byte[] NoticeFrame(string notice) => Write(w =>
    {
        w.WriteString("action", "error");
        w.WriteString("username", ChatServer);
        w.WriteString("message", notice);
    });

    /// <summary>The frames the sender gets for a verdict that delivers nothing: the echo (drop only) and the notice.</summary>
    public static List<byte[]> SenderReplies(Verdict verdict, string? channel, string? username, string text, long msgId)
    {
        var replies = new List<byte[]>(2);
        if (verdict.Action == VerdictAction.Drop)
        {
            replies.Add(MessageFrame(channel, username, RenderPlain(text), msgId));
            if (verdict.Notice is { Length: > 0 } notice)
            {
                replies.Add(NoticeFrame(notice));
            }
        }
        else
        {
            replies.Add(NoticeFrame(verdict.Notice ?? DefaultRejectNotice));
        }

        return replies;
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream(128);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>A fresh message id: above anything the server hands out (its counter starts at Unix seconds).</summary>
    public static long SeedIds(TimeProvider time) => time.GetUtcNow().ToUnixTimeMilliseconds();

    internal static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);
}
