using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.BareRtc;

/// <summary>
/// A user's own <c>report</c> frame (issue 11): forwarded unchanged to BareRTC and also sent as the gateway's enriched
/// report with the DM's context, when the reporter took part in it; the context ring is the sorted pair's, shared by
/// both directions and by poll and WebSocket users alike.
/// </summary>
public sealed class BareRtcReportTests(ITestOutputHelper output)
{
    private const string HookSecret = "barertc-hook-secret";

    private static (string Toml, Dictionary<string, string> Files) Config(string backend, string hook) =>
        (BareRtcEndToEndTests.Config(backend) + $$"""


        [reports]
        url = "{{hook}}"
        secret_file = "hook.secret"
        drain_seconds = 5
        """, new Dictionary<string, string> { ["hook.secret"] = HookSecret + "\n" });

    [Fact]
    public async Task ReportFrame_OnWebSocket_ForwardedUnchanged_AndReportedWithBothDirectionsOfTheDm()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(HookSecret);
        var (toml, files) = Config(fake.Url, hook.Url);
        await using var gw = await GatewayHost.StartAsync(toml, files);
        await using var alice = await Client.LoginAsync(gw, "alice");
        await using var bob = await Client.LoginAsync(gw, "bob");

        await alice.SendAsync("""{"action":"message","channel":"@bob","message":"hi bob"}""");
        await bob.NextAsync("message", m => (string?)m["channel"] == "@alice");
        await bob.SendAsync("""{"action":"message","channel":"@alice","message":"you are a creep"}""");
        await alice.NextAsync("message", m => (string?)m["channel"] == "@bob" && (string?)m["username"] == "bob");
        const string Report = """{"action":"report","channel":"@bob","username":"bob","timestamp":"2026-12-01 18:00","reason":"harassment","comment":"he is rude","message":"<p>you are a creep</p>"}""";
        await alice.SendAsync(Report);
        await alice.SendAsync("""{"action":"message","channel":"lobby","message":"end"}""");
        await alice.NextAsync("message", m => (string?)m["channel"] == "lobby");

        var delivery = Assert.Single(await hook.WaitForAsync(1));
        output.WriteLine(delivery.Body);
        var json = delivery.Json;

        Assert.Contains(Report, fake.Received); // byte for byte
        Assert.True(delivery.SignatureValid);
        Assert.Equal("user_report", json.GetProperty("kind").GetString());
        Assert.Equal("barertc", json.GetProperty("protocol").GetString());
        Assert.Equal("alice", json.GetProperty("reporter").GetString());
        Assert.Equal("bob", json.GetProperty("recipients")[0].GetString());
        Assert.True(json.GetProperty("direct").GetBoolean());
        Assert.Equal("harassment", json.GetProperty("reason").GetString());
        Assert.Equal("he is rude", json.GetProperty("comment").GetString());
        Assert.Equal("<p>you are a creep</p>", json.GetProperty("message").GetString());
        Assert.Equal(new[] { "alice: hi bob", "bob: you are a creep" }, Context(json));
    }

    [Fact]
    public async Task PollAndWebSocketUsers_ShareOneRingPerPair_AndAnOutsiderGetsNoContext()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(HookSecret);
        var (toml, files) = Config(fake.Url, hook.Url);
        await using var gw = await GatewayHost.StartAsync(toml, files);
        await using var bob = await Client.LoginAsync(gw, "bob");
        await using var carol = await Client.LoginAsync(gw, "carol");
        var sid = (string)(await BareRtcKit.Poll(gw, """{"msg":{"action":"login","username":"polly"}}"""))["session_id"]!;

        await BareRtcKit.Poll(gw, BareRtcKit.PollMessage(sid, "@bob", "hello from the poll"));
        await bob.NextAsync("message", m => (string?)m["channel"] == "@polly");
        await bob.SendAsync("""{"action":"message","channel":"@polly","message":"hello from the socket"}""");
        await bob.NextAsync("message", m => (string?)m["channel"] == "@polly" && (string?)m["username"] == "bob");

        // carol never wrote to polly or bob: her report is forwarded, with no context.
        await carol.SendAsync("""{"action":"report","channel":"@polly","username":"polly","timestamp":"t","reason":"spam","comment":"","message":"x"}""");
        await carol.SendAsync("""{"action":"message","channel":"lobby","message":"end"}""");
        await carol.NextAsync("message", m => (string?)m["channel"] == "lobby");
        var pollReport = """{"action":"report","channel":"@bob","username":"bob","timestamp":"t","reason":"rude","comment":"c","message":"<p>hello from the socket</p>"}""";
        await BareRtcKit.Poll(gw, BareRtcKit.PollFrame(sid, pollReport));

        var deliveries = await hook.WaitForAsync(2);
        foreach (var d in deliveries)
        {
            output.WriteLine(d.Body);
        }

        Assert.Equal(2, deliveries.Count);
        var fromCarol = deliveries.Single(d => d.Json.GetProperty("reporter").GetString() == "carol").Json;
        var fromPolly = deliveries.Single(d => d.Json.GetProperty("reporter").GetString() == "polly").Json;
        Assert.Empty(Context(fromCarol));
        Assert.Equal(new[] { "polly: hello from the poll", "bob: hello from the socket" }, Context(fromPolly));
        Assert.Equal("rude", fromPolly.GetProperty("reason").GetString());
        Assert.Contains(BareRtcKit.PollFrame(sid, pollReport), fake.Received); // the poll reached the server unchanged
        Assert.Contains(fake.Received, r => r.Contains("\"reporter\"", StringComparison.Ordinal) is false && r.Contains("\"reason\":\"spam\"", StringComparison.Ordinal));
    }

    private static string[] Context(JsonElement report) =>
        report.GetProperty("context").EnumerateArray().Select(c => c.GetProperty("sender").GetString() + ": " + c.GetProperty("text").GetString()).ToArray();
}
