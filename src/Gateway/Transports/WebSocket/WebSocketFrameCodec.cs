using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Transports.WebSocket;

/// <summary>RFC 6455 §5.2 opcodes.</summary>
internal enum WsOpcode : byte
{
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}

/// <summary>One parsed frame header. <see cref="MaskKey"/> holds the four key bytes in little-endian order.</summary>
internal readonly record struct WsFrameHeader(bool Fin, WsOpcode Opcode, bool Masked, uint MaskKey, long PayloadLength, int HeaderLength)
{
    public bool IsControl => ((byte)Opcode & 0x8) != 0;
}

internal enum WsHeaderStatus
{
    Ok = 0,
    NeedMore = 1,
    Invalid = 2,
}

/// <summary>
/// The RFC 6455 frame codec the relay uses in both directions. Written here rather than taken from
/// System.Net.WebSockets because the relay must see (and pass on) pings, pongs and close frames, which
/// ManagedWebSocket answers itself. Extensions are never negotiated (the relay strips Sec-WebSocket-Extensions), so
/// any RSV bit is a protocol error.
/// </summary>
internal static class WebSocketFrameCodec
{
    public const int MaxHeaderLength = 14;
    public const int MaxControlPayload = 125;

    public static WsHeaderStatus TryReadHeader(ReadOnlySpan<byte> data, out WsFrameHeader header, out string? error)
    {
        header = default;
        error = null;
        if (data.Length < 2)
        {
            return WsHeaderStatus.NeedMore;
        }

        var b0 = data[0];
        var b1 = data[1];
        var fin = (b0 & 0x80) != 0;
        var opcode = (WsOpcode)(b0 & 0x0F);
        if ((b0 & 0x70) != 0)
        {
            error = "reserved bits set without a negotiated extension";
            return WsHeaderStatus.Invalid;
        }

        if (opcode is not (WsOpcode.Continuation or WsOpcode.Text or WsOpcode.Binary or WsOpcode.Close or WsOpcode.Ping or WsOpcode.Pong))
        {
            error = "unknown opcode";
            return WsHeaderStatus.Invalid;
        }

        var masked = (b1 & 0x80) != 0;
        long length = b1 & 0x7F;
        var size = 2;
        if (length == 126)
        {
            size = 4;
        }
        else if (length == 127)
        {
            size = 10;
        }

        var total = size + (masked ? 4 : 0);
        if (data.Length < total)
        {
            return WsHeaderStatus.NeedMore;
        }

        if (size == 4)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        }
        else if (size == 10)
        {
            var l = BinaryPrimitives.ReadUInt64BigEndian(data[2..]);
            if (l > long.MaxValue)
            {
                error = "payload length has its most significant bit set";
                return WsHeaderStatus.Invalid;
            }

            length = (long)l;
        }

        if (((byte)opcode & 0x8) != 0 && (!fin || length > MaxControlPayload))
        {
            error = "control frames must be unfragmented with at most 125 payload bytes";
            return WsHeaderStatus.Invalid;
        }

        var key = masked ? BinaryPrimitives.ReadUInt32LittleEndian(data[size..]) : 0u;
        header = new WsFrameHeader(fin, opcode, masked, key, length, total);
        return WsHeaderStatus.Ok;
    }

    /// <summary>Writes a header (2 to 14 bytes) and returns its length.</summary>
    public static int WriteHeader(Span<byte> destination, bool fin, WsOpcode opcode, long payloadLength, uint? maskKey)
    {
        destination[0] = (byte)((fin ? 0x80 : 0) | (byte)opcode);
        var maskBit = maskKey is null ? 0 : 0x80;
        int size;
        if (payloadLength <= 125)
        {
            destination[1] = (byte)(maskBit | (int)payloadLength);
            size = 2;
        }
        else if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            size = 4;
        }
        else
        {
            destination[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
            size = 10;
        }

        if (maskKey is { } key)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[size..], key);
            size += 4;
        }

        return size;
    }

    public static int HeaderLength(long payloadLength, bool masked) =>
        (payloadLength <= 125 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10) + (masked ? 4 : 0);

    /// <summary>XORs <paramref name="data"/> with the key; <paramref name="offset"/> is the position of data[0] in the payload.</summary>
    public static void Mask(Span<byte> data, uint key, long offset)
    {
        key = BitOperations.RotateRight(key, (int)(offset & 3) * 8);
        var i = 0;
        if (BitConverter.IsLittleEndian && Vector.IsHardwareAccelerated && data.Length >= Vector<byte>.Count)
        {
            // Vector<byte>.Count is a multiple of 4, so the key stays aligned across the whole vector.
            var keys = Vector.AsVectorByte(new Vector<uint>(key));
            for (; i <= data.Length - Vector<byte>.Count; i += Vector<byte>.Count)
            {
                var chunk = data.Slice(i, Vector<byte>.Count);
                (new Vector<byte>(chunk) ^ keys).CopyTo(chunk);
            }
        }

        for (; i < data.Length; i++)
        {
            data[i] ^= (byte)(key >> (8 * (i & 3)));
        }
    }

    /// <summary>An unpredictable masking key (RFC 6455 §5.3: the client→server direction must use fresh keys).</summary>
    public static uint NewMaskKey()
    {
        Span<byte> b = stackalloc byte[4];
        RandomNumberGenerator.Fill(b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    /// <summary>A whole frame with an unmasked (server→client) or freshly masked (client→server) payload.</summary>
    public static byte[] Frame(WsOpcode opcode, ReadOnlySpan<byte> payload, bool mask, bool fin = true)
    {
        var key = mask ? NewMaskKey() : (uint?)null;
        var frame = new byte[HeaderLength(payload.Length, mask) + payload.Length];
        var h = WriteHeader(frame, fin, opcode, payload.Length, key);
        payload.CopyTo(frame.AsSpan(h));
        if (key is { } k)
        {
            Mask(frame.AsSpan(h), k, 0);
        }

        return frame;
    }

    /// <summary>A close frame's payload: the code, then the reason cut to fit 125 bytes at a character boundary.</summary>
    public static byte[] ClosePayload(int code, string? reason)
    {
        reason ??= string.Empty;
        var bytes = Encoding.UTF8.GetBytes(reason);
        var length = Math.Min(bytes.Length, MaxControlPayload - 2);
        while (length > 0 && length < bytes.Length && (bytes[length] & 0xC0) == 0x80)
        {
            length--;
        }

        var payload = new byte[2 + length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code);
        bytes.AsSpan(0, length).CopyTo(payload.AsSpan(2));
        return payload;
    }

    /// <summary>Reads a close payload (already unmasked): code 1005 (no status) when empty.</summary>
    public static (int Code, string Reason) ReadClose(ReadOnlySpan<byte> payload) => payload.Length < 2
        ? (1005, string.Empty)
        : (BinaryPrimitives.ReadUInt16BigEndian(payload), Encoding.UTF8.GetString(payload[2..]));
}
