using System.Collections.Concurrent;
using Gateway.Protocols.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RouteHandler = Gateway.Protocols.Abstractions.RouteHandler;

using Gateway.Protocols.Sogs.Onion;

namespace Gateway.Protocols.Sogs;

/// <summary>
/// The SOGS module's live side in one gateway. What must survive a reload lives here, per backend: the used nonces
/// (a reload must not reopen replays), the drop counters, and the moderator directory with its database refresh.
/// </summary>
internal sealed class SogsRuntime : IModuleRuntime
{
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _logs;
    private readonly ConcurrentDictionary<string, SogsNonces> _nonces = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SogsDrops> _drops = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (SogsBackendSettings Settings, SogsDirectory Directory, SogsDatabase? Database)> _directories =
        new(StringComparer.Ordinal);

    public SogsRuntime(IServiceProvider services)
    {
        _time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        _logs = services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
    }

    public RouteHandler BuildRoute(RouteBuildContext context)
    {
        var capabilities = new ModuleCapabilities { CanRewrite = false };
        if (!context.Inspect)
        {
            return RouteHandler.Passthrough with { Capabilities = capabilities };
        }

        // Onion requests (/oxen/v4/lsrpc …) go through the onion layer: decrypted with the server's X25519 key when
        // the config names it, inspected by the same inspector as direct requests; without the key, counted opaque.
        var inspector = CreateInspector(context);
        var settings = context.BackendSettings as SogsBackendSettings;
        var onion = OnionSettings.FromKey(settings?.ServerPrivateKey).CreateHandler(OnionInner.From(inspector.InspectAsync), context.Host.Opaque);
        return new RouteHandler { Http = new OnionAdapter(new SogsAdapter(inspector), onion), Capabilities = capabilities };
    }

    /// <summary>The inspector for one route: direct requests use it through <see cref="SogsAdapter"/>, onion requests directly.</summary>
    internal SogsInspector CreateInspector(RouteBuildContext context)
    {
        var settings = context.BackendSettings as SogsBackendSettings ?? new SogsBackendSettings { Backend = context.Backend };
        if (settings.ServerPubkey.Length != 32)
        {
            throw new InvalidOperationException($"backend \"{context.Backend}\": [backends.sogs] needs server_pubkey or x25519_key_file");
        }

        var nonces = _nonces.GetOrAdd(context.Backend, _ => new SogsNonces(_time, settings.NonceCapacity));
        var drops = _drops.GetOrAdd(context.Backend, _ => new SogsDrops(_time));
        var directory = DirectoryFor(context.Backend, settings);
        var auth = new SogsAuth(settings.ServerPubkey, settings.RequireBlindKeys, nonces, _time);
        var fallback = context.RouteSettings is SogsCensorFallback f ? f : SogsCensorFallback.Reject;
        return new SogsInspector(settings, auth, directory, drops, context.Host.Opaque, context.Host, context.Backend, fallback, context.Limits.MaxJsonDepth);
    }

    /// <summary>One directory per backend and settings version; a reload with new settings replaces it (and its database poller).</summary>
    private SogsDirectory DirectoryFor(string backend, SogsBackendSettings settings)
    {
        lock (_directories)
        {
            if (_directories.TryGetValue(backend, out var existing) && ReferenceEquals(existing.Settings, settings))
            {
                return existing.Directory;
            }

            var d = new SogsDirectory(settings);
            var db = settings.DatabasePath is { } path
                ? new SogsDatabase(path, TimeSpan.FromSeconds(settings.DatabaseRefreshSeconds), d, _time, _logs.CreateLogger<SogsDatabase>())
                : null;
            existing.Database?.Dispose();
            _directories[backend] = (settings, d, db);
            return d;
        }
    }

    public void Dispose()
    {
        foreach (var (_, _, db) in _directories.Values)
        {
            db?.Dispose();
        }
    }
}
