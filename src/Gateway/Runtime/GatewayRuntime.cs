using Gateway.Configuration;
using Gateway.Policy.Acl;
using Gateway.Policy.Net;
using Gateway.Policy.Protections;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms;

namespace Gateway.Runtime;

/// <summary>
/// How one YARP route is handled under one config version: the gates that run first, the adapter that inspects
/// HTTP requests and the frame sessions of relayed WebSockets (null = passthrough), how it fails, and what a
/// censor verdict becomes when its protocol cannot rewrite.
/// </summary>
internal sealed record RouteBinding(string RouteId, string Backend, IProtocolAdapter? Adapter, OnError OnError,
    string Protocol = "none", IFrameSessionFactory? Frames = null)
{
    public IReadOnlyList<IRequestGate> Gates { get; init; } = Array.Empty<IRequestGate>();

    public ModuleCapabilities Capabilities { get; init; } = ModuleCapabilities.Rewritable;

    public CensorFallback CensorFallback { get; init; } = CensorFallback.Reject;
}

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

    /// <summary>The compiled [[protections]] (shapes of abuse: floods, duplicates, waves); their counters outlive reloads.</summary>
    public ProtectionSet Protections { get; init; } = ProtectionSet.Empty;

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

    /// <param name="modules">The module runtimes that build route handlers; null builds routes and clusters only
    /// (every route passthrough), for the first snapshot before the runtimes exist.</param>
    public static RuntimeSnapshot Build(GatewayConfig config, long version, DateTimeOffset now, ModuleRuntimes? modules = null)
    {
        var policy = config.CompiledPolicy ?? PolicyCompiler.Compile(config.Filters, config.Limits.Policy);
        var limits = new ConfigLimits
        {
            MaxBodyBytes = config.Limits.MaxBodyBytes,
            MaxJsonDepth = config.Limits.MaxJsonDepth,
            MaxFrameBytes = (int)Math.Min(config.Limits.MaxFrameBytes, int.MaxValue),
            MaxRegexLength = config.Limits.Policy.MaxRegexLength,
        };
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
                var runtime = modules?.Get(backend.Protocol);
                var handler = runtime is null || modules is null ? Protocols.Abstractions.RouteHandler.Passthrough : runtime.BuildRoute(new RouteBuildContext
                {
                    RouteId = routeId,
                    Backend = backend.Name,
                    Upstreams = backend.Upstreams,
                    Path = r.Path,
                    Inspect = r.Inspect,
                    Transport = r.Transport,
                    BackendSettings = backend.Module,
                    RouteSettings = r.Module,
                    GlobalSettings = config.ModuleSettings.GetValueOrDefault(backend.Protocol),
                    Limits = limits,
                    Host = modules.Host,
                });
                // WebSocket upgrades on a frames route are relayed through a session; its other requests keep the HTTP adapter.
                bindings[routeId] = new RouteBinding(routeId, backend.Name, handler.Http, r.OnError, backend.Protocol, handler.Frames)
                {
                    Gates = handler.Gates,
                    Capabilities = handler.Capabilities,
                    CensorFallback = r.CensorFallback,
                };
                var route = new RouteConfig
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
                };
                // HTTP Signatures (ActivityPub inboxes) sign the Host header: forward the client's own when the module asks.
                routes.Add(handler.Capabilities.PreserveHost ? route.WithTransformUseOriginalHostHeader(true) : route);
            }
        }

        return new RuntimeSnapshot
        {
            Version = version,
            LoadedAt = now,
            Config = config,
            Policy = policy,
            Protections = config.CompiledProtections
                ?? (config.Protections.Count == 0 ? ProtectionSet.Empty : ProtectionSet.Compile(config.Protections, new List<string>())),
            Acl = acl,
            ConfigAcl = acl,
            IpBlocks = IpBlockList.Build(config.IpBlocks),
            TrustedProxies = IpBlockList.Build(trusted),
            Routes = bindings,
            ProxyRoutes = routes,
            ProxyClusters = clusters,
        };
    }

    /// <summary>
    /// [server_acl]: the gateway-wide ban list the admin API's runtime entries are merged into. Protocol modules add
    /// their own sources (policy lists) in their gates.
    /// </summary>
    private static ServerAcl ConfigServerAcl(GatewayConfig config) =>
        config.ServerAcl?.Compile() ?? ServerAcl.AllowAll;
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

    /// <summary>Raised after every swap (reload or admin overlay), outside the lock; handlers must be quick.</summary>
    public event Action<RuntimeSnapshot>? Changed;

    /// <summary>Swaps in a new config's snapshot, with the admin overlay merged so a reload never loses it.</summary>
    public void Swap(RuntimeSnapshot next)
    {
        lock (_swap)
        {
            Volatile.Write(ref _current, ReferenceEquals(next.Overlay, _overlay) ? next : _overlay.ApplyTo(next));
        }

        Changed?.Invoke(Current);
    }

    /// <summary>Merges a changed admin overlay into the live snapshot (same config, same version).</summary>
    public void SetOverlay(AdminOverlay overlay)
    {
        lock (_swap)
        {
            _overlay = overlay;
            Volatile.Write(ref _current, overlay.ApplyTo(_current));
        }

        Changed?.Invoke(Current);
    }

    public void CountFailure() => ReloadFailures++;
}
