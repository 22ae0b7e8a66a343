using Gateway.Protocols.Abstractions;

namespace Gateway.Transports.WebSocket;

/// <summary>Runs a protocol's session over one whole text message; the relay applies the outcome.</summary>
internal interface ITextFrameInspector
{
    bool InspectsBackendFrames { get; }

    ValueTask<FrameOutcome> InspectAsync(FrameDirection direction, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);
}

/// <summary>
/// The client side of one relayed WebSocket, handed to YARP in place of the upgraded client stream. YARP's
/// client→backend copy reads from it: the relay parses the client's (masked) RFC 6455 frames, reassembles text
/// messages up to <see cref="MaxMessageBytes"/>, runs them through the inspector and yields re-encoded (freshly
/// masked) frames; binary and control frames stream through in chunks, never buffered whole. YARP's backend→client
/// copy writes to it: the relay passes the bytes on, tracking frame boundaries so the frames it sends to the client
/// itself (replies, closes) never land inside a backend frame. Backpressure is YARP's: each copy awaits the other side.
/// <para>Memory per connection: a 16 KiB read buffer, the message being assembled (at most the limit), and what the
/// client socket and YARP's 64 KiB copy buffers hold.</para>
/// </summary>
internal sealed partial class WebSocketRelay : Stream
{
    private const int ReadBufferSize = 16 * 1024;
    private const int MaxPendingClientBytes = 256 * 1024;

    private readonly Stream _client;
    private readonly ITextFrameInspector _inspector;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _clientWrite = new(1, 1);
    private readonly List<byte[]> _pendingToClient = new();
    private int _pendingBytes;
    private bool _closeAfterPending;
    private TaskCompletionSource? _pendingDrained;
    private volatile CloseRequest? _closeRequest;
    private int _finished;
    private volatile bool _clientAborted;
    private bool _clientClosed;

    public WebSocketRelay(Stream client, ITextFrameInspector inspector, long maxMessageBytes)
    {
        _client = client;
        _inspector = inspector;
        MaxMessageBytes = maxMessageBytes;
    }

    public long MaxMessageBytes { get; }

    /// <summary>The gateway sent a close frame to the client (or the client can no longer be written to).</summary>
    public bool ClientClosed { get => _clientClosed || _clientAborted; private set => _clientClosed = value; }

    /// <summary>The close code the gateway itself sent to the client, if it did.</summary>
    public int? GatewayCloseCode { get; private set; }

    private sealed record CloseRequest(int Code, string Reason);

    /// <summary>
    /// Closes both sides from outside the relay (a runtime IP block): the client gets a close frame with the code,
    /// the backend a close frame too, and the relay stops reading from the client. Safe from any thread.
    /// </summary>
    public void RequestClose(int code, string reason)
    {
        _closeRequest ??= new CloseRequest(code, reason);
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// The client's connection dropped (Kestrel's RequestAborted): nothing more is written to it, and the read side
    /// stops waiting for it and tells the backend 1001 "going away". Safe from any thread.
    /// </summary>
    public void ClientAborted()
    {
        _clientAborted = true;
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Sends text frames to the client at the next message boundary of the backend→client stream; with
    /// <paramref name="thenClose"/> a close frame follows and later backend bytes are discarded.
    /// </summary>
    private async ValueTask SendToClientAsync(IReadOnlyList<byte[]>? frames, byte[]? closeFrame, CancellationToken cancellationToken)
    {
        Task? wait = null;
        await _clientWrite.WaitAsync(cancellationToken);
        try
        {
            if (ClientClosed || _closeAfterPending)
            {
                return;
            }

            if (frames is not null)
            {
                foreach (var f in frames)
                {
                    _pendingToClient.Add(f);
                    _pendingBytes += f.Length;
                }
            }

            if (closeFrame is not null)
            {
                _pendingToClient.Add(closeFrame);
                _closeAfterPending = true;
            }

            if (ClientAtBoundary)
            {
                await FlushPendingAsync(cancellationToken);
            }
            else if (_pendingBytes > MaxPendingClientBytes)
            {
                // The backend is in the middle of a long message: wait until the writer has flushed what is queued.
                _pendingDrained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _pendingDrained.Task;
            }
        }
        finally
        {
            _clientWrite.Release();
        }

        if (wait is not null)
        {
            await wait.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Call with <see cref="_clientWrite"/> held and the client stream at a message boundary.</summary>
    private async ValueTask FlushPendingAsync(CancellationToken cancellationToken)
    {
        if (_pendingToClient.Count == 0)
        {
            return;
        }

        try
        {
            foreach (var f in _pendingToClient)
            {
                await _client.WriteAsync(f, cancellationToken);
            }

            if (_closeAfterPending)
            {
                ClientClosed = true;
            }
        }
        finally
        {
            _pendingToClient.Clear();
            _pendingBytes = 0;
            _pendingDrained?.TrySetResult();
            _pendingDrained = null;
        }
    }

    private static byte[] ServerFrame(WsOpcode opcode, ReadOnlySpan<byte> payload) => WebSocketFrameCodec.Frame(opcode, payload, mask: false);

    private static byte[] ServerClose(int code, string reason) => ServerFrame(WsOpcode.Close, WebSocketFrameCodec.ClosePayload(code, reason));

    /// <summary>
    /// After YARP's copies are over: a client that never got a close frame (the backend vanished) gets 1011, then the
    /// client stream is disposed and the pooled buffers go back.
    /// </summary>
    public async ValueTask FinishAsync()
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0)
        {
            return;
        }

        try
        {
            await _clientWrite.WaitAsync();
            try
            {
                if (!ClientClosed && !_backendSentClose && ClientAtBoundary)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await FlushPendingAsync(timeout.Token);
                    if (!ClientClosed)
                    {
                        GatewayCloseCode = 1011;
                        await _client.WriteAsync(ServerClose(1011, "backend connection lost"), timeout.Token);
                        ClientClosed = true;
                    }
                }
            }
            finally
            {
                _clientWrite.Release();
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The client is gone too: nothing to tell it.
        }
        finally
        {
            await _client.DisposeAsync();
            ReleaseBuffers();
            _stop.Dispose();
            _linked?.Dispose();
        }
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => _client.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("the relay is asynchronous only");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("the relay is asynchronous only");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>YARP disposes the stream when its copies end; the middleware's <see cref="FinishAsync"/> does the real work.</summary>
    protected override void Dispose(bool disposing) => base.Dispose(disposing);
}
