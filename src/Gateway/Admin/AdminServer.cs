using Gateway.Transports;
using Gateway.Policy.Context;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Telemetry;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using OpenTelemetry.Metrics;

namespace Gateway.Admin;

/// <summary>
/// The admin API on its own Kestrel listener ([admin] listen, loopback by default). It is a separate web application
/// sharing the gateway's live services, so no admin endpoint exists on the proxy listener at all: there is no Host
/// header or port check that a request could talk its way past.
/// </summary>
internal sealed class AdminServer(IServiceProvider services, GatewayState state, ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public IReadOnlyList<string> Addresses { get; private set; } = Array.Empty<string>();

    /// <summary>The admin application once started (tests read its configuration sources).</summary>
    internal WebApplication? App => _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = state.Current.Config.Admin;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = WebHostArgs.Args, // no recursive appsettings watcher over the working directory
            // Never the developer exception page on an API that holds a token.
            EnvironmentName = Environments.Production,
        });
        builder.WebHost.ConfigureKestrel(k =>
        {
            Listeners.Bind(k, new[] { settings.Listen }, () => state.Current.Config.Server.Tls);
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = AdminEndpoints.MaxBodyBytes;
        });

        // The gateway's own log pipeline (providers, filters, OpenTelemetry) and no second signal handler.
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(new ProxyReadiness(services.GetRequiredService<IHostApplicationLifetime>()));
        builder.Services.AddSingleton(services.GetRequiredService<IConfigReloader>());
        builder.Services.AddSingleton(services.GetRequiredService<ReportQueue>());
        builder.Services.AddSingleton(services.GetRequiredService<ConversationStore>());
        builder.Services.AddSingleton(services.GetRequiredService<GatewayTelemetry>());
        builder.Services.AddSingleton(services.GetRequiredService<RecentVerdicts>());
        builder.Services.AddSingleton(services.GetRequiredService<OverlayStore>());
        builder.Services.AddSingleton(services.GetRequiredService<Gateway.Inspection.ProtectionState>());
        builder.Services.AddSingleton(services.GetRequiredService<TimeProvider>());
        builder.Services.AddSingleton(services.GetRequiredService<Gateway.Runtime.ModuleRuntimes>());
        builder.Services.AddSingleton(new Gateway.Cluster.ClusterAccess(services.GetService<Gateway.Cluster.ClusterSync>(), services.GetService<Gateway.Cluster.RedisLink>(),
            services.GetService<Gateway.Cluster.PairOwners>()));

        var app = builder.Build();
        AdminEndpoints.Map(app);
        if (state.Current.Config.Telemetry.Prometheus && services.GetService<MeterProvider>() is { } meters)
        {
            // Behind the same bearer token as the rest of the admin API (Prometheus: authorization.credentials_file).
            app.MapPrometheusScrapingEndpoint("/metrics", meters, configureBranchedPipeline: null, optionsName: null);
        }
        await app.StartAsync(cancellationToken);
        _app = app;
        Addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? Array.Empty<string>();
        Log.AdminListening(loggerFactory.CreateLogger("Gateway.Admin"), string.Join(", ", Addresses), settings.TokenSource ?? "?");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app)
        {
            await app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.DisposeAsync();
        }
    }
}
