using Gateway.Protocols.Abstractions;
using Gateway.Runtime;
using Yarp.ReverseProxy.Model;

namespace Gateway.Middleware;

/// <summary>
/// Step 3 of the data flow for any protocol: the route's gates (a federation origin ACL, say) run before anything
/// is inspected, on every request of the route; a refusal is answered as the gate wrote it and nothing is forwarded.
/// Routes without gates return <c>next(context)</c> synchronously.
/// </summary>
internal sealed class GateMiddleware(RequestDelegate next, GatewayState state, IModuleHost host)
{
    public Task InvokeAsync(HttpContext context)
    {
        var routeId = context.GetReverseProxyFeature().Route.Config.RouteId;
        if (!state.Current.Routes.TryGetValue(routeId, out var binding) || binding.Gates.Count == 0)
        {
            return next(context);
        }

        return RunAsync(context, binding.Gates);
    }

    private async Task RunAsync(HttpContext context, IReadOnlyList<IRequestGate> gates)
    {
        foreach (var gate in gates)
        {
            if (await gate.CheckAsync(context, host) is { } refusal)
            {
                context.Response.StatusCode = refusal.Status;
                context.Response.ContentType = refusal.ContentType;
                context.Response.ContentLength = refusal.Body.Length;
                await context.Response.Body.WriteAsync(refusal.Body, context.RequestAborted);
                return;
            }
        }

        await next(context);
    }
}
