using System.Net;
using System.Text;
using Gateway.Cluster;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Tests.Cluster;

/// <summary>
/// Nothing private in Redis (issue 15, part 2): while two instances count a direct conversation with every kind of
/// shared counter, <c>redis-cli MONITOR</c> sees every command Redis runs and an RDB dump holds everything it kept;
/// neither contains the DM's text, its sender or recipient ids, the room, or the cluster secret. The DM's pair owner
/// push (one instance hands its half to the other) goes over the internal listener, never through Redis.
/// </summary>
public sealed class ClusterPrivacyTests
{
    private const string Text = "meet me at the lighthouse at nine, bring the blue folder";
    private const string Sender = "@whisperer:example.org";
    private const string Recipient = "@confidant:example.org";
    private const string Room = "!secretroom:example.org";

    private static StringContent Dm(string text) =>
        new($$"""{"msg":{"text":{{System.Text.Json.JsonSerializer.Serialize(text)}}},"sender":"{{Sender}}","recipient":"{{Recipient}}","direct":true,"room":"{{Room}}"}""",
            Encoding.UTF8, "application/json");

    [Fact]
    public async Task DirectMessages_CountedInRedis_LeaveNoTextNoIdsInMonitorOrRdb()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var backend = await RecordingBackend.StartAsync();
        const string Protections = """

            [[protections]]
            name = "flood"
            kind = "flood"
            max = 100
            window = "1m"

            [[protections]]
            name = "dup"
            kind = "duplicate"
            max = 5
            window = "10m"

            [[protections]]
            name = "first-links"
            kind = "link_first"
            max = 3
            """;
        await using var a = await ClusterNode.StartAsync(JsonRouteTests.Config(backend.Url, Protections) + ClusterNode.ClusterTable(redis.Url, "gw-a"));
        await using var b = await ClusterNode.StartAsync(JsonRouteTests.Config(backend.Url, Protections) + ClusterNode.ClusterTable(redis.Url, "gw-b"));
        // Both know each other's internal listener, so the DM's appends go to its owner (sealed, never through Redis).
        var owners = new[] { a, b }.Select(n => n.Services.GetRequiredService<PairOwners>()).ToArray();
        while (owners.Any(o => o.KnownPeers < 2))
        {
            await Task.Delay(10);
        }

        var monitor = new StringBuilder();
        using var watching = redis.Monitor(monitor);
        // MONITOR is listening once it has printed OK.
        while (!Snapshot(monitor).Contains("OK", StringComparison.Ordinal))
        {
            await Task.Delay(10);
        }

        var key = Gateway.Policy.Context.ConversationKey.Direct("json", Sender, Recipient);
        for (var i = 0; i < 4; i++)
        {
            // Both see the other live (a loaded machine can delay heartbeats past three beats: then each keeps its half).
            while (owners.Select(o => o.OwnerOf(key)?.Instance).Distinct().Count() != 1 || owners[0].OwnerOf(key) is null)
            {
                await Task.Delay(10);
            }

            Assert.Equal(HttpStatusCode.Created, (await (i % 2 == 0 ? a : b).Client.PostAsync("/api/messages", Dm(Text + " https://example.com/x"))).StatusCode);
        }

        // The non-owner's two appends went to the owner (asynchronously: the answer does not wait for the push).
        for (var waited = 0; owners.Sum(o => o.Pushed) < 2 && waited < 500; waited++)
        {
            await Task.Delay(20);
        }

        Assert.Contains("EVAL", Snapshot(monitor), StringComparison.OrdinalIgnoreCase); // the counters did go through Redis
        Assert.Equal(2, owners.Sum(o => o.Pushed));
        Assert.Contains("OK", await redis.CliAsync("SAVE"), StringComparison.Ordinal);
        watching.Kill();
        await watching.WaitForExitAsync();
        var rdb = await File.ReadAllBytesAsync(Path.Combine(redis.Directory, "dump.rdb"));
        var rdbText = Encoding.Latin1.GetString(rdb);
        var seen = Snapshot(monitor);
        Assert.True(rdb.Length > 0);
        foreach (var secret in new[] { Text, "lighthouse", "blue folder", Sender, "whisperer", Recipient, "confidant", Room, "secretroom", ClusterNode.Secret, "example.com/x" })
        {
            Assert.DoesNotContain(secret, seen, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(secret, rdbText, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static string Snapshot(StringBuilder sb)
    {
        lock (sb)
        {
            return sb.ToString();
        }
    }
}
