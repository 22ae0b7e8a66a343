using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Microsoft.AspNetCore.Http;

namespace Gateway.Protocols.Abstractions;

/// <summary>
/// The seam every backend protocol plugs into. The host reads the body (bounded) and hands it over; the adapter
/// turns wire format into <see cref="ChatMessage"/>s and applies the engine's verdicts back onto the wire.
/// Adapters never see YARP and never write to the response themselves: they return values.
/// </summary>
public interface IProtocolAdapter
{
    string Protocol { get; }

    /// <summary>Cheap and synchronous: does this request carry messages? False means pure passthrough.</summary>
    bool ShouldInspect(HttpRequest request);

    ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken);

    /// <summary>Decides what happens to the request given one verdict per parsed message (same order).</summary>
    AdapterOutcome Apply(HttpContext context, AdapterParse parsed, ReadOnlySpan<Verdict> verdicts, ReadOnlyMemory<byte> body);
}

/// <summary>The messages found in a request, or why none could be read.</summary>
public sealed class AdapterParse
{
    public static AdapterParse NoMessages { get; } = new() { Messages = Array.Empty<ChatMessage>() };

    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>Adapter-private state carried from parse to apply (e.g. where the fields sit in the body).</summary>
    public object? State { get; init; }

    /// <summary>
    /// Set when the request is a user's "report this" (the protocol's own report endpoint): it is forwarded as usual
    /// and also produces an enriched webhook report with the conversation's context. With <see cref="Messages"/> the
    /// report's own text is evaluated first, and the report is sent only when the request goes on to the backend.
    /// </summary>
    public UserReport? UserReport { get; init; }

    /// <summary>Set when the body could not be understood; the route's on_error decides what happens.</summary>
    public AdapterError? Error { get; init; }

    public static AdapterParse Failed(string code, string detail, byte[]? responseBody = null) =>
        new() { Messages = Array.Empty<ChatMessage>(), Error = new AdapterError(code, detail, responseBody) };
}

/// <summary>
/// A user's report of a conversation or user, as the protocol's report endpoint carried it. <paramref name="Members"/>:
/// the other participants of a direct conversation, when known (named in the report when <paramref name="About"/> is not given).
/// <paramref name="Comment"/> and <paramref name="Text"/>: the reporter's own comment and the reported message as the
/// report carried them, when the protocol has such fields (BareRTC's <c>report</c> frame).
/// </summary>
public sealed record UserReport(string Protocol, string Reporter, string? About, string? Room, bool IsDirect, string? Reason,
    IReadOnlyList<string>? Members = null, string? Comment = null, string? Text = null);

/// <summary>
/// A request body the adapter could not read: <paramref name="Code"/> is stable, <paramref name="Detail"/> human;
/// <paramref name="ResponseBody"/> is the protocol-shaped 400 body when the protocol has one (Matrix M_NOT_JSON).
/// </summary>
public sealed record AdapterError(string Code, string Detail, byte[]? ResponseBody = null);

public enum OutcomeKind
{
    /// <summary>Forward the original body unchanged.</summary>
    Forward = 0,

    /// <summary>Forward <see cref="AdapterOutcome.Body"/> instead of the original.</summary>
    ForwardRewritten = 1,

    /// <summary>Answer the client with <see cref="AdapterOutcome.Status"/> and <see cref="AdapterOutcome.Body"/>; forward nothing.</summary>
    Respond = 2,
}

/// <summary>
/// What the host does with the request after the verdicts. <paramref name="Response"/> (with <see cref="OutcomeKind.Forward"/>
/// or <see cref="OutcomeKind.ForwardRewritten"/> only): the backend's answer is buffered (bounded by the body limit) and
/// handed to it before it reaches the client, so frames the gateway owes the sender can ride on the server's own answer.
/// </summary>
public readonly record struct AdapterOutcome(OutcomeKind Kind, int Status = 200, byte[]? Body = null, string ContentType = "application/json",
    IResponseRewriter? Response = null)
{
    public static AdapterOutcome ForwardUnchanged => new(OutcomeKind.Forward);

    public static AdapterOutcome Rewritten(byte[] body) => new(OutcomeKind.ForwardRewritten, Body: body);

    /// <summary>Forward <paramref name="body"/> and let <paramref name="response"/> rewrite the backend's answer.</summary>
    public static AdapterOutcome Rewritten(byte[] body, IResponseRewriter response) => new(OutcomeKind.ForwardRewritten, Body: body, Response: response);

    public static AdapterOutcome Respond(int status, byte[] body, string contentType = "application/json") =>
        new(OutcomeKind.Respond, status, body, contentType);
}

/// <summary>
/// Rewrites one backend answer (e.g. merges the frames the gateway owes the sender into a poll answer). Called once,
/// with the whole answer, when it fits the body limit and carries no content coding; a larger answer passes unchanged
/// without a call.
/// </summary>
public interface IResponseRewriter
{
    /// <summary>The new body, or null to pass the answer unchanged (a status or shape the rewriter does not understand).</summary>
    byte[]? Rewrite(int status, string? contentType, ReadOnlySpan<byte> body);
}
