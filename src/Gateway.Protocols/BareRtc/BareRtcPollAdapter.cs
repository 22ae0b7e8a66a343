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
/// there). Censor rewrites <c>msg.message</c>; drop and reject answer the poll in the server's shape with the echo
/// and notice frames, and the request is not forwarded (frames queued for the session come with its next poll).
/// </summary>
internal sealed class BareRtcPollAdapter(BareRtcIds ids) : IProtocolAdapter
{
    private static readonly JsonFieldScanner Scanner = BareRtcCodec.Scanner(
        "/msg/action", "/msg/channel", "/msg/username", "/msg/message", "/msg/jwt", "/username", "/session_id");

    public string Protocol => BareRtcCodec.ProtocolName;

    public bool ShouldInspect(HttpRequest request) => HttpMethods.IsPost(request.Method);

    private sealed record PollState(BareRtcFrame Frame, string? Username, string? SessionId);

    public ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var json = body.Span;
        if (!BareRtcCodec.TryRead(Scanner, json, 0, out var frame, out var error))
        {
            return ValueTask.FromResult(AdapterParse.Failed("invalid_json", error!, PollAnswer(null, null, new[] { BareRtcCodec.NoticeFrame("Your message could not be read, so it was not sent.") })));
        }

        if (frame.Action != "message")
        {
            return ValueTask.FromResult(AdapterParse.NoMessages);
        }

        Span<JsonValueLocation?> found = stackalloc JsonValueLocation?[Scanner.PointerCount];
        Scanner.Scan(json, found, out _);
        var username = BareRtcCodec.Str(json, found[5]);
        var sessionId = BareRtcCodec.Str(json, found[6]);
        var message = BareRtcCodec.ToChatMessage(username, moderator: false, frame.Channel, frame.Message ?? string.Empty);
        return ValueTask.FromResult(new AdapterParse { Messages = new[] { message }, State = new PollState(frame, username, sessionId) });
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
                return AdapterOutcome.Rewritten(JsonRewriter.Replace(body.Span, new[] { (at, wire) }));
            case VerdictAction.Drop or VerdictAction.Reject:
                var replies = BareRtcCodec.SenderReplies(verdict, state.Frame.Channel, state.Username, text, ids.Next());
                return AdapterOutcome.Respond(StatusCodes.Status200OK, PollAnswer(state.Username, state.SessionId, replies));
            default:
                return AdapterOutcome.ForwardUnchanged;
        }
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
