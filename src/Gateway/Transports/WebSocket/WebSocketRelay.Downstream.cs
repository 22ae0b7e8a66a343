using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Unicode;
using Gateway.Protocols.Abstractions;

namespace Gateway.Transports.WebSocket;

/// <summary>Backend → client: what YARP writes. Bytes pass through as they come; only frame headers are parsed.</summary>
internal sealed partial class WebSocketRelay
{
    private readonly byte[] _downHeader = new byte[WebSocketFrameCodec.MaxHeaderLength];
    private int _downHeaderLen;
    private long _downRemaining;
    private bool _downBuffering;
    private bool _downFin;
    private bool _downMasked;
    private uint _downKey;
    private long _downOffset;
    private WsOpcode _downMessage = WsOpcode.Continuation;
    private readonly PooledBytes _downText = new();
    private bool _backendSentClose;

    /// <summary>
    /// Nothing of a frame or of a fragmented data message is half written to the client, so a frame of the gateway's
    /// own can go next. (A buffered backend text message has not been written at all.)
    /// </summary>
    private bool ClientAtBoundary =>
        (_downRemaining == 0 || _downBuffering) && (_downMessage == WsOpcode.Continuation || (_downMessage == WsOpcode.Text && InspectsBackend));

    private bool InspectsBackend => _inspector.InspectsBackendFrames;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _clientWrite.WaitAsync(cancellationToken);
        try
        {
            await RelayDownAsync(data, cancellationToken);
        }
        catch (Exception ex) when (_clientAborted && !cancellationToken.IsCancellationRequested
            && ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The client is gone: what the backend sends (its answer to our 1001) is dropped, and YARP keeps the
            // backend side open until the close handshake ends it.
        }
        finally
        {
            _clientWrite.Release();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RelayDownAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var i = 0;
        var passStart = 0;
        while (i < data.Length)
        {
            if (ClientClosed)
            {
                return; // the gateway closed the client: what the backend still sends has nowhere to go
            }

            if (_downRemaining > 0)
            {
                var take = (int)Math.Min(_downRemaining, data.Length - i);
                if (_downBuffering)
                {
                    await WriteClientAsync(data[passStart..i], cancellationToken);
                    var chunk = _downText.Array.AsSpan(_downText.Length, take);
                    data.Span.Slice(i, take).CopyTo(chunk);
                    if (_downMasked)
                    {
                        WebSocketFrameCodec.Mask(chunk, _downKey, _downOffset);
                    }

                    _downOffset += take;
                    _downText.Length += take;
                    passStart = i + take;
                }

                i += take;
                _downRemaining -= take;
                if (_downRemaining == 0 && _downBuffering)
                {
                    await DownTextFrameCompleteAsync(cancellationToken);
                }

                continue;
            }

            if (_pendingToClient.Count > 0 && ClientAtBoundary)
            {
                await WriteClientAsync(data[passStart..i], cancellationToken);
                passStart = i;
                await FlushPendingAsync(cancellationToken);
                continue;
            }

            var carried = _downHeaderLen;
            WsHeaderStatus status;
            WsFrameHeader header;
            string? error;
            if (carried == 0)
            {
                status = WebSocketFrameCodec.TryReadHeader(data.Span[i..], out header, out error);
                if (status == WsHeaderStatus.NeedMore)
                {
                    // Hold the partial header back: whether it is written depends on the frame it starts.
                    await WriteClientAsync(data[passStart..i], cancellationToken);
                    data.Span[i..].CopyTo(_downHeader);
                    _downHeaderLen = data.Length - i;
                    return;
                }
            }
            else
            {
                var add = Math.Min(_downHeader.Length - carried, data.Length - i);
                data.Span.Slice(i, add).CopyTo(_downHeader.AsSpan(carried));
                status = WebSocketFrameCodec.TryReadHeader(_downHeader.AsSpan(0, carried + add), out header, out error);
                if (status == WsHeaderStatus.NeedMore)
                {
                    _downHeaderLen = carried + add;
                    i += add;
                    passStart = i;
                    continue;
                }
            }

            if (status == WsHeaderStatus.Invalid)
            {
                await WriteClientAsync(data[passStart..i], cancellationToken);
                await CloseFromBackendSideAsync(1011, "backend sent an invalid frame: " + error, cancellationToken);
                return;
            }

            var consumed = header.HeaderLength - carried;
            var buffering = InspectsBackend && (header.Opcode == WsOpcode.Text || (header.Opcode == WsOpcode.Continuation && _downMessage == WsOpcode.Text));
            if (buffering)
            {
                if (carried == 0)
                {
                    await WriteClientAsync(data[passStart..i], cancellationToken);
                }

                if (header.Opcode == WsOpcode.Text)
                {
                    _downText.Reset();
                }

                if (_downText.Length + header.PayloadLength > MaxMessageBytes)
                {
                    await CloseFromBackendSideAsync(1009, $"backend message larger than {MaxMessageBytes} bytes", cancellationToken);
                    return;
                }

                _downText.EnsureCapacity(_downText.Length + (int)header.PayloadLength);
                passStart = i + consumed;
            }
            else if (carried > 0)
            {
                // passStart is i here: the header's first bytes go out before the rest of this chunk.
                await WriteClientAsync(_downHeader.AsMemory(0, carried), cancellationToken);
            }

            _downHeaderLen = 0;
            i += consumed;
            if (!header.IsControl)
            {
                _downMessage = header.Fin ? WsOpcode.Continuation : header.Opcode == WsOpcode.Continuation ? _downMessage : header.Opcode;
            }

            _backendSentClose |= header.Opcode == WsOpcode.Close;
            _downRemaining = header.PayloadLength;
            _downBuffering = buffering;
            _downFin = header.Fin;
            _downMasked = header.Masked;
            _downKey = header.MaskKey;
            _downOffset = 0;
            if (buffering && header.PayloadLength == 0)
            {
                await DownTextFrameCompleteAsync(cancellationToken);
            }
        }

        await WriteClientAsync(data[passStart..], cancellationToken);
        if (_pendingToClient.Count > 0 && ClientAtBoundary)
        {
            await FlushPendingAsync(cancellationToken);
        }
    }

    private ValueTask WriteClientAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
        bytes.IsEmpty || ClientClosed ? ValueTask.CompletedTask : _client.WriteAsync(bytes, cancellationToken);

    private async ValueTask DownTextFrameCompleteAsync(CancellationToken cancellationToken)
    {
        _downBuffering = false;
        if (!_downFin)
        {
            return;
        }

        var payload = _downText.Memory;
        var outcome = Utf8.IsValid(payload.Span)
            ? await _inspector.InspectAsync(FrameDirection.BackendToClient, payload, cancellationToken)
            : FrameOutcome.Forward; // the backend's own bytes: not ours to judge, only to pass
        switch (outcome.Action)
        {
            case FrameAction.Forward:
                await WriteTextToClientAsync(payload, cancellationToken);
                break;
            case FrameAction.ForwardRewritten:
                await WriteTextToClientAsync(outcome.Payload, cancellationToken);
                break;
        }

        if (outcome.Replies is { } replies)
        {
            foreach (var r in replies)
            {
                await WriteTextToClientAsync(r, cancellationToken);
            }
        }

        _downText.Reset();
        if (outcome.Action == FrameAction.Close)
        {
            await CloseFromBackendSideAsync(outcome.CloseCode, outcome.CloseReason ?? string.Empty, cancellationToken);
        }
    }

    /// <summary>One unmasked text frame, header and payload in a single write.</summary>
    private async ValueTask WriteTextToClientAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var length = WebSocketFrameCodec.HeaderLength(payload.Length, masked: false) + payload.Length;
        var frame = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var h = WebSocketFrameCodec.WriteHeader(frame, fin: true, WsOpcode.Text, payload.Length, null);
            payload.Span.CopyTo(frame.AsSpan(h));
            await WriteClientAsync(frame.AsMemory(0, length), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>
    /// Closes the client from the write side (the lock is held and the client stream is at a frame boundary), then
    /// asks the read side to close the backend.
    /// </summary>
    private async ValueTask CloseFromBackendSideAsync(int code, string reason, CancellationToken cancellationToken)
    {
        if (!ClientClosed)
        {
            GatewayCloseCode ??= code;
            await _client.WriteAsync(ServerClose(code, reason), cancellationToken);
            ClientClosed = true;
        }

        RequestClose(code, reason);
    }
}
