using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Cluster;
using Gateway.Policy.Context;
using Gateway.Reporting;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Gateway.Tests.Cluster;

/// <summary>
/// Issue 15, part 4: each DM pair has an owner instance. Three real instances and a real redis-server: the two sides
/// of a DM arrive on the two instances that do not own it, their appends are pushed (sealed) to the owner, and the one
/// report the conversation causes is made by the owner with both sides' messages; the instances that saw the messages
/// keep nothing. The owner killed, the others go on (local fallback, one report each).
/// </summary>
public sealed class ClusterPairOwnerTests(ITestOutputHelper output)
{
    private const string Alice = "@alice:example.org";
    private const string Bob = "@bob:example.org";

    private const string Filters = """

        [[filters]]
        name = "watchlist"
        report = true
        action = "forward"
        keywords = ["watchword"]
        """;

    internal static StringContent Dm(string text, string sender, string recipient) =>
        new($$"""{"msg":{"text":{{JsonSerializer.Serialize(text)}}},"sender":"{{sender}}","recipient":"{{recipient}}","direct":true}""",
            Encoding.UTF8, "application/json");

    private static string Config(string backend, string webhook, string redis, string instance) =>
        JsonRouteTests.Config(backend, Filters + $$"""

            [reports]
            url = "{{webhook}}"
            secret_file = "webhook-secret"
            drain_seconds = 5
            """) + ClusterNode.ClusterTable(redis, instance);

    [Fact]
    public async Task DmSides_OnTwoNonOwners_OwnerReportsOnceWithBothSides_ThenOwnerKilled_OthersFallBackLocally()
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
                nodes.Add(await ClusterNode.StartAsync(Config(backend.Url, webhook.Url, redis.Url, "pw" + i), files));
            }

            var key = ConversationKey.Direct("json", Alice, Bob);
            var clock = Stopwatch.StartNew();
            // Every instance sees all three (each with its internal listener) and they agree on the pair's owner.
            while (nodes.Any(n => Owners(n).KnownPeers < 3) || nodes.Select(n => Owners(n).OwnerOf(key)?.Instance).Distinct().Count() != 1)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "membership with internal listeners not seen within 10 s");
                await Task.Delay(20);
            }

            var ownerName = Owners(nodes[0]).OwnerOf(key)!.Instance;
            var owner = nodes.Single(n => Owners(n).Instance == ownerName);
            var others = nodes.Where(n => n != owner).ToList();
            var (a, b) = (others[0], others[1]);
            output.WriteLine($"pair owner: {ownerName}; alice on {Owners(a).Instance}, bob on {Owners(b).Instance}");

            // Before each message: the instance it arrives on sees the owner live (a loaded machine can delay heartbeats
            // past three beats; then the message is kept where it arrived, as documented).
            async Task SendAsync(ClusterNode node, string text, string from, string to)
            {
                await UntilAsync(() => Owners(node).OwnerOf(key)?.Instance == ownerName);
                Assert.Equal(HttpStatusCode.Created, (await node.Client.PostAsync("/api/messages", Dm(text, from, to))).StatusCode);
            }

            await SendAsync(a, "hi bob, are you there", Alice, Bob);
            await UntilAsync(() => Store(owner).Snapshot(key).Count == 1);
            await SendAsync(b, "yes alice, here", Bob, Alice);
            await UntilAsync(() => Store(owner).Snapshot(key).Count == 2);
            await SendAsync(a, "the watchword is swordfish", Alice, Bob);
            // The push to the owner follows the answer to the client: wait for it, as above, or the next message (on
            // another instance) can reach the owner first and sit in the first report's context (seen in CI once).
            await UntilAsync(() => Store(owner).Snapshot(key).Count == 3);
            // A second reporting message after it: when its report is in, any duplicate of the first would be too.
            await SendAsync(b, "watchword received", Bob, Alice);
            var deliveries = await webhook.WaitForAsync(2);
            Assert.Equal(2, deliveries.Count);
            var first = deliveries.Select(d => d.Json).Single(j => j.GetProperty("original").GetProperty("body").GetString() == "the watchword is swordfish");
            var context = first.GetProperty("context").EnumerateArray().Select(c => (c.GetProperty("sender").GetString(), c.GetProperty("text").GetString())).ToList();
            Assert.Equal([(Alice, "hi bob, are you there"), (Bob, "yes alice, here")], context);
            var second = deliveries.Select(d => d.Json).Single(j => j.GetProperty("original").GetProperty("body").GetString() == "watchword received");
            Assert.Equal(3, second.GetProperty("context").GetArrayLength());

            // The instances the messages arrived on kept nothing; the owner keeps all four.
            await UntilAsync(() => Store(owner).Snapshot(key).Count == 4);
            Assert.Empty(Store(a).Snapshot(key));
            Assert.Empty(Store(b).Snapshot(key));
            Assert.Equal(0, Owners(a).Fallbacks + Owners(b).Fallbacks);
            Assert.True(Owners(a).Pushed >= 2 && Owners(b).Pushed >= 2);
            output.WriteLine($"DM sides on two non-owners: both pushed to {ownerName}; one report each with both sides' context; nothing kept on the others");

            // The owner dies. Whoever gets the next messages keeps working: pushes to the dead owner fall back to the
            // instance that saw them until the heartbeats drop it, then the pair moves to a live instance.
            await owner.KillAsync();
            var before = webhook.Deliveries.Count;
            Assert.Equal(HttpStatusCode.Created, (await a.Client.PostAsync("/api/messages", Dm("still there? watchword again", Alice, Bob))).StatusCode);
            var afterKill = await webhook.WaitForAsync(before + 1);
            Assert.Equal(before + 1, afterKill.Count);
            Assert.Equal(HttpStatusCode.Created, (await b.Client.PostAsync("/api/messages", Dm("watchword, last one", Bob, Alice))).StatusCode);
            var all = await webhook.WaitForAsync(before + 2);
            Assert.Equal(before + 2, all.Count);
            var ids = all.Select(d => d.Json.GetProperty("id").GetString()).ToList();
            Assert.Equal(ids.Count, ids.Distinct().Count());
            await UntilAsync(() => nodes.Where(n => n != owner).All(n => Owners(n).OwnerOf(key)?.Instance != ownerName));
            var newOwner = Owners(a).OwnerOf(key)!.Instance;
            var fallbacks = Owners(a).Fallbacks + Owners(b).Fallbacks;
            var warned = a.Logs.Lines.Count(l => l.Contains("[4505]", StringComparison.Ordinal)) + b.Logs.Lines.Count(l => l.Contains("[4505]", StringComparison.Ordinal));
            Assert.True(warned <= 2, "the unreachable owner is logged once per instance, not per message");
            Assert.DoesNotContain(nodes.SelectMany(n => n.Logs.Lines), l => l.Contains("swordfish", StringComparison.Ordinal) || l.Contains("alice", StringComparison.Ordinal));
            output.WriteLine($"owner {ownerName} killed: messages on the others accepted (201), reported once each; {fallbacks} appends kept locally " +
                $"(owner unreachable), pair moved to {newOwner}; lost: the context {ownerName} held");
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task InternalListener_RefusesTamperedReplayedStaleUnsealedPushes_AndNoRouteReturnsText()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var backend = await RecordingBackend.StartAsync();
        await using var node = await ClusterNode.StartAsync(JsonRouteTests.Config(backend.Url, Filters) + ClusterNode.ClusterTable(redis.Url, "solo"));
        var peer = node.Services.GetRequiredService<PeerServer>();
        using var http = new HttpClient { BaseAddress = new Uri(peer.Addresses[0]) };
        var store = Store(node);
        var key = ConversationKey.Direct("json", Alice, Bob);
        const string Secret = "pushed text: the vault code is 7741";
        var plain = PairCodec.Encode([new PairAppend(key, Alice, DateTimeOffset.UtcNow, [Secret], null, false)]);
        var seal = new PeerSeal(Encoding.UTF8.GetBytes(ClusterNode.Secret));
        var now = node.Services.GetRequiredService<TimeProvider>().GetUtcNow();

        async Task<(HttpStatusCode Status, string Body)> PostAsync(byte[] body, string path = PairOwners.PushPath)
        {
            using var response = await http.PostAsync(path, new ByteArrayContent(body));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        // Unsealed: the JSON batch as it is.
        Assert.Equal((HttpStatusCode.BadRequest, ""), await PostAsync(plain));
        // Sealed with another secret.
        var other = new PeerSeal(Encoding.UTF8.GetBytes("another-secret-0123456789abcdef0123456789"));
        Assert.Equal((HttpStatusCode.Unauthorized, ""), await PostAsync(other.Seal("gw-x", "solo", now, plain)));
        // Sealed for another instance (the target is in the associated data).
        Assert.Equal((HttpStatusCode.Unauthorized, ""), await PostAsync(seal.Seal("gw-x", "gw-other", now, plain)));
        // Tampered: one bit of the ciphertext, or the claimed sender.
        var tampered = seal.Seal("gw-x", "solo", now, plain);
        tampered[^20] ^= 1;
        Assert.Equal((HttpStatusCode.Unauthorized, ""), await PostAsync(tampered));
        var renamed = seal.Seal("gw-x", "solo", now, plain);
        renamed[5] = (byte)'y';
        Assert.Equal((HttpStatusCode.Unauthorized, ""), await PostAsync(renamed));
        // Outside the replay window.
        Assert.Equal((HttpStatusCode.Unauthorized, ""), await PostAsync(seal.Seal("gw-x", "solo", now - TimeSpan.FromMinutes(2), plain)));
        Assert.Equal((HttpStatusCode.Unauthorized, ""), await PostAsync(seal.Seal("gw-x", "solo", now + TimeSpan.FromMinutes(2), plain)));
        Assert.Empty(store.Snapshot(key));

        // The genuine push is applied once; the same bytes again are a replay.
        var genuine = seal.Seal("gw-x", "solo", now, plain);
        Assert.Equal((HttpStatusCode.NoContent, ""), await PostAsync(genuine));
        Assert.Equal([Secret], store.Snapshot(key).Select(m => m.Text));
        Assert.Equal((HttpStatusCode.Conflict, ""), await PostAsync(genuine));
        Assert.Single(store.Snapshot(key));
        // Authentic but not a batch.
        Assert.Equal((HttpStatusCode.BadRequest, ""), await PostAsync(seal.Seal("gw-x", "solo", now, "{\"appends\":[{\"key\":\"r4:jsonroom\"}]}"u8)));

        // No route answers with text: every method and path, the push route included.
        foreach (var path in new[] { "/", PairOwners.PushPath, "/cluster", "/status", "/_gateway/health", "/context", "/_cluster/v1/context", "/api/messages" })
        {
            foreach (var method in new[] { HttpMethod.Get, HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Options })
            {
                using var response = await http.SendAsync(new HttpRequestMessage(method, path) { Content = method == HttpMethod.Get ? null : new ByteArrayContent([]) });
                var body = await response.Content.ReadAsStringAsync();
                Assert.Equal("", body);
                Assert.True((int)response.StatusCode is >= 400 and < 500, $"{method} {path}: {(int)response.StatusCode}");
            }
        }

        Assert.Single(store.Snapshot(key));
        Assert.DoesNotContain(node.Logs.Lines, l => l.Contains("vault code", StringComparison.Ordinal));
    }

    private static PairOwners Owners(ClusterNode node) => node.Services.GetRequiredService<PairOwners>();

    private static ConversationStore Store(ClusterNode node) => node.Services.GetRequiredService<ReportingPipeline>().Store;

    private static async Task UntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "not within 10 s");
            await Task.Delay(20);
        }
    }
}
