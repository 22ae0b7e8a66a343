using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Benchmarks.Corpus;
using Gateway.Benchmarks.Report;
using Gateway.Policy.Rules;

namespace Gateway.Benchmarks.Http;

/// <summary>What wrk's done() hook printed (latencies in microseconds).</summary>
internal sealed record WrkResult(long Requests, long DurationUs, long Bytes, long ErrorsConnect, long ErrorsRead,
    long ErrorsWrite, long ErrorsStatus, long ErrorsTimeout, double LatencyMeanUs, long LatencyP50Us, long LatencyP90Us,
    long LatencyP99Us, long LatencyP999Us, long LatencyMaxUs)
{
    public double RequestsPerSecond => Requests / (DurationUs / 1e6);

    public long Errors => ErrorsConnect + ErrorsRead + ErrorsWrite + ErrorsStatus + ErrorsTimeout;
}

/// <summary>One wrk run against one target, with the CPU its proxy (and the backend) used meanwhile.</summary>
internal sealed record HttpScenario(string Name, string Load, int Round, string Target, int Connections, int DelayMs, double Seconds,
    double RequestsPerSecond, double LatencyP50Ms, double LatencyP99Ms, double LatencyMeanMs, long Requests, long Errors,
    double? ProxyCpuUsPerRequest, double? ProxyCores, double BackendCpuUsPerRequest, WrkResult Wrk);

internal sealed record MemoryFigure(string Process, double RssMb, double PeakRssMb);

internal sealed record HttpRun(string Pinning, int Connections, int WrkThreads, double DurationSeconds, double WarmupSeconds,
    int Rounds, double HalfLoadTargetRps, int HalfLoadPauseMs, IReadOnlyList<HttpScenario> Scenarios,
    IReadOnlyList<HttpScenario> AllRounds,
    IReadOnlyList<MemoryFigure> Memory, string HitCheck, string LoadAverageBefore, string LoadAverageAfter,
    string NginxVersion, string WrkVersion, string BodyShape, double WallSeconds);

/// <summary>
/// The HTTP side of <c>make bench</c>, all on loopback in one run against one backend: the backend directly, bare
/// YARP, nginx, the gateway's passthrough route and its Matrix-shaped message route with the 10k-keyword rule set
/// (clean, and with 5 % hits). Full load first (same connection count everywhere), then "half load": each target
/// gets the same offered rate, half of what bare YARP managed, through a per-connection pause in the wrk script.
/// <para>
/// Pinning on the 2-core machine is off by default: every process may use both cores. With <c>--pin split</c>
/// each proxy runs on CPU 1 and wrk and the backend on CPU 0; measured here, that made .NET spend 3–4× more CPU per
/// request (thread-pool hand-offs and spinning on one core) while nginx did not mind, so it is not the fair default.
/// </para>
/// </summary>
internal sealed class HttpRunner
{
    private const string MessagePath = "/_matrix/client/v3/rooms/";

    private readonly string _raw;
    private readonly string _repo;
    private readonly int _connections;
    private readonly double _seconds;
    private readonly double _warmup;
    private readonly int _rounds;
    private readonly string _script;
    private readonly string _words;
    private readonly string? _proxyCpu;
    private readonly string? _loadCpu;

    private HttpRunner(string raw, string repo, int connections, double seconds, double warmup, int rounds, bool pinSplit)
    {
        _rounds = rounds;
        _proxyCpu = pinSplit ? "1" : null;
        _loadCpu = pinSplit ? "0" : null;
        _raw = Path.Combine(raw, "http");
        _repo = repo;
        _connections = connections;
        _seconds = seconds;
        _warmup = warmup;
        _script = Path.Combine(repo, "loadtests", "wrk", "matrix-send.lua");
        _words = Path.Combine(_raw, "words.txt");
    }

    public static async Task<int> RunAsync(string raw, string repo, int connections, double seconds, double warmup, int rounds, bool pinSplit)
    {
        var runner = new HttpRunner(raw, repo, connections, seconds, warmup, rounds, pinSplit);
        return await runner.RunAsync();
    }

    private async Task<int> RunAsync()
    {
        var sw = Stopwatch.StartNew();
        var loadBefore = File.ReadAllText("/proc/loadavg").Trim();
        Directory.CreateDirectory(_raw);
        var corpus = BenchCorpus.Create();
        File.WriteAllText(_words, string.Join(' ', Vocabulary.Words.Concat(Vocabulary.Extras.Where(e => !e.Contains(' ', StringComparison.Ordinal))))
            + "\n" + string.Join(' ', corpus.HitWords) + "\n");

        var backendPort = Proc.FreePort();
        var yarpPort = Proc.FreePort();
        var nginxPort = Proc.FreePort();
        var gatewayPort = Proc.FreePort();
        var config = WriteGatewayConfig(corpus, gatewayPort, backendPort);
        var nginxDir = Path.Combine(Path.GetTempPath(), "gateway-bench-nginx-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var nginxConf = WriteNginxConfig(nginxDir, nginxPort, backendPort, _proxyCpu is null ? "auto" : "1");

        var gatewayDll = Path.Combine(_repo, "src/Gateway/bin/Release/net10.0/gateway.dll");
        var validate = Proc.Run("dotnet", [gatewayDll, "validate", "--config", config], TimeSpan.FromMinutes(2));
        if (validate.Code != 0)
        {
            Console.Error.WriteLine(validate.Output + validate.Error);
            return 1;
        }

        var nginxTest = Proc.Run("nginx", ["-t", "-p", nginxDir + "/", "-c", nginxConf, "-e", Path.Combine(nginxDir, "error.log")], TimeSpan.FromSeconds(30));
        if (nginxTest.Code != 0)
        {
            Console.Error.WriteLine(nginxTest.Output + nginxTest.Error);
            return 1;
        }

        var env = new Dictionary<string, string> { ["DOTNET_NOLOGO"] = "1", ["ASPNETCORE_ENVIRONMENT"] = "Production" };
        using var backend = Proc.Start(_loadCpu, "dotnet", [Path.Combine(_repo, "loadtests/Backend/bin/Release/net10.0/bench-backend.dll"),
            $"http://127.0.0.1:{backendPort}"], Path.Combine(_raw, "backend.log"), env);
        using var yarp = Proc.Start(_proxyCpu, "dotnet", [Path.Combine(_repo, "loadtests/BareYarp/bin/Release/net10.0/bare-yarp.dll"),
            $"http://127.0.0.1:{yarpPort}", $"http://127.0.0.1:{backendPort}"], Path.Combine(_raw, "bare-yarp.log"), env);
        using var nginx = Proc.Start(_proxyCpu, "nginx", ["-p", nginxDir + "/", "-c", nginxConf, "-e", Path.Combine(nginxDir, "error.log")],
            Path.Combine(_raw, "nginx.log"));
        using var gateway = Proc.Start(_proxyCpu, "dotnet", [gatewayDll, "serve", "--config", config], Path.Combine(_raw, "gateway.log"), env);
        try
        {
            var startup = TimeSpan.FromSeconds(60);
            await Proc.WaitForPortAsync(backendPort, startup, backend);
            await Proc.WaitForPortAsync(yarpPort, startup, yarp);
            await Proc.WaitForPortAsync(nginxPort, startup, nginx);
            await Proc.WaitForPortAsync(gatewayPort, startup, gateway);
            await SanityCheckAsync(gatewayPort, backendPort, corpus.HitWords[0]);

            var targets = new (string Name, int Port, string Prefix, double Ratio, Proc? Proxy)[]
            {
                ("direct", backendPort, "", 0, null),
                ("bare-yarp", yarpPort, "", 0, yarp),
                ("nginx", nginxPort, "", 0, nginx),
                ("gateway-passthrough", gatewayPort, "/pass", 0, gateway),
                ("gateway-message-clean", gatewayPort, "", 0, gateway),
                ("gateway-message-5pct-hits", gatewayPort, "", 0.05, gateway),
            };
            // Full load, in rounds: every target once per round, so a burst of outside load on this shared machine
            // hits all of them alike; each figure is the median of its rounds (all rounds are in the raw file).
            var rounds = new List<HttpScenario>();
            var hitCheck = "";
            foreach (var t in targets)
            {
                Console.WriteLine($"  warm-up: {t.Name}");
                await WrkAsync(t.Name + "-warmup", t.Port, t.Prefix, t.Ratio, 0, _warmup);
            }

            for (var round = 1; round <= _rounds; round++)
            {
                foreach (var t in targets)
                {
                    var before = t.Ratio > 0 ? await BackendStatsAsync(backendPort) : default;
                    rounds.Add(await MeasureAsync(t.Name, "full", round, t.Port, t.Prefix, t.Ratio, 0, t.Proxy ?? backend, t.Proxy is null ? null : backend));
                    if (t.Ratio > 0)
                    {
                        var after = await BackendStatsAsync(backendPort);
                        var requests = after.Requests - before.Requests;
                        var censored = after.Censored - before.Censored;
                        hitCheck = $"{censored} of {requests} bodies reached the backend censored ({100.0 * censored / Math.Max(1, requests):F1} %)";
                    }
                }
            }

            Console.WriteLine("  " + hitCheck);
            var memory = new List<MemoryFigure>
            {
                Figure("gateway", gateway),
                Figure("bare-yarp", yarp),
                Figure("nginx", nginx),
                Figure("backend", backend),
            };

            // Half load: every target gets the same per-connection pause, calibrated so that bare YARP runs at half
            // its full-load rate (wrk is closed-loop: a connection sends its next request a pause after the answer).
            var yarpRps = Median(rounds.Where(s => s.Name == "bare-yarp").Select(s => s.RequestsPerSecond));
            var target = yarpRps / 2;
            var delayMs = Math.Max(1, (int)Math.Round(_connections * 1000 / target));
            var probe = await WrkAsync("bare-yarp-half-calibration", yarpPort, "", 0, delayMs, 3);
            var latencyMs = _connections * 1000 / probe.RequestsPerSecond - delayMs;
            delayMs = Math.Max(1, (int)Math.Round(_connections * 1000 / target - latencyMs));
            for (var round = 1; round <= Math.Max(1, _rounds - 1); round++)
            {
                foreach (var t in targets)
                {
                    rounds.Add(await MeasureAsync(t.Name, "half", round, t.Port, t.Prefix, t.Ratio, delayMs, t.Proxy ?? backend, t.Proxy is null ? null : backend));
                }
            }

            var scenarios = rounds.GroupBy(r => (r.Name, r.Load)).Select(g => MedianScenario(g.ToList())).ToList();
            foreach (var sc in scenarios)
            {
                Console.WriteLine($"  {sc.Load,-4} {sc.Name,-26} {sc.RequestsPerSecond,8:F0} req/s  p50 {sc.LatencyP50Ms,6:F2} ms  p99 {sc.LatencyP99Ms,6:F2} ms" +
                    (sc.ProxyCpuUsPerRequest is { } cpu ? $"  {cpu,5:F0} µs CPU/request" : ""));
            }

            var run = new HttpRun(
                Pinning: _proxyCpu is null ? "none: every process may use both cores" : $"proxies on CPU {_proxyCpu}; wrk and the backend on CPU {_loadCpu} (taskset)",
                Connections: _connections, WrkThreads: 1, DurationSeconds: _seconds, WarmupSeconds: _warmup, Rounds: _rounds,
                HalfLoadTargetRps: Math.Round(target), HalfLoadPauseMs: delayMs, Scenarios: scenarios, AllRounds: rounds,
                Memory: memory, HitCheck: hitCheck, LoadAverageBefore: loadBefore, LoadAverageAfter: File.ReadAllText("/proc/loadavg").Trim(),
                NginxVersion: Version("nginx", ["-v"]), WrkVersion: Version("wrk", ["-v"]),
                BodyShape: "PUT " + MessagePath + "%21roomN%3Aexample.org/send/m.room.message/txnN, {\"msgtype\":\"m.text\",\"body\":\"5 to 54 words\"}",
                WallSeconds: sw.Elapsed.TotalSeconds);
            Json.Write(Path.Combine(_raw, "..", "http.json"), run);
            return rounds.All(s => s.Errors == 0) ? 0 : 1;
        }
        finally
        {
            try
            {
                Directory.Delete(nginxDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static MemoryFigure Figure(string name, Proc p)
    {
        var (rss, peak) = p.Memory();
        return new MemoryFigure(name, Math.Round(rss, 1), Math.Round(peak, 1));
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>The round with the median throughput stands for the scenario (its latencies and CPU with it).</summary>
    private static HttpScenario MedianScenario(List<HttpScenario> rounds)
    {
        var ordered = rounds.OrderBy(r => r.RequestsPerSecond).ToList();
        return ordered[(ordered.Count - 1) / 2] with { Round = 0 };
    }

    private async Task<HttpScenario> MeasureAsync(string name, string load, int round, int port, string prefix, double ratio, int delayMs,
        Proc proxy, Proc? backend)
    {
        var seconds = _seconds;
        var cpu0 = proxy.CpuSeconds();
        var backendCpu0 = backend?.CpuSeconds() ?? 0;
        var clock = Stopwatch.StartNew();
        var wrk = await WrkAsync($"{name}-{load}-{round}", port, prefix, ratio, delayMs, seconds);
        var elapsed = clock.Elapsed.TotalSeconds;
        var cpu = proxy.CpuSeconds() - cpu0;
        var backendCpu = (backend?.CpuSeconds() ?? 0) - backendCpu0;
        var requests = Math.Max(1, wrk.Requests);
        var isProxy = backend is not null;
        var scenario = new HttpScenario(name, load, round, $"127.0.0.1:{port}{prefix}", _connections, delayMs, seconds,
            Math.Round(wrk.RequestsPerSecond, 0), wrk.LatencyP50Us / 1000.0, wrk.LatencyP99Us / 1000.0, Math.Round(wrk.LatencyMeanUs / 1000.0, 3),
            wrk.Requests, wrk.Errors,
            isProxy ? Math.Round(cpu * 1e6 / requests, 1) : null,
            isProxy ? Math.Round(cpu / elapsed, 2) : null,
            Math.Round((isProxy ? backendCpu : cpu) * 1e6 / requests, 1), wrk);
        Console.WriteLine($"    {load} #{round} {name,-26} {scenario.RequestsPerSecond,8:F0} req/s  p50 {scenario.LatencyP50Ms:F2} ms  p99 {scenario.LatencyP99Ms:F2} ms" +
            (isProxy ? $"  proxy {scenario.ProxyCpuUsPerRequest:F0} µs CPU/request ({scenario.ProxyCores:F2} cores)" : "") +
            (wrk.Errors > 0 ? $"  ERRORS {wrk.Errors}" : ""));
        return scenario;
    }

    private async Task<WrkResult> WrkAsync(string label, int port, string prefix, double ratio, int delayMs, double seconds)
    {
        var wrk = new List<string>
        {
            "wrk", "-t1", $"-c{_connections}", $"-d{seconds.ToString(CultureInfo.InvariantCulture)}s", "--latency",
            "-s", _script, $"http://127.0.0.1:{port}", "--", _words, ratio.ToString(CultureInfo.InvariantCulture), prefix,
            delayMs.ToString(CultureInfo.InvariantCulture),
        };
        if (_loadCpu is not null)
        {
            wrk.InsertRange(0, ["taskset", "-c", _loadCpu]);
        }

        var (code, output, error) = await Task.Run(() => Proc.Run(wrk[0], wrk.Skip(1), TimeSpan.FromSeconds(seconds + 60)));
        await File.WriteAllTextAsync(Path.Combine(_raw, $"wrk-{label}.txt"), output + error);
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("WRK_RESULT ", StringComparison.Ordinal));
        if (code != 0 || line is null)
        {
            throw new InvalidOperationException($"wrk failed for {label} (exit {code}): {error}");
        }

        return JsonSerializer.Deserialize<WrkResult>(line["WRK_RESULT ".Length..], Json.Options)
            ?? throw new InvalidDataException("empty wrk result");
    }

    /// <summary>Before measuring: a hit is censored on its way to the backend, a clean message and the
    /// passthrough route answer 200.</summary>
    private static async Task SanityCheckAsync(int gatewayPort, int backendPort, string hitWord)
    {
        using var client = new HttpClient();
        var before = await BackendStatsAsync(backendPort);
        foreach (var (path, text) in new[] { (MessagePath, "hello " + hitWord), (MessagePath, "hello there"), ("/pass" + MessagePath, "hello " + hitWord) })
        {
            using var content = new StringContent($"{{\"msgtype\":\"m.text\",\"body\":\"{text}\"}}", Encoding.UTF8, "application/json");
            using var response = await client.PutAsync($"http://127.0.0.1:{gatewayPort}{path}%21r%3Ax/send/m.room.message/t1", content);
            if ((int)response.StatusCode != 200)
            {
                throw new InvalidOperationException($"sanity check: {path} answered {(int)response.StatusCode}");
            }
        }

        var after = await BackendStatsAsync(backendPort);
        if (after.Censored - before.Censored != 1 || after.Requests - before.Requests != 3)
        {
            throw new InvalidOperationException($"sanity check: expected 3 requests with 1 censored at the backend, saw {after.Requests - before.Requests} and {after.Censored - before.Censored}");
        }
    }

    private static async Task<(long Requests, long Censored)> BackendStatsAsync(int backendPort)
    {
        using var client = new HttpClient();
        using var doc = JsonDocument.Parse(await client.GetStringAsync($"http://127.0.0.1:{backendPort}/_stats"));
        return (doc.RootElement.GetProperty("requests").GetInt64(), doc.RootElement.GetProperty("censored").GetInt64());
    }

    private static string Version(string command, string[] args)
    {
        try
        {
            var (_, output, error) = Proc.Run(command, args, TimeSpan.FromSeconds(10));
            return (output + error).Split('\n')[0].Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "not installed";
        }
    }

    /// <summary>The corpus as a gateway.toml: word-list files per filter, the regexes inline, two routes.</summary>
    private string WriteGatewayConfig(BenchCorpus corpus, int port, int backendPort)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"""
            # Generated by `make bench` (loadtests/Gateway.Benchmarks http): the benchmark corpus on two routes.
            [server]
            listen = ["http://127.0.0.1:{port}"]
            watch_config = false

            [[backends]]
            name = "chat"
            protocol = "json"
            upstreams = ["http://127.0.0.1:{backendPort}"]

              [[backends.routes]]
              path = "{MessagePath}"
              methods = ["PUT", "POST"]
                [backends.routes.json]
                body = "/body"

              [[backends.routes]]
              path = "/pass/"
              inspect = false
            """);
        foreach (var f in corpus.Filters)
        {
            var keywords = $"keywords-{f.Name}.txt";
            File.WriteAllText(Path.Combine(_raw, keywords), "# generated benchmark terms\n" + string.Join('\n', f.Keywords) + "\n");
            var allow = $"allow-{f.Name}.txt";
            File.WriteAllText(Path.Combine(_raw, allow), string.Join('\n', f.Allow) + "\n");
            if (f.Regexes.Any(r => r.Contains('\'', StringComparison.Ordinal)))
            {
                throw new InvalidOperationException("a regex contains a quote; the TOML writer uses literal strings");
            }

            sb.AppendLine(CultureInfo.InvariantCulture, $"""

                [[filters]]
                name = "{f.Name}"
                priority = {f.Priority}
                action = "{f.Action.ToString().ToLowerInvariant()}"
                notice = "{f.Notice ?? ""}"
                report = {(f.Report ? "true" : "false")}
                keyword_files = ["{keywords}"]
                allow_files = ["{allow}"]
                regex = [{string.Join(", ", f.Regexes.Select(r => "'" + r + "'"))}]
                """);
        }

        var path = Path.Combine(_raw, "gateway.toml");
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    private static string WriteNginxConfig(string dir, int port, int backendPort, string workers)
    {
        Directory.CreateDirectory(Path.Combine(dir, "tmp"));
        var user = Environment.UserName == "root" ? "user root;\n" : "";
        var conf = $$"""
            # Generated by `make bench`: nginx as a plain reverse proxy, configured like Microsoft's proxy benchmarks
            # (upstream keepalive, HTTP/1.1 to the upstream, no access log); one worker per core it may use.
            {{user}}worker_processes {{workers}};
            daemon off;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log warn;
            events { worker_connections 4096; }
            http {
                access_log off;
                client_body_temp_path {{dir}}/tmp/body;
                proxy_temp_path {{dir}}/tmp/proxy;
                fastcgi_temp_path {{dir}}/tmp/fastcgi;
                uwsgi_temp_path {{dir}}/tmp/uwsgi;
                scgi_temp_path {{dir}}/tmp/scgi;
                upstream backend {
                    server 127.0.0.1:{{backendPort}};
                    keepalive 128;
                }
                server {
                    listen 127.0.0.1:{{port}};
                    location / {
                        proxy_pass http://backend;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                    }
                }
            }
            """;
        var path = Path.Combine(dir, "nginx.conf");
        File.WriteAllText(path, conf + "\n");
        return path;
    }
}
