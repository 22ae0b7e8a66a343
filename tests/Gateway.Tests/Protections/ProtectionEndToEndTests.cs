using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Configuration;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Operations;

namespace Gateway.Tests.Protections;

/// <summary>[[protections]] through the real gateway: JSON routes, the admin API's rule counters and sender blocks, config errors.</summary>
public sealed class ProtectionEndToEndTests
{
    private const string Flood = """

        [[protections]]
        name = "flood"
        kind = "flood"
        max = 2
        window = "1m"
        action = "reject"
        notice = "Slow down."

        [[protections]]
        name = "caps-trial"
        kind = "shouting"
        percent = 70
        min_length = 10
        dry_run = true

        [[protections]]
        name = "no-paypal"
        kind = "links"
        deny_domains = ["paypal.com"]
        action = "drop"
        """;

    private static StringContent Msg(string text, string sender = "alice", string room = "lobby") =>
        new($$"""{"msg":{"text":{{System.Text.Json.JsonSerializer.Serialize(text)}}},"sender":"{{sender}}","room":"{{room}}"}""", Encoding.UTF8, "application/json");

    [Fact]
    public async Task Flood_ThirdMessageInAMinute_IsRejectedWithTheNotice_OtherSendersUnaffected()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(JsonRouteTests.Config(backend.Url, Flood));

        Assert.Equal(HttpStatusCode.Created, (await gw.Client.PostAsync("/api/messages", Msg("one"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await gw.Client.PostAsync("/api/messages", Msg("two"))).StatusCode);
        var third = await gw.Client.PostAsync("/api/messages", Msg("three"));
        Assert.Equal(HttpStatusCode.Forbidden, third.StatusCode);
        Assert.Contains("Slow down.", await third.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, (await gw.Client.PostAsync("/api/messages", Msg("hi", sender: "bob"))).StatusCode);
        Assert.Equal(3, backend.Received.Count);
    }

    [Fact]
    public async Task Links_ConfusableDomain_IsDroppedSilently_AndNeverArrives()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(JsonRouteTests.Config(backend.Url, Flood));

        var response = await gw.Client.PostAsync("/api/messages", Msg("log in at p\u0430ypal.com/verify"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode); // the route's drop_status: the sender is told it was sent
        Assert.Equal("{\"status\":\"accepted\"}", await response.Content.ReadAsStringAsync());
        Assert.Empty(backend.Received);
    }

    [Fact]
    public async Task AdminApi_RuleCounters_CountLiveAndDryRunHits_AndSenderBlocksCanBeAddedAndRemovedByHand()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await OpsGateway.StartAsync(JsonRouteTests.Config(backend.Url, Flood) + OpsGateway.AdminTable());

        Assert.Equal(HttpStatusCode.Created, (await gw.Client.PostAsync("/api/messages", Msg("THIS IS ALL CAPS, VERY LOUD"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await gw.Client.PostAsync("/api/messages", Msg("darn"))).StatusCode);

        var rules = (await gw.Admin!.GetFromJsonAsync<JsonObject>("/rules"))!["rules"]!.AsArray();
        var caps = rules.Single(r => (string?)r!["rule"] == "caps-trial")!;
        Assert.Equal(1, (long)caps["hits_since_load"]!);
        Assert.Equal(1, (long)caps["hits_last_hour"]!);
        Assert.True((bool)caps["dry_run"]!);
        Assert.Equal(1, (long)rules.Single(r => (string?)r!["rule"] == "profanity")!["hits_since_load"]!);
        Assert.Equal(0, (long)rules.Single(r => (string?)r!["rule"] == "flood")!["hits_since_load"]!);

        var added = await gw.Admin!.PostAsync("/sender-blocks", new StringContent("""{"sender":"mallory","ttl_seconds":600,"reason":"spam wave"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var blocked = await gw.Client.PostAsync("/api/messages", Msg("hello", sender: "mallory"));
        Assert.Equal(HttpStatusCode.Forbidden, blocked.StatusCode);
        var list = (await gw.Admin!.GetFromJsonAsync<JsonObject>("/sender-blocks"))!["sender_blocks"]!.AsArray();
        Assert.Equal("mallory", (string?)Assert.Single(list)!["sender"]);

        Assert.Equal(HttpStatusCode.OK, (await gw.Admin!.DeleteAsync("/sender-blocks?sender=mallory")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await gw.Client.PostAsync("/api/messages", Msg("hello again", sender: "mallory"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await gw.Admin!.DeleteAsync("/sender-blocks?sender=mallory")).StatusCode);
        var bad = await gw.Admin!.PostAsync("/sender-blocks", new StringContent("""{"sender":""}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Escalation_BlockStep_BlocksTheSenderEverywhere()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(JsonRouteTests.Config(backend.Url, """

            [[protections]]
            name = "flood"
            kind = "flood"
            max = 1
            window = "1h"
            escalation = ["drop", "block 10m"]
            """));

        await gw.Client.PostAsync("/api/messages", Msg("one", room: "a"));
        await gw.Client.PostAsync("/api/messages", Msg("two", room: "b")); // dropped
        var third = await gw.Client.PostAsync("/api/messages", Msg("three", room: "c")); // blocked
        Assert.Equal(HttpStatusCode.Forbidden, third.StatusCode);
        Assert.Contains("blocked", await third.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Single(backend.Received);
    }

    [Theory]
    [InlineData("kind = \"typhoon\"\nmax = 1", "kind")]
    [InlineData("kind = \"flood\"", "max")]
    [InlineData("kind = \"flood\"\nmax = 3\nwindow = \"soon\"", "not a duration")]
    [InlineData("kind = \"flood\"\nmax = 3\nescalation = [\"warn\", \"ban forever\"]", "not a step")]
    [InlineData("kind = \"links\"", "allow_domains or deny_domains")]
    [InlineData("kind = \"links\"\ndeny_domains = [\"http://x.com/\"]", "not a domain")]
    [InlineData("kind = \"new_sender\"\nfor_new_senders = [\"ghost\"]", "\"ghost\"")]
    public void Config_BadProtections_AreErrorsNamingTheProblem(string body, string expected)
    {
        var result = ConfigLoader.Load(JsonRouteTests.Config("http://127.0.0.1:9", "\n[[protections]]\nname = \"p\"\n" + body + "\n"), "gateway.toml");
        Assert.False(result.Ok);
        Assert.Contains(result.Errors, e => e.ToString().Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Config_AProtectionNamedLikeAFilter_IsAnError()
    {
        var result = ConfigLoader.Load(JsonRouteTests.Config("http://127.0.0.1:9", "\n[[protections]]\nname = \"profanity\"\nkind = \"mentions\"\nmax = 5\n"), "gateway.toml");
        Assert.Contains(result.Errors, e => e.ToString().Contains("both a filter and a protection", StringComparison.Ordinal));
    }
}
