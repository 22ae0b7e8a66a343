using Gateway.Configuration;
using Gateway.Matrix;
using Gateway.Policy.Acl;
using Gateway.Policy.Net;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Json;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Runtime;

/// <summary>
/// How one YARP route is handled: which adapter inspects it (null = passthrough), how it fails, and for Matrix
/// backends the federation gate applied to /_matrix/federation requests.
/// </summary>
internal sealed record RouteBinding(string RouteId, string Backend, IProtocolAdapter? Adapter, OnError OnError,
    string Protocol = "none", FederationGate? Federation = null);

/// <summary>
/// Everything compiled from one config version: policy, ACL, IP sets, route bindings and the YARP routes and
/// clusters. Built beside the live one and swapped with one reference write.
/// </summary>
internal sealed class RuntimeSnapshot
{
    public required long Version { get; init; }

    public required DateTimeOffset LoadedAt { get; init; }

    public required GatewayConfig Config { get; init; }

    public required PolicySnapshot Policy { get; init; }

    /// <summary>
    /// The one gateway-wide server ACL: gateway.toml's [server_acl], the policy lists' server bans and the admin API's
    /// runtime deny entries, merged. The federation gate refuses an origin it denies on every federation request.
    /// </summary>
    public required ServerAcl Acl { get; init; }

    /// <summary>What <see cref="Acl"/> is before the admin overlay is merged in (gateway.toml and policy lists only).</summary>
    public required ServerAcl ConfigAcl { get; init; }

    public required IpBlockList IpBlocks { get; init; }

    public required IpBlockList TrustedProxies { get; init; }

    public required IReadOnlyDictionary<string, RouteBinding> Routes { get; init; }

    public required IReadOnlyList<RouteConfig> ProxyRoutes { get; init; }

    public required IReadOnlyList<ClusterConfig> ProxyClusters { get; init; }

    /// <summary>The admin API's runtime IP blocks and ACL entries merged into <see cref="IpBlocks"/> and <see cref="Acl"/>.</summary>
    public AdminOverlay Overlay { get; init; } = AdminOverlay.Empty;

    public static RuntimeSnapshot Build(GatewayConfig config, long version, DateTimeOffset now, MatrixServices? matrix = null)
    {
        var policy = PolicyCompiler.Compile(config.Filters, config.Limits.Policy);
        var acl = ConfigServerAcl(config);
        var trusted = new List<IpBlockEntry>();
        foreach (var c in config.Server.TrustedProxies)
        {
            trusted.Add(new IpBlockEntry(c));
        }

        var bindings = new Dictionary<string, RouteBinding>(StringComparer.Ordinal);
        var routes = new List<RouteConfig>();
        var clusters = new List<ClusterConfig>();
        foreach (var backend in config.Backends)
        {
            var destinations = new Dictionary<string, DestinationConfig>(StringComparer.Ordinal);
            for (var i = 0; i < backend.Upstreams.Count; i++)
            {
                destinations[$"d{i}"] = new DestinationConfig { Address = backend.Upstreams[i] };
            }

            var clusterId = "backend-" + backend.Name;
            var federation = backend.Protocol == "matrix" ? FederationGate.Build(backend.Matrix, config.Matrix.PolicyList) : null;
            clusters.Add(new ClusterConfig
            {
                ClusterId = clusterId,
                Destinations = destinations,
                LoadBalancingPolicy = "RoundRobin",
            });

            for (var ri = 0; ri < backend.Routes.Count; ri++)
            {
                var r = backend.Routes[ri];
                var routeId = $"{backend.Name}#{ri}";
                IProtocolAdapter? adapter = !r.Inspect ? null : backend.Protocol switch
                {
                    "json" when r.Json is not null => new JsonAdapter(r.Json),
                    "matrix" when matrix is not null => matrix.CreateAdapter(backend, config),
                    _ => null,
                };
                bindings[routeId] = new RouteBinding(routeId, backend.Name, adapter, r.OnError, backend.Protocol, federation);
                routes.Add(new RouteConfig
                {
                    RouteId = routeId,
                    ClusterId = clusterId,
                    // Longer prefixes first, so "/api/messages" wins over "/" regardless of file order; all after
                    // the gateway's own endpoints (order 0), so a "/" route cannot shadow /_gateway/health.
                    Order = 100_000 - r.Path.Length,
                    Match = new RouteMatch
                    {
                        Path = r.Path == "/" ? "/{**rest}" : r.Path + "/{**rest}",
                        Methods = r.Methods.Count == 0 ? null : r.Methods,
                    },
                });
            }
        }

        return new RuntimeSnapshot
        {
            Version = version,
            LoadedAt = now,
            Config = config,
            Policy = policy,
            Acl = acl,
            ConfigAcl = acl,
            IpBlocks = IpBlockList.Build(config.IpBlocks),
            TrustedProxies = IpBlockList.Build(trusted),
            Routes = bindings,
            ProxyRoutes = routes,
            ProxyClusters = clusters,
        };
    }

    /// <summary>[server_acl] plus the policy lists' server bans: a gateway-wide ban, whatever its source.</summary>
    private static ServerAcl ConfigServerAcl(GatewayConfig config)
    {
        var acl = config.ServerAcl is { } a ? ServerAcl.Create(a.Allow, a.Deny, a.AllowIpLiterals) : ServerAcl.AllowAll;
        var bans = config.Matrix.PolicyList.ServerBans;
        return bans.Count > 0 ? acl.WithExtraDenyOrCreate(bans) : acl;
    }
}

/// <summary>The live snapshot. Requests read <see cref="Current"/> once; reloads swap it atomically.</summary>
internal sealed class GatewayState
{
    private readonly Lock _swap = new();
    private RuntimeSnapshot _current;
    private AdminOverlay _overlay = AdminOverlay.Empty;

    public GatewayState(RuntimeSnapshot initial) => _current = initial;

    public RuntimeSnapshot Current => Volatile.Read(ref _current);

    public long ReloadFailures { get; private set; }

    /// <summary>Swaps in a new config's snapshot, with the admin overlay merged so a reload never loses it.</summary>
    public void Swap(RuntimeSnapshot next)
    {
        lock (_swap)
        {
            Volatile.Write(ref _current, ReferenceEquals(next.Overlay, _overlay) ? next : _overlay.ApplyTo(next));
        }
    }

    /// <summary>Merges a changed admin overlay into the live snapshot (same config, same version).</summary>
    public void SetOverlay(AdminOverlay overlay)
    {
        lock (_swap)
        {
            _overlay = overlay;
            Volatile.Write(ref _current, overlay.ApplyTo(_current));
        }
    }

    public void CountFailure() => ReloadFailures++;
}
