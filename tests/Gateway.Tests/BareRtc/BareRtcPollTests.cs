using System.Text.Json.Nodes;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.BareRtc;

/// <summary>
/// <c>/poll</c> users and <c>/ws</c> users in one conversation (issue 11): the same verdicts, and for drop/reject the
/// poll still reaches the server (as a <c>ping</c>) so the session's queue is drained, with the echo and notice
/// merged after the frames the server had queued.
/// </summary>
public sealed class BareRtcPollTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PollAndWebSocketUsers_OneConversation_DropMergesIntoTheServersAnswer()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(BareRtcEndToEndTests.Config(fake.Url));
        await using var bob = await Client.LoginAsync(gw, "bob");
        var login = await BareRtcKit.Poll(gw, """{"msg":{"action":"login","username":"polly"}}""");
        var sid = (string)login["session_id"]!;

        // bob (WebSocket) writes to polly (poll): queued on the server for polly's next poll.
        await bob.SendAsync("""{"action":"message","channel":"@polly","message":"hi polly"}""");
        await bob.NextAsync("message", m => (string?)m["channel"] == "@polly");

        var dropped = await BareRtcKit.PollRaw(gw, BareRtcKit.PollMessage(sid, "@bob", "send me your address"));
        output.WriteLine("poll drop answer (raw):\n" + dropped.Body);
        var answer = (JsonObject)JsonNode.Parse(dropped.Body)!;
        var frames = answer["messages"]!.AsArray();

        Assert.Equal(200, dropped.Status);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(dropped.Body), dropped.Length);
        Assert.Equal("polly", (string?)answer["username"]);
        Assert.Equal(sid, (string?)answer["session_id"]);
        Assert.Equal(3, frames.Count);
        Assert.Equal("@bob", (string?)frames[0]!["channel"]); // the server's queued DM from bob, first
        Assert.Equal("bob", (string?)frames[0]!["username"]);
        Assert.Equal("<p>hi polly</p>", (string?)frames[0]!["message"]);
        Assert.Equal("message", (string?)frames[1]!["action"]); // then the echo, as the server would address it
        Assert.Equal("@bob", (string?)frames[1]!["channel"]);
        Assert.Equal("polly", (string?)frames[1]!["username"]);
        Assert.Equal("<p>send me your address</p>", (string?)frames[1]!["message"]);
        Assert.True((long)frames[1]!["msgID"]! > 0);
        Assert.Equal("""{"action":"error","username":"ChatServer","message":"Your message has not been sent. Please make better choices."}""",
            frames[2]!.ToJsonString());
        Assert.Contains(BareRtcKit.PollPing(sid), fake.Received); // the poll reached the server, without the message
        Assert.DoesNotContain(fake.Received, r => r.Contains("address", StringComparison.Ordinal));

        // bob never sees it: his next frame is polly's clean message.
        await BareRtcKit.Poll(gw, BareRtcKit.PollMessage(sid, "@bob", "sorry"));
        var next = await bob.NextAsync("message", m => (string?)m["channel"] == "@polly");
        Assert.Equal("<p>sorry</p>", (string?)next["message"]);
    }

    [Fact]
    public async Task Poll_RejectOnEmptyQueue_OnlyTheNotice_CensorReachesTheWebSocketUserWithStars()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(BareRtcEndToEndTests.Config(fake.Url));
        await using var bob = await Client.LoginAsync(gw, "bob");
        var login = await BareRtcKit.Poll(gw, """{"msg":{"action":"login","username":"polly"}}""");
        var sid = (string)login["session_id"]!;
        await BareRtcKit.Poll(gw, BareRtcKit.PollPing(sid)); // drain the login frames

        var rejected = await BareRtcKit.Poll(gw, BareRtcKit.PollMessage(sid, "lobby", "cheap pills"));
        await BareRtcKit.Poll(gw, BareRtcKit.PollMessage(sid, "@bob", "darn you"));
        var censored = await bob.NextAsync("message");
        BareRtcEndToEndTests.Print(output, "poll reject answer; ws recipient of a censored poll DM", rejected, censored);

        Assert.Equal("""[{"action":"error","username":"ChatServer","message":"No spam here."}]""", rejected["messages"]!.ToJsonString());
        Assert.Equal("@polly", (string?)censored["channel"]);
        Assert.Equal("<p>**** you</p>", (string?)censored["message"]);
        Assert.DoesNotContain(fake.Received, r => r.Contains("pills", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Poll_AnswerOverTheBodyLimit_StreamsUnchanged_WithoutTheMerge()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync("[limits]\nmax_body_bytes = 2048\n\n" + BareRtcEndToEndTests.Config(fake.Url));
        await using var bob = await Client.LoginAsync(gw, "bob");
        var sid = (string)(await BareRtcKit.Poll(gw, """{"msg":{"action":"login","username":"polly"}}"""))["session_id"]!;
        var big = new string('x', 3000);
        await bob.SendAsync("{\"action\":\"message\",\"channel\":\"@polly\",\"message\":\"" + big + "\"}");
        await bob.NextAsync("message", m => (string?)m["channel"] == "@polly");

        var answer = await BareRtcKit.PollRaw(gw, BareRtcKit.PollMessage(sid, "@bob", "send me your address"));
        var frames = JsonNode.Parse(answer.Body)!["messages"]!.AsArray();

        Assert.Equal(200, answer.Status);
        Assert.Contains(frames, f => ((string?)f!["message"])?.Contains(big, StringComparison.Ordinal) == true);
        Assert.DoesNotContain(frames, f => (string?)f!["username"] == "polly" || (string?)f!["username"] == "ChatServer" && ((string?)f!["message"])!.Contains("better choices", StringComparison.Ordinal));
        Assert.DoesNotContain(fake.Received, r => r.Contains("address", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Poll_DropWhileTheSessionExpired_TheServersRefusalPassesUnchanged()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(BareRtcEndToEndTests.Config(fake.Url));

        var answer = await BareRtcKit.PollRaw(gw, BareRtcKit.PollMessage("not-a-session", "@bob", "send me your address"));
        output.WriteLine(answer.Body);

        Assert.Equal(400, answer.Status);
        Assert.Equal("""{"messages":[{"action":"error","username":"ChatServer","message":"Your authentication has expired, please log back into the chat again."},{"action":"disconnect"}]}""",
            JsonNode.Parse(answer.Body)!.ToJsonString());
        Assert.DoesNotContain(fake.Received, r => r.Contains("address", StringComparison.Ordinal));
    }
}
