using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Matrix;

namespace Gateway.Tests.Protections;

/// <summary>Protections on Matrix traffic in front of the fake homeserver: join waves, m.mentions, media from new senders.</summary>
public sealed class MatrixProtectionTests
{
    private static string Config(string hs) => $$"""
        [[backends]]
        name = "synapse"
        protocol = "matrix"
        upstreams = ["{{hs}}"]
          [[backends.routes]]
          path = "/_matrix"
          [[backends.routes]]
          path = "/"
          inspect = false

        [[protections]]
        name = "wave"
        kind = "join_wave"
        max = 3
        window = "1m"
        action = "reject"
        report = true

        [[protections]]
        name = "pings"
        kind = "mentions"
        max = 3
        action = "reject"
        notice = "Too many mentions."

        [[protections]]
        name = "new-media"
        kind = "new_sender"
        age = "1h"
        no_links = false
        protocols = ["matrix"]
        """;

    private static HttpRequestMessage Request(HttpMethod method, string path, string token, string? json = null)
    {
        var r = new HttpRequestMessage(method, path) { Content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json") };
        r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return r;
    }

    [Fact]
    public async Task JoinWave_TheFourthJoinInAMinute_IsForbidden_AndNeverReachesTheHomeserver()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(hs.Url));
        var owner = hs.CreateUser("owner");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            var user = hs.CreateUser("joiner" + i);
            var path = i % 2 == 0 ? $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/join" : $"/_matrix/client/v3/join/{Uri.EscapeDataString(room)}";
            answers.Add((await gw.Client.SendAsync(Request(HttpMethod.Post, path, user.AccessToken, "{}"))).StatusCode);
        }

        Assert.Equal(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden }, answers);
        Assert.Equal("join", hs.Membership(room, "@joiner2:hs.test"));
        Assert.Null(hs.Membership(room, "@joiner3:hs.test"));
    }

    [Fact]
    public async Task Mentions_MMentionsUserIds_AboveTheLimit_AreRejectedWithTheNotice()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(hs.Url));
        var owner = hs.CreateUser("owner");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        var alice = hs.CreateUser("alice"); // an ordinary member: the owner moderates, and moderators are exempt
        hs.Join(room, alice.UserId);
        hs.SendText(room, owner.UserId, "warm-up");
        var path = $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/send/m.room.message/t1";
        var response = await gw.Client.SendAsync(Request(HttpMethod.Put, path, alice.AccessToken,
            """{"msgtype":"m.text","body":"hi all","m.mentions":{"user_ids":["@a:hs.test","@b:hs.test","@c:hs.test","@d:hs.test"]}}"""));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Too many mentions.", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(hs.Messages(room)); // only the warm-up
    }

    [Fact]
    public async Task NewSender_AnImageFromAnAccountFirstSeenNow_IsDropped_TextIsNot()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(hs.Url));
        var owner = hs.CreateUser("owner");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        var alice = hs.CreateUser("alice");
        hs.Join(room, alice.UserId);
        var send = (string txn, string json) => gw.Client.SendAsync(Request(HttpMethod.Put,
            $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/send/m.room.message/{txn}", alice.AccessToken, json));

        Assert.Equal(HttpStatusCode.OK, (await send("t1", """{"msgtype":"m.text","body":"hello"}""")).StatusCode);
        var image = await send("t2", """{"msgtype":"m.image","body":"cat.png","url":"mxc://hs.test/abc"}""");
        Assert.Equal(HttpStatusCode.OK, image.StatusCode); // dropped: the client sees a sent event
        Assert.Equal(new[] { "hello" }, hs.Messages(room).Select(m => m.Body).ToArray());
    }
}
