using System.IO.Pipelines;
using Gateway.Protocols.Abstractions;
using Gateway.Transports.WebSocket;

namespace Gateway.Tests.WebSocket;

/// <summary>A scripted inspector: records what it saw and answers with the test's function.</summary>
internal sealed class FakeInspector(Func<FrameDirection, string, FrameOutcome>? decide = null, bool backend = false) : ITextFrameInspector
{
    public List<(FrameDirection Direction, string Text)> Seen { get; } = new();

    public bool InspectsBackendFrames => backend;

    public ValueTask<FrameOutcome> InspectAsync(FrameDirection direction, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var text = System.Text.Encoding.UTF8.GetString(payload.Span);
        lock (Seen)
        {
            Seen.Add((direction, text));
        }

        return new ValueTask<FrameOutcome>(decide?.Invoke(direction, text) ?? FrameOutcome.Forward);
    }
}

/// <summary>A stream over two pipes: reads one, writes the other.</summary>
internal sealed class DuplexPipeStream(PipeReader reader, PipeWriter writer, Action<bool, int>? onWrite = null) : Stream
{
    private readonly Stream _read = reader.AsStream();

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _read.ReadAsync(buffer, cancellationToken);

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var flush = writer.WriteAsync(buffer, cancellationToken);
        onWrite?.Invoke(flush.IsCompleted, buffer.Length);
        await flush;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        reader.Complete();
        writer.Complete();
        base.Dispose(disposing);
    }
}

/// <summary>
/// One relay between an in-memory client and backend, with copy loops shaped like YARP's (64 KiB buffers, a
/// zero-byte read first). Every pipe pauses its writer at 64 KiB, like a socket with a full window.
/// </summary>
internal sealed class RelayHarness : IAsyncDisposable
{
    private static PipeOptions Bounded => new(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024, useSynchronizationContext: false);

    private readonly Pipe _clientToRelay = new(Bounded);
    private readonly Pipe _relayToClient = new(Bounded);
    private readonly Pipe _relayToBackend = new(Bounded);
    private readonly Pipe _backendToRelay = new(Bounded);
    private readonly CancellationTokenSource _yarp = new();

    public RelayHarness(FakeInspector inspector, long maxMessageBytes = 1 << 20)
    {
        Inspector = inspector;
        Relay = new WebSocketRelay(new DuplexPipeStream(_clientToRelay.Reader, _relayToClient.Writer, OnClientWrite), inspector, maxMessageBytes);
        Client = new RawFrameStream(new DuplexPipeStream(_relayToClient.Reader, _clientToRelay.Writer), maskOutgoing: true);
        Backend = new RawFrameStream(new DuplexPipeStream(_relayToBackend.Reader, _backendToRelay.Writer), maskOutgoing: false);
        Up = CopyUpAsync();
        Down = CopyDownAsync();
    }

    public FakeInspector Inspector { get; }

    public WebSocketRelay Relay { get; }

    public RawFrameStream Client { get; }

    public RawFrameStream Backend { get; }

    public Task Up { get; }

    public Task Down { get; }

    public bool ClientWriteBlocked { get; private set; }

    private long _clientBytes;

    private void OnClientWrite(bool completed, int length)
    {
        ClientWriteBlocked |= !completed;
        Interlocked.Add(ref _clientBytes, length);
    }

    /// <summary>Waits (a condition, guarded by a timeout) until the relay has written this many bytes to the client.</summary>
    public async Task WaitForClientBytesAsync(long count)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (Interlocked.Read(ref _clientBytes) < count)
        {
            await Task.Delay(1, guard.Token);
        }
    }

    /// <summary>The client's raw writer, for tests that send bytes that are not well-formed frames.</summary>
    public PipeWriter ClientWriter => _clientToRelay.Writer;

    public PipeWriter BackendWriter => _backendToRelay.Writer;

    private async Task CopyUpAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                _ = await Relay.ReadAsync(Memory<byte>.Empty, _yarp.Token);
                var n = await Relay.ReadAsync(buffer, _yarp.Token);
                if (n == 0)
                {
                    return;
                }

                await _relayToBackend.Writer.WriteAsync(buffer.AsMemory(0, n));
            }
        }
        finally
        {
            await _relayToBackend.Writer.CompleteAsync();
        }
    }

    private async Task CopyDownAsync()
    {
        var buffer = new byte[64 * 1024];
        var input = _backendToRelay.Reader.AsStream();
        while (true)
        {
            var n = await input.ReadAsync(buffer, _yarp.Token);
            if (n == 0)
            {
                return;
            }

            await Relay.WriteAsync(buffer.AsMemory(0, n), _yarp.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _yarp.CancelAsync();
        try
        {
            await Task.WhenAll(Up, Down).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
        }

        await Relay.FinishAsync();
        _yarp.Dispose();
    }
}
