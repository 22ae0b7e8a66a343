using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Matrix;

namespace Gateway.Tests.MatrixAdapter;

/// <summary>
/// Issue 16, part 1: a silently dropped send the sender's client cannot tell from a real one — an id of the real shape,
/// the same id for a retried txnId, receipts and read markers on it answered as successes, its content unknown.
/// </summary>
public sealed partial class MatrixSilentDropTests
{
    [GeneratedRegex(@"^\$[A-Za-z0-9_-]{43}$")]
    private static partial Regex EventIdShape();

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

        [[filters]]
        name = "spam-links"
        action = "drop"
        keywords = ["*spamshop.example*"]
        """;

    private static HttpRequestMessage Request(HttpMethod method, string path, string token, string? json = null)
    {
        var r = new HttpRequestMessage(method, path) { Content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json") };
        r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return r;
    }

    private static async Task<(HttpStatusCode Status, JsonObject Body)> Send(GatewayHost gw, HttpMethod method, string path, string token, string? json = null)
    {
        var response = await gw.Client.SendAsync(Request(method, path, token, json));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? new JsonObject() : (JsonObject)JsonNode.Parse(text)!);
    }

    [Fact]
    public async Task DroppedSend_LooksLikeASend_ToEveryFollowUpTheClientMakes()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(hs.Url));
        var owner = hs.CreateUser("owner");
        var alice = hs.CreateUser("alice");
        var bob = hs.CreateUser("bob");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        hs.Join(room, alice.UserId);
        hs.Join(room, bob.UserId);
        var r = Uri.EscapeDataString(room);
        const string Spam = """{"msgtype":"m.text","body":"cheap stuff at spamshop.example"}""";

        var first = await Send(gw, HttpMethod.Put, $"/_matrix/client/v3/rooms/{r}/send/m.room.message/txn1", alice.AccessToken, Spam);
        var retry = await Send(gw, HttpMethod.Put, $"/_matrix/client/v3/rooms/{r}/send/m.room.message/txn1", alice.AccessToken, Spam);
        var other = await Send(gw, HttpMethod.Put, $"/_matrix/client/v3/rooms/{r}/send/m.room.message/txn2", alice.AccessToken, Spam);
        var id = (string)first.Body["event_id"]!;

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Matches(EventIdShape(), id);
        Assert.Equal(id, (string?)retry.Body["event_id"]); // as the homeserver answers a repeated txnId
        Assert.NotEqual(id, (string?)other.Body["event_id"]);
        Assert.Empty(hs.Messages(room));

        var e = Uri.EscapeDataString(id);
        Assert.Equal(HttpStatusCode.OK, (await Send(gw, HttpMethod.Post, $"/_matrix/client/v3/rooms/{r}/receipt/m.read/{e}", alice.AccessToken, "{}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Send(gw, HttpMethod.Post, $"/_matrix/client/v3/rooms/{r}/read_markers", alice.AccessToken,
            $$"""{"m.fully_read":"{{id}}","m.read":"{{id}}"}""")).Status);
        var read = await Send(gw, HttpMethod.Get, $"/_matrix/client/v3/rooms/{r}/event/{e}", alice.AccessToken);
        Assert.Equal(HttpStatusCode.NotFound, read.Status);
        Assert.Equal("M_NOT_FOUND", (string?)read.Body["errcode"]);

        // Someone else naming that id gets the homeserver's own answer: the id means nothing outside the sender's session.
        var bobReceipt = await Send(gw, HttpMethod.Post, $"/_matrix/client/v3/rooms/{r}/receipt/m.read/{e}", bob.AccessToken, "{}");
        Assert.Equal(HttpStatusCode.NotFound, bobReceipt.Status);

        // A real event's receipt still reaches the homeserver.
        var real = await Send(gw, HttpMethod.Put, $"/_matrix/client/v3/rooms/{r}/send/m.room.message/txn3", alice.AccessToken, """{"msgtype":"m.text","body":"hello"}""");
        var realId = Uri.EscapeDataString((string)real.Body["event_id"]!);
        Assert.Equal(HttpStatusCode.OK, (await Send(gw, HttpMethod.Post, $"/_matrix/client/v3/rooms/{r}/receipt/m.read/{realId}", bob.AccessToken, "{}")).Status);
    }
}
