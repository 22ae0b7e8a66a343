using System.Net.WebSockets;
using System.Text.Json;
using Gateway.Tests.BareRtc;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Protections;

/// <summary>
/// BareRTC's own [DMLinkSpamProtection] read from its settings.toml as a protection: the same link pasted into more
/// than MaxThreads DM threads is refused with upstream's kick warning, the next time the sender is blocked for
/// BanHours, and a blocked sender's WebSocket closes (1008) at their next message.
/// </summary>
public sealed class BareRtcLinkSpamTests
{
    private const string Settings = """
        [DMLinkSpamProtection]
          Enabled = true
          MaxThreads = 2
          TimeLimit = 3600
          BanHours = 24
        """;

    private static string Send(string to, string text) => JsonSerializer.Serialize(new { action = "message", channel = "@" + to, message = text });

    [Fact]
    public async Task SameLinkToTooManyDmThreads_RefusedThenBlocked_AndTheConnectionCloses()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(BareRtcEndToEndTests.Config(fake.Url, """
              [backends.barertc]
              settings = "barertc/settings.toml"
            """), new Dictionary<string, string> { ["barertc/settings.toml"] = Settings });
        await using var alice = await Client.LoginAsync(gw, "alice");
        await using var bob = await Client.LoginAsync(gw, "bob");
        await using var carol = await Client.LoginAsync(gw, "carol");
        await using var dave = await Client.LoginAsync(gw, "dave");
        const string Spam = "come chat at https://rival.example.com/join instead";

        await alice.SendAsync(Send("bob", Spam));
        Assert.Contains("rival.example.com", (string)(await bob.NextAsync("message"))["message"]!, StringComparison.Ordinal);
        await alice.SendAsync(Send("carol", Spam));
        Assert.Contains("rival.example.com", (string)(await carol.NextAsync("message"))["message"]!, StringComparison.Ordinal);

        await alice.SendAsync(Send("dave", Spam)); // a third thread: refused with upstream's warning
        var warning = await alice.NextAsync("error", m => (string?)m["username"] == "ChatServer");
        Assert.StartsWith("Spam Detected:", (string)warning["message"]!, StringComparison.Ordinal);

        await alice.SendAsync(Send("dave", "and " + Spam)); // once more: blocked
        await alice.NextAsync("error", m => (string?)m["username"] == "ChatServer");
        await alice.SendAsync(Send("bob", "hello?")); // a blocked sender's next message closes the connection
        await Assert.ThrowsAnyAsync<Exception>(() => alice.NextAsync("message"));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, alice.CloseStatus);

        await dave.SendAsync(Send("bob", "hi bob")); // dave never got the link, and can still talk
        Assert.Equal("<p>hi bob</p>", (string)(await bob.NextAsync("message", m => (string?)m["username"] == "dave"))["message"]!);
        Assert.DoesNotContain(fake.Received, f => f.Contains("@dave", StringComparison.Ordinal) && f.Contains("rival", StringComparison.Ordinal));
    }
}
