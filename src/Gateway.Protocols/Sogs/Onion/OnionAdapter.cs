using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Microsoft.AspNetCore.Http;

namespace Gateway.Protocols.Sogs.Onion;

/// <summary>
/// A SOGS route's adapter with the onion layer in front: <c>POST</c> to an onion endpoint goes through
/// <see cref="OnionRequestHandler"/> (which calls the inspector itself, with the host's evaluation), everything else
/// to the direct adapter unchanged. The SOGS module wires it in its route builder:
/// <code>
/// var inspector = CreateInspector(context);
/// var onion = OnionSettings.FromKey(settings.ServerPrivateKey).CreateHandler(OnionInner.From(inspector.InspectAsync), context.Host.Opaque);
/// return new RouteHandler { Http = new OnionAdapter(new SogsAdapter(inspector), onion), Capabilities = capabilities };
/// </code>
/// </summary>
public sealed class OnionAdapter(IProtocolAdapter direct, OnionRequestHandler onion) : IProtocolAdapter
{
    public string Protocol => direct.Protocol;

    public bool ShouldInspect(HttpRequest request) => IsOnion(request, out _) || direct.ShouldInspect(request);

    public async ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (!IsOnion(context.Request, out var version))
        {
            return await direct.ParseAsync(context, body, cancellationToken);
        }

        var result = await onion.HandleAsync(version, body, cancellationToken);
        return new AdapterParse { Messages = Array.Empty<ChatMessage>(), State = result };
    }

    public AdapterOutcome Apply(HttpContext context, AdapterParse parsed, ReadOnlySpan<Verdict> verdicts, ReadOnlyMemory<byte> body)
    {
        if (parsed.State is not OnionResult result)
        {
            return direct.Apply(context, parsed, verdicts, body);
        }

        // Forward means the ORIGINAL bytes: SOGS decrypts them itself; the gateway never re-encrypts.
        var decision = result.Decision;
        return decision.Kind == SogsDecisionKind.Forward
            ? AdapterOutcome.ForwardUnchanged
            : AdapterOutcome.Respond(decision.Status, decision.Body.ToArray(), decision.ContentType);
    }

    /// <summary>Flask matches the method case-insensitively (werkzeug upper-cases it) and the decoded path exactly.</summary>
    private static bool IsOnion(HttpRequest request, out OnionVersion version)
    {
        version = default;
        return HttpMethods.IsPost(request.Method) && OnionEnvelope.IsOnionPath(request.Path.Value ?? string.Empty, out version);
    }
}

/// <summary>Binds an inspector method (<c>SogsInspector.InspectAsync</c>) as the onion layer's inner handler.</summary>
public static class OnionInner
{
    public static IOnionInnerHandler From(Func<SogsRequest, CancellationToken, ValueTask<SogsDecision>> inspect) => new Bound(inspect);

    private sealed class Bound(Func<SogsRequest, CancellationToken, ValueTask<SogsDecision>> inspect) : IOnionInnerHandler
    {
        public ValueTask<SogsDecision> InspectAsync(SogsRequest request, CancellationToken cancellationToken) => inspect(request, cancellationToken);
    }
}
