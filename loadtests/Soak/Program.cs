// Over 400 lines because the rig is one story read top to bottom: the upstreams, webhook, Redis and gateway process
// it can kill, the config it flips, the load, and the closing count; split up, the counts lose their context.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

// The soak and load-test rig (issue 17): a real `gateway serve` process in front of one fake upstream per protocol
// (JSON, Matrix client-server and federation, BareRTC, Lemmy, SOGS), a report webhook and a Redis that this program
// owns, so it can kill and restart them and count what each one saw.
//
//   Soak soak  --gateway <gateway.dll> [--minutes 30] [--workers 4] [--gateway-kills-until 2.5]
//       load on every protocol + faults (upstreams, webhook and Redis killed and restarted, config flipped
//       valid/invalid every few seconds, the gateway itself SIGKILLed and restarted during the first minutes), then
//       the conservation table per protocol; exit 1 when a check fails.
//   Soak serve --gateway <gateway.dll> --ports <file>
//       the same setup without faults or load, for Artillery (loadtests/artillery); writes the URLs and keys as JSON
//       to <file> and runs until stdin closes or it is killed; on exit prints what the upstreams and webhook saw.
var mode = args.Length > 0 ? args[0] : "";
string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

if (mode is not ("soak" or "serve"))
{
    Console.Error.WriteLine("usage: Soak soak|serve --gateway <gateway.dll> [--minutes N] [--workers N] [--gateway-kills-until MIN] [--ports file]");
    return 2;
}

var inv = System.Globalization.CultureInfo.InvariantCulture;
var gatewayDll = Path.GetFullPath(Arg("--gateway", "src/Gateway/bin/Release/net10.0/gateway.dll"));
var minutes = double.Parse(Arg("--minutes", "30"), inv);
var workers = int.Parse(Arg("--workers", "4"), inv);
var time = TimeProvider.System;
var dir = Directory.CreateTempSubdirectory("gateway-soak-").FullName;
var ports = new Ports(FreePort(), FreePort(), FreePort(), FreePort());
var gatewayUri = new Uri($"http://127.0.0.1:{ports.Gateway}");
using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
{
    BaseAddress = gatewayUri,
    Timeout = TimeSpan.FromSeconds(30),
};
var json = new JsonLoad(FreePort(), client);
var matrix = new MatrixLoad(FreePort(), client, dir);
var lemmy = new LemmyLoad(FreePort(), client);
var sogs = new SogsLoad(FreePort(), client, dir);
var barertc = new BareRtcLoad(FreePort(), gatewayUri, client);
ILoad[] loads = [json, matrix, barertc, lemmy, sogs];
var tallies = new Dictionary<string, Tally>
{
    ["json"] = json.Tally,
    ["matrix-cs"] = matrix.Client,
    ["matrix-federation"] = matrix.Federation,
    ["matrix-policy-server"] = matrix.PolicyServer,
    ["matrix-antispam"] = matrix.Antispam,
    ["barertc"] = barertc.Tally,
    ["barertc-poll"] = barertc.PollTally,
    ["lemmy"] = lemmy.Tally,
    ["lemmy-inbox"] = lemmy.InboxTally,
    ["sogs"] = sogs.Tally,
    ["sogs-onion"] = sogs.OnionTally,
};
var webhook = new Webhook(ports.Webhook);
foreach (var l0 in loads)
{
    await l0.Upstream.StartAsync();
}

await webhook.StartAsync();
var redis = new Redis(ports.Redis, dir);
redis.Start();

var secretPath = Path.Combine(dir, "cluster-secret");
await File.WriteAllTextAsync(secretPath, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
var configPath = Path.Combine(dir, "gateway.toml");
await File.WriteAllTextAsync(configPath, Config.Valid(ports, loads, secretPath, 0));
const string AdminToken = "soak-admin-token-0123456789";
var gateway = StartGateway(gatewayDll, configPath, AdminToken);
AppDomain.CurrentDomain.ProcessExit += (_, _) =>
{
    gateway.Stop(); // never leave a gateway or a redis-server behind
    redis.Stop();
};

// The fake upstreams' hosts swallow SIGTERM (they only stop themselves): the rig ends on it, and its children with it.
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, _ =>
{
    gateway.Stop();
    redis.Stop();
    Environment.Exit(143);
});
using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports.Admin}") };
admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
if (!await WaitReadyAsync(admin))
{
    Console.Error.WriteLine("soak: the gateway did not come up; its output:\n" + gateway.Output);
    gateway.Stop();
    redis.Stop();
    return 1;
}

if (mode == "serve")
{
    var file = Arg("--ports", Path.Combine(dir, "ports.json"));
    await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
    {
        gateway = gatewayUri.ToString().TrimEnd('/'),
        admin = $"http://127.0.0.1:{ports.Admin}",
        pid = gateway.Process.Id,
        sogs_server_pubkey = sogs.ServerPubkeyHex,
        matrix_destination = "soak.test",
        matrix_good_seed = Convert.ToHexStringLower(matrix.GoodSeed),
        matrix_banned_seed = Convert.ToHexStringLower(matrix.BannedSeed),
        lemmy_inbox_host = "lemmy.soak",
        lemmy_inbox_key_id = LemmyLoad.KeyId,
        lemmy_inbox_key_pem = lemmy.RemoteKeyPem,
    }));
    Console.WriteLine($"serve: gateway {gatewayUri}, webhook :{ports.Webhook}; ports in {file}");
    var stop = new TaskCompletionSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
    AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
    _ = Task.Run(() => { Console.In.ReadToEnd(); stop.TrySetResult(); });
    await stop.Task;
    var served = await StatusAsync(admin);
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        upstream = tallies.ToDictionary(t => t.Key, t => new { bodies = t.Value.Requests, censored = t.Value.Censored, leaks = t.Value.Leaks, duplicates = t.Value.Duplicates }),
        upstream_leaks = tallies.Values.Sum(t => t.Leaks),
        json_ws_frames = json.Frames,
        matrix_bad_signatures = matrix.BadSignatures,
        webhook_reports = webhook.Unique,
        webhook_duplicates = webhook.Duplicates,
        gateway_verdicts = served?["counters"]?["verdicts"],
        gateway_reports = served?["reports"],
        gateway_rss_kb = RssKb(gateway.Process.Id),
    }));
    gateway.Stop();
    redis.Stop();
    return 0;
}

// ── The soak ──────────────────────────────────────────────────────────────────────────────────────────────────────
var duration = TimeSpan.FromMinutes(minutes);
var started = time.GetTimestamp();
var early = TimeSpan.FromMinutes(Math.Min(5, minutes / 3));
var killsUntil = TimeSpan.FromMinutes(Math.Min(double.Parse(Arg("--gateway-kills-until", "2.5"), inv), early.TotalMinutes * 0.8));
TimeSpan Elapsed() => time.GetElapsedTime(started);
var outcomes = new ConcurrentDictionary<string, long>();                  // "row|kind|outcome" → count
var delivered = new ConcurrentDictionary<(string Row, long Id), bool>();  // ids the client saw delivered
long reportsExpected = 0;   // drop/reject verdicts the clients saw: each one is a report
long nextId = 0;
long earlyRss = 0;
long reportSlack = 0;       // reports a SIGKILLed gateway may have held in RAM, or sent for a request whose answer was lost
var faults = new ConcurrentDictionary<string, long>();
var gatewayUp = true;
using var cts = new CancellationTokenSource();

void Count(string key) => outcomes.AddOrUpdate(key, 1, (_, n) => n + 1);

void Fault(string name)
{
    faults.AddOrUpdate(name, 1, (_, n) => n + 1);
    Console.WriteLine($"soak: {Elapsed():hh\\:mm\\:ss\\.f} fault {name}");
}

async Task WorkerAsync(ILoad load, int seed)
{
    var random = new Random(seed);
    while (!cts.IsCancellationRequested)
    {
        var id = Interlocked.Increment(ref nextId);
        string row = load.RowFor(id), kind = "?", outcome;
        try
        {
            (row, kind, outcome) = await load.SendAsync(id, random, cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return; // not sent: the soak is over
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
        {
            outcome = "refused_gateway_down"; // nothing was sent: the gateway's port was closed (a kill, a restart)
            if (gatewayUp)
            {
                Console.WriteLine($"soak: {Elapsed():hh\\:mm\\:ss\\.f} {row}: connection refused while the gateway runs");
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
        {
            outcome = Outcomes.Lost; // the connection died with the request in flight
        }

        Count($"{row}|{kind}|{outcome}");
        if (outcome == Outcomes.Delivered)
        {
            delivered[(row, id)] = true;
        }
        else if (outcome is Outcomes.Dropped or Outcomes.Rejected or Outcomes.RefusedReported && kind is "drop" or "reject")
        {
            Interlocked.Increment(ref reportsExpected);
        }

        if (outcome is "refused_gateway_down" || (outcome == Outcomes.Refused && !gatewayUp))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, CancellationToken.None);
        }
    }
}

async Task KillGatewayAsync(Random random)
{
    // Restart from a valid file (a restart with the invalid one would refuse to start, by design).
    await File.WriteAllTextAsync(configPath, Config.Valid(ports, loads, secretPath, 500_000 + (int)faults.GetValueOrDefault("gateway_killed")));
    await Task.Delay(TimeSpan.FromSeconds(2), time, CancellationToken.None);
    var before = Interlocked.Read(ref reportsExpected);
    var status = await StatusAsync(admin);
    var lostBefore = outcomes.Where(kv => kv.Key.EndsWith("|" + Outcomes.Lost, StringComparison.Ordinal)).Sum(kv => kv.Value);
    gatewayUp = false;
    gateway.Kill();
    Fault("gateway_killed");
    await Task.Delay(TimeSpan.FromMilliseconds(500), time, CancellationToken.None);
    var lostAfter = outcomes.Where(kv => kv.Key.EndsWith("|" + Outcomes.Lost, StringComparison.Ordinal)).Sum(kv => kv.Value);
    // What this process may have enqueued and not sent: its queue at the last look, the reports the clients saw
    // since then, and the requests lost at the kill (the gateway may have reported them before it died).
    Interlocked.Add(ref reportSlack, ((long?)status?["reports"]?["queued"] ?? 0) + (Interlocked.Read(ref reportsExpected) - before) + (lostAfter - lostBefore));
    await Task.Delay(TimeSpan.FromSeconds(1 + random.Next(3)), time, CancellationToken.None);
    gateway = StartGateway(gatewayDll, configPath, AdminToken);
    if (!await WaitReadyAsync(admin))
    {
        Console.Error.WriteLine("soak: the gateway did not come back after a kill; its output:\n" + gateway.Output);
    }

    gatewayUp = true;
}

// Faults: every few seconds one of them, in turn; each waits a little and puts things back.
async Task ChaosAsync()
{
    var random = new Random(17);
    var flips = 0;
    var lastGatewayKill = time.GetTimestamp() - (time.TimestampFrequency * 20); // the first kill ~20 s in
    while (!cts.IsCancellationRequested)
    {
        await Task.Delay(TimeSpan.FromSeconds(3 + random.Next(4)), time, CancellationToken.None);
        if (cts.IsCancellationRequested)
        {
            return;
        }

        // The gateway itself: SIGKILLed every ~40 s while kills are allowed (the first minutes, so the RSS samples
        // compare one process); the other faults in turn, at random.
        var killGateway = Elapsed() < killsUntil && time.GetElapsedTime(lastGatewayKill) > TimeSpan.FromSeconds(40);
        var fault = killGateway ? 5 : random.Next(5);
        switch (fault)
        {
            case 0:
                // One protocol's upstream, or (one time in three) all of them at once.
                var victims = random.Next(3) == 0 ? loads : [loads[random.Next(loads.Length)]];
                foreach (var v in victims)
                {
                    await v.Upstream.StopAsync();
                    Fault($"upstream_killed:{v.Rows[0]}");
                }

                await Task.Delay(TimeSpan.FromSeconds(1 + random.Next(3)), time, CancellationToken.None);
                foreach (var v in victims)
                {
                    await v.Upstream.StartAsync();
                }

                break;
            case 1:
                await webhook.StopAsync();
                Fault("webhook_killed");
                await Task.Delay(TimeSpan.FromSeconds(1 + random.Next(5)), time, CancellationToken.None);
                await webhook.StartAsync();
                break;
            case 2:
                redis.Kill();
                Fault("redis_killed");
                await Task.Delay(TimeSpan.FromSeconds(1 + random.Next(5)), time, CancellationToken.None);
                redis.Start();
                break;
            case 5:
                await KillGatewayAsync(random);
                lastGatewayKill = time.GetTimestamp();
                break;
            default:
                flips++;
                var valid = flips % 2 == 0;
                await File.WriteAllTextAsync(configPath, valid ? Config.Valid(ports, loads, secretPath, flips) : Config.Invalid(ports, loads, secretPath, flips));
                Fault(valid ? "config_valid" : "config_invalid");
                break;
        }
    }
}

async Task SampleRssAsync()
{
    await Task.Delay(early, time, CancellationToken.None);
    earlyRss = RssKb(gateway.Process.Id);
    Console.WriteLine($"soak: RSS at {early.TotalMinutes:0.#} min: {earlyRss} kB (pid {gateway.Process.Id})");
}

var perLoad = Math.Max(1, (workers + loads.Length - 1) / loads.Length);
Console.WriteLine($"soak: {minutes} min, {perLoad} worker(s) per protocol; gateway :{ports.Gateway} (pid {gateway.Process.Id}), webhook :{ports.Webhook}, redis :{ports.Redis}; gateway kills until {killsUntil.TotalMinutes:0.#} min");
var load = loads.SelectMany((l, i) => Enumerable.Range(0, perLoad).Select(w => Task.Run(() => WorkerAsync(l, (i * 100) + w)))).ToArray();
var chaos = Task.Run(ChaosAsync);
var rss = Task.Run(SampleRssAsync);
while (Elapsed() < duration)
{
    await Task.Delay(TimeSpan.FromSeconds(30), time, CancellationToken.None);
    var sentNow = outcomes.Values.Sum();
    Console.WriteLine($"soak: {Elapsed():hh\\:mm\\:ss} sent {sentNow}, upstream bodies {tallies.Values.Sum(t => t.Requests)}, reports {webhook.Unique}, RSS {RssKb(gateway.Process.Id)} kB ({MemoryBreakdown(gateway.Process.Id)}{GcView(await MetricsAsync(admin))})");
}

await cts.CancelAsync();
await Task.WhenAll(load);
await chaos;
await rss;

// Put everything back, leave the last config valid, and let the report queue drain.
foreach (var l in loads)
{
    await l.Upstream.StartAsync();
}

await webhook.StartAsync();
redis.Start();
await File.WriteAllTextAsync(configPath, Config.Valid(ports, loads, secretPath, 1_000_000));
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
var metrics = await MetricsAsync(admin);
gateway.Stop();
redis.Stop();
foreach (var l in loads)
{
    await l.Upstream.StopAsync();
}

await webhook.StopAsync();

// ── The count ─────────────────────────────────────────────────────────────────────────────────────────────────────
long N(string row, string outcome) => outcomes.Where(kv => kv.Key.StartsWith(row + "|", StringComparison.Ordinal) && kv.Key.EndsWith("|" + outcome, StringComparison.Ordinal)).Sum(kv => kv.Value);
var checks = new List<(string Name, bool Ok, string Detail)>();
Console.WriteLine();
Console.WriteLine($"| soak {minutes} min, {perLoad} worker(s) per protocol | sent | delivered | dropped | rejected | refused (upstream down) | refused (gateway down) | lost in flight | other |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
foreach (var row in tallies.Keys)
{
    var sent = outcomes.Where(kv => kv.Key.StartsWith(row + "|", StringComparison.Ordinal)).Sum(kv => kv.Value);
    var (d, dr, rj, rf, rg, lo) = (N(row, Outcomes.Delivered), N(row, Outcomes.Dropped), N(row, Outcomes.Rejected),
        N(row, Outcomes.Refused) + N(row, Outcomes.RefusedReported), N(row, "refused_gateway_down"), N(row, Outcomes.Lost));
    var other = sent - d - dr - rj - rf - rg - lo;
    Console.WriteLine($"| {row} | {sent} | {d} | {dr} | {rj} | {rf} | {rg} | {lo} | {other} |");
    checks.Add(($"{row}: sent = delivered + dropped + rejected + refused + lost, nothing else", other == 0 && sent > 0,
        $"{sent} = {d} + {dr} + {rj} + {rf} + {rg} + {lo} (other {other})"));
    var tally = tallies[row];
    var missing = delivered.Keys.Count(k => k.Row == row && !tally.Ids.ContainsKey(k.Id));
    var unexpected = tally.Ids.Keys.Count(id => !delivered.ContainsKey((row, id)));
    checks.Add(($"{row}: every delivered id reached the upstream exactly once", missing == 0 && tally.Duplicates == 0,
        $"missing {missing}, duplicates {tally.Duplicates}, seen upstream but answered otherwise (lost/refused in flight) {unexpected}"));
    checks.Add(($"{row}: no uncensored filtered text at the upstream", tally.Leaks == 0,
        $"{tally.Leaks} texts with a filtered term of {tally.Requests}; {tally.Censored} censored" + string.Concat(tally.LeakSamples.Select(s => $"; sample: {s}"))));
}

Console.WriteLine();
Console.WriteLine("| per kind | outcomes |");
Console.WriteLine("|---|---|");
foreach (var group in outcomes.GroupBy(kv => string.Join('|', kv.Key.Split('|').Take(2))).OrderBy(g => g.Key, StringComparer.Ordinal))
{
    Console.WriteLine($"| {group.Key} | {string.Join(", ", group.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key.Split('|')[2]} {kv.Value}"))} |");
}

var reports = status?["reports"];
var generated = (long?)reports?["enqueued"] ?? -1;
var gaveUp = ((long?)reports?["dropped"] ?? 0) + ((long?)reports?["rejected"] ?? 0);
var expected = Interlocked.Read(ref reportsExpected);
var kills = faults.GetValueOrDefault("gateway_killed");
// A request lost in flight may have been decided (and reported) by the gateway before its answer was lost.
var lostTotal = outcomes.Where(kv => kv.Key.EndsWith("|" + Outcomes.Lost, StringComparison.Ordinal)).Sum(kv => kv.Value);
checks.Add(("matrix federation: every X-Matrix signature the homeserver checked was valid", matrix.BadSignatures == 0, $"{matrix.BadSignatures} refused"));
checks.Add(("lemmy inbox: every HTTP Signature the instance checked was valid", lemmy.BadSignatures == 0, $"{lemmy.BadSignatures} refused"));
checks.Add(("matrix policy server: every signature it gave verifies over the redacted event", matrix.BadPolicySignatures == 0, $"{matrix.BadPolicySignatures} bad of {matrix.PolicyServer.Requests}"));
checks.Add(("last gateway process: reports received by it = generated - given up", (long?)reports?["sent"] == generated - gaveUp && (long?)reports?["queued"] == 0,
    $"{reports?.ToJsonString()}"));
checks.Add(("reports received = drop/reject verdicts the clients saw (within what SIGKILLed gateways held), no duplicates",
    webhook.Duplicates == 0 && webhook.Unique >= expected - reportSlack && webhook.Unique <= expected + reportSlack + lostTotal,
    $"{webhook.Unique} unique received, {expected} expected, slack {reportSlack} over {kills} gateway kills + {lostTotal} lost in flight, {webhook.Duplicates} duplicates; last process generated {generated}"));
checks.Add(("RSS at end <= RSS at early sample + 10 % (same process)", earlyRss > 0 && endRss <= earlyRss * 1.10,
    $"{earlyRss} kB at {early.TotalMinutes:0.#} min, {endRss} kB at end ({(earlyRss > 0 ? (endRss - earlyRss) * 100.0 / earlyRss : 0):0.#} %)"));

Console.WriteLine();
Console.WriteLine("| | count |");
Console.WriteLine("|---|---|");
foreach (var (key, value) in faults.OrderBy(kv => kv.Key, StringComparer.Ordinal))
{
    Console.WriteLine($"| fault: {key} | {value} |");
}

foreach (var (row, tally) in tallies)
{
    Console.WriteLine($"| upstream {row}: bodies / censored / leaks / duplicate ids | {tally.Requests} / {tally.Censored} / {tally.Leaks} / {tally.Duplicates} |");
}

Console.WriteLine($"| gateway verdicts (last process) | {status?["counters"]?["verdicts"]?.ToJsonString()} |");
Console.WriteLine($"| gateway reports (last process) | {reports?.ToJsonString()} |");
Console.WriteLine($"| gateway config reloads / failures (last process) | {status?["config"]?["reloads"]} / {status?["config"]?["reload_failures"]} |");
Console.WriteLine($"| webhook: unique / duplicates | {webhook.Unique} / {webhook.Duplicates} |");
Console.WriteLine($"| BareRTC sessions opened | {barertc.Sessions} |");
Console.WriteLine($"| RSS at {early.TotalMinutes:0.#} min / end (kB) | {earlyRss} / {endRss} |");
foreach (var line in metrics.Where(l => l.StartsWith("gateway_cluster", StringComparison.Ordinal) || l.StartsWith("gateway_redis", StringComparison.Ordinal)).Take(12))
{
    Console.WriteLine($"| metric | {line} |");
}

foreach (var sample in Outcomes.OtherSamples)
{
    Console.WriteLine($"| answer counted as other | {sample} |");
}

// What the gateways logged at error level (exception types and places; the gateway never logs message text).
foreach (var (entry, count) in GatewayProcess.Errors)
{
    Console.WriteLine($"| gateway error log | {count} × {entry} |");
}

foreach (var (entry, count) in GatewayProcess.Warnings.Take(20))
{
    Console.WriteLine($"| gateway warning log | {count} × {entry} |");
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
// Asks the admin listener, so the probe never reaches an upstream (it would count as a body there).
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
        }
        catch (HttpRequestException)
        {
        }

        await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, CancellationToken.None);
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

static async Task<string[]> MetricsAsync(HttpClient admin)
{
    try
    {
        return (await admin.GetStringAsync("/metrics")).Split('\n');
    }
    catch (HttpRequestException)
    {
        return [];
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

// What the RSS is made of (anonymous / file-backed / shared memory, from /proc/<pid>/status) and the GC's own view
// (/proc/<pid>/smaps_rollup does not split anonymous memory further): printed with each progress line.
static string MemoryBreakdown(int pid)
{
    try
    {
        var fields = File.ReadLines($"/proc/{pid}/status")
            .Where(l => l.StartsWith("RssAnon:", StringComparison.Ordinal) || l.StartsWith("RssFile:", StringComparison.Ordinal)
                || l.StartsWith("RssShmem:", StringComparison.Ordinal) || l.StartsWith("Threads:", StringComparison.Ordinal))
            .Select(l => l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Select(f => $"{f[0].TrimEnd(':')} {f[1]}");
        return string.Join(", ", fields);
    }
    catch (IOException)
    {
        return "";
    }
}

// The GC's own view, from the runtime meter the gateway exports: committed, heap size and free space (fragmentation)
// after the last collection, gen2 and the large-object heap apart, and how many gen2 collections ran.
static string GcView(string[] metrics)
{
    var parts = new List<string>();
    const string Heap = "dotnet_gc_last_collection_heap_size_bytes", Free = "dotnet_gc_last_collection_heap_fragmentation_size_bytes";
    foreach (var (name, generation, label) in new[]
    {
        ("dotnet_gc_last_collection_memory_committed_size_bytes", "", "GC committed"), (Heap, "", "GC heap"), (Free, "", "GC free"),
        (Heap, "gen2", "gen2"), (Heap, "loh", "LOH"), (Free, "loh", "LOH free"),
    })
    {
        var sum = metrics.Where(l => l.StartsWith(name, StringComparison.Ordinal) && !l.StartsWith('#')
                && (generation.Length == 0 || l.Contains($"gc_heap_generation=\"{generation}\"", StringComparison.Ordinal)))
            .Select(l => double.TryParse(l.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0)
            .Sum();
        if (sum > 0)
        {
            parts.Add($"{label} {sum / 1024:0} kB");
        }
    }

    var gen2 = metrics.FirstOrDefault(l => l.StartsWith("dotnet_gc_collections_total", StringComparison.Ordinal) && l.Contains("\"gen2\"", StringComparison.Ordinal));
    if (gen2 is not null)
    {
        parts.Add($"gen2 GCs {gen2.Split(' ')[^1]}");
    }

    return parts.Count == 0 ? "" : ", " + string.Join(", ", parts);
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
    if (Environment.GetEnvironmentVariable("SOAK_ALLOW_DIAGNOSTICS") == "1")
    {
        info.Environment["GATEWAY_ALLOW_DIAGNOSTICS"] = "1"; // for dotnet-counters while analysing memory
    }

    // GC experiments: SOAK_GATEWAY_ENV="DOTNET_gcServer=0;DOTNET_GCConserveMemory=5" reaches the gateway only.
    foreach (var pair in (Environment.GetEnvironmentVariable("SOAK_GATEWAY_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
    {
        var eq = pair.IndexOf('=', StringComparison.Ordinal);
        if (eq > 0)
        {
            info.Environment[pair[..eq]] = pair[(eq + 1)..];
        }
    }

    var process = Process.Start(info)!;
    var output = new GatewayProcess(process);
    process.OutputDataReceived += (_, e) => output.Add(e.Data);
    process.ErrorDataReceived += (_, e) => output.Add(e.Data);
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return output;
}

internal sealed record Ports(int Gateway, int Webhook, int Admin, int Redis);
