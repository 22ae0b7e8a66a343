using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Policy.Acl;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// Step 3 of the data flow for Matrix backends, on every request of their routes. A request signed by a server the
/// gateway bans outright — the host's one gateway-wide ACL ([server_acl] and the admin API's runtime entries) or a
/// policy list's server ban — is refused with 403 M_FORBIDDEN whatever its path (event, hierarchy, query/profile,
/// media, unstable endpoints: a banned server reads nothing). On the room endpoints the spec lists for
/// m.room.server_acl (make_join, send_join, invite, make_leave, send_leave, make_knock, send_knock, state, state_ids,
/// backfill, event_auth, get_missing_events, send) the per-room ACLs and the policy lists' room and user bans apply as
/// well. Bodies are signed, so they are never changed: a request is accepted or refused whole. The origin is not
/// verified here — the homeserver verifies the signature; a forged origin can only claim to be a server that will then
/// fail that check. Built per backend and config version.
/// </summary>
internal sealed class FederationGate : IRequestGate
{
    private static readonly string[] MembershipPointers = { "/sender", "/state_key", "/event/sender", "/event/state_key" };

    private readonly IReadOnlyList<(Regex Room, ServerAcl Acl)> _roomAcls;
    private readonly Func<MatrixPolicyList> _policySource;
    private (MatrixPolicyList List, ServerAcl? Bans) _policyBans;
    private readonly long _maxBodyBytes;
    private readonly FederationStats _stats;
    private readonly ILogger _logger;

    public FederationGate(IReadOnlyList<(Regex Room, ServerAcl Acl)> roomAcls, MatrixPolicyList policy, long maxBodyBytes, FederationStats stats,
        ILogger logger)
        : this(roomAcls, () => policy, maxBodyBytes, stats, logger)
    {
    }

    /// <param name="policySource">the policy lists now (files, and policy rooms as they change)</param>
    internal FederationGate(IReadOnlyList<(Regex Room, ServerAcl Acl)> roomAcls, Func<MatrixPolicyList> policySource, long maxBodyBytes,
        FederationStats stats, ILogger logger)
    {
        _roomAcls = roomAcls;
        _policySource = policySource;
        _maxBodyBytes = maxBodyBytes;
        _stats = stats;
        _logger = logger;
    }

    public IReadOnlyList<(Regex Room, ServerAcl Acl)> RoomAcls => _roomAcls;

    /// <summary>The policy now, and its server bans as an ACL that allows everyone but them (built once per policy change).</summary>
    private (MatrixPolicyList Policy, ServerAcl? ServerBans) Policy()
    {
        var policy = _policySource();
        var cached = _policyBans;
        if (!ReferenceEquals(cached.List, policy))
        {
            cached = (policy, policy.ServerBans.Count > 0 ? ServerAcl.Create(new[] { "*" }, policy.ServerBans) : null);
            _policyBans = cached;
        }

        return cached;
    }

    /// <summary>Per-room ACLs (with the policy lists' server bans added) and the policy lists of one backend.</summary>
    public static FederationGate Build(MatrixBackendSettings? settings, MatrixPolicyList policy, long maxBodyBytes, FederationStats stats, ILogger logger) =>
        Build(settings, policy, () => policy, maxBodyBytes, stats, logger);

    /// <summary>As above, with the policy read per request (policy rooms change it between config loads).</summary>
    internal static FederationGate Build(MatrixBackendSettings? settings, MatrixPolicyList policy, Func<MatrixPolicyList> current, long maxBodyBytes,
        FederationStats stats, ILogger logger)
    {
        var rooms = new List<(Regex, ServerAcl)>();
        foreach (var r in settings?.RoomAcls ?? Array.Empty<RoomAclSettings>())
        {
            var roomAcl = r.Acl.Compile();
            rooms.Add((NameGlob.CompileAny(new[] { r.Room })!, policy.ServerBans.Count > 0 ? roomAcl.WithExtraDeny(policy.ServerBans) : roomAcl));
        }

        return new FederationGate(rooms, current, maxBodyBytes, stats, logger);
    }

    public ValueTask<GateRefusal?> CheckAsync(HttpContext context, IModuleHost host)
    {
        var request = context.Request;
        var authorization = request.Headers.Authorization;
        if (authorization.Count == 0)
        {
            return Allow; // no X-Matrix signature: not a federation request the gate can attribute
        }

        var origins = XMatrix.Origins(authorization);
        if (origins.Count == 0)
        {
            return Allow; // unauthenticated: the homeserver answers 401 itself
        }

        var rawPath = request.Path.Value ?? string.Empty;
        var gatewayAcl = host.GatewayAcl;
        var (policy, policyServerBans) = Policy();
        foreach (var origin in origins)
        {
            if (!gatewayAcl.IsAllowed(origin) || policyServerBans?.IsAllowed(origin) == false)
            {
                _stats.CountAcl();
                return Deny(host, origin, XMatrix.EndpointLabel(rawPath), "server_acl", "This server is banned by this gateway.");
            }
        }

        var path = MatrixPath.Parse(request.Method, rawPath);
        if (path.Kind != MatrixRequestKind.Federation)
        {
            return Allow;
        }

        if (path.RoomId is not null)
        {
            foreach (var (room, acl) in _roomAcls)
            {
                if (!room.IsMatch(path.RoomId))
                {
                    continue;
                }

                foreach (var origin in origins)
                {
                    if (!acl.IsAllowed(origin))
                    {
                        _stats.CountRoomAcl();
                        return Deny(host, origin, path.FederationEndpoint!, "room_acl", "Server is banned from this room.");
                    }
                }
            }

            if (policy.IsRoomBanned(path.RoomId))
            {
                _stats.CountPolicy();
                return Deny(host, origins[^1], path.FederationEndpoint!, "policy_room", "This room is banned by this server's policy list.");
            }
        }

        // Every federation request that gets this far carries signed content the gateway cannot inspect.
        host.Opaque.Count(MatrixAdapter.ProtocolName, OpaqueKind.Signed, path.FederationEndpoint!);

        if (path.IsMembershipRequest)
        {
            if (policy.UserBans.Count > 0 && policy.IsUserBanned(path.UserId))
            {
                _stats.CountPolicy();
                return Deny(host, origins[^1], path.FederationEndpoint!, "policy_user", "This user is banned by this server's policy list.");
            }

            if (path.UserId is null)
            {
                // send_join / send_knock / invite: the member event (its display name) and an invite's room state
                // (the room's name, topic and aliases) are judged as the same texts from a local client would be.
                return CheckMembershipBodyAsync(context, host, path, origins[^1], policy);
            }
        }

        return Allow;
    }

    private static ValueTask<GateRefusal?> Allow => ValueTask.FromResult<GateRefusal?>(null);

    /// <summary>send_join, send_knock and invite carry the member event in the body: read it, never change it.</summary>
    private async ValueTask<GateRefusal?> CheckMembershipBodyAsync(HttpContext context, IModuleHost host, MatrixPath path, string origin,
        MatrixPolicyList policy)
    {
        var bytes = await GateBodies.ReadBoundedAsync(context.Request, _maxBodyBytes, context.RequestAborted);
        if (bytes is null)
        {
            return new GateRefusal(StatusCodes.Status413PayloadTooLarge,
                "{\"errcode\":\"M_TOO_LARGE\",\"error\":\"The request body is too large.\"}"u8.ToArray());
        }

        if (policy.UserBans.Count > 0 && MentionsBannedUser(bytes, policy))
        {
            _stats.CountPolicy();
            return await Deny(host, origin, path.FederationEndpoint!, "policy_user", "This user is banned by this server's policy list.");
        }

        if (TextRefusal(bytes, host, path) is { } notice)
        {
            return await Deny(host, origin, path.FederationEndpoint!, "content", notice);
        }

        GateBodies.Restore(context.Request, bytes); // the body was read: hand the same bytes on
        return null;
    }

    /// <summary>
    /// The notice when the texts of a federated membership request are refused: the member event's display name and
    /// reason, and for an invite the stripped room state it carries (m.room.name, m.room.topic, m.room.canonical_alias).
    /// Signed bodies cannot be rewritten, so a drop or reject refuses the request whole; a censor lets it through.
    /// </summary>
    private static string? TextRefusal(byte[] json, IModuleHost host, MatrixPath path)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var member = root.TryGetProperty("event", out var e) && e.ValueKind == JsonValueKind.Object ? e : root;
            var fields = new List<Gateway.Policy.Model.MessageField>(AntispamEndpoints.EventFields(member));
            foreach (var stateKey in new[] { "invite_room_state" })
            {
                if (root.TryGetProperty(stateKey, out var state) && state.ValueKind == JsonValueKind.Array)
                {
                    foreach (var ev in state.EnumerateArray())
                    {
                        if (ev.ValueKind == JsonValueKind.Object && fields.Count < 64)
                        {
                            fields.AddRange(AntispamEndpoints.EventFields(ev));
                        }
                    }
                }
            }

            if (fields.Count == 0)
            {
                return null;
            }

            var sender = member.TryGetProperty("state_key", out var sk) && sk.ValueKind == JsonValueKind.String ? sk.GetString()
                : member.TryGetProperty("sender", out var sd) && sd.ValueKind == JsonValueKind.String ? sd.GetString() : null;
            var message = new Gateway.Policy.Model.ChatMessage { Protocol = MatrixAdapter.ProtocolName, Sender = sender, Room = path.RoomId, Fields = fields };
            var verdict = host.Evaluate(message, "federation");
            return verdict.Action is VerdictAction.Drop or VerdictAction.Reject
                ? verdict.Notice ?? MatrixAdapter.DefaultRejectMessage
                : null;
        }
        catch (JsonException)
        {
            return null; // not our call: the homeserver refuses malformed federation bodies itself
        }
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

    private ValueTask<GateRefusal?> Deny(IModuleHost host, string origin, string endpoint, string reason, string message)
    {
        MatrixLog.FederationDenied(_logger, origin, endpoint, reason);
        host.CountRefusal(MatrixAdapter.ProtocolName, reason);
        var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { errcode = "M_FORBIDDEN", error = message }));
        return ValueTask.FromResult<GateRefusal?>(new GateRefusal(StatusCodes.Status403Forbidden, body));
    }
}

/// <summary>Federation requests refused, by reason (a small fixed set).</summary>
internal sealed class FederationStats
{
    private long _acl;
    private long _roomAcl;
    private long _policy;

    public long AclDenied => Interlocked.Read(ref _acl);

    public long RoomAclDenied => Interlocked.Read(ref _roomAcl);

    public long PolicyDenied => Interlocked.Read(ref _policy);

    public void CountAcl() => Interlocked.Increment(ref _acl);

    public void CountRoomAcl() => Interlocked.Increment(ref _roomAcl);

    public void CountPolicy() => Interlocked.Increment(ref _policy);
}
