using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Security;
using System.Net.WebSockets;
using System.Text;
using Gateway.Telemetry;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.WebSocket;

/// <summary>The relay's two instruments, read through a MeterListener, and WebSockets over HTTP/2 (RFC 8441).</summary>
public sealed class RelayGaugeAndHttp2Tests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    /// <summary>What one gateway's relay instruments report (other tests' gateways share the meter's name, not its instance).</summary>
    private sealed class RelayMeasurements : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _open = new();

        public RelayMeasurements(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meter) && instrument.Name is RelayTelemetry.Connections or RelayTelemetry.FramesInspected)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string? protocol = null;
                string? direction = null;
                foreach (var tag in tags)
                {
                    if (tag.Key == GatewayTelemetry.ProtocolTag)
                    {
                        protocol = tag.Value as string;
                    }
                    else if (tag.Key == RelayTelemetry.DirectionTag)
                    {
                        direction = tag.Value as string;
                    }
                }

                if (instrument.Name == RelayTelemetry.Connections)
                {
                    _open[protocol ?? "?"] = value; // an observation: the value now
                }
                else
                {
                    Frames.AddOrUpdate($"{protocol}/{direction}", value, (_, sum) => sum + value);
                }
            });
            _listener.Start();
        }

        public ConcurrentDictionary<string, long> Frames { get; } = new();

        public long Open(string protocol)
        {
            _open.Clear();
            _listener.RecordObservableInstruments();
            return _open.GetValueOrDefault(protocol);
        }

        /// <summary>The gauge drops when the middleware's finally runs, a moment after the close handshake.</summary>
        public async Task WaitOpenAsync(string protocol, long expected)
        {
            using var guard = new CancellationTokenSource(Guard);
            while (Open(protocol) != expected)
            {
                await Task.Delay(10, guard.Token);
            }
        }

        public void Dispose() => _listener.Dispose();
    }

    private static async Task<ClientWebSocket> ConnectAsync(Uri uri, HttpMessageInvoker? invoker = null, Version? version = null)
    {
        var ws = new ClientWebSocket();
        ws.Options.CollectHttpResponseDetails = true;
        if (version is not null)
        {
            ws.Options.HttpVersion = version;
            ws.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        using var cts = new CancellationTokenSource(Guard);
        await ws.ConnectAsync(uri, invoker, cts.Token);
        return ws;
    }

    private static async Task<string> EchoAsync(ClientWebSocket ws, string text)
    {
        using var cts = new CancellationTokenSource(Guard);
        await ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cts.Token);
        var buffer = new byte[4096];
        var r = await ws.ReceiveAsync(buffer.AsMemory(), cts.Token);
        Assert.True(r.EndOfMessage);
        return Encoding.UTF8.GetString(buffer, 0, r.Count);
    }

    private static async Task CloseAsync(ClientWebSocket ws)
    {
        using var cts = new CancellationTokenSource(Guard);
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
    }

    [Fact]
    public async Task Gauges_OpenConnectionsAndFramesInspected_CountedPerProtocol()
    {
        await using var backend = await WsBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(WebSocketRelayEndToEndTests.Config(backend.Url));
        using var measured = new RelayMeasurements(gw.Service<GatewayTelemetry>().Meter);
        Assert.Equal(0, measured.Open("json"));

        var uri = new UriBuilder(gw.Client.BaseAddress!) { Scheme = "ws", Path = "/ws" }.Uri;
        using var first = await ConnectAsync(uri);
        using var second = await ConnectAsync(uri);
        Assert.Equal(2, measured.Open("json"));

        // Every client text frame is inspected, matching or not; the echoes are not (the json session leaves them).
        var chat = "{\"type\":\"message\",\"text\":\"hello\"}";
        Assert.Equal(chat, await EchoAsync(first, chat));
        Assert.Equal("{\"type\":\"typing\"}", await EchoAsync(first, "{\"type\":\"typing\"}"));
        Assert.Equal(chat, await EchoAsync(second, chat));
        Assert.Equal(3, measured.Frames.GetValueOrDefault("json/client"));
        Assert.False(measured.Frames.ContainsKey("json/backend"));

        // A tunnelled (uninspected) WebSocket is not a relayed connection.
        using var tunnel = await ConnectAsync(new UriBuilder(uri) { Path = "/tunnel" }.Uri);
        Assert.Equal(chat, await EchoAsync(tunnel, chat));
        Assert.Equal(2, measured.Open("json"));
        Assert.Equal(3, measured.Frames.GetValueOrDefault("json/client"));

        await CloseAsync(first);
        await measured.WaitOpenAsync("json", 1);
        await CloseAsync(second);
        await measured.WaitOpenAsync("json", 0);
        await CloseAsync(tunnel);
    }

    [Fact]
    public async Task Http2ExtendedConnect_OverTls_RelayedAndInspected()
    {
        using var cert = TlsListenerTests.SelfSigned("localhost");
        await using var backend = await WsBackend.StartAsync();
        var toml = "[server.tls]\ncertificate = \"gw.pem\"\nkey = \"gw.key\"\n\n" + WebSocketRelayEndToEndTests.Config(backend.Url);
        await using var gw = await GatewayHost.StartAsync(toml, TlsListenerTests.Pem("gw", cert), listen: "https://127.0.0.1:0");
        using var measured = new RelayMeasurements(gw.Service<GatewayTelemetry>().Meter);
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                // Pinned: exactly the certificate made here.
                RemoteCertificateValidationCallback = (_, seen, _, _) => seen is not null && seen.GetCertHashString() == cert.GetCertHashString(),
            },
        };
        using var invoker = new HttpMessageInvoker(handler);
        var port = new Uri(gw.App.Urls.Single()).Port;
        using var ws = await ConnectAsync(new Uri($"wss://127.0.0.1:{port}/ws"), invoker, HttpVersion.Version20);
        Assert.Equal(WebSocketState.Open, ws.State);
        Assert.Equal(HttpStatusCode.OK, ws.HttpStatusCode); // 200 to an extended CONNECT; HTTP/1.1 would answer 101

        var conn = await backend.Connections.Reader.ReadAsync().AsTask().WaitAsync(Guard);
        Assert.Equal("{\"type\":\"message\",\"text\":\"oh **** it\"}", await EchoAsync(ws, "{\"type\":\"message\",\"text\":\"oh darn it\"}"));
        Assert.Equal("{\"type\":\"message\",\"text\":\"oh **** it\"}", await conn.Texts.Reader.ReadAsync().AsTask().WaitAsync(Guard));
        Assert.Equal(1, measured.Open("json"));
        Assert.Equal(1, measured.Frames.GetValueOrDefault("json/client"));

        using (var cts = new CancellationTokenSource(Guard))
        {
            await ws.CloseAsync((WebSocketCloseStatus)4001, "client bye", cts.Token);
        }

        Assert.Equal(((WebSocketCloseStatus?)4001, "client bye"), await conn.Closed.Task.WaitAsync(Guard));
        await measured.WaitOpenAsync("json", 0);
    }
}
