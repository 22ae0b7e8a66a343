using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Json;

namespace Gateway.Protocols.BareRtc;

/// <summary>Makes one <see cref="BareRtcFrameSession"/> per relayed <c>/ws</c> connection.</summary>
internal sealed class BareRtcFrameSessionFactory(BareRtcJwt? jwt, BareRtcIds ids) : IFrameSessionFactory
{
    public string Protocol => BareRtcCodec.ProtocolName;

    public IFrameSession Create(FrameConnectionInfo info) => new BareRtcFrameSession(jwt, ids);
}

/// <summary>Message ids for the frames the gateway sends as the server would (echoes of dropped messages).</summary>
internal sealed class BareRtcIds(TimeProvider time)
{
    private long _next = BareRtcCodec.SeedIds(time);

    public long Next() => Interlocked.Increment(ref _next);
}

/// <summary>
/// One BareRTC WebSocket connection: who is logged in (the verified token's subject, else the login name corrected
/// by the server's <c>me</c> frame), and every <c>message</c> frame turned into a <see cref="ChatMessage"/>; a
/// <c>report</c> frame is forwarded and also becomes the gateway's enriched user report. Other
/// actions pass byte for byte. A <c>message</c> sent before <c>me</c> arrives is evaluated under the login name:
/// nothing is forwarded uninspected.
/// </summary>
internal sealed class BareRtcFrameSession(BareRtcJwt? jwt, BareRtcIds ids) : IFrameSession
{
    private readonly Lock _gate = new();
    private string? _username;
    private bool _operator;
    private bool _verified;

    public bool InspectsBackendFrames => true;

    private sealed record ParseState(BareRtcFrame Frame, ReadOnlyMemory<byte> Payload, string? Sender);

    public FrameParse Parse(FrameDirection direction, ReadOnlyMemory<byte> textPayload)
    {
        if (direction == FrameDirection.BackendToClient)
        {
            LearnFromServer(textPayload.Span);
            return FrameParse.Pass;
        }

        if (!BareRtcCodec.TryRead(textPayload.Span, out var frame, out var error))
        {
            return FrameParse.Failed("invalid_frame", error!, BareRtcCodec.NoticeFrame("Your message could not be read, so it was not sent."));
        }

        switch (frame.Action)
        {
            case "login":
                OnLogin(frame);
                return FrameParse.Pass;
            case "report":
                string? reporter;
                lock (_gate)
                {
                    reporter = _username;
                }

                return BareRtcCodec.ToUserReport(reporter, frame, textPayload.Span) is { } report
                    ? new FrameParse { Messages = Array.Empty<ChatMessage>(), UserReport = report }
                    : FrameParse.Pass;
            case "message":
                string? sender;
                bool op;
                lock (_gate)
                {
                    sender = _username;
                    op = _operator;
                }

                var message = BareRtcCodec.ToChatMessage(sender, op, frame.Channel, frame.Message ?? string.Empty);
                return new FrameParse { Messages = new[] { message }, State = new ParseState(frame, textPayload, sender) };
            default:
                return FrameParse.Pass;
        }
    }

    public FrameOutcome Apply(FrameParse parsed, ReadOnlySpan<Verdict> verdicts)
    {
        if (verdicts.Length == 0 || parsed.State is not ParseState state)
        {
            return FrameOutcome.Forward;
        }

        var verdict = verdicts[0];
        var text = state.Frame.Message ?? string.Empty;
        switch (verdict.Action)
        {
            case VerdictAction.Censor when verdict.Rewritten is not null && state.Frame.MessageAt is { } at:
                var censored = verdict.DeliveredText(parsed.Messages[0], FieldKind.Body) ?? text;
                var wire = BareRtcCodec.EscapeCensorStars(text, censored, verdict.Matches);
                return FrameOutcome.Rewritten(JsonRewriter.Replace(state.Payload.Span, new[] { (at, wire) }), Notice(verdict));
            case VerdictAction.Drop or VerdictAction.Reject:
                return FrameOutcome.Drop(BareRtcCodec.SenderReplies(verdict, state.Frame.Channel, state.Sender, text, ids.Next()));
            default:
                // A delivered message can still carry the filter's notice (upstream's ChatServerResponse on any match).
                return Notice(verdict) is { } notice ? new FrameOutcome(FrameAction.Forward, Replies: notice) : FrameOutcome.Forward;
        }
    }

    private static byte[][]? Notice(Verdict verdict) =>
        verdict.Notice is { Length: > 0 } notice ? new[] { BareRtcCodec.NoticeFrame(notice) } : null;

    private void OnLogin(BareRtcFrame frame)
    {
        var identity = jwt?.Verify(frame.Jwt);
        lock (_gate)
        {
            if (identity is { } id)
            {
                _username = id.Username;
                _operator = id.Operator;
                _verified = true;
            }
            else
            {
                // A claimed name until the server's `me` says which one it really assigned (duplicates get " 2").
                _username = string.IsNullOrEmpty(frame.Username) ? "anonymous" : frame.Username;
                _operator = false;
                _verified = false;
            }
        }
    }

    /// <summary>The server's <c>me</c> frame names the user it really logged in (uniquified); nothing else is read.</summary>
    private void LearnFromServer(ReadOnlySpan<byte> json)
    {
        // Cheap test first: most server frames (who lists, presence, relayed messages) are not `me`.
        if (json.IndexOf("\"me\""u8) < 0)
        {
            return;
        }

        if (!BareRtcCodec.TryRead(json, out var frame, out _) || frame.Action != "me" || string.IsNullOrEmpty(frame.Username))
        {
            return;
        }

        lock (_gate)
        {
            if (!_verified)
            {
                _username = frame.Username;
            }
        }
    }
}
