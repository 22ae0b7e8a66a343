using System.Text;
using Gateway.Protocols.Abstractions;
using Gateway.Transports.WebSocket;

namespace Gateway.Tests.WebSocket;

/// <summary>The relay between an in-memory client and backend: framing rules, limits, closes and backpressure.</summary>
public sealed class WebSocketRelayTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private static async Task<RawFrame> Next(RawFrameStream s) => (await s.ReadAsync().WaitAsync(Guard))!;

    [Fact]
    public async Task Fragmented_Text_ReassembledOnce_ControlFramesInBetweenPassFirst()
    {
        await using var h = new RelayHarness(new FakeInspector());
        await h.Client.SendAsync(WsOpcode.Text, "hel", fin: false);
        await h.Client.SendAsync(WsOpcode.Ping, "p");
        await h.Client.SendAsync(WsOpcode.Continuation, "lo ", fin: false);
        await h.Client.SendAsync(WsOpcode.Continuation, "wörld");
        var ping = await Next(h.Backend);
        Assert.Equal((WsOpcode.Ping, "p", true), (ping.Opcode, ping.Text, ping.Masked));
        var text = await Next(h.Backend);
        Assert.Equal((WsOpcode.Text, true, true, "hello wörld"), (text.Opcode, text.Fin, text.Masked, text.Text));
        Assert.Equal([(FrameDirection.ClientToBackend, "hello wörld")], h.Inspector.Seen);
    }

    [Fact]
    public async Task Binary_StreamsThroughUninspected()
    {
        await using var h = new RelayHarness(new FakeInspector());
        var payload = new byte[300_000];
        new Random(1).NextBytes(payload);
        // Sent while the backend reads: the pipes hold 64 KiB, like sockets, so a lone writer would stall.
        var send = Task.Run(async () =>
        {
            await h.Client.SendAsync(WsOpcode.Binary, payload[..1000], fin: false);
            await h.Client.SendAsync(WsOpcode.Continuation, payload[1000..]);
        });
        var first = await Next(h.Backend);
        var second = await Next(h.Backend);
        Assert.Equal(payload, first.Payload.Concat(second.Payload).ToArray());
        await send.WaitAsync(Guard);
        Assert.Empty(h.Inspector.Seen);
    }

    [Fact]
    public async Task OverLimit_Closes1009ToClientAndBackend()
    {
        await using var h = new RelayHarness(new FakeInspector(), maxMessageBytes: 100);
        await h.Client.SendAsync(WsOpcode.Text, new string('a', 60), fin: false);
        await h.Client.SendAsync(WsOpcode.Continuation, new string('a', 60));
        var toClient = await Next(h.Client);
        Assert.Equal((WsOpcode.Close, 1009), (toClient.Opcode, toClient.Close.Code));
        var toBackend = await Next(h.Backend);
        Assert.Equal((WsOpcode.Close, 1009, true), (toBackend.Opcode, toBackend.Close.Code, toBackend.Masked));
        Assert.Null(await h.Backend.ReadAsync().WaitAsync(Guard)); // nothing more: the relay stopped reading the client
    }

    [Fact]
    public async Task UnmaskedClientFrame_Closes1002()
    {
        await using var h = new RelayHarness(new FakeInspector());
        await h.ClientWriter.WriteAsync(WebSocketFrameCodec.Frame(WsOpcode.Text, "x"u8, mask: false));
        Assert.Equal(1002, (await Next(h.Client)).Close.Code);
        Assert.Equal(1002, (await Next(h.Backend)).Close.Code);
    }

    [Fact]
    public async Task ContinuationWithoutMessage_Closes1002()
    {
        await using var h = new RelayHarness(new FakeInspector());
        await h.Client.SendAsync(WsOpcode.Continuation, "x");
        Assert.Equal(1002, (await Next(h.Client)).Close.Code);
    }

    [Fact]
    public async Task InvalidUtf8Text_Closes1007_NeverInspected()
    {
        await using var h = new RelayHarness(new FakeInspector());
        await h.Client.SendAsync(WsOpcode.Text, new byte[] { 0x61, 0xC3, 0x28 });
        Assert.Equal(1007, (await Next(h.Client)).Close.Code);
        Assert.Equal(1007, (await Next(h.Backend)).Close.Code);
        Assert.Empty(h.Inspector.Seen);
    }

    [Fact]
    public async Task Outcomes_DropWithReply_Rewrite_Close()
    {
        var inspector = new FakeInspector((_, text) => text switch
        {
            "drop" => FrameOutcome.Drop(new[] { "{\"notice\":\"no\"}"u8.ToArray() }),
            "censor" => FrameOutcome.Rewritten("******"u8.ToArray()),
            "close" => FrameOutcome.Close(4400, "go away"),
            _ => FrameOutcome.Forward,
        });
        await using var h = new RelayHarness(inspector);
        await h.Client.SendAsync(WsOpcode.Text, "drop");
        var reply = await Next(h.Client);
        Assert.Equal((WsOpcode.Text, "{\"notice\":\"no\"}", false), (reply.Opcode, reply.Text, reply.Masked));
        await h.Client.SendAsync(WsOpcode.Text, "censor");
        Assert.Equal("******", (await Next(h.Backend)).Text);
        await h.Client.SendAsync(WsOpcode.Text, "close");
        var c = await Next(h.Client);
        Assert.Equal((4400, "go away"), c.Close);
        Assert.Equal((4400, "go away"), (await Next(h.Backend)).Close);
    }

    [Fact]
    public async Task CloseFromEitherSide_PassesWithCodeAndReason()
    {
        await using var h = new RelayHarness(new FakeInspector());
        await h.Backend.SendCloseAsync(4123, "server says bye");
        var atClient = await Next(h.Client);
        Assert.Equal((WsOpcode.Close, 4123, "server says bye"), (atClient.Opcode, atClient.Close.Code, atClient.Close.Reason));
        await h.Client.SendCloseAsync(4123, "ok");
        Assert.Equal((4123, "ok"), (await Next(h.Backend)).Close);
    }

    [Fact]
    public async Task ClientVanishes_BackendGets1001()
    {
        await using var h = new RelayHarness(new FakeInspector());
        await h.ClientWriter.CompleteAsync();
        Assert.Equal(1001, (await Next(h.Backend)).Close.Code);
        await h.Up.WaitAsync(Guard);
    }

    [Fact]
    public async Task BackendDiesMidStream_ClientGets1011AfterFinish()
    {
        var h = new RelayHarness(new FakeInspector());
        await h.Backend.SendAsync(WsOpcode.Text, "one");
        Assert.Equal("one", (await Next(h.Client)).Text);
        await h.BackendWriter.CompleteAsync();
        await h.Down.WaitAsync(Guard);
        await h.DisposeAsync();
        Assert.Equal(1011, (await Next(h.Client)).Close.Code);
    }

    [Fact]
    public async Task RuntimeClose_Sends1008BothWays()
    {
        await using var h = new RelayHarness(new FakeInspector());
        h.Relay.RequestClose(1008, "blocked");
        Assert.Equal((1008, "blocked"), (await Next(h.Client)).Close);
        Assert.Equal((1008, "blocked"), (await Next(h.Backend)).Close);
    }

    [Fact]
    public async Task RuntimeClose_InsideATextMessage_StillClosesBackendCleanly()
    {
        await using var h = new RelayHarness(new FakeInspector());
        await h.Client.SendAsync(WsOpcode.Text, "first half", fin: false);
        await h.Client.SendAsync(WsOpcode.Ping, "sync"); // once the ping is through, the fragment has been read
        Assert.Equal(WsOpcode.Ping, (await Next(h.Backend)).Opcode);
        h.Relay.RequestClose(1008, "blocked");
        Assert.Equal((1008, "blocked"), (await Next(h.Client)).Close);
        Assert.Equal((1008, "blocked"), (await Next(h.Backend)).Close);
        Assert.Empty(h.Inspector.Seen);
    }

    [Fact]
    public async Task Reply_WaitsForBackendFrameBoundary()
    {
        var inspector = new FakeInspector((_, _) => FrameOutcome.Drop(new[] { "reply"u8.ToArray() }));
        await using var h = new RelayHarness(inspector);
        var big = new byte[10_000];
        var frame = WebSocketFrameCodec.Frame(WsOpcode.Binary, big, mask: false);
        await h.BackendWriter.WriteAsync(frame.AsMemory(0, 5000)); // half a frame reaches the client
        await h.WaitForClientBytesAsync(5000);
        await h.Client.SendAsync(WsOpcode.Text, "trigger");
        while (inspector.Seen.Count == 0)
        {
            await Task.Yield();
        }

        await h.BackendWriter.WriteAsync(frame.AsMemory(5000));
        var first = await Next(h.Client);
        Assert.Equal((WsOpcode.Binary, 10_000), (first.Opcode, first.Payload.Length));
        Assert.Equal("reply", (await Next(h.Client)).Text);
    }

    [Fact]
    public async Task BackendFrames_InspectedWhenAsked_HeaderSplitAcrossWrites()
    {
        var inspector = new FakeInspector((d, text) => d == FrameDirection.BackendToClient && text == "secret"
            ? FrameOutcome.Rewritten("public"u8.ToArray()) : FrameOutcome.Forward, backend: true);
        await using var h = new RelayHarness(inspector);
        var frame = WebSocketFrameCodec.Frame(WsOpcode.Text, "secret"u8, mask: false);
        await h.BackendWriter.WriteAsync(frame.AsMemory(0, 1));
        await h.BackendWriter.FlushAsync();
        await h.BackendWriter.WriteAsync(frame.AsMemory(1));
        await h.Backend.SendAsync(WsOpcode.Ping, "x");
        Assert.Equal("public", (await Next(h.Client)).Text);
        Assert.Equal(WsOpcode.Ping, (await Next(h.Client)).Opcode);
        Assert.Equal([(FrameDirection.BackendToClient, "secret")], inspector.Seen);
    }

    [Fact]
    public async Task SlowClient_BackendSending32MB_GatewayHoldsUnderOneMegabyte()
    {
        await using var h = new RelayHarness(new FakeInspector());
        var chunk = WebSocketFrameCodec.Frame(WsOpcode.Binary, new byte[64 * 1024], mask: false);
        long accepted = 0;
        var producerWaiting = false;
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < 512; i++)
            {
                var flush = h.BackendWriter.WriteAsync(chunk);
                if (!flush.IsCompleted)
                {
                    Volatile.Write(ref producerWaiting, true);
                    await flush;
                    Volatile.Write(ref producerWaiting, false);
                }

                Interlocked.Add(ref accepted, chunk.Length);
            }
        });

        // Both ends stalled at once, and the client reads nothing: from here no byte can move, so this is the bound.
        using (var guard = new CancellationTokenSource(Guard))
        {
            while (!(h.ClientWriteBlocked && Volatile.Read(ref producerWaiting)))
            {
                await Task.Delay(1, guard.Token);
            }
        }

        Assert.False(producer.IsCompleted);
        Assert.InRange(Interlocked.Read(ref accepted), 0, 1024 * 1024);

        // And nothing was lost: the client reads all 32 MiB.
        long received = 0;
        while (received < 512L * 64 * 1024)
        {
            received += (await Next(h.Client)).Payload.Length;
        }

        await producer.WaitAsync(Guard);
    }
}
