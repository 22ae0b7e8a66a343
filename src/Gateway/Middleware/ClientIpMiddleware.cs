using System.Net;
using Gateway.Runtime;

namespace Gateway.Middleware;

/// <summary>The client address the gateway decided on, for every later step.</summary>
internal sealed class ClientIpFeature(IPAddress address)
{
    public IPAddress Address { get; } = address;
}

/// <summary>
/// Steps 1 and 2 of the data flow: the client's address is the connection's, unless the connection comes from a
/// trusted proxy, in which case X-Forwarded-For is walked from the right, skipping trusted hops. A blocked client
/// gets 403 before anything of its body is read.
/// </summary>
internal sealed class ClientIpMiddleware(RequestDelegate next, GatewayState state, TimeProvider time, Telemetry.GatewayTelemetry telemetry, ILogger<ClientIpMiddleware> logger)
{
    private static readonly byte[] Blocked = "{\"error\":\"forbidden\",\"message\":\"Requests from this address are blocked.\"}"u8.ToArray();

    public Task InvokeAsync(HttpContext context)
    {
        var snapshot = state.Current;
        var address = Resolve(context, snapshot);
        context.Features.Set(new ClientIpFeature(address));
        if (snapshot.IpBlocks.Count > 0 && snapshot.IpBlocks.IsBlocked(address, time.GetUtcNow()))
        {
            Log.IpBlocked(logger, context.Request.Method);
            telemetry.CountIpDenied();
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = Blocked.Length;
            return context.Response.Body.WriteAsync(Blocked).AsTask();
        }

        return next(context);
    }

    internal static IPAddress Resolve(HttpContext context, RuntimeSnapshot snapshot)
    {
        var remote = context.Connection.RemoteIpAddress ?? IPAddress.IPv6None;
        if (snapshot.TrustedProxies.Count == 0 || !snapshot.TrustedProxies.IsBlocked(remote, DateTimeOffset.MinValue))
        {
            return remote;
        }

        var header = context.Request.Headers["X-Forwarded-For"];
        if (header.Count == 0)
        {
            return remote;
        }

        // Rightmost first: each trusted hop appended the address it saw; the first untrusted one is the client.
        var current = remote;
        for (var h = header.Count - 1; h >= 0; h--)
        {
            var parts = (header[h] ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            for (var i = parts.Length - 1; i >= 0; i--)
            {
                if (!IPAddress.TryParse(StripPort(parts[i]), out var hop))
                {
                    return current; // garbage in the chain: stop at the last address we could trust
                }

                current = hop;
                if (!snapshot.TrustedProxies.IsBlocked(hop, DateTimeOffset.MinValue))
                {
                    return hop;
                }
            }
        }

        return current;
    }

    private static string StripPort(string s)
    {
        if (s.StartsWith('['))
        {
            var end = s.IndexOf(']', StringComparison.Ordinal);
            return end > 0 ? s[1..end] : s;
        }

        var colon = s.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && s.IndexOf(':', colon + 1) < 0 ? s[..colon] : s;
    }
}
