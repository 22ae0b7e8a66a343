using Gateway.Transports.WebSocket;

namespace Gateway.Tests.WebSocket;

public sealed class WebSocketFrameCodecTests
{
    [Theory]
    [InlineData(0, false)]
    [InlineData(125, true)]
    [InlineData(126, false)]
    [InlineData(65535, true)]
    [InlineData(65536, false)]
    [InlineData(5_000_000_000L, true)]
    public void Header_RoundTrip_AllLengthEncodings(long length, bool masked)
    {
        var buffer = new byte[WebSocketFrameCodec.MaxHeaderLength];
        var n = WebSocketFrameCodec.WriteHeader(buffer, fin: false, WsOpcode.Binary, length, masked ? 0x11223344u : null);
        Assert.Equal(WebSocketFrameCodec.HeaderLength(length, masked), n);
        for (var cut = 0; cut < n; cut++)
        {
            Assert.Equal(WsHeaderStatus.NeedMore, WebSocketFrameCodec.TryReadHeader(buffer.AsSpan(0, cut), out _, out _));
        }

        Assert.Equal(WsHeaderStatus.Ok, WebSocketFrameCodec.TryReadHeader(buffer.AsSpan(0, n), out var h, out _));
        Assert.Equal(new WsFrameHeader(false, WsOpcode.Binary, masked, masked ? 0x11223344u : 0u, length, n), h);
    }

    [Theory]
    [InlineData(new byte[] { 0xC1, 0x00 }, "reserved")]        // RSV1 without an extension
    [InlineData(new byte[] { 0x83, 0x00 }, "unknown opcode")]
    [InlineData(new byte[] { 0x09, 0x00 }, "control")]         // fragmented ping
    [InlineData(new byte[] { 0x89, 0x7E, 0x00, 0x7E }, "control")] // ping with 126 bytes
    [InlineData(new byte[] { 0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0 }, "most significant")]
    public void Header_Invalid_Refused(byte[] bytes, string why)
    {
        Assert.Equal(WsHeaderStatus.Invalid, WebSocketFrameCodec.TryReadHeader(bytes, out _, out var error));
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Mask_InPieces_EqualsWhole_AndIsItsOwnInverse()
    {
        var data = new byte[1000];
        new Random(7).NextBytes(data);
        var whole = (byte[])data.Clone();
        WebSocketFrameCodec.Mask(whole, 0xA1B2C3D4, 0);
        var pieces = (byte[])data.Clone();
        WebSocketFrameCodec.Mask(pieces.AsSpan(0, 3), 0xA1B2C3D4, 0);
        WebSocketFrameCodec.Mask(pieces.AsSpan(3, 500), 0xA1B2C3D4, 3);
        WebSocketFrameCodec.Mask(pieces.AsSpan(503), 0xA1B2C3D4, 503);
        Assert.Equal(whole, pieces);
        for (var i = 0; i < data.Length; i++)
        {
            Assert.Equal((byte)(data[i] ^ (0xA1B2C3D4 >> (8 * (i % 4)))), whole[i]);
        }

        WebSocketFrameCodec.Mask(whole, 0xA1B2C3D4, 0);
        Assert.Equal(data, whole);
    }

    [Fact]
    public void ClosePayload_LongReason_CutAtCharacterBoundary()
    {
        var payload = WebSocketFrameCodec.ClosePayload(4000, new string('é', 100));
        Assert.True(payload.Length <= 125);
        var (code, reason) = WebSocketFrameCodec.ReadClose(payload);
        Assert.Equal(4000, code);
        Assert.Equal(new string('é', 61), reason);
        Assert.Equal((1005, ""), WebSocketFrameCodec.ReadClose(ReadOnlySpan<byte>.Empty));
    }
}
