using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Protocols.Sogs;

/// <summary>
/// Direct HTTP to SOGS: the request (method, raw target, X-SOGS-* headers, body) goes through
/// <see cref="SogsInspector"/>; the host evaluates the messages between <see cref="ParseAsync"/> and
/// <see cref="Apply"/>. Answers decided before evaluation (a bad signature, an upload by an untrusted user) ride in
/// the parse state and are given in <see cref="Apply"/>, whatever the route's on_error says: SOGS would refuse them too.
/// </summary>
public sealed class SogsAdapter(SogsInspector inspector) : IProtocolAdapter
{
    public string Protocol => SogsInspector.ProtocolName;

    /// <summary>The inspector behind this route, for the onion layer (it inspects inner requests the same way).</summary>
    public SogsInspector Inspector => inspector;

    public bool ShouldInspect(HttpRequest request) => SogsInspector.Inspects(request.Method, Target(request));

    public ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var prepared = inspector.Prepare(ToSogsRequest(context.Request, body));
        if (prepared.ErrorCode is { } code && prepared.Immediate is null)
        {
            return ValueTask.FromResult(AdapterParse.Failed(code, prepared.ErrorDetail ?? code));
        }

        return ValueTask.FromResult(new AdapterParse { Messages = prepared.Messages, State = prepared });
    }

    public AdapterOutcome Apply(HttpContext context, AdapterParse parsed, ReadOnlySpan<Verdict> verdicts, ReadOnlyMemory<byte> body)
    {
        if (parsed.State is not SogsPrepared prepared)
        {
            return AdapterOutcome.ForwardUnchanged;
        }

        var decision = inspector.Decide(prepared, verdicts);
        return decision.Kind == SogsDecisionKind.Forward
            ? AdapterOutcome.ForwardUnchanged
            : AdapterOutcome.Respond(decision.Status, decision.Body.ToArray(), decision.ContentType);
    }

    /// <summary>The request as SOGS sees it: the target as the client sent it (SOGS signs the path it received).</summary>
    public static SogsRequest ToSogsRequest(HttpRequest request, ReadOnlyMemory<byte> body)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in (ReadOnlySpan<string>)["X-SOGS-Pubkey", "X-SOGS-Nonce", "X-SOGS-Timestamp", "X-SOGS-Signature", "Content-Type"])
        {
            if (request.Headers.TryGetValue(name, out var v) && v.Count > 0)
            {
                headers[name] = v.ToString();
            }
        }

        return new SogsRequest(request.Method, Target(request), headers, body);
    }

    private static string Target(HttpRequest request) =>
        request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw && raw[0] == '/'
            ? raw
            : request.Path.Value + request.QueryString.Value;
}
