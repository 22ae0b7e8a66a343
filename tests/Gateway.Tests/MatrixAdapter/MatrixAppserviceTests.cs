using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Matrix;

namespace Gateway.Tests.MatrixAdapter;

/// <summary>
/// Issue 16 part 4: bridges. An application service's request carrying <c>?user_id=</c> (masquerading) is attributed
/// to that user, not to the bridge bot; <c>[[matrix.appservices]]</c> exempts its namespace or counts it as one sender.
/// The fake homeserver authenticates as_tokens as Synapse does (namespace regex, registered users only).
/// </summary>
public sealed class MatrixAppserviceTests
{
    private const string AsToken = "as-secret-irc-0123456789";

    private const string Registration = """
        id: irc
        url: "http://127.0.0.1:9"
        as_token: "as-secret-irc-0123456789"
        hs_token: 'hs-secret'
        sender_localpart: ircbot
        rate_limited: false
        namespaces:
          users:
            - exclusive: true
              regex: "@irc_.*:hs\\.test"
          aliases:
            - exclusive: true
              regex: "#irc_.*:hs\\.test"
          rooms: []
        """;

    private static async Task<(FakeHomeserver Hs, GatewayHost Gw)> StartAsync(string matrix, string policy = "[]")
    {
        var hs = await FakeHomeserver.StartAsync();
        var gw = await GatewayHost.StartAsync($$"""
            [[backends]]
            name = "synapse"
            protocol = "matrix"
            upstreams = ["{{hs.Url}}"]
              [[backends.routes]]
              path = "/_matrix"

            [matrix]
            policy_lists = ["policy.json"]
            {{matrix}}

            [[filters]]
            name = "profanity"
            keywords = ["darn"]
            exempt_moderators = false
            """, new Dictionary<string, string> { ["irc.yaml"] = Registration, ["policy.json"] = policy });
        return (hs, gw);
    }

    private static (string Room, string Alice, string Bob) Seed(FakeHomeserver hs)
    {
        var owner = hs.CreateUser("owner");
        var bot = hs.RegisterAppservice(AsToken, "ircbot", @"@irc_.*:hs\.test");
        var alice = hs.CreateUser("irc_alice").UserId;
        var bob = hs.CreateUser("irc_bob").UserId;
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        foreach (var u in new[] { bot, alice, bob })
        {
            hs.Join(room, u);
        }

        return (room, alice, bob);
    }

    private static async Task<HttpResponseMessage> SendAs(GatewayHost gw, string room, string? userId, string body, string token = AsToken)
    {
        var path = $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/send/m.room.message/{Guid.NewGuid():N}"
            + (userId is null ? "" : "?user_id=" + Uri.EscapeDataString(userId));
        var request = new HttpRequestMessage(HttpMethod.Put, path)
        {
            Content = new StringContent(JsonSerializer.Serialize(new { msgtype = "m.text", body }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await gw.Client.SendAsync(request);
    }

    private static string Ban(string user) =>
        $$$"""[{"type":"m.policy.rule.user","state_key":"r1","content":{"entity":"{{{user}}}","recommendation":"m.ban","reason":"spam"}}]""";

    [Fact]
    public async Task Masquerading_IsAttributedToTheUser_EvenWithNoAppserviceConfigured()
    {
        var (hs, gw) = await StartAsync("", Ban("@irc_alice:hs.test"));
        await using var _ = hs;
        await using var __ = gw;
        var (room, alice, bob) = Seed(hs);

        var fromAlice = await SendAs(gw, room, alice, "hello");
        Assert.Equal(HttpStatusCode.Forbidden, fromAlice.StatusCode);
        Assert.Contains("banned by this server", await fromAlice.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await SendAs(gw, room, bob, "well darn")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAs(gw, room, null, "bot says hi")).StatusCode);

        var messages = hs.Messages(room);
        Assert.Equal(new[] { bob, "@ircbot:hs.test" }, messages.Select(m => m.Sender).ToArray());
        Assert.Equal("well ****", messages[0].Body);
        // The homeserver's own refusal of a user outside the namespace comes through unchanged.
        var outside = await SendAs(gw, room, "@owner:hs.test", "hi");
        Assert.Equal(HttpStatusCode.Forbidden, outside.StatusCode);
        Assert.Contains("cannot masquerade", await outside.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ExemptAppservice_FromRegistrationFile_ItsWholeNamespaceIsNotInspected_OthersAre()
    {
        var (hs, gw) = await StartAsync("""
            [[matrix.appservices]]
            name = "irc"
            registration = "irc.yaml"
            treatment = "exempt"
            """);
        await using var _ = hs;
        await using var __ = gw;
        var (room, alice, _) = Seed(hs);
        var human = hs.CreateUser("human");
        hs.Join(room, human.UserId);

        Assert.Equal(HttpStatusCode.OK, (await SendAs(gw, room, alice, "darn bridge")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAs(gw, room, null, "darn bot")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAs(gw, room, null, "darn human", human.AccessToken)).StatusCode);
        Assert.Equal(new[] { "darn bridge", "darn bot", "**** human" }, hs.Messages(room).Select(m => m.Body).ToArray());
    }

    [Fact]
    public async Task AsOne_ByTokenHash_EveryPuppetCountsAsTheBridge()
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(AsToken))).ToLowerInvariant();
        var (hs, gw) = await StartAsync($$"""
            [[matrix.appservices]]
            name = "irc"
            as_token_sha256 = "{{hash}}"
            users = ['@irc_.*:hs\.test']
            treatment = "as_one"
            """, Ban("@ircbot:hs.test"));
        await using var _ = hs;
        await using var __ = gw;
        var (room, alice, bob) = Seed(hs);

        Assert.Equal(HttpStatusCode.Forbidden, (await SendAs(gw, room, alice, "hello")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAs(gw, room, bob, "hello")).StatusCode);
        Assert.Empty(hs.Messages(room));
    }
}
