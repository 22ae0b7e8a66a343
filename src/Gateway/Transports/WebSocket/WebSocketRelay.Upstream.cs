// Over 400 lines because the client-to-backend pump is one state machine (frame header, payload, reassembly, session
// outcome, re-masked output) whose states share the buffers it reads into; splitting it would scatter that state.
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Unicode;
using Gateway.Protocols.Abstractions;

namespace Gateway.Transports.WebSocket;

/// <summary>Client → backend: what YARP reads.</summary>
internal sealed partial class WebSocketRelay
{
    private byte[]? _in;
    private int _inStart;
    private int _inEnd;

    // Bytes ready for YARP: a small staging buffer (headers, control frames), then one segment (a text message).
    private readonly PooledBytes _out = new();
    private int _outStart;
    private ReadOnlyMemory<byte> _outSegment;

    // A client frame whose (still masked) payload streams through: binary, control.
    private long _passRemaining;

    // The data message in progress from the client: none, text (assembled here) or binary (streamed).
    private WsOpcode _upMessage = WsOpcode.Continuation;
    private long _upMessageLength;
    private readonly PooledBytes _text = new();
    private long _assembleRemaining;
    private uint _assembleKey;
    private long _assembleOffset;
    private bool _assembleFin;

    private bool _upEnded;
    private byte[]? _maskKeys;
    private int _maskKeyPos;
    private bool _clientSentClose;

    private CancellationToken _yarpToken;
    private CancellationTokenSource? _linked;

    // Nothing of a frame is half sent to the backend (a text message being assembled has sent nothing yet).
    private bool UpAtBoundary => _passRemaining == 0 && _upMessage != WsOpcode.Binary;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var token = ReadToken(cancellationToken);
        if (buffer.Length == 0)
        {
            // YARP's zero-byte read waits for data before it rents its copy buffer: keep that saving.
            if (OutputPending || _upEnded || _closeRequest is not null || _clientAborted || _inEnd > _inStart)
            {
                return 0;
            }

            try
            {
                _ = await _client.ReadAsync(Memory<byte>.Empty, token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The gateway's stop or the client's abort: handled by the real read that follows.
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // Surfaces on the real read that follows.
            }

            return 0;
        }

        var written = 0;
        while (true)
        {
            written += DrainOutput(buffer.Span[written..]);
            if (written == buffer.Length)
            {
                return written;
            }

            if (_closeRequest is { } request && !_upEnded)
            {
                await CloseBothAsync(request.Code, request.Reason, cancellationToken);
                continue;
            }

            if (_upEnded)
            {
                return written;
            }

            if (_passRemaining > 0)
            {
                if (_inEnd > _inStart)
                {
                    var n = (int)Math.Min(Math.Min(_passRemaining, _inEnd - _inStart), buffer.Length - written);
                    _in.AsSpan(_inStart, n).CopyTo(buffer.Span[written..]);
                    _inStart += n;
                    _passRemaining -= n;
                    written += n;
                    continue;
                }

                if (written > 0)
                {
                    return written;
                }

                var want = (int)Math.Min(_passRemaining, buffer.Length);
                var read = await ReadClientAsync(buffer[..want], token, cancellationToken);
                if (read <= 0)
                {
                    continue; // the client vanished or the gateway closed: handled at the top of the loop
                }

                _passRemaining -= read;
                return read;
            }

            if (_assembleRemaining > 0)
            {
                if (_inEnd == _inStart && written > 0)
                {
                    return written;
                }

                if (!await AssembleAsync(token, cancellationToken))
                {
                    continue;
                }

                if (_assembleRemaining == 0)
                {
                    await TextFrameCompleteAsync(cancellationToken);
                }

                continue;
            }

            var status = WebSocketFrameCodec.TryReadHeader(_in.AsSpan(_inStart, _inEnd - _inStart), out var header, out var error);
            if (status == WsHeaderStatus.NeedMore)
            {
                if (written > 0)
                {
                    return written;
                }

                await FillAsync(token, cancellationToken);
                continue;
            }

            if (status == WsHeaderStatus.Invalid)
            {
                await CloseBothAsync(1002, error!, cancellationToken);
                continue;
            }

            await OnClientHeaderAsync(header, cancellationToken);
        }
    }

    private bool OutputPending => _out.Length > _outStart || !_outSegment.IsEmpty;

    private int DrainOutput(Span<byte> destination)
    {
        var copied = 0;
        if (_out.Length > _outStart)
        {
            var n = Math.Min(_out.Length - _outStart, destination.Length);
            _out.Array.AsSpan(_outStart, n).CopyTo(destination);
            _outStart += n;
            copied = n;
            if (_outStart == _out.Length)
            {
                _out.Length = 0;
                _outStart = 0;
            }
        }

        if (_out.Length == 0 && !_outSegment.IsEmpty && copied < destination.Length)
        {
            var n = Math.Min(_outSegment.Length, destination.Length - copied);
            _outSegment.Span[..n].CopyTo(destination[copied..]);
            _outSegment = _outSegment[n..];
            copied += n;
        }

        return copied;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask OnClientHeaderAsync(WsFrameHeader header, CancellationToken cancellationToken)
    {
        if (!header.Masked)
        {
            await CloseBothAsync(1002, "client frames must be masked", cancellationToken);
            return;
        }

        var raw = _in.AsSpan(_inStart, header.HeaderLength);
        if (header.IsControl)
        {
            // Pings, pongs and closes travel end to end, masked as the client sent them.
            _clientSentClose |= header.Opcode == WsOpcode.Close;
            _out.Append(raw);
            _inStart += header.HeaderLength;
            _passRemaining = header.PayloadLength;
            return;
        }

        var starts = header.Opcode != WsOpcode.Continuation;
        if (starts == (_upMessage != WsOpcode.Continuation))
        {
            await CloseBothAsync(1002, starts ? "a new message started inside a fragmented one" : "continuation frame without a message", cancellationToken);
            return;
        }

        var kind = starts ? header.Opcode : _upMessage;
        var total = (starts ? 0 : _upMessageLength) + header.PayloadLength;
        if (total > MaxMessageBytes)
        {
            await CloseBothAsync(1009, $"message larger than {MaxMessageBytes} bytes", cancellationToken);
            return;
        }

        _inStart += header.HeaderLength;
        _upMessageLength = total;
        _upMessage = header.Fin ? WsOpcode.Continuation : kind;
        if (kind == WsOpcode.Binary)
        {
            _out.Append(raw);
            _passRemaining = header.PayloadLength;
            return;
        }

        if (starts && header.Fin && _inEnd - _inStart >= header.PayloadLength)
        {
            // The common case, a whole unfragmented text frame in the read buffer: unmasked, inspected and re-masked
            // where it lies, no copy. The buffer is not moved before YARP has taken the frame (FillAsync runs only
            // once the output is drained).
            var payload = _in.AsMemory(_inStart, (int)header.PayloadLength);
            _inStart += payload.Length;
            WebSocketFrameCodec.Mask(payload.Span, header.MaskKey, 0);
            await TextMessageAsync(payload, cancellationToken);
            return;
        }

        // Text: assembled, unmasked, here.
        if (starts)
        {
            _text.Reset();
        }

        _text.EnsureCapacity((int)total);
        _assembleRemaining = header.PayloadLength;
        _assembleKey = header.MaskKey;
        _assembleOffset = 0;
        _assembleFin = header.Fin;
        _upMessage = header.Fin ? WsOpcode.Continuation : WsOpcode.Text;
        if (header.PayloadLength == 0)
        {
            await TextFrameCompleteAsync(cancellationToken);
        }
    }

    /// <summary>Moves payload bytes of the text frame into the message buffer; false when the client went away.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AssembleAsync(CancellationToken token, CancellationToken yarpToken)
    {
        int n;
        var start = _text.Length;
        if (_inEnd > _inStart)
        {
            n = (int)Math.Min(_assembleRemaining, _inEnd - _inStart);
            _in.AsSpan(_inStart, n).CopyTo(_text.Array.AsSpan(start));
            _inStart += n;
        }
        else
        {
            n = await ReadClientAsync(_text.Array.AsMemory(start, (int)_assembleRemaining), token, yarpToken);
            if (n <= 0)
            {
                return false;
            }
        }

        WebSocketFrameCodec.Mask(_text.Array.AsSpan(start, n), _assembleKey, _assembleOffset);
        _assembleOffset += n;
        _assembleRemaining -= n;
        _text.Length += n;
        return true;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask TextFrameCompleteAsync(CancellationToken cancellationToken)
    {
        if (_assembleFin)
        {
            await TextMessageAsync(_text.Memory, cancellationToken);
        }
    }

    /// <summary>A whole, unmasked text message (ours to mask in place): validated, inspected, the outcome applied.</summary>
    private async ValueTask TextMessageAsync(Memory<byte> message, CancellationToken cancellationToken)
    {
        if (!Utf8.IsValid(message.Span))
        {
            await CloseBothAsync(1007, "text message is not valid UTF-8", cancellationToken);
            return;
        }

        var outcome = await _inspector.InspectAsync(FrameDirection.ClientToBackend, message, cancellationToken);
        switch (outcome.Action)
        {
            case FrameAction.Forward:
                EmitText(message);
                break;
            case FrameAction.ForwardRewritten:
                _text.Length = 0;
                _text.Append(outcome.Payload);
                EmitText(_text.Memory);
                break;
        }

        if (outcome.Action == FrameAction.Close)
        {
            if (outcome.Replies is { Count: > 0 } r)
            {
                await SendToClientAsync(TextFrames(r), null, cancellationToken);
            }

            await CloseBothAsync(outcome.CloseCode, outcome.CloseReason ?? string.Empty, cancellationToken);
        }
        else if (outcome.Replies is { Count: > 0 } replies)
        {
            await SendToClientAsync(TextFrames(replies), null, cancellationToken);
        }
    }

    private static byte[][] TextFrames(IReadOnlyList<byte[]> payloads)
    {
        var frames = new byte[payloads.Count][];
        for (var i = 0; i < frames.Length; i++)
        {
            frames[i] = ServerFrame(WsOpcode.Text, payloads[i]);
        }

        return frames;
    }

    /// <summary>One unfragmented text frame to the backend, masked in place with a fresh key (the buffer is ours).</summary>
    private void EmitText(Memory<byte> payload)
    {
        var key = NextMaskKey();
        Span<byte> header = stackalloc byte[WebSocketFrameCodec.MaxHeaderLength];
        var h = WebSocketFrameCodec.WriteHeader(header, fin: true, WsOpcode.Text, payload.Length, key);
        _out.Append(header[..h]);
        WebSocketFrameCodec.Mask(payload.Span, key, 0);
        _outSegment = payload;
    }

    /// <summary>Close frames to both sides, then no more reading from the client.</summary>
    private async ValueTask CloseBothAsync(int code, string reason, CancellationToken cancellationToken)
    {
        if (_upEnded)
        {
            return;
        }

        _upEnded = true;
        if (code != 1001)
        {
            GatewayCloseCode ??= code;
            await SendToClientAsync(null, ServerClose(code, reason), cancellationToken);
        }

        if (!UpAtBoundary)
        {
            // A close frame cannot go inside a frame that is half sent to the backend: abort that side instead.
            throw new IOException("relay closed inside a frame");
        }

        if (!_clientSentClose)
        {
            _out.Append(WebSocketFrameCodec.Frame(WsOpcode.Close, WebSocketFrameCodec.ClosePayload(code, reason), mask: true));
        }
    }

    /// <summary>The client ended its stream or failed: tell the backend it went away (1001) if the stream allows.</summary>
    private async ValueTask ClientGoneAsync(CancellationToken cancellationToken)
    {
        if (_upEnded)
        {
            return;
        }

        if (_clientSentClose || !UpAtBoundary)
        {
            _upEnded = true;
            if (!UpAtBoundary)
            {
                throw new IOException("the client closed its connection inside a frame");
            }

            return;
        }

        await CloseBothAsync(1001, "client went away", cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FillAsync(CancellationToken token, CancellationToken yarpToken)
    {
        _in ??= ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        if (_inStart > 0)
        {
            _in.AsSpan(_inStart, _inEnd - _inStart).CopyTo(_in);
            _inEnd -= _inStart;
            _inStart = 0;
        }

        var n = await ReadClientAsync(_in.AsMemory(_inEnd), token, yarpToken);
        if (n > 0)
        {
            _inEnd += n;
        }
    }

    /// <summary>Reads from the client; 0 or less when it went away or the gateway is closing (both already handled).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadClientAsync(Memory<byte> destination, CancellationToken token, CancellationToken yarpToken)
    {
        int n;
        try
        {
            n = await _client.ReadAsync(destination, token);
        }
        catch (OperationCanceledException) when (StoppedByGateway(yarpToken))
        {
            return -1; // the close request is handled at the top of the read loop
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException
            || (ex is OperationCanceledException && !yarpToken.IsCancellationRequested))
        {
            // Kestrel reports a vanished client as an I/O error or as ConnectionAbortedException (a cancellation).
            n = 0;
        }

        if (n == 0)
        {
            await ClientGoneAsync(yarpToken);
            return 0;
        }

        return n;
    }

    /// <summary>
    /// A fresh masking key from the CSPRNG (RFC 6455 §5.3), drawn 16 at a time: one RandomNumberGenerator call per
    /// frame cost more than the rest of the framing.
    /// </summary>
    private uint NextMaskKey()
    {
        _maskKeys ??= new byte[64];
        if (_maskKeyPos == 0)
        {
            RandomNumberGenerator.Fill(_maskKeys);
        }

        var key = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(_maskKeys.AsSpan(_maskKeyPos));
        _maskKeyPos = (_maskKeyPos + 4) % _maskKeys.Length;
        return key;
    }

    private bool StoppedByGateway(CancellationToken yarpToken) => _closeRequest is not null && !_clientAborted && !yarpToken.IsCancellationRequested;

    /// <summary>YARP passes the same token to every read: link it once with the gateway's own stop signal.</summary>
    private CancellationToken ReadToken(CancellationToken yarpToken)
    {
        if (_linked is null || yarpToken != _yarpToken)
        {
            _linked?.Dispose();
            _yarpToken = yarpToken;
            _linked = CancellationTokenSource.CreateLinkedTokenSource(yarpToken, _stop.Token);
        }

        return _linked.Token;
    }

    private void ReleaseBuffers()
    {
        if (_in is { } a)
        {
            _in = null;
            ArrayPool<byte>.Shared.Return(a);
        }

        _out.Release();
        _text.Release();
        _downText.Release();
    }
}
