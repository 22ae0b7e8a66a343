using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.BareRtc;

/// <summary>
/// BareRTC through a real gateway (issue 11): ClientWebSocket users on <c>/ws</c> and a poll user on <c>/poll</c>,
/// against <see cref="FakeBareRtc"/>. Each test prints what the sender and the recipient saw.
/// </summary>
public sealed class BareRtcEndToEndTests(ITestOutputHelper output)
{
    private const string Secret = "barertc-test-secret";

    internal static string Config(string backend, string barertc = "") => $$"""
        [[backends]]
        name = "chat"
        protocol = "barertc"
        upstreams = ["{{backend}}"]
        {{barertc}}

        [[filters]]
        name = "swears"
        keywords = ["darn"]
        action = "censor"

        [[filters]]
        name = "redflag"
        keywords = ["send me your address"]
        action = "drop"
        notice = "Your message has not been sent. Please make better choices."

        [[filters]]
        name = "spam"
        keywords = ["cheap pills"]
        action = "reject"
        notice = "No spam here."
        """;

    [Fact]
    public async Task PublicMessage_CleanAndCensored_RecipientsSeeStarsNotARule()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(fake.Url));
        await using var alice = await Client.LoginAsync(gw, "alice");
        await using var bob = await Client.LoginAsync(gw, "bob");

        await alice.SendAsync("""{"action":"message","channel":"lobby","message":"hello *world*"}""");
        var clean = await bob.NextAsync("message");
        await alice.SendAsync("""{"action":"message","channel":"lobby","message":"darn"}""");
        var censored = await bob.NextAsync("message");
        await alice.SendAsync("""{"action":"message","channel":"lobby","message":"what a *darn* day"}""");
        var emphasised = await bob.NextAsync("message");
        Print(output, "public censor, recipient", censored, emphasised);

        Assert.Equal("<p>hello <em>world</em></p>", (string?)clean["message"]);
        Assert.Equal("<p>****</p>", (string?)censored["message"]);
        Assert.Equal("<p>what a <em>****</em> day</p>", (string?)emphasised["message"]);
        Assert.Contains("""{"action":"message","channel":"lobby","message":"\\*\\*\\*\\*"}""", fake.Received);
    }

    [Fact]
    public async Task DirectMessage_Censored_BothSidesSeeStars()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(fake.Url));
        await using var alice = await Client.LoginAsync(gw, "alice");
        await using var bob = await Client.LoginAsync(gw, "bob");

        await alice.SendAsync("""{"action":"message","channel":"@bob","message":"you darn fool"}""");
        var own = await alice.NextAsync("message");
        var delivered = await bob.NextAsync("message");
        Print(output, "DM censor", own, delivered);

        Assert.Equal("@bob", (string?)own["channel"]);
        Assert.Equal("@alice", (string?)delivered["channel"]);
        Assert.Equal("<p>you **** fool</p>", (string?)delivered["message"]);
        Assert.Equal((long)own["msgID"]!, (long)delivered["msgID"]!);
        Assert.DoesNotContain(gw.Logs.Lines, l => l.Contains("darn fool", StringComparison.Ordinal) || l.Contains("you **** fool", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DirectMessage_ShadowDropped_RecipientSeesNothing_SenderSeesEchoAndNotice()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(fake.Url));
        await using var alice = await Client.LoginAsync(gw, "alice");
        await using var bob = await Client.LoginAsync(gw, "bob");

        await alice.SendAsync("""{"action":"message","channel":"@bob","message":"please send me your address <3"}""");
        var echo = await alice.NextAsync("message");
        var notice = await alice.NextAsync("error");
        await alice.SendAsync("""{"action":"message","channel":"@bob","message":"ok"}""");
        var next = await bob.NextAsync("message");
        Print(output, "DM drop, sender", echo, notice);
        Print(output, "DM drop, recipient's next frame", next);

        Assert.Equal("@bob", (string?)echo["channel"]);
        Assert.Equal("alice", (string?)echo["username"]);
        Assert.Equal("<p>please send me your address &lt;3</p>", (string?)echo["message"]);
        Assert.True((long)echo["msgID"]! > 0);
        Assert.Equal("""{"action":"error","username":"ChatServer","message":"Your message has not been sent. Please make better choices."}""", notice.ToJsonString());
        Assert.Equal("<p>ok</p>", (string?)next["message"]);
        Assert.DoesNotContain(fake.Received, r => r.Contains("address", StringComparison.Ordinal));
        Assert.DoesNotContain(gw.Logs.Lines, l => l.Contains("me your address", StringComparison.Ordinal)); // Trace included
    }

    [Fact]
    public async Task Reject_SenderSeesOnlyTheNotice_NothingReachesTheServer()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(fake.Url));
        await using var alice = await Client.LoginAsync(gw, "alice");
        await using var bob = await Client.LoginAsync(gw, "bob");

        await alice.SendAsync("""{"action":"message","channel":"lobby","message":"cheap pills here"}""");
        var notice = await alice.NextAsync();
        await alice.SendAsync("""{"action":"message","channel":"lobby","message":"sorry"}""");
        var next = await bob.NextAsync("message");
        Print(output, "reject, sender", notice);

        Assert.Equal("""{"action":"error","username":"ChatServer","message":"No spam here."}""", notice.ToJsonString());
        Assert.Equal("<p>sorry</p>", (string?)next["message"]);
        Assert.DoesNotContain(fake.Received, r => r.Contains("pills", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LoginRace_MessageBeforeMe_IsInspectedUnderTheLoginName_ThenMeRenamesTheSender()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(fake.Url));
        await using var bob = await Client.LoginAsync(gw, "bob");
        await using var first = await Client.LoginAsync(gw, "alice");
        fake.MeDelay = TimeSpan.FromMilliseconds(400);
        await using var second = await Client.ConnectAsync(gw);

        await second.SendAsync("""{"action":"login","username":"alice"}""");
        await second.SendAsync("""{"action":"message","channel":"lobby","message":"darn it"}""");
        var raced = await bob.NextAsync("message");
        var me = await second.NextAsync("me");
        await second.SendAsync("""{"action":"message","channel":"@bob","message":"send me your address"}""");
        var echo = await second.NextAsync("message", m => (string?)m["channel"] == "@bob");
        Print(output, "login race, recipient", raced, me, echo);

        Assert.Equal("<p>**** it</p>", (string?)raced["message"]);
        Assert.Equal("alice 2", (string?)me["username"]);
        Assert.Equal("alice 2", (string?)echo["username"]);
    }

    [Fact]
    public async Task Jwt_VerifiedOperatorIsExempt_ForgedTokenIsNot()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(fake.Url, """
              [backends.barertc]
              jwt_secret_file = "jwt.secret"
            """), new Dictionary<string, string> { ["jwt.secret"] = Secret + "\n" });
        await using var bob = await Client.LoginAsync(gw, "bob");
        var exp = TimeProvider.System.GetUtcNow().AddMinutes(5).ToUnixTimeSeconds();
        await using var op = await Client.ConnectAsync(gw);
        var opToken = BareRtcKit.Token(Secret, "{\"sub\":\"carol\",\"op\":true,\"exp\":" + exp + "}");
        await op.SendAsync("{\"action\":\"login\",\"username\":\"claimed\",\"jwt\":\"" + opToken + "\"}");
        await op.SendAsync("""{"action":"message","channel":"lobby","message":"darn"}""");
        var fromOp = await bob.NextAsync("message");
        await using var forged = await Client.ConnectAsync(gw);
        var forgedToken = BareRtcKit.Token("wrong", "{\"sub\":\"dave\",\"op\":true,\"exp\":" + exp + "}");
        await forged.SendAsync("{\"action\":\"login\",\"username\":\"dave\",\"jwt\":\"" + forgedToken + "\"}");
        await forged.SendAsync("""{"action":"message","channel":"lobby","message":"darn"}""");
        var fromForged = await bob.NextAsync("message", m => (string?)m["username"] == "dave");
        Print(output, "JWT", fromOp, fromForged);

        Assert.Equal("carol", (string?)fromOp["username"]);
        Assert.Equal("<p>darn</p>", (string?)fromOp["message"]);
        Assert.Equal("<p>****</p>", (string?)fromForged["message"]);
    }

    [Fact]
    public async Task OtherActions_PassByteForByte()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(fake.Url));
        await using var alice = await Client.LoginAsync(gw, "alice");
        string[] frames =
        {
            """{"action":"typing","channel":"@bob" , "message":"darn"}""",
            """{ "action":"react","msgID":12,"message":"\u2764"}""",
            """{"action":"report","channel":"lobby","username":"bob","timestamp":"now","reason":"darn","comment":"x","message":"<p>darn</p>"}""",
            """{"action":"candidate","username":"bob","candidate":"{\"a\": 1}"}""",
            """{"action":"who"}""",
        };
        foreach (var f in frames)
        {
            await alice.SendAsync(f);
        }

        await alice.SendAsync("""{"action":"message","channel":"lobby","message":"end"}""");
        await alice.NextAsync("message");

        foreach (var f in frames)
        {
            Assert.Contains(f, fake.Received);
        }
    }

    internal static void Print(ITestOutputHelper output, string what, params JsonObject[] frames)
    {
        output.WriteLine(what + ":");
        foreach (var f in frames)
        {
            output.WriteLine("  " + f.ToJsonString());
        }
    }
}
