using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.BareRtc;

/// <summary>What the BareRTC end-to-end tests share: tokens, poll requests as upstream's ChatClient.js sends them.</summary>
internal static class BareRtcKit
{
    internal static string Token(string secret, string payload)
    {
        static string B64(byte[] b) => System.Buffers.Text.Base64Url.EncodeToString(b);
        var signed = B64(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}""")) + "." + B64(Encoding.UTF8.GetBytes(payload));
        return signed + "." + B64(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signed)));
    }

    internal static string PollMessage(string sid, string channel, string text, string username = "polly") =>
        new JsonObject { ["username"] = username, ["session_id"] = sid, ["msg"] = new JsonObject { ["action"] = "message", ["channel"] = channel, ["message"] = text } }.ToJsonString();

    internal static string PollFrame(string sid, string frame, string username = "polly") =>
        "{\"username\":" + JsonValue.Create(username).ToJsonString() + ",\"session_id\":\"" + sid + "\",\"msg\":" + frame + "}";

    internal static string PollPing(string sid, string username = "polly") => PollFrame(sid, """{"action":"ping"}""", username);

    internal static async Task<JsonObject> Poll(GatewayHost gw, string body) => (JsonObject)JsonNode.Parse((await PollRaw(gw, body)).Body)!;

    /// <summary>Posts as ChatClient.js does (Content-Type exactly application/json, which upstream insists on).</summary>
    internal static async Task<(int Status, string Body, long? Length)> PollRaw(GatewayHost gw, string body)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await gw.Client.PostAsync("/poll", content);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return ((int)response.StatusCode, Encoding.UTF8.GetString(bytes), response.Content.Headers.ContentLength);
    }
}

/// <summary>A ClientWebSocket user of the gateway's /ws.</summary>
internal sealed class Client : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();

    public static async Task<Client> ConnectAsync(GatewayHost gw)
    {
        var c = new Client();
        var uri = new Uri(gw.Client.BaseAddress!.ToString().Replace("http", "ws", StringComparison.Ordinal) + "ws");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await c._socket.ConnectAsync(uri, cts.Token);
        return c;
    }

    public static async Task<Client> LoginAsync(GatewayHost gw, string name)
    {
        var c = await ConnectAsync(gw);
        await c.SendAsync($$"""{"action":"login","username":"{{name}}"}""");
        await c.NextAsync("me");
        await c.NextAsync("error"); // the welcome notice
        return c;
    }

    /// <summary>How the server (or the gateway) closed the socket, once it has.</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public Task SendAsync(string json) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>The next frame (of <paramref name="action"/>, matching <paramref name="where"/>), skipping others.</summary>
    public async Task<JsonObject> NextAsync(string? action = null, Func<JsonObject, bool>? where = null)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[1 << 16];
        while (true)
        {
            var count = 0;
            ValueWebSocketReceiveResult r;
            do
            {
                r = await _socket.ReceiveAsync(buffer.AsMemory(count), cts.Token);
                count += r.Count;
            }
            while (!r.EndOfMessage);

            var frame = (JsonObject)JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, count))!;
            if ((action is null || (string?)frame["action"] == action) && (where is null || where(frame)))
            {
                return frame;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }

        _socket.Dispose();
    }
}
