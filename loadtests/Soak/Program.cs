// Over 400 lines because the rig is one story read top to bottom: the backend and webhook it can kill, the gateway
// process it watches, the config it flips, the load, and the closing count; split up, the counts lose their context.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

// The soak and load-test rig (issue 17): a real `gateway serve` process in front of a chat backend and a report
// webhook that this program owns, so it can stop and restart them and count what each one saw.
//
//   Soak soak  --gateway <gateway.dll> [--minutes 30] [--workers 4]
//       load + faults (backend and webhook killed and restarted, config flipped valid/invalid every few seconds),
//       then the conservation table; exit 1 when a check fails.
//   Soak serve --gateway <gateway.dll> --ports <file>
//       the same setup without faults or load, for Artillery (loadtests/artillery); writes the URLs as JSON to <file>
//       and runs until stdin closes or it is killed; on exit prints what the backend and webhook saw.
var mode = args.Length > 0 ? args[0] : "";
string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

if (mode is not ("soak" or "serve"))
{
    Console.Error.WriteLine("usage: Soak soak|serve --gateway <gateway.dll> [--minutes N] [--workers N] [--ports file]");
    return 2;
}

var gatewayDll = Path.GetFullPath(Arg("--gateway", "src/Gateway/bin/Release/net10.0/gateway.dll"));
var minutes = double.Parse(Arg("--minutes", "30"), System.Globalization.CultureInfo.InvariantCulture);
var workers = int.Parse(Arg("--workers", "4"), System.Globalization.CultureInfo.InvariantCulture);
var time = TimeProvider.System;
var dir = Directory.CreateTempSubdirectory("gateway-soak-").FullName;
var ports = new Ports(FreePort(), FreePort(), FreePort(), FreePort());
var backend = new Backend(ports.Backend);
var webhook = new Webhook(ports.Webhook);
await backend.StartAsync();
await webhook.StartAsync();

var configPath = Path.Combine(dir, "gateway.toml");
await File.WriteAllTextAsync(configPath, Config.Valid(ports, 0));
const string AdminToken = "soak-admin-token-0123456789";
var gateway = StartGateway(gatewayDll, configPath, AdminToken);
using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports.Gateway}"), Timeout = TimeSpan.FromSeconds(30) };
using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports.Admin}") };
admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
if (!await WaitReadyAsync(admin))
{
    Console.Error.WriteLine("soak: the gateway did not come up; its output:\n" + gateway.Output);
    return 1;
}

if (mode == "serve")
{
    var file = Arg("--ports", Path.Combine(dir, "ports.json"));
    await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
    {
        gateway = $"http://127.0.0.1:{ports.Gateway}",
        backend = $"http://127.0.0.1:{ports.Backend}",
        admin = $"http://127.0.0.1:{ports.Admin}",
        pid = gateway.Process.Id,
    }));
    Console.WriteLine($"serve: gateway http://127.0.0.1:{ports.Gateway}, backend :{ports.Backend}, webhook :{ports.Webhook}; ports in {file}");
    var stop = new TaskCompletionSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
    AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
    _ = Task.Run(() => { Console.In.ReadToEnd(); stop.TrySetResult(); });
    await stop.Task;
    var served = await StatusAsync(admin);
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        backend_requests = backend.Requests,
        backend_censored = backend.Censored,
        backend_leaks = backend.Leaks,
        backend_ws_frames = backend.Frames,
        webhook_reports = webhook.Unique,
        webhook_duplicates = webhook.Duplicates,
        gateway_verdicts = served?["counters"]?["verdicts"],
        gateway_reports = served?["reports"],
        gateway_rss_kb = RssKb(gateway.Process.Id),
    }));
    gateway.Stop();
    return 0;
}

// ── The soak ──────────────────────────────────────────────────────────────────────────────────────────────────────
var duration = TimeSpan.FromMinutes(minutes);
var started = time.GetTimestamp();
var early = TimeSpan.FromMinutes(Math.Min(5, minutes / 3));
TimeSpan Elapsed() => time.GetElapsedTime(started);
var outcomes = new ConcurrentDictionary<string, long>();
var expectedAtBackend = new ConcurrentDictionary<long, bool>();   // ids the client saw delivered (2xx from the backend)
long sent = 0;
long nextId = 0;
long earlyRss = 0;
var faults = new ConcurrentDictionary<string, long>();
using var cts = new CancellationTokenSource();

async Task WorkerAsync(int seed)
{
    var random = new Random(seed);
    while (!cts.IsCancellationRequested)
    {
        var id = Interlocked.Increment(ref nextId);
        var kind = random.Next(100) switch { < 70 => "clean", < 85 => "censor", < 95 => "drop", _ => "reject" };
        var text = Messages.Text(kind, random);
        var body = new JsonObject { ["id"] = id, ["text"] = text, ["sender"] = $"user{random.Next(50)}", ["room"] = $"room{random.Next(5)}" };
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        Interlocked.Increment(ref sent);
        string outcome;
        try
        {
            using var response = await client.PostAsync("/api/messages", content, cts.Token);
            var answer = await response.Content.ReadAsStringAsync(cts.Token);
            outcome = Classify(response, answer);
            if (outcome == "delivered")
            {
                expectedAtBackend[id] = kind == "censor";
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Interlocked.Decrement(ref sent);
            return;
        }
        catch (HttpRequestException)
        {
            outcome = "transport_error";
        }

        outcomes.AddOrUpdate($"{kind}->{outcome}", 1, (_, n) => n + 1);
    }
}

// Faults: every few seconds one of them, in turn; each waits a little and puts things back.
async Task ChaosAsync()
{
    var random = new Random(17);
    var flips = 0;
    while (!cts.IsCancellationRequested)
    {
        await Task.Delay(TimeSpan.FromSeconds(3 + random.Next(4)), time, CancellationToken.None);
        if (cts.IsCancellationRequested)
        {
            return;
        }

        switch (random.Next(3))
        {
            case 0:
                await backend.StopAsync();
                faults.AddOrUpdate("backend_killed", 1, (_, n) => n + 1);
                await Task.Delay(TimeSpan.FromSeconds(1 + random.Next(3)), time, CancellationToken.None);
                await backend.StartAsync();
                break;
            case 1:
                await webhook.StopAsync();
                faults.AddOrUpdate("webhook_killed", 1, (_, n) => n + 1);
                await Task.Delay(TimeSpan.FromSeconds(1 + random.Next(5)), time, CancellationToken.None);
                await webhook.StartAsync();
                break;
            default:
                flips++;
                var valid = flips % 2 == 0;
                await File.WriteAllTextAsync(configPath, valid ? Config.Valid(ports, flips) : Config.Invalid(ports, flips));
                faults.AddOrUpdate(valid ? "config_valid" : "config_invalid", 1, (_, n) => n + 1);
                break;
        }
    }
}

async Task SampleRssAsync()
{
    await Task.Delay(early, time, CancellationToken.None);
    earlyRss = RssKb(gateway.Process.Id);
    Console.WriteLine($"soak: RSS at {early.TotalMinutes:0.#} min: {earlyRss} kB");
}

Console.WriteLine($"soak: {minutes} min, {workers} workers; gateway :{ports.Gateway} (pid {gateway.Process.Id}), backend :{ports.Backend}, webhook :{ports.Webhook}");
var load = Enumerable.Range(0, workers).Select(i => Task.Run(() => WorkerAsync(i))).ToArray();
var chaos = Task.Run(ChaosAsync);
var rss = Task.Run(SampleRssAsync);
while (Elapsed() < duration)
{
    await Task.Delay(TimeSpan.FromSeconds(30), time, CancellationToken.None);
    Console.WriteLine($"soak: {Elapsed():hh\\:mm\\:ss} sent {Interlocked.Read(ref sent)}, backend {backend.Requests}, reports {webhook.Unique}, RSS {RssKb(gateway.Process.Id)} kB");
}

await cts.CancelAsync();
await Task.WhenAll(load);
await chaos;
await rss;

// Put everything back, leave the last config valid, and let the report queue drain.
await backend.StartAsync();
await webhook.StartAsync();
await File.WriteAllTextAsync(configPath, Config.Valid(ports, 1_000_000));
JsonNode? status = null;
for (var i = 0; i < 120; i++)
{
    status = await StatusAsync(admin);
    var r = status?["reports"];
    if (r is not null && (long)r["queued"]! == 0 && (long)r["enqueued"]! <= (long)r["sent"]! + (long)r["dropped"]! + (long)r["rejected"]!)
    {
        break;
    }

    await Task.Delay(TimeSpan.FromSeconds(1), time, CancellationToken.None);
}

var endRss = RssKb(gateway.Process.Id);
gateway.Stop();
await backend.StopAsync();
await webhook.StopAsync();

long Count(string outcome) => outcomes.Where(kv => kv.Key.EndsWith("->" + outcome, StringComparison.Ordinal)).Sum(kv => kv.Value);
var delivered = Count("delivered");
var dropped = Count("dropped");
var rejected = Count("rejected");
var refused = Count("refused");
var other = Count("other") + Count("transport_error");
var reports = status?["reports"];
var generated = (long?)reports?["enqueued"] ?? -1;
var gaveUp = ((long?)reports?["dropped"] ?? 0) + ((long?)reports?["rejected"] ?? 0);
var expectedReports = outcomes.Where(kv => kv.Key.StartsWith("drop->", StringComparison.Ordinal) || kv.Key.StartsWith("reject->", StringComparison.Ordinal))
    .Where(kv => !kv.Key.EndsWith("->refused", StringComparison.Ordinal) && !kv.Key.EndsWith("->transport_error", StringComparison.Ordinal)).Sum(kv => kv.Value);
var missingAtBackend = expectedAtBackend.Keys.Count(id => !backend.Ids.ContainsKey(id));
var unexpectedAtBackend = backend.Ids.Keys.Count(id => !expectedAtBackend.ContainsKey(id));

var checks = new List<(string Name, bool Ok, string Detail)>
{
    ("sent = delivered + dropped + rejected + refused", sent == delivered + dropped + rejected + refused && other == 0,
        $"{sent} = {delivered} + {dropped} + {rejected} + {refused} (other {other})"),
    ("every delivered id reached the backend once", missingAtBackend == 0 && backend.DuplicateIds == 0,
        $"missing {missingAtBackend}, duplicates {backend.DuplicateIds}, seen but answered otherwise {unexpectedAtBackend}"),
    ("reports generated = drop + reject verdicts", generated == expectedReports, $"{generated} generated, {expectedReports} expected"),
    ("reports received = generated - given up (no duplicates)", webhook.Unique == generated - gaveUp && webhook.Duplicates == 0,
        $"{webhook.Unique} unique received, {generated} generated, {gaveUp} given up or queue-dropped, {webhook.Duplicates} duplicates"),
    ("no uncensored filtered text at the backend", backend.Leaks == 0, $"{backend.Leaks} bodies with a filtered term; {backend.Censored} censored bodies"),
    ("RSS at end <= early RSS + 10 %", earlyRss > 0 && endRss <= earlyRss * 1.10, $"{earlyRss} kB at {early.TotalMinutes:0.#} min, {endRss} kB at end"),
};

Console.WriteLine();
Console.WriteLine($"| soak {minutes} min, {workers} workers | count |");
Console.WriteLine("|---|---|");
foreach (var (key, value) in outcomes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
{
    Console.WriteLine($"| client: {key} | {value} |");
}

foreach (var (key, value) in faults.OrderBy(kv => kv.Key, StringComparer.Ordinal))
{
    Console.WriteLine($"| fault: {key} | {value} |");
}

Console.WriteLine($"| sent | {sent} |");
Console.WriteLine($"| delivered / dropped / rejected / refused | {delivered} / {dropped} / {rejected} / {refused} |");
Console.WriteLine($"| backend: bodies / censored / leaks / duplicate ids | {backend.Requests} / {backend.Censored} / {backend.Leaks} / {backend.DuplicateIds} |");
Console.WriteLine($"| gateway verdicts | {status?["counters"]?["verdicts"]?.ToJsonString()} |");
Console.WriteLine($"| gateway reports | {reports?.ToJsonString()} |");
Console.WriteLine($"| gateway config reloads / failures | {status?["config"]?["reloads"]} / {status?["config"]?["reload_failures"]} |");
Console.WriteLine($"| webhook: unique / duplicates | {webhook.Unique} / {webhook.Duplicates} |");
Console.WriteLine($"| RSS early / end (kB) | {earlyRss} / {endRss} |");
foreach (var sample in backend.LeakSamples)
{
    Console.WriteLine($"| leak sample | {sample} |");
}

Console.WriteLine();
foreach (var (name, ok, detail) in checks)
{
    Console.WriteLine($"{(ok ? "PASS" : "FAIL")}  {name}: {detail}");
}

try
{
    Directory.Delete(dir, recursive: true);
}
catch (IOException)
{
}

return checks.All(c => c.Ok) ? 0 : 1;

// ── Helpers ──────────────────────────────────────────────────────────────────────────────────────────────────────
static string Classify(HttpResponseMessage response, string answer)
{
    var status = (int)response.StatusCode;
    if (status == 201 && answer.Contains("accepted", StringComparison.Ordinal))
    {
        return "dropped";
    }

    if (status == 403 && answer.Contains("\"rejected\"", StringComparison.Ordinal))
    {
        return "rejected";
    }

    if (status == 200 && answer.Contains("\"ok\"", StringComparison.Ordinal))
    {
        return "delivered";
    }

    // The gateway's own refusals: the backend is unreachable (502/503/504) or the body unreadable; each says why.
    return status is 502 or 503 or 504 ? "refused" : "other";
}

// Asks the admin listener, so the probe never reaches the backend (it would count as a body there).
static async Task<bool> WaitReadyAsync(HttpClient admin)
{
    for (var i = 0; i < 300; i++)
    {
        try
        {
            using var r = await admin.GetAsync("/readyz");
            if (r.IsSuccessStatusCode)
            {
                return true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, CancellationToken.None);
        }
        catch (HttpRequestException)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, CancellationToken.None);
        }
    }

    return false;
}

static async Task<JsonNode?> StatusAsync(HttpClient admin)
{
    try
    {
        return JsonNode.Parse(await admin.GetStringAsync("/status"));
    }
    catch (HttpRequestException)
    {
        return null;
    }
}

static long RssKb(int pid)
{
    try
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }
    catch (IOException)
    {
        return 0;
    }
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static GatewayProcess StartGateway(string dll, string config, string adminToken)
{
    var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
    info.ArgumentList.Add(dll);
    info.ArgumentList.Add("serve");
    info.ArgumentList.Add("--config");
    info.ArgumentList.Add(config);
    info.Environment["SOAK_REPORT_SECRET"] = "soak-report-secret-0123456789";
    info.Environment["SOAK_ADMIN_TOKEN"] = adminToken;
    var process = Process.Start(info)!;
    var output = new GatewayProcess(process);
    process.OutputDataReceived += (_, e) => output.Add(e.Data);
    process.ErrorDataReceived += (_, e) => output.Add(e.Data);
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return output;
}

internal sealed record Ports(int Gateway, int Backend, int Webhook, int Admin);

internal sealed class GatewayProcess(Process process)
{
    private readonly ConcurrentQueue<string> _lines = new();

    public Process Process => process;

    public string Output => string.Join('\n', _lines.TakeLast(50));

    public void Add(string? line)
    {
        if (line is not null && _lines.Count < 10_000)
        {
            _lines.Enqueue(line);
        }
    }

    public void Stop()
    {
        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit();
        }
    }
}

/// <summary>What the load sends: a term for each filter, so every verdict is exercised, and where a leak would show.</summary>
internal static class Messages
{
    public static readonly string[] FilteredTerms = ["darn", "buycoins", "slurword"];
    private static readonly string[] Words = ["hello", "there", "how", "are", "you", "today", "the", "weather", "is", "nice", "see", "you", "later"];

    public static string Text(string kind, Random random)
    {
        var sb = new StringBuilder();
        var n = 3 + random.Next(12);
        var at = random.Next(n);
        for (var i = 0; i < n; i++)
        {
            sb.Append(i == at ? kind switch { "censor" => "darn", "drop" => "buycoins", "reject" => "slurword", _ => Words[random.Next(Words.Length)] } : Words[random.Next(Words.Length)]);
            sb.Append(' ');
        }

        return sb.ToString().TrimEnd();
    }
}

internal static class Config
{
    public static string Valid(Ports p, int version) => $$"""
        # soak config, version {{version}}
        [server]
        listen = ["http://127.0.0.1:{{p.Gateway}}"]
        watch_config = true

        [[backends]]
        name = "chat"
        protocol = "json"
        upstreams = ["http://127.0.0.1:{{p.Backend}}"]
          [[backends.routes]]
          path = "/api/messages"
          methods = ["POST"]
          on_error = "reject"
            [backends.routes.json]
            body = "/text"
            sender = "/sender"
            room = "/room"
            drop_status = 201
            drop_body = '{"status":"accepted"}'
            reject_status = 403
          [[backends.routes]]
          path = "/ws"
          transport = "websocket"
          on_error = "reject"
            [backends.routes.json]
            body = "/text"
            sender = "/from"
            match = { "/type" = "message" }
            notice_key = "notice"
            drop_frame = '{"type":"notice"}'
            reject_frame = '{"type":"error","error":"rejected"}'
          [[backends.routes]]
          path = "/"
          inspect = false

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
        """;

    // A valid file with one broken filter: the gateway must keep the last good config and go on.
    public static string Invalid(Ports p, int version) => Valid(p, version) + """

        [[filters]]
        name = "broken"
        action = "explode"
        regex = ["(unclosed"]
        """;
}

/// <summary>The chat backend: counts bodies and ids, and whether a filtered term arrived readable.</summary>
internal sealed class Backend(int port)
{
    private WebApplication? _app;
    private long _requests;
    private long _censored;
    private long _leaks;
    private long _duplicates;
    private long _frames;

    public long Frames => Interlocked.Read(ref _frames);

    public ConcurrentDictionary<long, bool> Ids { get; } = new();

    /// <summary>The first few leaking bodies (synthetic load text, never user data), to say what went wrong.</summary>
    public ConcurrentQueue<string> LeakSamples { get; } = new();

    private void Leak(string body)
    {
        Interlocked.Increment(ref _leaks);
        if (LeakSamples.Count < 5)
        {
            LeakSamples.Enqueue(body.Length > 300 ? body[..300] : body);
        }
    }

    public long Requests => Interlocked.Read(ref _requests);

    public long Censored => Interlocked.Read(ref _censored);

    public long Leaks => Interlocked.Read(ref _leaks);

    public long DuplicateIds => Interlocked.Read(ref _duplicates);

    public async Task StartAsync()
    {
        if (_app is not null)
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(async context =>
        {
            if (context.WebSockets.IsWebSocketRequest)
            {
                await EchoAsync(context);
                return;
            }

            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            Interlocked.Increment(ref _requests);
            try
            {
                var json = JsonNode.Parse(body);
                var id = (long?)json?["id"] ?? -1;
                if (!Ids.TryAdd(id, true))
                {
                    Interlocked.Increment(ref _duplicates);
                }

                var text = (string?)json?["text"] ?? "";
                _ = text.Contains('*', StringComparison.Ordinal) ? Interlocked.Increment(ref _censored) : 0;
                foreach (var term in Messages.FilteredTerms)
                {
                    if (text.Contains(term, StringComparison.OrdinalIgnoreCase))
                    {
                        Leak(body);
                        break;
                    }
                }
            }
            catch (JsonException)
            {
                Leak(body);
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"status\":\"ok\"}");
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

    // Echoes every frame; a text frame that still carries a filtered term counts as a leak like an HTTP body.
    private async Task EchoAsync(HttpContext context)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var r = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (r.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }

                Interlocked.Increment(ref _frames);
                var frame = Encoding.UTF8.GetString(buffer, 0, r.Count);
                foreach (var term in Messages.FilteredTerms)
                {
                    if (frame.Contains(term, StringComparison.OrdinalIgnoreCase))
                    {
                        Leak(frame);
                        break;
                    }
                }

                await socket.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, CancellationToken.None);
            }
        }
        catch (System.Net.WebSockets.WebSocketException)
        {
            // The client went away.
        }
    }
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
