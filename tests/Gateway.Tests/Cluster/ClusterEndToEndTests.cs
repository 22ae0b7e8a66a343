// Over 400 lines because the scale-out scenario is one story (issue 15): three instances, one Redis and HAProxy are
// started once and taken through every failure in order; splitting it would start them again for each step.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Cluster;

/// <summary>
/// Issue 15 end to end on loopback: three real gateway instances sharing one real redis-server, behind a real
/// HAProxy. Blocks made on one instance are enforced by the others within a second; a flood limit of 10 per minute
/// is exact across instances under concurrent senders; Redis killed, traffic goes on (local counters), Redis back,
/// counters are shared again; an instance killed under load, HAProxy fails over with nothing lost beyond what was in
/// flight and no request delivered (or reported) twice. Each step writes a row of the failure table to the output.
/// </summary>
public sealed class ClusterEndToEndTests(ITestOutputHelper output)
{
    private const string Protections = """

        [[filters]]
        name = "watchlist"
        report = true
        action = "forward"
        keywords = ["watchword"]

        [[protections]]
        name = "flood"
        kind = "flood"
        max = 10
        window = "1m"
        action = "reject"
        notice = "Slow down."
        rooms = ["flood-*"]
        """;

    private static StringContent Msg(string text, string sender, string room) =>
        new($$"""{"msg":{"text":{{System.Text.Json.JsonSerializer.Serialize(text)}}},"sender":"{{sender}}","room":"{{room}}"}""", Encoding.UTF8, "application/json");

    private static string Config(string backend, string webhook, string redis, string instance) =>
        JsonRouteTests.Config(backend, Protections + $$"""

            [reports]
            url = "{{webhook}}"
            secret_file = "webhook-secret"
            queue_capacity = 1000
            drain_seconds = 5
            """) + ClusterNode.ClusterTable(redis, instance);

    [Fact]
    public async Task ThreeInstances_BehindHaproxy_ShareBlocksAndCounters_AndSurviveRedisAndInstanceLoss()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var backend = await RecordingBackend.StartAsync();
        await using var webhook = await WebhookReceiver.StartAsync("webhook-secret-0123456789");
        var files = new Dictionary<string, string> { ["webhook-secret"] = "webhook-secret-0123456789\n" };
        var nodes = new List<ClusterNode>();
        try
        {
            for (var i = 1; i <= 3; i++)
            {
                nodes.Add(await ClusterNode.StartAsync(Config(backend.Url, webhook.Url, redis.Url, "gw" + i), files));
            }

            await using var haproxy = await HaproxyProcess.StartAsync(nodes.Select(n => n.Url).ToList());
            using var lb = new HttpClient { BaseAddress = new Uri(haproxy.Url) };

            await Members_AllThreeListed_WithTheirConfigVersions(nodes);
            await SenderBlock_OnOne_RefusedByTheOthersWithinOneSecond(nodes);
            await IpBlock_OnOne_RefusedByTheOthersWithinOneSecond(nodes);
            await Flood_TenPerMinute_ExactAcrossInstances_UnderConcurrentSenders(nodes, backend);
            await Redis_Killed_TrafficContinuesLocally_Back_SharedAgain(nodes, redis);
            await Instance_KilledUnderLoad_HaproxyFailsOver_NothingLostBeyondInFlight_NoDuplicates(nodes, lb, backend, webhook);
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.DisposeAsync();
            }
        }
    }

    private static async Task Members_AllThreeListed_WithTheirConfigVersions(List<ClusterNode> nodes)
    {
        var deadline = Stopwatch.StartNew();
        JsonObject? cluster = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            cluster = await nodes[0].Admin.GetFromJsonAsync<JsonObject>("/cluster");
            if (cluster!["members"]!.AsArray().Count == 3)
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.True((bool)cluster!["enabled"]!);
        Assert.Equal("up", (string?)cluster["shared_state"]);
        var members = cluster["members"]!.AsArray();
        Assert.Equal(["gw1", "gw2", "gw3"], members.Select(m => (string)m!["instance"]!).ToArray());
        Assert.All(members, m => Assert.Equal(1, (long)m!["config_version"]!));
        Assert.Single(members, m => (bool)m!["self"]!);
        Assert.DoesNotContain(ClusterNode.Secret, cluster.ToJsonString(), StringComparison.Ordinal);
    }

    private async Task SenderBlock_OnOne_RefusedByTheOthersWithinOneSecond(List<ClusterNode> nodes)
    {
        Assert.Equal(HttpStatusCode.Created, (await nodes[1].Client.PostAsync("/api/messages", Msg("hello", "mallory", "lobby"))).StatusCode);
        var added = await nodes[0].Admin.PostAsync("/sender-blocks", new StringContent("""{"sender":"mallory","ttl_seconds":600}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var clock = Stopwatch.StartNew();
        var elapsed = await UntilAllAsync(nodes.Skip(1), async n => (await n.Client.PostAsync("/api/messages", Msg("hello", "mallory", "lobby"))).StatusCode == HttpStatusCode.Forbidden, clock);
        output.WriteLine($"sender block added on gw1: refused by gw2 and gw3 after {elapsed.TotalMilliseconds:0} ms");
        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"the block reached the other instances only after {elapsed.TotalMilliseconds:0} ms");

        Assert.Equal(HttpStatusCode.OK, (await nodes[2].Admin.DeleteAsync("/sender-blocks?sender=mallory")).StatusCode);
        clock.Restart();
        elapsed = await UntilAllAsync(nodes.Take(2), async n => (await n.Client.PostAsync("/api/messages", Msg("hello", "mallory", "lobby"))).StatusCode == HttpStatusCode.Created, clock);
        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"the unblock reached the other instances only after {elapsed.TotalMilliseconds:0} ms");
    }

    private async Task IpBlock_OnOne_RefusedByTheOthersWithinOneSecond(List<ClusterNode> nodes)
    {
        var added = await nodes[0].Admin.PostAsync("/ip-blocks", new StringContent("""{"cidr":"127.0.0.1/32","ttl_seconds":600,"reason":"test"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var clock = Stopwatch.StartNew();
        var elapsed = await UntilAllAsync(nodes.Skip(1), async n => (await n.Client.PostAsync("/api/messages", Msg("hi", "ivan", "lobby"))).StatusCode == HttpStatusCode.Forbidden, clock);
        output.WriteLine($"IP block added on gw1: refused by gw2 and gw3 after {elapsed.TotalMilliseconds:0} ms");
        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"the IP block reached the other instances only after {elapsed.TotalMilliseconds:0} ms");
        var listed = (await nodes[2].Admin.GetFromJsonAsync<JsonObject>("/ip-blocks"))!["overlay"]!.AsArray();
        Assert.Equal("127.0.0.1/32", (string?)Assert.Single(listed)!["cidr"]);

        Assert.Equal(HttpStatusCode.OK, (await nodes[1].Admin.DeleteAsync("/ip-blocks?cidr=127.0.0.1/32")).StatusCode);
        clock.Restart();
        elapsed = await UntilAllAsync(nodes, async n => (await n.Client.PostAsync("/api/messages", Msg("hi", "ivan", "lobby"))).StatusCode == HttpStatusCode.Created, clock);
        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"the IP unblock reached the other instances only after {elapsed.TotalMilliseconds:0} ms");
    }

    private async Task Flood_TenPerMinute_ExactAcrossInstances_UnderConcurrentSenders(List<ClusterNode> nodes, RecordingBackend backend)
    {
        string[] senders = ["flooder-a", "flooder-b", "flooder-c"];
        var statuses = new ConcurrentBag<(string Sender, HttpStatusCode Status)>();
        // 3 senders x 30 messages, spread over the three instances, 9 requests in flight at a time.
        await Parallel.ForEachAsync(Enumerable.Range(0, 90), new ParallelOptions { MaxDegreeOfParallelism = 9 }, async (i, ct) =>
        {
            var sender = senders[i % 3];
            var node = nodes[(i / 3) % 3];
            var r = await node.Client.PostAsync("/api/messages", Msg($"flood {i}", sender, "flood-room"), ct);
            statuses.Add((sender, r.StatusCode));
        });

        foreach (var sender in senders)
        {
            var accepted = statuses.Count(s => s.Sender == sender && s.Status == HttpStatusCode.Created);
            var refused = statuses.Count(s => s.Sender == sender && s.Status == HttpStatusCode.Forbidden);
            Assert.Equal(10, accepted);
            Assert.Equal(20, refused);
            Assert.Equal(10, backend.Received.Count(r => Encoding.UTF8.GetString(r.Body).Contains($"\"{sender}\"", StringComparison.Ordinal)));
        }

        output.WriteLine("flood 10/min, 3 senders x 30 messages over 3 instances, 9 in flight: exactly 10 accepted per sender");
    }

    private async Task Redis_Killed_TrafficContinuesLocally_Back_SharedAgain(List<ClusterNode> nodes, RedisProcess redis)
    {
        redis.Kill();
        // Under "local" every instance keeps answering; a sender is limited by each instance's own exact counts.
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            codes.Add((await nodes[0].Client.PostAsync("/api/messages", Msg($"while down {i}", "carol", "flood-room"))).StatusCode);
        }

        Assert.Equal(10, codes.Count(c => c == HttpStatusCode.Created));
        Assert.Equal(2, codes.Count(c => c == HttpStatusCode.Forbidden));
        var other = (await nodes[1].Client.PostAsync("/api/messages", Msg("while down, other instance", "carol", "flood-room"))).StatusCode;
        Assert.Equal(HttpStatusCode.Created, other); // gw2 never saw carol: counting is per instance while Redis is away
        var view = await nodes[0].Admin.GetFromJsonAsync<JsonObject>("/cluster");
        Assert.Equal("down", (string?)view!["shared_state"]);
        Assert.True((long)view["batches_fallback"]! > 0);
        // A sender block made while Redis is away waits, and is shared when Redis is back.
        Assert.Equal(HttpStatusCode.Created, (await nodes[0].Admin.PostAsync("/sender-blocks",
            new StringContent("""{"sender":"trudy","ttl_seconds":600}""", Encoding.UTF8, "application/json"))).StatusCode);
        output.WriteLine("redis-server killed: 13/13 requests answered (10 + 1 accepted, 2 refused by gw1's own count); nothing failed");
        Assert.Single(nodes[0].Logs.Lines, l => l.Contains("unavailable", StringComparison.Ordinal) && l.Contains("Shared state", StringComparison.Ordinal));

        await redis.StartAsync_();
        var clock = Stopwatch.StartNew();
        var elapsed = await UntilAllAsync(nodes, async n => (string?)(await n.Admin.GetFromJsonAsync<JsonObject>("/cluster"))!["shared_state"] == "up"
            && (await n.Client.PostAsync("/api/messages", Msg("back?", "trudy", "lobby"))).StatusCode == HttpStatusCode.Forbidden, clock, TimeSpan.FromSeconds(15));
        output.WriteLine($"redis-server restarted (empty): all instances shared again, the block made during the outage enforced everywhere after {elapsed.TotalMilliseconds:0} ms");

        var after = new ConcurrentBag<HttpStatusCode>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 15), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (i, ct) =>
            after.Add((await nodes[i % 3].Client.PostAsync("/api/messages", Msg($"after {i}", "dave", "flood-room"), ct)).StatusCode));
        Assert.Equal(10, after.Count(c => c == HttpStatusCode.Created));
        Assert.Equal(5, after.Count(c => c == HttpStatusCode.Forbidden));
    }

    private async Task Instance_KilledUnderLoad_HaproxyFailsOver_NothingLostBeyondInFlight_NoDuplicates(List<ClusterNode> nodes, HttpClient lb,
        RecordingBackend backend, WebhookReceiver webhook)
    {
        const int Workers = 6;
        var before = backend.Received.Count;
        var sent = 0;
        var ok = new ConcurrentBag<string>();
        var failed = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var killed = new TaskCompletionSource();
        var afterKill = 0;
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                var id = $"m{w}-{n++}";
                Interlocked.Increment(ref sent);
                try
                {
                    // A conversation key per message spreads the load over the three instances.
                    var r = await lb.PostAsync($"/api/messages?room=r{id}", Msg($"watchword {id}", "user" + w, "room-" + id));
                    (r.StatusCode == HttpStatusCode.Created ? ok : failed).Add(id);
                }
                catch (HttpRequestException)
                {
                    failed.Add(id);
                }

                if (killed.Task.IsCompleted)
                {
                    Interlocked.Increment(ref afterKill);
                }
            }
        })).ToArray();

        while (ok.Count < 60)
        {
            await Task.Delay(10);
        }

        await nodes[1].KillAsync();
        killed.SetResult();
        while (Volatile.Read(ref afterKill) < 120)
        {
            await Task.Delay(10);
        }

        await stop.CancelAsync();
        await Task.WhenAll(workers);

        // Nothing lost beyond the requests in flight on the killed instance (at most one per worker).
        Assert.True(failed.Count <= Workers, $"{failed.Count} requests failed: {string.Join(", ", failed)}");
        var delivered = backend.Received.Skip(before).Select(r => Encoding.UTF8.GetString(r.Body)).ToList();
        foreach (var id in ok)
        {
            Assert.Single(delivered, b => b.Contains($"watchword {id}\"", StringComparison.Ordinal));
        }

        // No duplicates: every delivered message once, every report once (each message is reported by the instance that saw it).
        var ids = delivered.Select(b => System.Text.RegularExpressions.Regex.Match(b, "watchword (m[0-9]+-[0-9]+)").Groups[1].Value).Where(x => x.Length > 0).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        var reportDeadline = Stopwatch.StartNew();
        while (ReportedIds(webhook).Count < ok.Count - Workers && reportDeadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        var reported = ReportedIds(webhook);
        Assert.Equal(reported.Count, reported.Distinct().Count());
        output.WriteLine($"gw2 killed under load ({Workers} workers): {ok.Count} accepted, {failed.Count} failed (in flight on gw2), " +
            $"{ids.Count} delivered once each, {reported.Count} reports, no duplicates");
    }

    private static List<string> ReportedIds(WebhookReceiver webhook) => webhook.Deliveries
        .SelectMany(d => System.Text.RegularExpressions.Regex.Matches(d.Body, "\"watchword (m[0-9]+-[0-9]+)\"").Select(m => m.Groups[1].Value).Take(1))
        .ToList();

    /// <summary>Polls each node until <paramref name="check"/> holds for all; returns when the last one held.</summary>
    private static async Task<TimeSpan> UntilAllAsync(IEnumerable<ClusterNode> nodes, Func<ClusterNode, Task<bool>> check, Stopwatch clock, TimeSpan? limit = null)
    {
        var max = limit ?? TimeSpan.FromSeconds(5);
        foreach (var n in nodes)
        {
            while (!await check(n))
            {
                Assert.True(clock.Elapsed < max, $"not within {max.TotalSeconds:0} s");
                await Task.Delay(20);
            }
        }

        return clock.Elapsed;
    }
}
