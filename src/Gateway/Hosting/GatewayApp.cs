using Gateway.Policy.Protections;
using Gateway.Protocols.Configuration;
using Gateway.Admin;
using Gateway.Cluster;
using Gateway.Configuration;
using Gateway.Inspection;
using Gateway.Protocols.Abstractions;
using Gateway.Middleware;
using Gateway.Policy.Context;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Telemetry;
using Gateway.Transports.WebSocket;
using Gateway.Transports;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Hosting;

/// <summary>Builds the gateway's web application from a validated config. Program.cs and tests both use this.</summary>
internal static class GatewayApp
{
    public static WebApplication Build(GatewayConfig config, Action<WebApplicationBuilder>? configure = null, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = WebHostArgs.Args });
        time ??= TimeProvider.System;
        LogRedactor.AddModules(config.Modules.All);
        // Routes and clusters first (YARP needs them before the app is built); the route handlers come from the
        // module runtimes, which need the built service provider, and replace this snapshot before the app starts.
        var initial = RuntimeSnapshot.Build(config, version: 1, time.GetUtcNow());
        var state = new GatewayState(initial);
        builder.WebHost.ConfigureKestrel(k =>
        {
            Listeners.Bind(k, config.Server.Listen, () => state.Current.Config.Server.Tls);
            k.AddServerHeader = false;
            // Passthrough routes stream any size; inspected routes enforce limits.max_body_bytes themselves.
            k.Limits.MaxRequestBodySize = null;
        });
        builder.AddGatewayLogging();

        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(new OpaqueTraffic());
        builder.Services.AddSingleton<IModuleHost, ModuleHost>();
        builder.Services.AddSingleton(sp => new ModuleRuntimes(config.Modules, sp, sp.GetRequiredService<IModuleHost>()));
        foreach (var module in config.Modules.All)
        {
            module.AddServices(builder.Services);
        }

        // YARP's session affinity asks for data protection; keep its keys in memory, never on disk.
        builder.Services.AddSingleton<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(
            new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider());
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton<ConfigReloader>().AddSingleton<IConfigReloader>(sp => sp.GetRequiredService<ConfigReloader>());
        AddReporting(builder.Services, config, time);
        builder.Services.AddGatewayCluster(config);
        builder.Services.AddWebSocketRelay();
        builder.Services.AddHostedService<ConfigWatcher>();
        builder.Services.AddHostedService<NativeMemoryTrimmer>();
        builder.Services.AddReverseProxy().LoadFromMemory(initial.ProxyRoutes, initial.ProxyClusters).AddTransforms(RawTargetTransform.Add);
        builder.AddGatewayTelemetry(config);
        builder.AddGatewayAdmin(config);
        configure?.Invoke(builder);

        var app = builder.Build();
        var telemetry = app.Services.GetRequiredService<Telemetry.GatewayTelemetry>();
        app.Services.GetRequiredService<OpaqueTraffic>().Observed += (protocol, kind, _) => telemetry.CountOpaque(protocol, kind);
        var runtimes = app.Services.GetRequiredService<ModuleRuntimes>();
        var withModules = RuntimeSnapshot.Build(config, version: 1, time.GetUtcNow(), runtimes);
        state.Swap(withModules);
        // The routes' transforms depend on the modules' handlers (ModuleCapabilities.PreserveHost): hand YARP the
        // routes built with them, as a reload does.
        app.Services.GetRequiredService<InMemoryConfigProvider>().Update(withModules.ProxyRoutes, withModules.ProxyClusters);
        app.Lifetime.ApplicationStopped.Register(runtimes.Dispose);
        app.UseMiddleware<LastResortMiddleware>();
        app.UseMiddleware<ClientIpMiddleware>();
        app.MapGet("/_gateway/health", (ReportQueue queue, ConversationStore store) => Results.Json(new
        {
            status = "ok",
            reports = new { queued = queue.Count, queue.Stats.Enqueued, queue.Stats.Sent, queue.Stats.Retried, queue.Stats.Dropped, queue.Stats.Rejected },
            context = new { conversations = store.Conversations, bytes = store.Bytes },
        }));
        // DM context lives in RAM only: wiped when the process stops.
        app.Lifetime.ApplicationStopped.Register(() => app.Services.GetRequiredService<ConversationStore>().Clear());
        var host = app.Services.GetRequiredService<IModuleHost>();
        foreach (var runtime in runtimes.All)
        {
            runtime.MapEndpoints(app, host);
        }

        app.MapReverseProxy(pipeline =>
        {
            pipeline.UseMiddleware<GateMiddleware>();
            pipeline.UseMiddleware<ClientFaultMiddleware>();
            pipeline.UseMiddleware<FrameRelayMiddleware>();
            pipeline.UseMiddleware<InspectionMiddleware>();
            // A custom pipeline drops YARP's defaults: put them back.
            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
            var s = app.Services.GetRequiredService<GatewayState>().Current;
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway");
            Log.Started(logger, addresses is null ? "?" : string.Join(", ", addresses), s.Version, s.Policy.FilterCount,
                s.Policy.KeywordCount, s.Policy.RegexCount);
            foreach (var w in s.Config.Warnings)
            {
                Log.ConfigWarning(logger, w.ToString());
            }
        });
        return app;
    }

    /// <summary>The context buffers, the bounded report queue, its webhook worker and the audit trail.</summary>
    private static void AddReporting(IServiceCollection services, GatewayConfig config, TimeProvider time)
    {
        var stats = new ReportStats();
        services.AddSingleton(stats);
        services.AddSingleton(sp => new ReportQueue(config.Reports.QueueCapacity, stats, sp.GetRequiredService<ILogger<ReportQueue>>()));
        services.AddSingleton(sp => new ConversationStore(new ConversationStoreOptions
        {
            MessagesPerConversation = config.Context.MessagesPerConversation,
            MaxTotalBytes = config.Context.MaxTotalBytes,
            IdleExpiry = TimeSpan.FromMinutes(config.Context.IdleMinutes),
        }, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<ICounterStore>(sp => new LocalCounterStore(sp.GetRequiredService<TimeProvider>(), config.Counters.MaxKeys));
        services.AddSingleton(sp => new SenderBlockList(sp.GetRequiredService<TimeProvider>(), config.Counters.MaxSenderBlocks));
        services.AddSingleton(sp => new RuleHits(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ProtectionState>();
        services.AddSingleton<ReportingPipeline>();
        services.AddHostedService<WebhookSender>();
        WebhookSender.AddWebhookClient(services, config.Reports);
    }

    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? Array.Empty<string>();
}

/// <summary>
/// Loads a changed config beside the live one and swaps it in only if it is entirely valid. Loading is bounded: a
/// load that does not finish within <see cref="Timeout"/> (a file that blocks despite ConfigFile's checks, a hung
/// mount) is abandoned and reported, and the next reload runs; an abandoned load can never swap (issue 9, defect 7).
/// </summary>
internal sealed class ConfigReloader(GatewayState state, InMemoryConfigProvider proxyConfig, ModuleRuntimes modules, TimeProvider time,
    ILogger<ConfigReloader> logger) : IConfigReloader
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Abandoned loads still running: beyond this many, reloads are refused rather than pile up threads.</summary>
    public const int MaxAbandoned = 4;

    private readonly Lock _gate = new();
    private int _abandoned;

    /// <summary>The bound on one load; tests shorten it.</summary>
    internal TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>Reads and validates the config file; tests substitute a loader that blocks.</summary>
    internal Func<string, ConfigLoadResult> Loader { get; set; } = path => ConfigLoader.LoadFile(path, state.Current.Config.Modules);

    public ConfigLoadResult Reload(string path)
    {
        var file = Path.GetFileName(path);
        if (Volatile.Read(ref _abandoned) >= MaxAbandoned)
        {
            return Refuse(file, $"{MaxAbandoned} earlier reloads are still stuck reading their files; not starting another until they end");
        }

        var load = Task.Factory.StartNew(() => Loader(path), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        ConfigLoadResult result;
        try
        {
            if (!load.Wait(Timeout))
            {
                Interlocked.Increment(ref _abandoned);
                _ = load.ContinueWith(_ => Interlocked.Decrement(ref _abandoned), CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                lock (_gate)
                {
                    state.CountFailure();
                }

                Log.ReloadAbandoned(logger, state.Current.Version, Timeout.TotalSeconds);
                return new ConfigLoadResult(null, new[]
                {
                    new ConfigError(file, 0, 0, "", $"reload abandoned: loading did not finish within {Timeout.TotalSeconds:0.#} s " +
                        $"(a file the config names may block: a FIFO, a hung mount); the last good config (version {state.Current.Version}) keeps serving"),
                })
                { Abandoned = true };
            }

            result = load.Result;
        }
        catch (AggregateException ex) when (ex.InnerException is { } inner && inner is not OutOfMemoryException)
        {
            return Refuse(file, $"loading failed: {inner.Message}");
        }

        lock (_gate)
        {
            var current = state.Current;
            if (!result.Ok)
            {
                state.CountFailure();
                Log.ReloadRefused(logger, current.Version, string.Join(Environment.NewLine, result.Errors));
                return result;
            }

            RuntimeSnapshot next;
            try
            {
                next = RuntimeSnapshot.Build(result.Config!, current.Version + 1, time.GetUtcNow(), modules);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                state.CountFailure();
                Log.ReloadRefused(logger, current.Version, ex.Message);
                return new ConfigLoadResult(null, new[] { new ConfigError(file, 0, 0, "", ex.Message) });
            }

            if (!next.Config.Server.Listen.SequenceEqual(current.Config.Server.Listen))
            {
                Log.ListenersNeedRestart(logger);
            }

            // Bindings first, then routes: a request routed by a new route id always finds its binding.
            state.Swap(next);
            proxyConfig.Update(next.ProxyRoutes, next.ProxyClusters);
            Log.Reloaded(logger, path, next.Version, next.Policy.FilterCount, next.Policy.KeywordCount, next.Policy.RegexCount);
            foreach (var w in next.Config.Warnings)
            {
                Log.ConfigWarning(logger, w.ToString());
            }

            return result;
        }
    }

    private ConfigLoadResult Refuse(string file, string problem)
    {
        lock (_gate)
        {
            state.CountFailure();
            Log.ReloadRefused(logger, state.Current.Version, problem);
        }

        return new ConfigLoadResult(null, new[] { new ConfigError(file, 0, 0, "", problem) });
    }
}

/// <summary>Watches gateway.toml and the list files it includes; debounces bursts of editor writes.</summary>
internal sealed class ConfigWatcher(GatewayState state, ConfigReloader reloader, TimeProvider time, ILogger<ConfigWatcher> logger) : IHostedService, IDisposable
{
    private readonly List<FileSystemWatcher> _watchers = new();
    private ITimer? _debounce;
    private System.Runtime.InteropServices.PosixSignalRegistration? _sighup;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var config = state.Current.Config;
        if (!OperatingSystem.IsWindows())
        {
            // `systemctl reload` (SIGHUP) reloads whether or not the file watcher is on.
            _sighup = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, ctx =>
            {
                ctx.Cancel = true;
                ThreadPool.QueueUserWorkItem(_ => Fire());
            });
        }

        if (!config.Server.WatchConfig)
        {
            return Task.CompletedTask;
        }

        _debounce = time.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        var dirs = new HashSet<string>(StringComparer.Ordinal) { Path.GetDirectoryName(config.SourcePath)! };
        foreach (var f in config.IncludedFiles)
        {
            var d = Path.GetDirectoryName(f);
            if (d is not null && Directory.Exists(d))
            {
                dirs.Add(d);
            }
        }

        foreach (var dir in dirs)
        {
            var w = new FileSystemWatcher(dir) { IncludeSubdirectories = false, NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size };
            w.Changed += OnChange;
            w.Created += OnChange;
            w.Renamed += OnChange;
            w.EnableRaisingEvents = true;
            _watchers.Add(w);
        }

        return Task.CompletedTask;
    }

    private void OnChange(object sender, FileSystemEventArgs e)
    {
        var config = state.Current.Config;
        var full = Path.GetFullPath(e.FullPath);
        if (full == config.SourcePath || config.IncludedFiles.Contains(full))
        {
            _debounce?.Change(TimeSpan.FromMilliseconds(300), Timeout.InfiniteTimeSpan);
        }
    }

    // Runs on a timer or signal thread: an exception here would end the process, and Reload reports its own failures.
    private void Fire()
    {
        try
        {
            reloader.Reload(state.Current.Config.SourcePath);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Reload turns every expected failure into a refused reload: this is a bug, but the gateway keeps serving.
            Log.ReloadRefused(logger, state.Current.Version, ex.GetType().Name + ": " + ex.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        foreach (var w in _watchers)
        {
            w.Dispose();
        }

        _watchers.Clear();
        _sighup?.Dispose();
        _sighup = null;
        _debounce?.Dispose();
        _debounce = null;
    }
}
