using Gateway.Inspection;
using Gateway.Middleware;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Telemetry;
using Gateway.Protocols.Abstractions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Model;

namespace Gateway.Transports.WebSocket;

/// <summary>
/// For routes whose binding relays frames: YARP still does the handshake and the backend connection (destinations,
/// load balancing, transforms, forwarded headers, subprotocols, cookies), but the client stream it copies is a
/// <see cref="WebSocketRelay"/>, swapped in through the upgrade feature. Other requests on the route go on as usual
/// (to the route's HTTP adapter, if it has one); upgrades to anything but WebSocket are refused, since their bytes
/// could not be inspected.
/// </summary>
internal sealed class FrameRelayMiddleware(RequestDelegate next, GatewayState state, MessageEvaluator evaluator, ReportingPipeline reporting, FrameRelayRegistry registry,
    GatewayTelemetry telemetry, RelayTelemetry relayTelemetry, TimeProvider time, ILogger<FrameRelayMiddleware> logger)
{
    /// <summary>How long YARP's copies may go on after the client vanished: time for the backend to answer the 1001.</summary>
    internal static readonly TimeSpan ClientGoneGrace = TimeSpan.FromSeconds(5);

    public Task InvokeAsync(HttpContext context)
    {
        var routeId = context.GetReverseProxyFeature().Route.Config.RouteId;
        var snapshot = state.Current;
        if (!snapshot.Routes.TryGetValue(routeId, out var binding) || binding.Frames is null)
        {
            return next(context);
        }

        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        var connect = context.Features.Get<IHttpExtendedConnectFeature>();
        var h1 = upgrade is { IsUpgradableRequest: true };
        var h2 = !h1 && connect is { IsExtendedConnect: true };
        if (!h1 && !h2)
        {
            return next(context);
        }

        var protocol = h1 ? context.Request.Headers.Upgrade.ToString() : connect!.Protocol;
        if (!string.Equals(protocol, "websocket", StringComparison.OrdinalIgnoreCase))
        {
            Log.UpgradeRefused(logger, routeId);
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return Task.CompletedTask;
        }

        return RelayAsync(context, snapshot, binding, binding.Frames, h1 ? upgrade : null, h1 ? null : connect);
    }

    private async Task RelayAsync(HttpContext context, RuntimeSnapshot snapshot, RouteBinding binding, IFrameSessionFactory factory,
        IHttpUpgradeFeature? upgrade, IHttpExtendedConnectFeature? connect)
    {
        // No permessage-deflate: the backend then sends plain frames the relay can read (RFC 7692 needs both ends to agree).
        context.Request.Headers.Remove(HeaderNames.SecWebSocketExtensions);
        var clientIp = context.Features.Get<ClientIpFeature>()?.Address;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in context.Request.Headers)
        {
            headers[name] = values.ToString();
        }

        var request = context.Request;
        var info = new FrameConnectionInfo(binding.RouteId, request.PathBase + request.Path, request.QueryString.Value ?? string.Empty, clientIp, headers);
        var session = factory.Create(info);
        var inspector = new SessionInspector(session, factory.Protocol, binding, clientIp, state, evaluator, reporting, telemetry, relayTelemetry, logger);
        var holder = new RelayHolder(client =>
        {
            var relay = new WebSocketRelay(client, inspector, snapshot.Config.Limits.MaxFrameBytes);
            relayTelemetry.Opened(factory.Protocol);
            registry.Add(relay, clientIp);
            Log.RelayOpened(logger, binding.RouteId, factory.Protocol);
            return relay;
        });
        if (upgrade is not null)
        {
            context.Features.Set<IHttpUpgradeFeature>(new RelayUpgradeFeature(upgrade, holder));
        }
        else
        {
            context.Features.Set<IHttpExtendedConnectFeature>(new RelayConnectFeature(connect!, holder));
        }

        // YARP links its copies to RequestAborted, and Kestrel fires it the moment the client's connection drops, often
        // before the relay's read sees the end: YARP then cancelled both copies and dropped the backend connection
        // without a close frame. YARP gets a token of its own instead; the client's abort makes the relay end its
        // side (1001 to the backend through YARP's still-running copy) and cancels YARP's token only after a grace.
        var lifetime = context.Features.Get<IHttpRequestLifetimeFeature>();
        using var proxyAborted = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        var registration = default(CancellationTokenRegistration);
        if (lifetime is not null)
        {
            context.Features.Set<IHttpRequestLifetimeFeature>(new RelayLifetimeFeature(lifetime, proxyAborted.Token));
            registration = lifetime.RequestAborted.UnsafeRegister(static s => ((ClientAbort)s!).Fire(), new ClientAbort(holder, proxyAborted));
        }

        try
        {
            await next(context);
        }
        finally
        {
            await registration.DisposeAsync();
            if (lifetime is not null)
            {
                context.Features.Set(lifetime);
            }

            if (holder.Relay is { } relay)
            {
                try
                {
                    await relay.FinishAsync();
                }
                finally
                {
                    registry.Remove(relay);
                    relayTelemetry.Closed(factory.Protocol);
                    Log.RelayClosed(logger, binding.RouteId, relay.GatewayCloseCode);
                }
            }
        }
    }
}

/// <summary>The client's connection dropped: the relay ends its side now, YARP's copies after the grace.</summary>
internal sealed class ClientAbort(RelayHolder holder, CancellationTokenSource proxyAborted)
{
    public void Fire()
    {
        if (holder.Relay is { } relay)
        {
            relay.ClientAborted();
            proxyAborted.CancelAfter(FrameRelayMiddleware.ClientGoneGrace);
        }
        else
        {
            proxyAborted.Cancel(); // not upgraded yet: nothing to tell the backend
        }
    }
}

/// <summary>Registration of the WebSocket transport.</summary>
internal static class WebSocketRelayRegistration
{
    public static IServiceCollection AddWebSocketRelay(this IServiceCollection services)
    {
        services.AddSingleton<MessageEvaluator>();
        services.AddSingleton<RelayTelemetry>();
        services.AddSingleton<FrameRelayRegistry>();
        return services;
    }
}
