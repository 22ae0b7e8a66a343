using System.Text;
using Gateway.Protocols.Abstractions;

namespace Gateway.Protocols.Sogs.Onion;

/// <summary>
/// Inspects one request unwrapped from an onion request exactly as a direct one. The SOGS module binds this to its
/// inspector (<c>SogsInspector.InspectAsync</c> has this shape).
/// </summary>
public interface IOnionInnerHandler
{
    ValueTask<SogsDecision> InspectAsync(SogsRequest request, CancellationToken cancellationToken);
}

/// <summary>What the onion layer decided, with a short stable code (never content) when the request was refused.</summary>
public sealed record OnionResult(SogsDecision Decision, string? Failure = null, bool Opaque = false);

/// <summary>
/// The onion-request layer in front of SOGS (issue 12, point 2). With the server key: decrypt, inspect the inner
/// request, then either forward the ORIGINAL bytes untouched (SOGS decrypts them itself; nothing is re-encrypted)
/// or answer the client with a reply encrypted the way SOGS answers. Without the key: count as opaque and forward.
/// <list type="bullet">
/// <item>Envelope unreadable or not decryptable → <c>400</c> with Flask's HTML page (pysogs <c>abort(400)</c>).</item>
/// <item>v4 inner request unreadable → outer <c>200</c>, inside <c>{"code": 400}</c> "Invalid v4 onion request".</item>
/// <item>v4 answered → outer <c>200</c>, the encrypted <c>l…e</c> reply as raw bytes; v3 → the base64 of it.</item>
/// </list>
/// </summary>
public sealed class OnionRequestHandler(OnionServerKey? key, IOnionInnerHandler inner, OpaqueTraffic opaque, string protocol = "sogs")
{
    /// <summary>Flask answers bytes and strings with this content type; pysogs returns the reply that way.</summary>
    public const string ReplyContentType = "text/html; charset=utf-8";

    /// <summary>Werkzeug's <c>BadRequest</c> page, what pysogs' <c>abort(http.BAD_REQUEST)</c> sends.</summary>
    public static ReadOnlyMemory<byte> BadRequestPage { get; } = Encoding.UTF8.GetBytes(
        "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n"
        + "<p>The browser (or proxy) sent a request that this server could not understand.</p>\n");

    public bool HasKey => key is not null;

    /// <summary>
    /// How deep an onion request may sit inside another. SOGS serves an inner request to its own <c>/oxen/v4/lsrpc</c>
    /// (a sub-request like any other), so a wrapped onion request is opened and inspected too, never passed blind.
    /// </summary>
    public const int MaxNesting = 3;

    public ValueTask<OnionResult> HandleAsync(OnionVersion version, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (key is null)
        {
            opaque.Count(protocol, OpaqueKind.Onion, "unknown");
            return ValueTask.FromResult(new OnionResult(SogsDecision.Forward, Opaque: true));
        }

        return HandleAsync(key, version, body, 0, cancellationToken);
    }

    private async ValueTask<OnionResult> HandleAsync(OnionServerKey key, OnionVersion version, ReadOnlyMemory<byte> body, int depth,
        CancellationToken cancellationToken)
    {
        var envelope = OnionEnvelope.TryParse(body, out var error);
        var opened = envelope?.TryOpen(key, out error);
        if (opened is null)
        {
            return new OnionResult(SogsDecision.Respond(400, ReplyContentType, BadRequestPage), error);
        }

        var request = version == OnionVersion.V4
            ? OnionPayload.TryParseV4(opened.Payload, out error)
            : OnionPayload.TryParseV3(opened.Payload, out error);
        if (request is null)
        {
            var invalid = version == OnionVersion.V4 ? OnionPayload.V4InvalidReply() : OnionPayload.V3Reply(400, default);
            return new OnionResult(Answer(version, opened, invalid), error);
        }

        SogsDecision decision;
        string? failure = null;
        if (IsOnionCall(request, out var nestedVersion))
        {
            if (depth + 1 >= MaxNesting)
            {
                var tooDeep = version == OnionVersion.V4 ? OnionPayload.V4InvalidReply() : OnionPayload.V3Reply(400, default);
                return new OnionResult(Answer(version, opened, tooDeep), "nested_too_deep");
            }

            // The nested answer (the raw or base64 encrypted reply, or SOGS's 400 page) is what SOGS's sub-request
            // would return; it becomes this layer's reply body.
            var nested = await HandleAsync(key, nestedVersion, request.Body, depth + 1, cancellationToken);
            if (nested.Decision.Kind == SogsDecisionKind.Forward)
            {
                return new OnionResult(SogsDecision.Forward);
            }

            decision = nested.Decision;
            failure = nested.Failure;
        }
        else
        {
            decision = await inner.InspectAsync(request, cancellationToken);
        }

        if (decision.Kind == SogsDecisionKind.Forward)
        {
            return new OnionResult(SogsDecision.Forward);
        }

        var reply = version == OnionVersion.V4
            ? OnionPayload.V4Reply(decision.Status, decision.ContentType, decision.Body.Span)
            : OnionPayload.V3Reply(decision.Status, decision.Body.Span);
        return new OnionResult(Answer(version, opened, reply), failure);
    }

    /// <summary>An inner POST to an onion endpoint, as Flask routes it (path percent-decoded, query ignored).</summary>
    private static bool IsOnionCall(SogsRequest request, out OnionVersion version)
    {
        var target = request.PathAndQuery;
        var q = target.IndexOf('?', StringComparison.Ordinal);
        var path = q < 0 ? target : target[..q];
        if (path.Contains('%', StringComparison.Ordinal))
        {
            path = Uri.UnescapeDataString(path);
        }

        version = default;
        return request.Method == "POST" && OnionEnvelope.IsOnionPath(path, out version);
    }

    private static SogsDecision Answer(OnionVersion version, OnionOpened opened, byte[] reply)
    {
        var sealedReply = opened.Seal(reply);
        var body = version == OnionVersion.V4 ? sealedReply : Encoding.ASCII.GetBytes(Convert.ToBase64String(sealedReply));
        return SogsDecision.Respond(200, ReplyContentType, body);
    }
}
