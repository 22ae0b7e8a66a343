using System.Net.Http.Headers;
using Gateway.Admin;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Operations;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Cluster;

/// <summary>
/// One gateway instance of a test cluster: the real <see cref="GatewayApp.Build"/> on 127.0.0.1:0 with its own
/// directory, config file and admin listener, pointing at the shared Redis. <see cref="KillAsync"/> stops it without
/// draining (connections in flight are cut), as a crashed process would.
/// </summary>
internal sealed class ClusterNode : IAsyncDisposable
{
    public const string Secret = "cluster-secret-0123456789abcdef0123456789abcdef";

    private readonly WebApplication _app;
    private bool _stopped;

    private ClusterNode(WebApplication app, string dir, CapturingLoggerProvider logs)
    {
        _app = app;
        Directory = dir;
        Logs = logs;
        Url = new Uri(app.Urls.First());
        Client = new HttpClient { BaseAddress = Url };
        Admin = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<AdminServer>().Addresses[0]) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", OpsGateway.Token);
    }

    public string Directory { get; }

    public Uri Url { get; }

    public HttpClient Client { get; }

    public HttpClient Admin { get; }

    public CapturingLoggerProvider Logs { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The [cluster] table every test instance uses.</summary>
    public static string ClusterTable(string redisUrl, string instance, int budgetMs = 2000) => $"""

        [cluster]
        redis = "{redisUrl}"
        instance = "{instance}"
        secret_file = "cluster-secret"
        budget_ms = {budgetMs}
        heartbeat_ms = 200
        internal_listen = "127.0.0.1:0"
        """;

    public static async Task<ClusterNode> StartAsync(string toml, IDictionary<string, string>? files = null)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("gw-node-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "admin-token"), OpsGateway.Token + "\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "cluster-secret"), Secret + "\n");
        foreach (var (name, content) in files ?? new Dictionary<string, string>())
        {
            await File.WriteAllTextAsync(Path.Combine(dir, name), content);
        }

        var path = Path.Combine(dir, "gateway.toml");
        await File.WriteAllTextAsync(path, toml + OpsGateway.AdminTable());
        var result = ConfigLoader.LoadFile(path);
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var config = result.Config! with { Server = result.Config!.Server with { Listen = new[] { "http://127.0.0.1:0" }, WatchConfig = false } };
        var logs = new CapturingLoggerProvider();
        var app = GatewayApp.Build(config, b =>
        {
            b.Logging.ClearProviders();
            b.Logging.SetMinimumLevel(LogLevel.Trace);
            b.Logging.AddFilter(_ => true);
            b.Logging.AddProvider(logs);
        });
        await app.StartAsync();
        return new ClusterNode(app, dir, logs);
    }

    /// <summary>Stops at once: the listener closes and requests in flight are aborted, not drained.</summary>
    public async Task KillAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _app.StopAsync(new CancellationToken(canceled: true));
        await _app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            Client.Dispose();
            Admin.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
