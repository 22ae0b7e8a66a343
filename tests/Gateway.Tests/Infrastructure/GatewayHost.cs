using Gateway.Configuration;
using Gateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// The real gateway (the same <see cref="GatewayApp.Build"/> that `gateway serve` uses) on 127.0.0.1:0, with its
/// config written to a temporary directory and every log line captured at the most verbose level.
/// </summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayHost(WebApplication app, string dir, CapturingLoggerProvider logs)
    {
        _app = app;
        Directory = dir;
        Logs = logs;
        Client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
    }

    public string Directory { get; }

    public string ConfigPath => Path.Combine(Directory, "gateway.toml");

    public HttpClient Client { get; }

    public CapturingLoggerProvider Logs { get; }

    public WebApplication App => _app;

    /// <param name="watch">Run the config file watcher; off by default so tests that reload explicitly don't race it.</param>
    /// <param name="configure">Extra builder settings after the test's logging (Kestrel limits, for example).</param>
    /// <param name="listen">The listener to bind instead of http://127.0.0.1:0 (https://127.0.0.1:0 for TLS tests).</param>
    /// <param name="modules">The protocol modules to read the config with (built-in ones by default).</param>
    public static async Task<GatewayHost> StartAsync(string toml, IDictionary<string, string>? extraFiles = null, bool watch = false,
        Action<WebApplicationBuilder>? configure = null, string listen = "http://127.0.0.1:0", Gateway.Protocols.ProtocolModules? modules = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "gateway-test-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(dir);
        foreach (var (name, content) in extraFiles ?? new Dictionary<string, string>())
        {
            var path = Path.Combine(dir, name);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, content);
        }

        var configPath = Path.Combine(dir, "gateway.toml");
        await File.WriteAllTextAsync(configPath, toml);
        var result = ConfigLoader.LoadFile(configPath, modules);
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var config = result.Config! with { Server = result.Config!.Server with { Listen = new[] { listen }, WatchConfig = watch } };
        var logs = new CapturingLoggerProvider();
        var app = GatewayApp.Build(config, b =>
        {
            b.Logging.ClearProviders();
            b.Logging.SetMinimumLevel(LogLevel.Trace);
            b.Logging.AddFilter(_ => true);
            b.Logging.AddProvider(logs);
            configure?.Invoke(b);
        });
        await app.StartAsync();
        return new GatewayHost(app, dir, logs);
    }

    public T Service<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Keeps every formatted log line (and exception text) so tests can assert what was never logged.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var structured = state is IEnumerable<KeyValuePair<string, object?>> kvs
                ? string.Join(";", kvs.Select(kv => $"{kv.Key}={kv.Value}"))
                : "";
            lines.Enqueue($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)} {structured} {exception}");
        }
    }
}
