using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Gateway.Hosting;

/// <summary>
/// Forwards the request target exactly as the client sent it. YARP's default rebuilds the URI from the decoded path
/// and re-escapes it ("%21abc%3Aexample.org" becomes "!abc:example.org"), which changes the bytes a
/// request signature covers: the receiving server would reject every signed federated request. Passthrough is meant
/// to be byte-for-byte, so this applies to every route.
/// </summary>
internal static class RawTargetTransform
{
    private static readonly UriCreationOptions Raw = new() { DangerousDisablePathAndQueryCanonicalization = true };

    public static void Add(TransformBuilderContext context) => context.AddRequestTransform(Apply);

    private static ValueTask Apply(RequestTransformContext context)
    {
        var raw = context.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (!string.IsNullOrEmpty(raw) && raw[0] == '/'
            && Uri.TryCreate(context.DestinationPrefix.TrimEnd('/') + raw, Raw, out var uri))
        {
            context.ProxyRequest.RequestUri = uri;
        }

        return ValueTask.CompletedTask;
    }
}
