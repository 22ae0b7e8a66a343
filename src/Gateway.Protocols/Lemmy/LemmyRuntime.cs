using System.Collections.Concurrent;
using Gateway.Protocols.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using RouteHandler = Gateway.Protocols.Abstractions.RouteHandler;

namespace Gateway.Protocols.Lemmy;

/// <summary>
/// The Lemmy module's live side in one gateway: one directory (with its caches) per backend and look-up settings,
/// kept across reloads, and the HTTP client the directories share.
/// </summary>
internal sealed class LemmyRuntime : IModuleRuntime
{
    private readonly ConcurrentDictionary<(string Backend, Uri Api, int Tokens, int Communities), LemmyDirectory> _directories = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    private readonly TimeProvider _time;

    public LemmyRuntime(IServiceProvider services) => _time = services.GetService<TimeProvider>() ?? TimeProvider.System;

    public RouteHandler BuildRoute(RouteBuildContext context)
    {
        var settings = context.BackendSettings as LemmyBackendSettings ?? LemmyBackendSettings.Default;
        // Every Lemmy route: the inbox gate acts on inbox requests only, and Lemmy sees its public Host (HTTP
        // Signatures sign it), as behind the usual nginx. The inbox prefixes carry signed bodies only.
        var gates = new IRequestGate[] { new LemmyInboxGate(settings.Federation, context.Limits.MaxBodyBytes) };
        var signed = context.Path is "/inbox" or "/site_inbox" or "/c" or "/u";
        var capabilities = new ModuleCapabilities { CanRewrite = !signed, PreserveHost = true };
        if (!context.Inspect)
        {
            return new RouteHandler { Gates = gates, Capabilities = capabilities };
        }

        var api = settings.Api ?? new Uri(context.Upstreams[0]);
        var directory = _directories.GetOrAdd(
            (context.Backend, api, settings.TokenCacheSeconds, settings.CommunityCacheSeconds),
            _ => new LemmyDirectory(_http, api, TimeSpan.FromSeconds(settings.TokenCacheSeconds), TimeSpan.FromSeconds(settings.CommunityCacheSeconds), _time));
        return new RouteHandler
        {
            Http = new LemmyAdapter(directory, settings, _time, context.Limits.MaxJsonDepth),
            Gates = gates,
            Capabilities = capabilities,
        };
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
