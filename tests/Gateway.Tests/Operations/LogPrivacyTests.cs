using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Operations;

/// <summary>
/// Issue 9, defect 5: the privacy promise holds whatever logging configuration the operator chooses. Every category
/// at Trace, reached through each configuration route an operator has (an appsettings file, environment variables,
/// per-provider keys, OTLP export), and the gateway driven with tokens in every place a client puts them (query,
/// Authorization, Cookie, X-SOGS headers, a malformed request Kestrel logs raw) and a DM: neither the token nor the
/// DM text reaches any provider, the console or the OTLP receiver.
/// <para>In the non-parallel collection: it redirects <see cref="Console.Out"/> and exports over OTLP.</para>
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class LogPrivacyTests
{
    [Theory]
    [InlineData("appsettings")]
    [InlineData("environment")]
    [InlineData("provider")]
    [InlineData("otlp")]
    public async Task Logs_EveryCategoryAtTrace_NeverCarryTokensOrDmText(string route)
    {
        var secret = "SeCrEtTok" + Guid.NewGuid().ToString("N");
        var dmText = "dmwords" + Guid.NewGuid().ToString("N");
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var backend = await RecordingBackend.StartAsync();
        var dir = Path.Combine(Path.GetTempPath(), "gateway-logpriv-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var toml = JsonRouteTests.Config(backend.Url) + (route == "otlp" ? $"""

            [telemetry]
            enabled = true
            endpoint = "{receiver.Url}"
            protocol = "http/protobuf"
            export_interval_ms = 200
            """ : "");
        var configPath = Path.Combine(dir, "gateway.toml");
        await File.WriteAllTextAsync(configPath, toml);
        var loaded = ConfigLoader.LoadFile(configPath);
        Assert.True(loaded.Ok, string.Join("\n", loaded.Errors));
        var config = loaded.Config! with { Server = loaded.Config!.Server with { Listen = new[] { "http://127.0.0.1:0" }, WatchConfig = false } };

        var recording = new RecordingLoggerProvider();
        var console = new StringWriter();
        var envPrefix = "GWTEST" + Guid.NewGuid().ToString("N") + "_";
        var originalOut = Console.Out;
        Console.SetOut(TextWriter.Synchronized(console));
        try
        {
            var app = GatewayApp.Build(config, b =>
            {
                ConfigureRoute(b, route, dir, envPrefix);
                // Registered the way an operator's own provider would be: one more ILoggerProvider in the container.
                b.Services.AddSingleton<ILoggerProvider>(recording);
            });
            await app.StartAsync();
            try
            {
                await DriveAsync(new Uri(app.Urls.First()), secret, dmText);
                if (route == "otlp")
                {
                    var missing = await receiver.WaitForAsync("logs", new[] { "Microsoft.AspNetCore.Hosting.Diagnostics", "Request finished" },
                        TimeSpan.FromSeconds(20));
                    Assert.True(missing.Count == 0, "logs never exported: " + string.Join(", ", missing));
                    await receiver.WaitForAsync("traces", new[] { "url.path" }, TimeSpan.FromSeconds(10));
                }
            }
            finally
            {
                await app.StopAsync();
                await app.DisposeAsync(); // flushes the console logger's queue
            }
        }
        finally
        {
            Console.SetOut(originalOut);
            foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith(envPrefix, StringComparison.Ordinal)))
            {
                Environment.SetEnvironmentVariable(key, null);
            }

            Directory.Delete(dir, recursive: true);
        }

        var records = recording.Records.ToArray();
        var all = string.Join("\n", records);
        // The routes really did open every category: the request lines, YARP and Kestrel's bad-request log are there.
        Assert.Contains(records, r => r.StartsWith("Information Microsoft.AspNetCore.Hosting.Diagnostics", StringComparison.Ordinal));
        Assert.Contains(records, r => r.Contains("Yarp.ReverseProxy.Forwarder", StringComparison.Ordinal));
        Assert.Contains(records, r => r.StartsWith("Debug Microsoft.AspNetCore.Server.Kestrel.BadRequests", StringComparison.Ordinal));

        Assert.False(all.Contains(secret, StringComparison.Ordinal), "a token reached a logging provider:\n" + Around(all, secret));
        Assert.False(all.Contains(dmText, StringComparison.Ordinal), "DM text reached a logging provider:\n" + Around(all, dmText));
        var consoleText = console.ToString();
        if (route is "environment" or "provider")
        {
            Assert.Contains("Microsoft.AspNetCore.Hosting.Diagnostics", consoleText);
        }

        Assert.False(consoleText.Contains(secret, StringComparison.Ordinal), "a token reached the console:\n" + Around(consoleText, secret));
        Assert.False(consoleText.Contains(dmText, StringComparison.Ordinal), "DM text reached the console");
        Assert.False(receiver.ContainsAnywhere(secret), "a token reached an OTLP export (logs or traces)");
        Assert.False(receiver.ContainsAnywhere(dmText), "DM text reached an OTLP export");
    }

    private static void ConfigureRoute(WebApplicationBuilder b, string route, string dir, string envPrefix)
    {
        switch (route)
        {
            case "appsettings":
                // An operator's appsettings.json: every category at Trace, naming the noisy ones explicitly too.
                var file = Path.Combine(dir, "appsettings.json");
                File.WriteAllText(file, """
                    {"Logging":{"LogLevel":{"Default":"Trace","Microsoft":"Trace","Microsoft.AspNetCore":"Trace","Yarp":"Trace",
                      "System.Net.Http.HttpClient":"Trace","Polly":"Trace"}}}
                    """);
                b.Configuration.AddJsonFile(file);
                break;
            case "environment":
                // Logging__Console__LogLevel__Default=Trace, read through the environment-variable provider.
                Environment.SetEnvironmentVariable(envPrefix + "Logging__Console__LogLevel__Default", "Trace");
                Environment.SetEnvironmentVariable(envPrefix + "Logging__Console__FormatterOptions__IncludeScopes", "true");
                Environment.SetEnvironmentVariable(envPrefix + "Logging__Recording__LogLevel__Default", "Trace");
                b.Configuration.AddEnvironmentVariables(envPrefix);
                break;
            case "provider":
                // Per-provider keys; the console prints every structured value and scope as JSON.
                b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Logging:Console:LogLevel:Default"] = "Trace",
                    ["Logging:Console:FormatterName"] = "json",
                    ["Logging:Console:FormatterOptions:IncludeScopes"] = "true",
                    ["Logging:Recording:LogLevel:Default"] = "Trace",
                });
                break;
            case "otlp":
                b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Logging:OpenTelemetry:LogLevel:Default"] = "Trace",
                    ["Logging:Recording:LogLevel:Default"] = "Trace",
                });
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(route));
        }
    }

    /// <summary>Tokens where clients put them, a DM, and malformed requests Kestrel logs with their raw bytes.</summary>
    private static async Task DriveAsync(Uri gateway, string secret, string dmText)
    {
        using var client = new HttpClient { BaseAddress = gateway };
        using (var sync = new HttpRequestMessage(HttpMethod.Get, $"/_matrix/client/v3/sync?since=s1&access_token={secret}"))
        {
            sync.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            (await client.SendAsync(sync)).Dispose();
        }

        using (var dm = new HttpRequestMessage(HttpMethod.Post, $"/api/messages?access_token={secret}"))
        {
            dm.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            dm.Headers.Add("Cookie", $"session={secret}; theme=dark");
            dm.Headers.Add("X-SOGS-Signature", secret);
            dm.Content = new StringContent($$"""{"msg":{"text":"darn {{dmText}}"},"sender":"alice","direct":true,"recipient":"bob"}""",
                Encoding.UTF8, "application/json");
            (await client.SendAsync(dm)).Dispose();
        }

        using (var federation = new HttpRequestMessage(HttpMethod.Get, "/_matrix/federation/v1/version"))
        {
            federation.Headers.TryAddWithoutValidation("Authorization",
                $"X-Matrix origin=\"a.example\",destination=\"b.example\",key=\"ed25519:k\",sig=\"{secret}\"");
            (await client.SendAsync(federation)).Dispose();
        }

        // Kestrel logs the offending bytes of a malformed request at Debug: a header line without a colon, and a
        // request line with a bad target.
        await RawAsync(gateway, $"GET /sync?access_token={secret} HTTP/1.1\r\nHost: gw\r\nAuthorization Bearer {secret}\r\n\r\n");
        await RawAsync(gateway, $"GET /sync?access_token={secret}\u0001 HTTP/1.1\r\nHost: gw\r\n\r\n");
        await RawAsync(gateway, $"GET /x HTTP/1.1\r\nHost: gw\r\nCookie: a={secret}\u007f\r\n\r\n");
    }

    private static async Task RawAsync(Uri gateway, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(gateway.Host, gateway.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var buffer = new byte[4096];
            while (await stream.ReadAsync(buffer, cts.Token) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
        }
    }

    private static string Around(string text, string needle)
    {
        var lines = text.Split('\n').Where(l => l.Contains(needle, StringComparison.Ordinal)).Take(8);
        return string.Join("\n", lines);
    }
}

/// <summary>
/// An operator's own provider, as a logging back end would see records: the formatted message, every structured
/// value, every scope and the exception text. [ProviderAlias] gives it per-provider keys (Logging:Recording:…).
/// </summary>
[ProviderAlias("Recording")]
internal sealed class RecordingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider? _scopes;

    public ConcurrentQueue<string> Records { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = new StringBuilder($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)} |");
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    text.Append(' ').Append(key).Append('=').Append(value);
                }
            }

            owner._scopes?.ForEachScope((scope, sb) =>
            {
                sb.Append(" scope:").Append(scope);
                if (scope is IEnumerable<KeyValuePair<string, object?>> kvs)
                {
                    foreach (var (key, value) in kvs)
                    {
                        sb.Append(' ').Append(key).Append('=').Append(value);
                    }
                }
            }, text);
            text.Append(' ').Append(exception);
            owner.Records.Enqueue(text.ToString());
        }
    }
}
