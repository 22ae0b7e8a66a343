using System.Net;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;

namespace Gateway.Protocols.Abstractions;

/// <summary>Which way a frame travels through the relay.</summary>
public enum FrameDirection
{
    /// <summary>Sent by the client, on its way to the backend.</summary>
    ClientToBackend = 0,

    /// <summary>Sent by the backend, on its way to the client (seen only when the session asks for it).</summary>
    BackendToClient = 1,
}

/// <summary>
/// What a frame session learns about its connection at the upgrade: the request line and headers as the client sent
/// them (after the gateway's client-IP rules). Built once per connection by the host.
/// </summary>
public sealed record FrameConnectionInfo(string RouteId, string Path, string Query, IPAddress? ClientIp, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>A header's value (several values joined with ", "), or null. Names are case-insensitive.</summary>
    public string? Header(string? name) => name is not null && Headers.TryGetValue(name, out var v) ? v : null;
}

/// <summary>Held by a frame route's binding: makes one session per relayed connection.</summary>
public interface IFrameSessionFactory
{
    /// <summary>The protocol name for telemetry and logs ("json", "barertc").</summary>
    string Protocol { get; }

    IFrameSession Create(FrameConnectionInfo info);
}

/// <summary>
/// Per-connection state of a frame transport (who logged in, which channel). The host calls it for every
/// client→backend text message, in order, never concurrently for one direction; backend→client text messages reach
/// it only when <see cref="InspectsBackendFrames"/> is true (so it can learn, say, the real username from a server
/// frame). The host evaluates the returned messages against the policy and hands the verdicts to
/// <see cref="Apply"/>. Sessions never see sockets or HTTP: payload bytes in, outcomes out.
/// <para>Calls for the two directions can come from two threads: a session that reads state written by the other
/// direction must synchronise it itself.</para>
/// </summary>
public interface IFrameSession
{
    bool InspectsBackendFrames { get; }

    /// <summary>Reads one whole (reassembled, valid UTF-8) text message.</summary>
    FrameParse Parse(FrameDirection direction, ReadOnlyMemory<byte> textPayload);

    /// <summary>What happens to the frame, given one verdict per message of <paramref name="parsed"/> (same order).</summary>
    FrameOutcome Apply(FrameParse parsed, ReadOnlySpan<Verdict> verdicts);
}

/// <summary>The messages a frame carries (none for presence, signalling, …), or why it could not be read.</summary>
public sealed class FrameParse
{
    /// <summary>The frame carries nothing to evaluate: the host forwards it without calling <see cref="IFrameSession.Apply"/>.</summary>
    public static FrameParse Pass { get; } = new() { Messages = Array.Empty<ChatMessage>() };

    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>Session-private state carried from parse to apply (where the fields sit in the payload).</summary>
    public object? State { get; init; }

    /// <summary>Set when the frame could not be read; the route's on_error decides what happens.</summary>
    public AdapterError? Error { get; init; }

    /// <summary>
    /// Set when the frame is a user's "report this": the host forwards it unchanged and also sends an enriched report
    /// with the conversation's context (when the reporter took part in it). Messages are then not evaluated.
    /// </summary>
    public UserReport? UserReport { get; init; }

    /// <summary>
    /// With <see cref="Error"/>: the text payload answered to the sender when the route fails closed (the error
    /// frame); null answers nothing.
    /// </summary>
    public byte[]? ErrorReply { get; init; }

    public static FrameParse Failed(string code, string detail, byte[]? errorReply) =>
        new() { Messages = Array.Empty<ChatMessage>(), Error = new AdapterError(code, detail), ErrorReply = errorReply };
}

public enum FrameAction
{
    /// <summary>Send the frame on unchanged.</summary>
    Forward = 0,

    /// <summary>Send <see cref="FrameOutcome.Payload"/> instead (same opcode: text).</summary>
    ForwardRewritten = 1,

    /// <summary>Send nothing on.</summary>
    Drop = 2,

    /// <summary>Close both sides with <see cref="FrameOutcome.CloseCode"/> and <see cref="FrameOutcome.CloseReason"/>.</summary>
    Close = 3,
}

/// <summary>
/// What the host does with one frame: the action on the frame itself, plus text frames sent back to the frame's
/// sender (a notice, an echo), independent of the action — a drop with a notice is <c>Drop</c> plus one reply.
/// Replies are sent before the connection closes when the action is <see cref="FrameAction.Close"/>.
/// </summary>
public readonly record struct FrameOutcome(FrameAction Action, byte[]? Payload = null, IReadOnlyList<byte[]>? Replies = null,
    int CloseCode = 1000, string? CloseReason = null)
{
    public static FrameOutcome Forward => new(FrameAction.Forward);

    public static FrameOutcome Rewritten(byte[] payload, IReadOnlyList<byte[]>? replies = null) => new(FrameAction.ForwardRewritten, payload, replies);

    public static FrameOutcome Drop(IReadOnlyList<byte[]>? replies = null) => new(FrameAction.Drop, Replies: replies);

    /// <summary>Close codes as RFC 6455 §7.4 allows an endpoint to send: 1000–1003, 1007–1014, 3000–4999.</summary>
    public static FrameOutcome Close(int code, string reason, IReadOnlyList<byte[]>? replies = null) =>
        new(FrameAction.Close, Replies: replies, CloseCode: code, CloseReason: reason);
}
