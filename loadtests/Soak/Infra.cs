using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;

internal sealed class GatewayProcess(Process process)
{
    private readonly ConcurrentQueue<string> _lines = new();

    public Process Process => process;

    public string Output => string.Join('\n', _lines.TakeLast(50));

    private static readonly ConcurrentDictionary<string, int> AllErrors = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, int> AllWarnings = new(StringComparer.Ordinal);
    private string? _errorHeader;
    private ConcurrentDictionary<string, int>? _headerInto;

    /// <summary>
    /// Error and critical log entries of every gateway process of the run (the console logger's "fail:"/"crit:" line
    /// and its message line, digits folded to '#'), each with how often it was logged.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, int>> Errors => AllErrors.OrderByDescending(e => e.Value);

    /// <summary>Warning entries, the same way (an answer the gateway gave on the client's account shows here).</summary>
    public static IEnumerable<KeyValuePair<string, int>> Warnings => AllWarnings.OrderByDescending(e => e.Value);

    public void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (_lines.Count < 10_000)
        {
            _lines.Enqueue(line);
        }

        if (_errorHeader is { } header)
        {
            _errorHeader = null;
            var entry = System.Text.RegularExpressions.Regex.Replace(header.Trim() + " " + line.Trim(), "[0-9]+", "#");
            var into = _headerInto!;
            if (into.Count < 500 || into.ContainsKey(entry))
            {
                into.AddOrUpdate(entry, 1, (_, n) => n + 1);
            }
        }
        else if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
        {
            _errorHeader = line;
            _headerInto = AllErrors;
        }
        else if (line.StartsWith("warn:", StringComparison.Ordinal))
        {
            _errorHeader = line;
            _headerInto = AllWarnings;
        }
    }

    /// <summary>SIGKILL: no shutdown, no draining; what it held in RAM is gone.</summary>
    public void Kill()
    {
        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    public void Stop() => Kill();
}

/// <summary>A real redis-server (Debian's; tests/cluster/install.sh installs it) on its own port, no persistence.</summary>
internal sealed class Redis(int port, string dir)
{
    private Process? _process;

    public void Start()
    {
        if (_process is { HasExited: false })
        {
            return;
        }

        var info = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            info.ArgumentList.Add(a);
        }

        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>SIGKILL, as a crash or an OOM kill would.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            p.WaitForExit();
        }
    }

    public void Stop() => Kill();
}

/// <summary>The report webhook: counts reports by id (a duplicate is the same id twice).</summary>
internal sealed class Webhook(int port)
{
    private readonly ConcurrentDictionary<string, int> _ids = new();
    private long _duplicates;
    private WebApplication? _app;

    public long Unique => _ids.Count;

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public async Task StartAsync()
    {
        if (_app is not null)
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var id = (string?)JsonNode.Parse(body)?["id"] ?? "";
            if (_ids.AddOrUpdate(id, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref _duplicates);
            }

            context.Response.StatusCode = 204;
        });
        await app.StartAsync();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}

internal static class Config
{
    public static string Valid(Ports p, IEnumerable<ILoad> loads, string clusterSecret, int version) => $$"""
        # soak config, version {{version}}
        [server]
        listen = ["http://127.0.0.1:{{p.Gateway}}"]
        watch_config = true

        {{string.Join("\n\n", loads.Select(l => l.Config()))}}

        {{loads.OfType<MatrixLoad>().Single().GlobalConfig()}}

        [[filters]]
        name = "censor"
        action = "censor"
        keywords = ["darn"]

        [[filters]]
        name = "spam"
        action = "drop"
        report = true
        keywords = ["buycoins"]

        [[filters]]
        name = "slurs"
        action = "reject"
        notice = "This message breaks the rules."
        report = true
        keywords = ["slurword"]

        [[filters]]
        name = "unused-{{version}}"
        action = "censor"
        keywords = ["zzunused{{version}}"]

        # Never fires at this rate: it makes every message a counter round trip to Redis.
        [[protections]]
        name = "flood"
        kind = "flood"
        max = 10000
        window = "1s"

        [cluster]
        redis = "redis://127.0.0.1:{{p.Redis}}"
        secret_file = "{{clusterSecret}}"
        on_shared_state_error = "local"

        [reports]
        url = "http://127.0.0.1:{{p.Webhook}}/hook"
        secret_env = "SOAK_REPORT_SECRET"
        queue_capacity = 100000
        max_attempts = 8
        timeout_seconds = 2
        max_retry_after_seconds = 5

        [admin]
        listen = "http://127.0.0.1:{{p.Admin}}"
        token_env = "SOAK_ADMIN_TOKEN"

        [telemetry]
        prometheus = true
        """;

    // A valid file with one broken filter: the gateway must keep the last good config and go on.
    public static string Invalid(Ports p, IEnumerable<ILoad> loads, string clusterSecret, int version) => Valid(p, loads, clusterSecret, version) + """

        [[filters]]
        name = "broken"
        action = "explode"
        regex = ["(unclosed"]
        """;
}
