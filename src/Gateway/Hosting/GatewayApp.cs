using Gateway.Admin;
using Gateway.Configuration;
using Gateway.Matrix;
using Gateway.Middleware;
using Gateway.Policy.Context;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Telemetry;
using Gateway.Transports.WebSocket;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Hosting;

/// <summary>Builds the gateway's web application from a validated config. Program.cs and tests both use this.</summary>
internal static class GatewayApp
{
    public static WebApplication Build(GatewayConfig config, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>() });
        builder.WebHost.UseUrls(config.Server.Listen.ToArray());
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // Passthrough routes stream any size; inspected routes enforce limits.max_body_bytes themselves.
            k.Limits.MaxRequestBodySize = null;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        // HttpClient's request lines carry the webhook URL, whose path can hold the receiver's secret; logs may be exported.
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);

        var time = TimeProvider.System;
        var matrix = new MatrixServices();
        var initial = RuntimeSnapshot.Build(config, version: 1, time.GetUtcNow(), matrix);
        builder.Services.AddSingleton(matrix);
        builder.Services.AddSingleton(time);
        // YARP's session affinity asks for data protection; keep its keys in memory, never on disk.
        builder.Services.AddSingleton<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(
            new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider());
        builder.Services.AddSingleton(new GatewayState(initial));
        builder.Services.AddSingleton<ConfigReloader>();
        AddReporting(builder.Services, config, time);
        builder.Services.AddWebSocketRelay();
        builder.Services.AddHostedService<ConfigWatcher>();
        builder.Services.AddReverseProxy().LoadFromMemory(initial.ProxyRoutes, initial.ProxyClusters).AddTransforms(RawTargetTransform.Add);
        builder.AddGatewayTelemetry(config);
        builder.AddGatewayAdmin(config);
        configure?.Invoke(builder);

        var app = builder.Build();
        var telemetry = app.Services.GetRequiredService<Telemetry.GatewayTelemetry>();
        matrix.Opaque.Counted += (protocol, kind, _) =>
            telemetry.CountOpaque(protocol, kind == "signed" ? Telemetry.OpaqueKind.Signed : Telemetry.OpaqueKind.Encrypted);
        app.UseMiddleware<ClientIpMiddleware>();
        app.MapGet("/_gateway/health", (ReportQueue queue, ConversationStore store) => Results.Json(new
        {
            status = "ok",
            reports = new { queued = queue.Count, queue.Stats.Enqueued, queue.Stats.Sent, queue.Stats.Retried, queue.Stats.Dropped, queue.Stats.Rejected },
            context = new { conversations = store.Conversations, bytes = store.Bytes },
        }));
        // DM context lives in RAM only: wiped when the process stops.
        app.Lifetime.ApplicationStopped.Register(() => app.Services.GetRequiredService<ConversationStore>().Clear());
        AntispamEndpoints.Map(app);
        app.MapReverseProxy(pipeline =>
        {
            pipeline.UseMiddleware<FederationGateMiddleware>();
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
        });
        return app;
    }

    /// <summary>The context buffers, the bounded report queue, its webhook worker and the audit trail.</summary>
    private static void AddReporting(IServiceCollection services, GatewayConfig config, TimeProvider time)
    {
        var stats = new ReportStats();
        services.AddSingleton(stats);
        services.AddSingleton(sp => new ReportQueue(config.Reports.QueueCapacity, stats, sp.GetRequiredService<ILogger<ReportQueue>>()));
        services.AddSingleton(_ => new ConversationStore(new ConversationStoreOptions
        {
            MessagesPerConversation = config.Context.MessagesPerConversation,
            MaxTotalBytes = config.Context.MaxTotalBytes,
            IdleExpiry = TimeSpan.FromMinutes(config.Context.IdleMinutes),
        }, time));
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<ReportingPipeline>();
        services.AddHostedService<WebhookSender>();
        WebhookSender.AddWebhookClient(services, config.Reports);
    }

    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? Array.Empty<string>();
}

/// <summary>Loads a changed config beside the live one and swaps it in only if it is entirely valid.</summary>
internal sealed class ConfigReloader(GatewayState state, InMemoryConfigProvider proxyConfig, MatrixServices matrix, TimeProvider time,
    ILogger<ConfigReloader> logger)
{
    private readonly Lock _gate = new();

    public ConfigLoadResult Reload(string path)
    {
        lock (_gate)
        {
            var current = state.Current;
            var result = ConfigLoader.LoadFile(path);
            if (!result.Ok)
            {
                state.CountFailure();
                Log.ReloadRefused(logger, current.Version, string.Join(Environment.NewLine, result.Errors));
                return result;
            }

            RuntimeSnapshot next;
            try
            {
                next = RuntimeSnapshot.Build(result.Config!, current.Version + 1, time.GetUtcNow(), matrix);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                state.CountFailure();
                Log.ReloadRefused(logger, current.Version, ex.Message);
                return new ConfigLoadResult(null, new[] { new ConfigError(Path.GetFileName(path), 0, 0, "", ex.Message) });
            }

            if (!next.Config.Server.Listen.SequenceEqual(current.Config.Server.Listen))
            {
                Log.ListenersNeedRestart(logger);
            }

            // Bindings first, then routes: a request routed by a new route id always finds its binding.
            state.Swap(next);
            proxyConfig.Update(next.ProxyRoutes, next.ProxyClusters);
            Log.Reloaded(logger, path, next.Version, next.Policy.FilterCount, next.Policy.KeywordCount, next.Policy.RegexCount);
            return result;
        }
    }
}

/// <summary>Watches gateway.toml and the list files it includes; debounces bursts of editor writes.</summary>
internal sealed class ConfigWatcher(GatewayState state, ConfigReloader reloader) : IHostedService, IDisposable
{
    private readonly List<FileSystemWatcher> _watchers = new();
    private Timer? _debounce;
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

        _debounce = new Timer(_ => Fire(), null, Timeout.Infinite, Timeout.Infinite);
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
            _debounce?.Change(300, Timeout.Infinite);
        }
    }

    private void Fire() => reloader.Reload(state.Current.Config.SourcePath);

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
