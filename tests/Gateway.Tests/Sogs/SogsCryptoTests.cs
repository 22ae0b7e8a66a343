using System.Text;
using Gateway.Protocols.Sogs;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Sogs;

/// <summary>Blinding, padding, protobuf and header decoding against session-pysogs' own vectors and rules.</summary>
public sealed class SogsCryptoTests
{
    // tests/test_blinding.py: a fixed server key and (seed, blinded id) pairs computed with libsodium.
    private static readonly byte[] FakeServerPubkey = Convert.FromHexString("6a32c7b491f4199dd1260a4cc60ae51c6bd71dad939cc521e738409f53f943be");

    public static TheoryData<string, string> Vectors => new()
    {
        { "880adf5164a79bce71f7387fbc2cb2693c0bf0ab4cb42bf1edafddade7527a66", "15cef185d46b60a548641bd8c5baa4b7cf90b7da8e883c0ac774c703d249086479" },
        { "67416582e0700081604860d270bc986011fc5e62c53de908a9a5af2cb497c528", "15f8fbeb20cdde5e0cc0ec84e0b3705ca6090c7b23e8132589970473a5592ba388" },
        { "a5ad71709cfa315d147921e377186270367fd06926f4dbfe33f519dec6b016f7", "15758e10dc51210d7a36ea6076e2aa84d9f87283bddb508364272dce0a7618f92a" },
        { "c929a389a0dcf375ae8177891655b3835773e3a2d6d27490de8b8a160ca472f8", "1515ad8f8c5e56b31078a4a5ae73938bd523b1c86ea36033d564759e4495fbb64d" },
        { "d9b4ff572d4ebbcf26b07329f9029462f0606087d64e8932e698aa0a98231ce3", "15a4acf4c814fd1bcf83ebbe42c276630a63e32365633cb57089544b3a60b5e4ac" },
        { "b9ac6f130f0ef218e1fbd9484b38ba3a0a8ec5657744732b0a4a9e7f6c80a62e", "1513533ac53ea094b0c0e907046ffc2ade32122da069df503583bf89d6af01e127" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void BlindedId_PysogsVectors_MatchInPositiveForm(string seedHex, string expected)
    {
        var client = new SogsClient(Convert.FromHexString(seedHex));
        Assert.Equal(expected, client.BlindedId(FakeServerPubkey)); // the tests' own client agrees with libsodium

        var directory = new SogsDirectory(new SogsBackendSettings { ServerPubkey = FakeServerPubkey });
        Assert.Equal(SogsDirectory.Canonical(expected), directory.BlindedId(client.SessionId));
    }

    [Fact]
    public void Directory_05Entry_MatchesBothSignsOfItsBlindedKey()
    {
        var client = SogsClient.Random();
        var settings = new SogsBackendSettings { ServerPubkey = FakeServerPubkey, Moderators = new[] { client.SessionId } };
        var directory = new SogsDirectory(settings);
        var blinded = client.BlindedId(FakeServerPubkey);
        var flipped = blinded[..64] + (Convert.ToInt32(blinded[64].ToString(), 16) ^ 0x8).ToString("x") + blinded[65..];

        Assert.True(directory.IsModerator(blinded, "any"));
        Assert.True(directory.IsModerator(flipped, "any"));
        Assert.True(directory.IsModerator(client.SessionId, null));
        Assert.False(directory.IsModerator(SogsClient.Random().BlindedId(FakeServerPubkey), "any"));
    }

    [Fact]
    public void Ed25519ToX25519_UnblindedKey_GivesTheSessionId()
    {
        var client = SogsClient.Random();
        var x = SogsCrypto.Ed25519ToX25519(Convert.FromHexString(client.UnblindedKey[2..]));
        Assert.Equal(client.SessionId, "05" + Convert.ToHexStringLower(x!));
    }

    [Fact]
    public void IsValidPoint_SmallOrderAndOffCurve_Refused()
    {
        Assert.False(SogsCrypto.IsValidPoint(new byte[32])); // y = 0: order 4
        var identity = new byte[32];
        identity[0] = 1;
        Assert.False(SogsCrypto.IsValidPoint(identity));
        var offCurve = new byte[32];
        offCurve[0] = 2;
        Assert.False(SogsCrypto.IsValidPoint(offCurve));
        Assert.True(SogsCrypto.IsValidPoint(Convert.FromHexString(SogsClient.Random().UnblindedKey[2..])));
    }

    [Theory]
    [InlineData("0102", "0102")]
    [InlineData("010280", "0102")]
    [InlineData("0102800000", "0102")]
    [InlineData("01020000", "01020000")] // zeros without the 0x80 marker: not padding, kept whole
    [InlineData("", "")]
    public void RemovePadding_AsPysogs(string input, string expected) =>
        Assert.Equal(expected, Convert.ToHexString(SessionContent.RemovePadding(Convert.FromHexString(input))).ToLowerInvariant());

    [Fact]
    public void SessionContent_BodyAndDisplayName_Read()
    {
        var c = SessionContent.Read(SogsClient.Content("hello there", "Alice"));
        Assert.Equal("hello there", c!.Body);
        Assert.Equal("Alice", c.DisplayName);
        Assert.Null(SessionContent.Read(new byte[] { 0x0A, 0x50, 0x01 })); // length past the end
        Assert.Equal(string.Empty, SessionContent.Read(Array.Empty<byte>())!.Body);
    }

    [Theory]
    [InlineData("00112233445566778899aabbccddeeff", 16, true)]
    [InlineData("ABEiM0RVZneImaq7zN3u/w==", 16, true)]
    [InlineData("ABEiM0RVZneImaq7zN3u/w", 16, true)]
    [InlineData("ABEiM0RVZneImaq7zN3u", 16, false)]
    [InlineData("zz112233445566778899aabbccddeeff", 16, false)]
    public void DecodeHexOrBase64_AsPysogs(string text, int size, bool ok) =>
        Assert.Equal(ok, SogsAuth.DecodeHexOrBase64(text, size) is not null);

    [Fact]
    public void Nonces_Bounded_OldestForgotten()
    {
        var nonces = new SogsNonces(new FakeTimeProvider(), 3);
        var n = Enumerable.Range(0, 4).Select(i => new byte[] { (byte)i }).ToArray();
        Assert.True(nonces.TryUse("u", n[0]));
        Assert.False(nonces.TryUse("u", n[0]));
        Assert.True(nonces.TryUse("v", n[0]));
        Assert.True(nonces.TryUse("u", n[1]));
        Assert.True(nonces.TryUse("u", n[2]));
        Assert.True(nonces.Count <= 3);
    }

    [Fact]
    public void Ini_MessagesRoomsAndBooleans_ParsedAsPysogs()
    {
        var (ini, errors, warnings) = SogsIni.Parse("""
            ; comment
            [messages]
            profanity_filter = yes
            Profanity_Silent: no
            alphabet_filters = arabic, cyrillic
              persian
            filter_mods = 0

            [room:lobby]
            profanity_silent = On
            alphabet_silent = yes

            [filter:*:profanity]
            reply = no swearing
            [users]
            require_blind_keys = false
            """);
        Assert.Empty(errors);
        Assert.Single(warnings); // alphabet_silent is not a room setting pysogs reads
        Assert.True(ini.ProfanityFilter);
        Assert.False(ini.ProfanitySilent);
        Assert.Equal(new[] { "arabic", "cyrillic", "persian" }, ini.AlphabetFilters.Order());
        Assert.True(ini.Rooms["lobby"].ProfanitySilent);
        Assert.True(ini.HasAutoReplies);
        Assert.False(ini.RequireBlindKeys);

        var (_, bad, _) = SogsIni.Parse("[messages]\nprofanity_filter = maybe\n");
        Assert.Contains("Invalid value [messages].profanity_filter=maybe", bad[0], StringComparison.Ordinal);
    }

    [Fact]
    public void SignedBytes_PathDecodedQueryRawBodyHashed()
    {
        var req = new SogsRequest("GET", "/room/caf%C3%A9/messages?limit=5", new Dictionary<string, string>(), "x"u8.ToArray());
        var bytes = SogsAuth.SignedBytes(new byte[32], new byte[16], "123", req);
        var text = Encoding.UTF8.GetString(bytes.AsSpan(48, bytes.Length - 48 - 64));
        Assert.Equal("123GET/room/café/messages?limit=5", text);
    }
}
