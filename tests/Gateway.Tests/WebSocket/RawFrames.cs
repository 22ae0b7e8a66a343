using System.Net.Sockets;
using System.Text;
using Gateway.Transports.WebSocket;

namespace Gateway.Tests.WebSocket;

/// <summary>One frame as read off the wire (payload unmasked).</summary>
internal sealed record RawFrame(bool Fin, WsOpcode Opcode, bool Masked, byte[] Payload)
{
    public string Text => Encoding.UTF8.GetString(Payload);

    public (int Code, string Reason) Close => WebSocketFrameCodec.ReadClose(Payload);
}

/// <summary>Reads and writes RFC 6455 frames on any stream with the relay's own codec (tests see pings and closes).</summary>
internal sealed class RawFrameStream(Stream stream, bool maskOutgoing)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public Stream Stream => stream;

    public Task SendAsync(WsOpcode opcode, string text, bool fin = true) => SendAsync(opcode, Encoding.UTF8.GetBytes(text), fin);

    public async Task SendAsync(WsOpcode opcode, byte[] payload, bool fin = true)
    {
        await stream.WriteAsync(WebSocketFrameCodec.Frame(opcode, payload, maskOutgoing, fin));
        await stream.FlushAsync();
    }

    public Task SendCloseAsync(int code, string reason) => SendAsync(WsOpcode.Close, WebSocketFrameCodec.ClosePayload(code, reason));

    /// <summary>The next frame, or null at the end of the stream.</summary>
    public async Task<RawFrame?> ReadAsync(CancellationToken cancellationToken = default)
    {
        WsFrameHeader header;
        while (true)
        {
            var status = WebSocketFrameCodec.TryReadHeader(_buffer.AsSpan(_start, _end - _start), out header, out var error);
            if (status == WsHeaderStatus.Invalid)
            {
                throw new InvalidDataException(error);
            }

            if (status == WsHeaderStatus.Ok)
            {
                break;
            }

            if (!await FillAsync(cancellationToken))
            {
                return null;
            }
        }

        _start += header.HeaderLength;
        var payload = new byte[header.PayloadLength];
        var got = 0;
        while (got < payload.Length)
        {
            if (_end == _start && !await FillAsync(cancellationToken))
            {
                throw new EndOfStreamException("stream ended inside a frame");
            }

            var n = Math.Min(payload.Length - got, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(payload.AsSpan(got));
            _start += n;
            got += n;
        }

        if (header.Masked)
        {
            WebSocketFrameCodec.Mask(payload, header.MaskKey, 0);
        }

        return new RawFrame(header.Fin, header.Opcode, header.Masked, payload);
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        int n;
        try
        {
            n = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        }
        catch (IOException)
        {
            return false;
        }

        _end += n;
        return n > 0;
    }

    /// <summary>A client connection opened by hand: TCP, the upgrade request, the 101 answer.</summary>
    public static async Task<(RawFrameStream Frames, TcpClient Tcp)> ConnectAsync(Uri baseUrl, string pathAndQuery)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(baseUrl.Host, baseUrl.Port);
        var stream = tcp.GetStream();
        var request = $"GET {pathAndQuery} HTTP/1.1\r\nHost: {baseUrl.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + $"Sec-WebSocket-Key: {Convert.ToBase64String(Guid.NewGuid().ToByteArray())}\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0)
            {
                throw new EndOfStreamException("no upgrade answer");
            }

            head.Add(one[0]);
        }

        var text = Encoding.ASCII.GetString(head.ToArray());
        Assert.StartsWith("HTTP/1.1 101", text, StringComparison.Ordinal);
        return (new RawFrameStream(stream, maskOutgoing: true), tcp);
    }
}
