using System.Text.Json;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Protocols.BareRtc;

/// <summary>
/// BareRTC's polling API (<c>POST /poll</c>, pkg/polling_api.go upstream): <c>{"username","session_id","msg":{…}}</c>
/// carries the same frames as the WebSocket, so a <c>msg</c> of action <c>message</c> gets the same verdicts. The
/// sender is the body's <c>username</c>, which the server authenticates by <c>session_id</c> (a mismatch is refused
/// there). Censor rewrites <c>msg.message</c>. Drop and reject still poll the server, with the <c>msg</c> replaced
/// by a <c>ping</c> (which upstream's OnClientMessage ignores), so the session's queue is drained and its last-seen
/// time kept; the echo and notice frames are appended to the server's own answer, after the frames it had queued
/// (the order upstream produces: queued frames first, then what this message caused).
/// </summary>
internal sealed class BareRtcPollAdapter(BareRtcIds ids) : IProtocolAdapter
{
    private static readonly JsonFieldScanner Scanner = BareRtcCodec.Scanner(
        "/msg/action", "/msg/channel", "/msg/username", "/msg/message", "/msg/jwt", "/username", "/session_id", "/msg");

    private static readonly byte[] Ping = """{"action":"ping"}"""u8.ToArray();

    public string Protocol => BareRtcCodec.ProtocolName;

    public bool ShouldInspect(HttpRequest request) => HttpMethods.IsPost(request.Method);

    private sealed record PollState(BareRtcFrame Frame, string? Username, string? SessionId, JsonValueLocation MsgAt);

    public ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var json = body.Span;
        if (!BareRtcCodec.TryRead(Scanner, json, 0, out var frame, out var error))
        {
            return ValueTask.FromResult(AdapterParse.Failed("invalid_json", error!, PollAnswer(null, null, new[] { BareRtcCodec.NoticeFrame("Your message could not be read, so it was not sent.") })));
        }

        if (frame.Action is not ("message" or "report"))
        {
            return ValueTask.FromResult(AdapterParse.NoMessages);
        }

        Span<JsonValueLocation?> found = stackalloc JsonValueLocation?[Scanner.PointerCount];
        Scanner.Scan(json, found, out _);
        var username = BareRtcCodec.Str(json, found[5]);
        var sessionId = BareRtcCodec.Str(json, found[6]);
        if (frame.Action == "report")
        {
            // The reporter is the session's user (the server refuses a username that does not match the session).
            return ValueTask.FromResult(BareRtcCodec.ToUserReport(username, frame, json, BareRtcCodec.PollReportScanner) is { } report
                ? new AdapterParse { Messages = Array.Empty<ChatMessage>(), UserReport = report }
                : AdapterParse.NoMessages);
        }

        var message = BareRtcCodec.ToChatMessage(username, moderator: false, frame.Channel, frame.Message ?? string.Empty);
        return ValueTask.FromResult(new AdapterParse { Messages = new[] { message }, State = new PollState(frame, username, sessionId, found[7]!.Value) });
    }

    public AdapterOutcome Apply(HttpContext context, AdapterParse parsed, ReadOnlySpan<Verdict> verdicts, ReadOnlyMemory<byte> body)
    {
        if (verdicts.Length == 0 || parsed.State is not PollState state)
        {
            return AdapterOutcome.ForwardUnchanged;
        }

        var verdict = verdicts[0];
        var text = state.Frame.Message ?? string.Empty;
        switch (verdict.Action)
        {
            case VerdictAction.Censor when verdict.Rewritten is not null && state.Frame.MessageAt is { } at:
                var censored = verdict.DeliveredText(parsed.Messages[0], FieldKind.Body) ?? text;
                var wire = BareRtcCodec.EscapeCensorStars(text, censored, verdict.Matches);
                var rewritten = JsonRewriter.Replace(body.Span, new[] { (at, wire) });
                return verdict.Notice is { Length: > 0 } censorNotice
                    ? AdapterOutcome.Rewritten(rewritten, new PollMerge(new[] { BareRtcCodec.NoticeFrame(censorNotice) }))
                    : AdapterOutcome.Rewritten(rewritten);
            case VerdictAction.Drop or VerdictAction.Reject:
                var replies = BareRtcCodec.SenderReplies(verdict, state.Frame.Channel, state.Username, text, ids.Next());
                return AdapterOutcome.Rewritten(WithPing(body.Span, state.MsgAt), new PollMerge(replies));
            default:
                // A delivered message can still carry the filter's notice (upstream's ChatServerResponse on any match).
                return verdict.Notice is { Length: > 0 } notice
                    ? new AdapterOutcome(OutcomeKind.Forward, Response: new PollMerge(new[] { BareRtcCodec.NoticeFrame(notice) }))
                    : AdapterOutcome.ForwardUnchanged;
        }
    }

    /// <summary>The request with its <c>msg</c> object replaced by <c>{"action":"ping"}</c>.</summary>
    internal static byte[] WithPing(ReadOnlySpan<byte> body, JsonValueLocation msg)
    {
        var result = new byte[body.Length - msg.Length + Ping.Length];
        body[..msg.Start].CopyTo(result);
        Ping.CopyTo(result.AsSpan(msg.Start));
        body[msg.End..].CopyTo(result.AsSpan(msg.Start + Ping.Length));
        return result;
    }

    /// <summary>The server's poll answer: <c>{"username","session_id","messages":[…]}</c>.</summary>
    internal static byte[] PollAnswer(string? username, string? sessionId, IReadOnlyList<byte[]> frames)
    {
        using var buffer = new MemoryStream(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (!string.IsNullOrEmpty(username))
            {
                w.WriteString("username", username);
            }

            if (!string.IsNullOrEmpty(sessionId))
            {
                w.WriteString("session_id", sessionId);
            }

            w.WriteStartArray("messages");
            foreach (var f in frames)
            {
                w.WriteRawValue(f, skipInputValidation: true);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }
}

/// <summary>
/// Appends the frames the gateway owes the sender to the server's poll answer (<c>{"username","session_id",
/// "messages":[…]}</c>), splicing them before the array's closing bracket so the server's bytes are kept as they are.
/// Anything else (an error status, another shape) passes unchanged: the frames are then lost, as the message is.
/// </summary>
internal sealed class PollMerge(IReadOnlyList<byte[]> frames) : IResponseRewriter
{
    public byte[]? Rewrite(int status, string? contentType, ReadOnlySpan<byte> body)
    {
        if (status != StatusCodes.Status200OK || contentType is null
            || !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            || FindMessagesEnd(body, out var empty) is not { } close)
        {
            return null;
        }

        var extra = 0;
        foreach (var f in frames)
        {
            extra += f.Length + 1;
        }

        var result = new byte[body.Length + extra - (empty ? 1 : 0)];
        body[..close].CopyTo(result);
        var at = close;
        for (var i = 0; i < frames.Count; i++)
        {
            if (i > 0 || !empty)
            {
                result[at++] = (byte)',';
            }

            frames[i].CopyTo(result.AsSpan(at));
            at += frames[i].Length;
        }

        body[close..].CopyTo(result.AsSpan(at));
        return result;
    }

    /// <summary>Where the top-level <c>messages</c> array's <c>]</c> sits, or null when the answer has no such array.</summary>
    private static int? FindMessagesEnd(ReadOnlySpan<byte> body, out bool empty)
    {
        empty = false;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            int? close = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isMessages = reader.ValueTextEquals("messages"u8);
                reader.Read();
                if (isMessages && reader.TokenType == JsonTokenType.StartArray)
                {
                    var start = reader.TokenStartIndex;
                    reader.Skip();
                    var end = (int)reader.TokenStartIndex;
                    close = end;
                    empty = body[(int)start..end].Trim(" \t\r\n["u8).IsEmpty;
                }
                else
                {
                    reader.Skip();
                }
            }

            // The whole answer must be one valid object (nothing but whitespace after it).
            return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? close : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
