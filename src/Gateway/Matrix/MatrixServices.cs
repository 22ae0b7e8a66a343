using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Gateway.Configuration;
using Gateway.Policy.Acl;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Matrix;

namespace Gateway.Matrix;

/// <summary>
/// Long-lived Matrix state shared by every config version: one directory (with its caches) per backend and
/// homeserver, the HTTP client it uses, and the opaque-traffic counters.
/// </summary>
internal sealed class MatrixServices : IDisposable
{
    private readonly ConcurrentDictionary<(string Backend, Uri Homeserver, int Tokens, int Rooms, string Level), MatrixDirectory> _directories = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    public OpaqueTraffic Opaque { get; } = new();

    public FederationStats Federation { get; } = new();

    public MatrixAdapter CreateAdapter(BackendSettings backend, GatewayConfig config)
    {
        var m = backend.Matrix ?? new Configuration.MatrixBackendSettings();
        var options = new MatrixOptions
        {
            Homeserver = m.Homeserver ?? new Uri(backend.Upstreams[0]),
            ModeratorLevel = m.ModeratorLevel,
            TokenCacheTime = TimeSpan.FromSeconds(m.TokenCacheSeconds),
            RoomCacheTime = TimeSpan.FromSeconds(m.RoomCacheSeconds),
            PublicRooms = m.PublicRooms,
            RejectEncryptedInPublicRooms = m.RejectEncryptedInPublicRooms,
            MaxJsonDepth = config.Limits.MaxJsonDepth,
        };
        var directory = _directories.GetOrAdd(
            (backend.Name, options.Homeserver, m.TokenCacheSeconds, m.RoomCacheSeconds, m.ModeratorLevel),
            _ => new MatrixDirectory(_http, options));
        return new MatrixAdapter(options, directory, config.Matrix.PolicyList, Opaque);
    }

    public void Dispose()
    {
        foreach (var d in _directories.Values)
        {
            d.Dispose();
        }

        _http.Dispose();
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

/// <summary>
/// The per-room part of one Matrix backend's federation gate: per-room ACLs (with the policy lists' server bans added)
/// and the policy lists' user and room bans. Gateway-wide server bans are not here: they are the snapshot's one
/// <see cref="Runtime.RuntimeSnapshot.Acl"/>, which the gate checks on every federation request.
/// </summary>
internal sealed class FederationGate(IReadOnlyList<(Regex Room, ServerAcl Acl)> roomAcls, MatrixPolicyList policy)
{
    public IReadOnlyList<(Regex Room, ServerAcl Acl)> RoomAcls { get; } = roomAcls;

    public MatrixPolicyList Policy { get; } = policy;

    public static FederationGate Build(Configuration.MatrixBackendSettings? settings, MatrixPolicyList policy)
    {
        var rooms = new List<(Regex, ServerAcl)>();
        foreach (var r in settings?.RoomAcls ?? Array.Empty<Configuration.RoomAclSettings>())
        {
            var roomAcl = ServerAcl.Create(r.Acl.Allow, r.Acl.Deny, r.Acl.AllowIpLiterals);
            rooms.Add((NameGlob.CompileAny(new[] { r.Room })!, policy.ServerBans.Count > 0 ? roomAcl.WithExtraDeny(policy.ServerBans) : roomAcl));
        }

        return new FederationGate(rooms, policy);
    }
}

internal static class ServerAclExtensions
{
    /// <summary>
    /// Adds deny globs; with no ACL configured (allow everyone) the result allows everyone but those globs,
    /// rather than the "missing allow = deny all" an empty ACL event would mean.
    /// </summary>
    public static ServerAcl WithExtraDenyOrCreate(this ServerAcl acl, IReadOnlyList<string> deny) =>
        ReferenceEquals(acl, ServerAcl.AllowAll) ? ServerAcl.Create(new[] { "*" }, deny) : acl.WithExtraDeny(deny);
}
