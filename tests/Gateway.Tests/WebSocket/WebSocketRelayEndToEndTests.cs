using Gateway.Configuration;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Gateway.Admin;
using Gateway.Policy.Net;
using Gateway.Runtime;
using Gateway.Tests.Infrastructure;
using Gateway.Transports.WebSocket;

namespace Gateway.Tests.WebSocket;

/// <summary>The real gateway relaying WebSockets to a real Kestrel backend, both on loopback.</summary>
public sealed class WebSocketRelayEndToEndTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    internal static string Config(string backendUrl, string onError = "reject", long maxFrame = 1048576) => $$"""
        [limits]
        max_frame_bytes = {{maxFrame}}

        [[backends]]
        name = "chat"
        protocol = "json"
        upstreams = ["{{backendUrl}}"]

          [[backends.routes]]
          path = "/ws"
          transport = "websocket"
          on_error = "{{onError}}"
            [backends.routes.json]
            body = "/text"
            sender = "/from"
            room = "/room"
            match = { "/type" = "message" }
            drop_frame = '{"type":"dropped"}'

          [[backends.routes]]
          path = "/raw"
          transport = "websocket"
            [backends.routes.json]
            body = "/text"

          [[backends.routes]]
          path = "/"
          inspect = false

        [[filters]]
        name = "profanity"
        keywords = ["darn"]

        [[filters]]
        name = "shops"
        action = "drop"
        notice = "No shops."
        keywords = ["buy followers"]

        [[filters]]
        name = "scams"
        action = "reject"
        notice = "Scams are not welcome."
        keywords = ["free crypto"]
        """;

    private static async Task<ClientWebSocket> ConnectAsync(GatewayHost gw, string path = "/ws", Action<ClientWebSocketOptions>? options = null)
    {
        var ws = new ClientWebSocket();
        options?.Invoke(ws.Options);
        var uri = new UriBuilder(gw.Client.BaseAddress!) { Scheme = "ws", Path = path.Split('?')[0], Query = path.Contains('?') ? path.Split('?')[1] : "" }.Uri;
        using var cts = new CancellationTokenSource(Guard);
        await ws.ConnectAsync(uri, cts.Token);
        return ws;
    }

    private static Task SendAsync(ClientWebSocket ws, string text) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<string> ReceiveAsync(ClientWebSocket ws)
    {
        using var cts = new CancellationTokenSource(Guard);
        var buffer = new byte[1 << 20];
        var count = 0;
        ValueWebSocketReceiveResult r;
        do
        {
            r = await ws.ReceiveAsync(buffer.AsMemory(count), cts.Token);
            count += r.Count;
        }
        while (!r.EndOfMessage);

        Assert.Equal(WebSocketMessageType.Text, r.MessageType);
        return Encoding.UTF8.GetString(buffer, 0, count);
    }

    private static async Task<T> Within<T>(Task<T> task) => await task.WaitAsync(Guard);

    [Fact]
    public async Task Relay_CleanFrame_ForwardedAndEchoed_WithPathQuerySubprotocolAndCookie()
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        using var ws = await ConnectAsync(gw, "/ws/room?user=alice", o =>
        {
            o.AddSubProtocol("chat.v1");
            o.SetRequestHeader("Cookie", "session=abc");
        });
        Assert.Equal("chat.v1", ws.SubProtocol);
        var conn = await Within(backend.Connections.Reader.ReadAsync().AsTask());
        Assert.Equal("/ws/room", conn.Path);
        Assert.Equal("?user=alice", conn.Query);
        Assert.Equal("session=abc", conn.Headers["Cookie"]);
        Assert.False(conn.Headers.ContainsKey("Sec-WebSocket-Extensions"));

        var frame = "{\"type\":\"message\",\"from\":\"alice\",\"text\":\"hello   there\",\"extra\":[1,2.50]}";
        await SendAsync(ws, frame);
        Assert.Equal(frame, await Within(conn.Texts.Reader.ReadAsync().AsTask()));
        Assert.Equal(frame, await ReceiveAsync(ws));
        Assert.True(gw.Service<Telemetry.RelayTelemetry>().FramesTotal >= 1);
        Assert.Equal(1, gw.Service<Telemetry.RelayTelemetry>().OpenConnections);
    }

    [Fact]
    public async Task Relay_CensoredFrame_RewrittenOtherBytesKept()
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        using var ws = await ConnectAsync(gw);
        var conn = await Within(backend.Connections.Reader.ReadAsync().AsTask());
        await SendAsync(ws, "{\"type\":\"message\",\"text\":\"oh darn it\",\"n\":1.50}");
        Assert.Equal("{\"type\":\"message\",\"text\":\"oh **** it\",\"n\":1.50}", await Within(conn.Texts.Reader.ReadAsync().AsTask()));
    }

    // The HTTP key bypass (issue 9, defect 4) must not reopen over WebSocket: every case variant and duplicate of a
    // field, and of a match pointer, is a candidate; a frame whose identity is ambiguous is refused.
    [Fact]
    public async Task Relay_CaseVariantsAndDuplicates_AreInspectedLikeHttpBodies()
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        using var ws = await ConnectAsync(gw);
        var conn = await Within(backend.Connections.Reader.ReadAsync().AsTask());
        await SendAsync(ws, "{\"type\":\"message\",\"TEXT\":\"oh darn it\"}");
        Assert.Equal("{\"type\":\"message\",\"TEXT\":\"oh **** it\"}", await Within(conn.Texts.Reader.ReadAsync().AsTask()));
        Assert.Equal("{\"type\":\"message\",\"TEXT\":\"oh **** it\"}", await ReceiveAsync(ws)); // the backend's echo
        await SendAsync(ws, "{\"type\":\"message\",\"text\":\"hello\",\"Text\":\"darn\"}");
        Assert.Equal("{\"type\":\"message\",\"text\":\"hello\",\"Text\":\"****\"}", await Within(conn.Texts.Reader.ReadAsync().AsTask()));
        await ReceiveAsync(ws);
        await SendAsync(ws, "{\"Type\":\"message\",\"text\":\"free crypto\"}");
        Assert.Equal("{\"type\":\"error\",\"error\":\"rejected\",\"notice\":\"Scams are not welcome.\"}", await ReceiveAsync(ws));
        await SendAsync(ws, "{\"type\":\"message\",\"text\":\"after\"}");
        Assert.Equal("{\"type\":\"message\",\"text\":\"after\"}", await Within(conn.Texts.Reader.ReadAsync().AsTask()));
    }

    [Fact]
    public async Task Relay_DroppedFrame_NeverReachesBackend_SenderGetsNotice()
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        using var ws = await ConnectAsync(gw);
        var conn = await Within(backend.Connections.Reader.ReadAsync().AsTask());
        await SendAsync(ws, "{\"type\":\"message\",\"text\":\"buy followers here\"}");
        Assert.Equal("{\"type\":\"dropped\",\"notice\":\"No shops.\"}", await ReceiveAsync(ws));
        await SendAsync(ws, "{\"type\":\"message\",\"text\":\"free crypto\"}");
        Assert.Equal("{\"type\":\"error\",\"error\":\"rejected\",\"notice\":\"Scams are not welcome.\"}", await ReceiveAsync(ws));
        await SendAsync(ws, "{\"type\":\"message\",\"text\":\"after\"}");
        Assert.Equal("{\"type\":\"message\",\"text\":\"after\"}", await Within(conn.Texts.Reader.ReadAsync().AsTask()));
        Assert.DoesNotContain(backend.AllTexts, t => t.Contains("followers", StringComparison.Ordinal) || t.Contains("crypto", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Relay_NonMatchingFrame_PassesUntouched()
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        using var ws = await ConnectAsync(gw);
        var conn = await Within(backend.Connections.Reader.ReadAsync().AsTask());
        var typing = "{\"type\":\"typing\",\"text\":\"darn buy followers\"}";
        await SendAsync(ws, typing);
        Assert.Equal(typing, await Within(conn.Texts.Reader.ReadAsync().AsTask()));
    }

    [Theory]
    [InlineData("reject", false)]
    [InlineData("forward", true)]
    public async Task Relay_MalformedJson_FollowsOnError(string onError, bool forwarded)
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url, onError));
        using var ws = await ConnectAsync(gw);
        var conn = await Within(backend.Connections.Reader.ReadAsync().AsTask());
        await SendAsync(ws, "{\"type\":\"message\",\"text\":");
        if (forwarded)
        {
            Assert.Equal("{\"type\":\"message\",\"text\":", await Within(conn.Texts.Reader.ReadAsync().AsTask()));
        }
        else
        {
            var reply = await ReceiveAsync(ws);
            Assert.StartsWith("{\"type\":\"error\",\"error\":\"invalid_frame\",\"notice\":\"the frame is not valid JSON", reply, StringComparison.Ordinal);
            await SendAsync(ws, "{\"type\":\"message\",\"text\":\"ok\"}");
            Assert.Equal("{\"type\":\"message\",\"text\":\"ok\"}", await Within(conn.Texts.Reader.ReadAsync().AsTask()));
        }
    }

    [Fact]
    public async Task Relay_CloseCodesAndReasons_TravelBothWays()
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));

        using var first = await ConnectAsync(gw);
        var c1 = await Within(backend.Connections.Reader.ReadAsync().AsTask());
        using (var cts = new CancellationTokenSource(Guard))
        {
            await first.CloseAsync((WebSocketCloseStatus)4001, "client bye", cts.Token);
        }

        Assert.Equal(((WebSocketCloseStatus?)4001, "client bye"), await Within(c1.Closed.Task));
        Assert.Equal((WebSocketCloseStatus)4001, first.CloseStatus);

        using var second = await ConnectAsync(gw);
        _ = await Within(backend.Connections.Reader.ReadAsync().AsTask());
        await SendAsync(second, "{\"type\":\"close\"}");
        using (var cts = new CancellationTokenSource(Guard))
        {
            var r = await second.ReceiveAsync(new byte[16], cts.Token);
            Assert.Equal(WebSocketMessageType.Close, r.MessageType);
        }

        Assert.Equal((WebSocketCloseStatus)4002, second.CloseStatus);
        Assert.Equal("server bye", second.CloseStatusDescription);
    }

    [Fact]
    public async Task Relay_RuntimeIpBlock_ClosesOpenConnectionWith1008()
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        using var ws = await ConnectAsync(gw);
        var conn = await Within(backend.Connections.Reader.ReadAsync().AsTask());
        var now = DateTimeOffset.UtcNow;
        gw.Service<GatewayState>().SetOverlay(new AdminOverlay(new[] { new OverlayIpBlock(CidrBlock.Parse("127.0.0.1/32"), null, "test", now) }, Array.Empty<OverlayAclDeny>()));
        using (var cts = new CancellationTokenSource(Guard))
        {
            var r = await ws.ReceiveAsync(new byte[64], cts.Token);
            Assert.Equal(WebSocketMessageType.Close, r.MessageType);
        }

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, ws.CloseStatus);
        Assert.Equal((WebSocketCloseStatus?)1008, (await Within(conn.Closed.Task)).Status);

        // And the upgrade itself is refused now.
        using var again = new ClientWebSocket();
        var uri = new UriBuilder(gw.Client.BaseAddress!) { Scheme = "ws", Path = "/ws" }.Uri;
        await Assert.ThrowsAsync<WebSocketException>(() => again.ConnectAsync(uri, CancellationToken.None));
    }

    [Fact]
    public async Task Relay_OversizedMessage_Closes1009BothSides()
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url, maxFrame: 1024));
        using var ws = await ConnectAsync(gw);
        var conn = await Within(backend.Connections.Reader.ReadAsync().AsTask());
        var big = "{\"type\":\"message\",\"text\":\"" + new string('a', 600) + "\"}";
        await ws.SendAsync(Encoding.UTF8.GetBytes(big), WebSocketMessageType.Text, false, CancellationToken.None);
        await ws.SendAsync(Encoding.UTF8.GetBytes(big), WebSocketMessageType.Text, true, CancellationToken.None);
        using (var cts = new CancellationTokenSource(Guard))
        {
            var r = await ws.ReceiveAsync(new byte[64], cts.Token);
            Assert.Equal(WebSocketMessageType.Close, r.MessageType);
        }

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, ws.CloseStatus);
        Assert.Equal((WebSocketCloseStatus?)1009, (await Within(conn.Closed.Task)).Status);
    }

    [Fact]
    public async Task Relay_PingFromBackend_ReachesClient_AndPongTravelsBack()
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var (client, tcp) = await RawFrameStream.ConnectAsync(gw.Client.BaseAddress!, "/raw");
        using var _ = tcp;
        var server = new RawFrameStream(await Within(backend.RawConnections.Reader.ReadAsync().AsTask()), maskOutgoing: false);

        await server.SendAsync(WsOpcode.Ping, "are you there");
        var ping = await Within(client.ReadAsync());
        Assert.Equal((WsOpcode.Ping, "are you there", false), (ping!.Opcode, ping.Text, ping.Masked));

        await client.SendAsync(WsOpcode.Pong, "yes");
        var pong = await Within(server.ReadAsync());
        Assert.Equal((WsOpcode.Pong, "yes", true), (pong!.Opcode, pong.Text, pong.Masked));

        // A fragmented text message with a ping between its fragments: the ping first, then the message, whole.
        await client.SendAsync(WsOpcode.Text, "{\"text\":\"hel", fin: false);
        await client.SendAsync(WsOpcode.Ping, "mid");
        await client.SendAsync(WsOpcode.Continuation, "lo\"}");
        var midPing = await Within(server.ReadAsync());
        Assert.Equal((WsOpcode.Ping, "mid"), (midPing!.Opcode, midPing.Text));
        var text = await Within(server.ReadAsync());
        Assert.Equal((WsOpcode.Text, true, "{\"text\":\"hello\"}"), (text!.Opcode, text.Fin, text.Text));
    }

    [Fact]
    public async Task Relay_BackendDiesMidStream_ClientGets1011()
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var (client, tcp) = await RawFrameStream.ConnectAsync(gw.Client.BaseAddress!, "/raw");
        using var _ = tcp;
        var raw = await Within(backend.RawConnections.Reader.ReadAsync().AsTask());
        var server = new RawFrameStream(raw, maskOutgoing: false);
        await server.SendAsync(WsOpcode.Text, "{\"text\":\"one\"}");
        Assert.Equal("{\"text\":\"one\"}", (await Within(client.ReadAsync()))!.Text);
        await raw.DisposeAsync();
        var close = await Within(client.ReadAsync());
        Assert.Equal(WsOpcode.Close, close!.Opcode);
        Assert.Equal(1011, close.Close.Code);
    }

    /// <summary>
    /// A client that disappears without a close frame (FIN or reset): the gateway itself tells the backend 1001. With
    /// <paramref name="lateEof"/> Kestrel's RequestAborted fires before the relay's read sees the end, the order that
    /// made YARP cancel its copies and drop the backend connection without a close frame.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task Relay_ClientVanishesWithoutCloseFrame_BackendGets1001(bool reset, bool lateEof)
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url), configure: lateEof ? LateEofUpgrade.Install : null);
        var (client, tcp) = await RawFrameStream.ConnectAsync(gw.Client.BaseAddress!, "/ws");
        var conn = await Within(backend.Connections.Reader.ReadAsync().AsTask());
        await client.SendAsync(WsOpcode.Text, "{\"type\":\"typing\"}");
        Assert.Equal("{\"type\":\"typing\"}", await Within(conn.Texts.Reader.ReadAsync().AsTask()));

        if (reset)
        {
            // Linger 0: the socket closes with a TCP reset, as when a client process dies.
            tcp.Client.LingerState = new LingerOption(true, 0);
        }

        tcp.Client.Close();
        tcp.Dispose();

        // Well inside YARP's activity timeout and the backend's keep-alive: the close must come from the gateway.
        var closed = await conn.Closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(((WebSocketCloseStatus?)WebSocketCloseStatus.EndpointUnavailable, "client went away"), closed);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task Relay_ClientVanishes_RawBackendReadsMasked1001(bool reset, bool lateEof)
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url), configure: lateEof ? LateEofUpgrade.Install : null);
        var (client, tcp) = await RawFrameStream.ConnectAsync(gw.Client.BaseAddress!, "/raw");
        var server = new RawFrameStream(await Within(backend.RawConnections.Reader.ReadAsync().AsTask()), maskOutgoing: false);
        await client.SendAsync(WsOpcode.Text, "{\"text\":\"bye\"}");
        Assert.Equal("{\"text\":\"bye\"}", (await Within(server.ReadAsync()))!.Text);
        if (reset)
        {
            tcp.Client.LingerState = new LingerOption(true, 0);
        }

        tcp.Dispose();
        var close = await server.ReadAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(close);
        Assert.Equal((WsOpcode.Close, 1001, true), (close.Opcode, close.Close.Code, close.Masked));
        await server.Stream.DisposeAsync();
    }
}
