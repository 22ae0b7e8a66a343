using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.BareRtc;

/// <summary>DM text, on /ws and on /poll, for every verdict and for report frames, reaches no log line at Trace.</summary>
public sealed class BareRtcPrivacyTests
{
    [Fact]
    public async Task DmText_WebSocketAndPoll_EveryVerdict_InNoLogLineAtTrace()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(BareRtcEndToEndTests.Config(fake.Url));
        await using var alice = await Client.LoginAsync(gw, "alice");
        await using var bob = await Client.LoginAsync(gw, "bob");
        var sid = (string)(await BareRtcKit.Poll(gw, """{"msg":{"action":"login","username":"polly"}}"""))["session_id"]!;

        string[] texts =
        {
            "zebracorn plain words",          // forward
            "zebracorn darn words",           // censor
            "zebracorn send me your address", // drop
            "zebracorn cheap pills",          // reject
        };
        foreach (var t in texts)
        {
            await alice.SendAsync(System.Text.Json.JsonSerializer.Serialize(new { action = "message", channel = "@bob", message = t }));
            await BareRtcKit.Poll(gw, BareRtcKit.PollMessage(sid, "@bob", t));
        }

        await alice.SendAsync("""{"action":"report","channel":"@bob","username":"bob","timestamp":"t","reason":"zebracorn reason","comment":"zebracorn comment","message":"zebracorn"}""");
        await alice.SendAsync("""{"action":"message","channel":"@bob","message":"last"}""");
        await bob.NextAsync("message", m => (string?)m["message"] == "<p>last</p>");

        Assert.NotEmpty(gw.Logs.Lines); // Trace is on and the gateway did log
        Assert.DoesNotContain(gw.Logs.Lines, l => l.Contains("zebracorn", StringComparison.OrdinalIgnoreCase)
            || l.Contains("*********", StringComparison.Ordinal));
    }
}
