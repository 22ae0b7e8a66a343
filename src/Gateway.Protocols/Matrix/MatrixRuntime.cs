using System.Text.Json.Nodes;
using System.Collections.Concurrent;
using Gateway.Protocols.Abstractions;
using Microsoft.AspNetCore.Routing;
using RouteHandler = Gateway.Protocols.Abstractions.RouteHandler;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// The Matrix module's live side in one gateway, shared by every config version: one directory (with its caches) per
/// backend and homeserver, the HTTP client the directories use, and the federation counters. Each route of a Matrix
/// backend gets the federation gate (inspected or not) and, when inspected, the client-server adapter.
/// </summary>
internal sealed class MatrixRuntime : IModuleRuntime
{
    private readonly ConcurrentDictionary<(string Backend, Uri Homeserver, int Tokens, int Rooms, string Level), MatrixDirectory> _directories = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    private readonly TimeProvider _time;

    /// <summary>Ids handed out for silently dropped sends; outlives reloads (a client retries across them).</summary>
    private readonly MatrixDrops _drops;
    private readonly ILogger _gateLogger;
    private readonly ILogger _antispamLogger;
    private readonly ILogger _policyServerLogger;

    /// <summary>No client timeout: the policy-room follower long-polls /sync and sets its own deadline per request.</summary>
    private readonly HttpClient _syncHttp = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>Rules from [matrix] policy_rooms; outlives reloads (restarted only when the rooms, account or homeserver change).</summary>
    internal PolicyRoomFollower PolicyRooms { get; }

    public MatrixRuntime(IServiceProvider services)
    {
        _time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        _drops = new MatrixDrops(_time);
        var loggers = services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        _gateLogger = loggers.CreateLogger("Gateway.Matrix.FederationGate");
        _antispamLogger = loggers.CreateLogger("Gateway.Matrix.Antispam");
        _policyServerLogger = loggers.CreateLogger("Gateway.Matrix.PolicyServer");
        PolicyRooms = new PolicyRoomFollower(_syncHttp, _time, loggers.CreateLogger("Gateway.Matrix.PolicyRooms"));
    }

    public FederationStats Federation { get; } = new();

    /// <summary>Policy rooms followed (name, id, rule count, error, last good read) and the federation gate's denials.</summary>
    public JsonObject? Status()
    {
        var rooms = new JsonArray();
        foreach (var r in PolicyRooms.Status)
        {
            rooms.Add(new JsonObject
            {
                ["room"] = r.Room,
                ["room_id"] = r.RoomId,
                ["rules"] = r.Rules,
                ["error"] = r.Error,
                ["last_good"] = r.LastGood?.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            });
        }

        return new JsonObject
        {
            ["policy_rooms"] = rooms,
            ["policy_sync_failures"] = PolicyRooms.SyncFailures,
            ["federation_denied"] = new JsonObject
            {
                ["server_acl"] = Federation.AclDenied,
                ["room_acl"] = Federation.RoomAclDenied,
                ["policy_list"] = Federation.PolicyDenied,
            },
        };
    }

    public RouteHandler BuildRoute(RouteBuildContext context)
    {
        var backend = context.BackendSettings as MatrixBackendSettings ?? MatrixBackendSettings.Default;
        var global = context.GlobalSettings as MatrixSettings ?? MatrixSettings.Default;
        PolicyRooms.Configure(global.PolicyRooms);
        _drops.Capacity = global.DroppedIds;
        var files = global.PolicyList;
        var gate = FederationGate.Build(backend, files, () => PolicyRooms.Merged(files), context.Limits.MaxBodyBytes, Federation, _gateLogger);
        return new RouteHandler
        {
            Http = context.Inspect ? CreateAdapter(context, backend, global) : null,
            Gates = new IRequestGate[] { gate },
        };
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints, IModuleHost host)
    {
        AntispamEndpoints.Map(endpoints, host, _antispamLogger, PolicyRooms.Merged);
        PolicyServerEndpoints.Map(endpoints, host, _policyServerLogger, PolicyRooms.Merged);
    }

    private MatrixAdapter CreateAdapter(RouteBuildContext context, MatrixBackendSettings m, MatrixSettings global)
    {
        var options = new MatrixOptions
        {
            Homeserver = m.Homeserver ?? new Uri(context.Upstreams[0]),
            ModeratorLevel = m.ModeratorLevel,
            TokenCacheTime = TimeSpan.FromSeconds(m.TokenCacheSeconds),
            RoomCacheTime = TimeSpan.FromSeconds(m.RoomCacheSeconds),
            PublicRooms = m.PublicRooms,
            RejectEncryptedInPublicRooms = m.RejectEncryptedInPublicRooms,
            MaxJsonDepth = context.Limits.MaxJsonDepth,
        };
        // One directory per backend and lookup settings, kept across reloads so the caches survive them.
        var directory = _directories.GetOrAdd(
            (context.Backend, options.Homeserver, m.TokenCacheSeconds, m.RoomCacheSeconds, m.ModeratorLevel),
            _ => new MatrixDirectory(_http, options, _time));
        var files = global.PolicyList;
        return new MatrixAdapter(options, directory, () => PolicyRooms.Merged(files), context.Host.Opaque, _drops, global.Appservices);
    }

    public void Dispose()
    {
        foreach (var d in _directories.Values)
        {
            d.Dispose();
        }

        PolicyRooms.Dispose();
        _http.Dispose();
        _syncHttp.Dispose();
    }
}
