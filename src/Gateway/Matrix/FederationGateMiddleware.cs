using System.Text;
using System.Text.Json;
using Gateway.Middleware;
using Gateway.Protocols.Matrix;
using Gateway.Runtime;
using Yarp.ReverseProxy.Model;

namespace Gateway.Matrix;

/// <summary>
/// Step 3 of the data flow for Matrix backends. A request signed by a server the gateway bans outright — the one
/// gateway-wide ACL of the snapshot: [server_acl], the admin API's runtime entries, the policy lists' server bans — is
/// refused with 403 M_FORBIDDEN whatever its path (event, hierarchy, query/profile, media, unstable endpoints: a banned
/// server reads nothing). On the room endpoints the spec lists for m.room.server_acl (make_join, send_join, invite,
/// make_leave, send_leave, make_knock, send_knock, state, state_ids, backfill, event_auth, get_missing_events, send)
/// the per-room ACLs and the policy lists' room and user bans apply as well. Bodies are signed, so they are never
/// changed: a request is accepted or refused whole. The origin is not verified here — the homeserver verifies the
/// signature; a forged origin can only claim to be a server that will then fail that check.
/// </summary>
internal sealed class FederationGateMiddleware(RequestDelegate next, GatewayState state, MatrixServices matrix, Telemetry.GatewayTelemetry telemetry,
    ILogger<FederationGateMiddleware> logger)
{
    private static readonly string[] MembershipPointers = { "/sender", "/state_key", "/event/sender", "/event/state_key" };

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var authorization = request.Headers.Authorization;
        if (authorization.Count == 0)
        {
            return next(context); // no X-Matrix signature: not a federation request the gate can attribute
        }

        var snapshot = state.Current;
        var routeId = context.GetReverseProxyFeature().Route.Config.RouteId;
        if (!snapshot.Routes.TryGetValue(routeId, out var binding) || binding.Federation is null)
        {
            return next(context);
        }

        var origins = XMatrix.Origins(authorization);
        if (origins.Count == 0)
        {
            return next(context); // unauthenticated: the homeserver answers 401 itself
        }

        var rawPath = request.Path.Value ?? string.Empty;
        foreach (var origin in origins)
        {
            if (!snapshot.Acl.IsAllowed(origin))
            {
                matrix.Federation.CountAcl();
                Log.FederationDenied(logger, origin, XMatrix.EndpointLabel(rawPath), "server_acl");
                return DenyAsync(context, "This server is banned by this gateway.");
            }
        }

        var path = MatrixPath.Parse(request.Method, rawPath);
        if (path.Kind != MatrixRequestKind.Federation)
        {
            return next(context);
        }

        var gate = binding.Federation;
        if (path.RoomId is not null)
        {
            foreach (var (room, acl) in gate.RoomAcls)
            {
                if (!room.IsMatch(path.RoomId))
                {
                    continue;
                }

                foreach (var origin in origins)
                {
                    if (!acl.IsAllowed(origin))
                    {
                        matrix.Federation.CountRoomAcl();
                        Log.FederationDenied(logger, origin, path.FederationEndpoint!, "room_acl");
                        return DenyAsync(context, "Server is banned from this room.");
                    }
                }
            }

            if (gate.Policy.IsRoomBanned(path.RoomId))
            {
                matrix.Federation.CountPolicy();
                Log.FederationDenied(logger, origins[^1], path.FederationEndpoint!, "policy_room");
                return DenyAsync(context, "This room is banned by this server's policy list.");
            }
        }

        // Every federation request that gets this far carries signed content the gateway cannot inspect.
        matrix.Opaque.Count(MatrixAdapter.ProtocolName, Protocols.Abstractions.OpaqueKind.Signed, path.FederationEndpoint!);

        if (path.IsMembershipRequest && gate.Policy.UserBans.Count > 0)
        {
            if (gate.Policy.IsUserBanned(path.UserId))
            {
                matrix.Federation.CountPolicy();
                Log.FederationDenied(logger, origins[^1], path.FederationEndpoint!, "policy_user");
                return DenyAsync(context, "This user is banned by this server's policy list.");
            }

            if (path.UserId is null)
            {
                return CheckMembershipBodyAsync(context, gate, path, origins[^1]);
            }
        }

        return next(context);
    }

    /// <summary>send_join, send_knock and invite carry the member event in the body: read it, never change it.</summary>
    private async Task CheckMembershipBodyAsync(HttpContext context, FederationGate gate, MatrixPath path, string origin)
    {
        var limit = state.Current.Config.Limits.MaxBodyBytes;
        using var body = new PooledBody((int)Math.Min(context.Request.ContentLength ?? 16 * 1024, limit) + 1);
        if (await body.ReadBoundedAsync(context.Request.Body, limit, context.RequestAborted))
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"errcode\":\"M_TOO_LARGE\",\"error\":\"The request body is too large.\"}");
            return;
        }

        var bytes = body.Memory.ToArray();
        if (MentionsBannedUser(bytes, gate.Policy))
        {
            matrix.Federation.CountPolicy();
            Log.FederationDenied(logger, origin, path.FederationEndpoint!, "policy_user");
            await DenyAsync(context, "This user is banned by this server's policy list.");
            return;
        }

        context.Request.Body = new MemoryStream(bytes, writable: false);
        context.Request.ContentLength = bytes.Length;
        context.Request.Headers.Remove("Transfer-Encoding");
        await next(context);
    }

    private static bool MentionsBannedUser(byte[] json, MatrixPolicyList policy)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            foreach (var pointer in MembershipPointers)
            {
                var e = doc.RootElement;
                var ok = true;
                foreach (var segment in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(segment, out e))
                    {
                        ok = false;
                        break;
                    }
                }

                if (ok && e.ValueKind == JsonValueKind.String && policy.IsUserBanned(e.GetString()))
                {
                    return true;
                }
            }
        }
        catch (JsonException)
        {
            // Not our call: the homeserver refuses malformed federation bodies itself.
        }

        return false;
    }

    private Task DenyAsync(HttpContext context, string message)
    {
        telemetry.CountAclDenied(MatrixAdapter.ProtocolName);
        var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { errcode = "M_FORBIDDEN", error = message }));
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body).AsTask();
    }
}
