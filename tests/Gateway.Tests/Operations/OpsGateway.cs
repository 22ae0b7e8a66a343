using System.Net.Http.Headers;
using Gateway.Admin;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Gateway.Tests.Operations;

/// <summary>
/// The real gateway (<see cref="GatewayApp.Build"/>) for the operations tests: proxy and admin listeners on
/// 127.0.0.1:0, config in a directory the test can keep across a restart. Logs are captured at every level unless
/// <c>productionLogging</c> asks for the gateway's own log filters (the telemetry test exports logs as shipped).
/// </summary>
internal sealed class OpsGateway : IAsyncDisposable
{
    public const string Token = "test-admin-token-0123456789abcdef";

    private readonly WebApplication _app;
    private readonly bool _ownsDirectory;
    private bool _stopped;

    private OpsGateway(WebApplication app, string dir, CapturingLoggerProvider logs, bool ownsDirectory)
    {
        _app = app;
        Directory = dir;
        Logs = logs;
        _ownsDirectory = ownsDirectory;
        Client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        var admin = app.Services.GetService<AdminServer>();
        if (admin is not null)
        {
            AdminUrl = admin.Addresses[0];
            Admin = new HttpClient { BaseAddress = new Uri(AdminUrl) };
            Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        }
    }

    public string Directory { get; }

    public string ConfigPath => Path.Combine(Directory, "gateway.toml");

    public HttpClient Client { get; }

    public string? AdminUrl { get; }

    /// <summary>A client for the admin listener that sends the right token.</summary>
    public HttpClient? Admin { get; }

    public CapturingLoggerProvider Logs { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The [admin] table the tests use: loopback port 0, token from a file.</summary>
    public static string AdminTable(string extra = "") => $"""

        [admin]
        listen = "http://127.0.0.1:0"
        token_file = "admin-token"
        {extra}
        """;

    public static async Task<OpsGateway> StartAsync(string toml, string? directory = null, bool productionLogging = false,
        IDictionary<string, string>? extraFiles = null)
    {
        var owns = directory is null;
        var dir = directory ?? Path.Combine(Path.GetTempPath(), "gateway-ops-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "admin-token"), Token + "\n");
        foreach (var (name, content) in extraFiles ?? new Dictionary<string, string>())
        {
            await File.WriteAllTextAsync(Path.Combine(dir, name), content);
        }

        var configPath = Path.Combine(dir, "gateway.toml");
        await File.WriteAllTextAsync(configPath, toml);
        var result = ConfigLoader.LoadFile(configPath);
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        // No file watcher: tests that rewrite gateway.toml reload explicitly, and a watcher reload would race them.
        var config = result.Config! with { Server = result.Config!.Server with { Listen = new[] { "http://127.0.0.1:0" }, WatchConfig = false } };
        var logs = new CapturingLoggerProvider();
        var app = GatewayApp.Build(config, b =>
        {
            // Console output would only be noise in test logs; the OpenTelemetry provider (if any) stays.
            var console = b.Services.Where(d => d.ImplementationType == typeof(ConsoleLoggerProvider)).ToList();
            foreach (var d in console)
            {
                b.Services.Remove(d);
            }

            if (!productionLogging)
            {
                b.Logging.SetMinimumLevel(LogLevel.Trace);
                b.Logging.AddFilter(_ => true);
            }

            b.Logging.AddProvider(logs);
        });
        await app.StartAsync();
        return new OpsGateway(app, dir, logs, owns);
    }

    public T Service<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    /// <summary>Stops the gateway but keeps its directory (for restart tests).</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        Client.Dispose();
        Admin?.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsDirectory)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
