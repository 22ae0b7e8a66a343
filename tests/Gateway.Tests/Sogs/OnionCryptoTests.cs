using System.Text;
using Gateway.Protocols.Sogs.Onion;

namespace Gateway.Tests.Sogs;

/// <summary>
/// Hop encryption against libsession-util's known-answer vectors (tests/test_onionreq.cpp, commit 759dbf6), the
/// draft-irtf-cfrg-xchacha HChaCha20 vector, and an independent BouncyCastle client in both directions.
/// </summary>
public sealed class OnionCryptoTests
{
    private static byte[] Hex(string s) => Convert.FromHexString(s);

    // "Onion request encryption": server b/B, client A.
    private const string EncClientPublic = "bbdfc83022d0aff084a6f0c529a93d1c4d728bf7e41199afed0e01ae70d20540";
    private const string EncServerPublic = "caea52c5b0c316d85ffb53ea536826618b13dee40685f166f632653114526a78";
    private const string EncServerPrivate = "8fcd8ad3a15c76f76f1c56dff0c529999f8c59b4acda79e05666e54d5727dca1";
    private const string EncGcm = "1eb6ae1cd72f60999486365749bd5dc15cc0b6a2a44d7d063daa5e93722f0c025fd00306403b61";
    private const string EncGcmBroken1 = "1eb6ae1cd72f60999486365759bd5dc15cc0b6a2a44d7d063daa5e93722f0c025fd00306403b61";
    private const string EncGcmBroken2 = "1eb6ae1cd72f60999486365749bd5dc15cc0b6a2a44d7d063daa5e93722f0c025fd00306403b69";
    private const string EncXChaCha = "9e1a3abe60eff3ea5c23556cc7e225b6f94355315f7281f66ecf4dbb06e7899a52b863e03cde3b287d1638d765db75de02b032";
    private const string EncXChaChaBroken1 = "9e1a3abe60eff3ea5c23556cc7e225b6f94355315f7281f66ecf4dbb06e7899a52b863e03cde3b287d1638d765db75de02b033";
    private const string EncXChaChaBroken2 = "9e1a3abe60eff3ea5c23556ccfe225b6f94355315f7281f66ecf4dbb06e7899a52b863e03cde3b287d1638d765db75de02b032";

    // "Onion request parser": server b/B, client a/A, whole envelopes.
    internal const string ParserClientPublic = "8167e97672005c669a48858c69895f395ca235219ac3f7a4210022b1f910e652";
    internal const string ParserClientPrivate = "d2ee09e1a557a077d385fcb69a11ffb6909ecdcc8348def3e0e4172c8a1431c1";
    internal const string ParserServerPublic = "8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726";
    internal const string ParserServerPrivate = "2f4d1c0d28e137777ec0a316e9f4f763e3e66662a6c51994c6315c9ef34b6deb";

    internal const string ParserGcm =
        "270000009525d587d188c92a966eef0e7162bef99a6171a124575b998072a8ee7eb265e0b6f0930ed96504"
        + "7b22656e635f74797065223a20226165732d67636d222c2022657068656d6572616c5f6b6579223a202238"
        + "31363765393736373230303563363639613438383538633639383935663339356361323335323139616333"
        + "6637613432313030323262316639313065363532227d";

    internal const string ParserXChaCha =
        "33000000e440bc244ddcafd947b86fc5a964aa58de54a6d75cc0f0f3840db14b6c1176a8e2e0a04d5fbdf9"
        + "8f23adee1edc8362ab99b10b7b22656e635f74797065223a2022786368616368613230222c202265706865"
        + "6d6572616c5f6b6579223a2022383136376539373637323030356336363961343838353863363938393566"
        + "33393563613233353231396163336637613432313030323262316639313065363532227d";

    private static byte[] ServerKey(OnionEncryption type, string serverPrivate, string clientPublic)
    {
        var server = OnionServerKey.FromPrivate(Hex(serverPrivate))!;
        var shared = new byte[32];
        Assert.True(server.TrySharedSecret(Hex(clientPublic), shared));
        var key = new byte[32];
        HopEncryption.DeriveKey(type, shared, Hex(clientPublic), server.PublicKey.Span, key);
        return key;
    }

    [Fact]
    public void ServerKey_FromThePrivateBytes_DerivesThePublicKeyOfTheVectors()
    {
        Assert.Equal(EncServerPublic, Convert.ToHexStringLower(OnionServerKey.FromPrivate(Hex(EncServerPrivate))!.PublicKey.Span));
        Assert.Equal(ParserServerPublic, Convert.ToHexStringLower(OnionServerKey.FromPrivate(Hex(ParserServerPrivate))!.PublicKey.Span));
        Assert.Null(OnionServerKey.FromPrivate(new byte[31]));
        Assert.Null(OnionServerKey.FromPrivate(new byte[33]));
    }

    [Theory]
    [InlineData(OnionEncryption.AesGcm, EncGcm)]
    [InlineData(OnionEncryption.XChaCha20, EncXChaCha)]
    public void Decrypt_LibsessionVector_GivesHelloWorld(OnionEncryption type, string ciphertext)
    {
        var plaintext = HopEncryption.Decrypt(type, ServerKey(type, EncServerPrivate, EncClientPublic), Hex(ciphertext));

        Assert.Equal("Hello world", Encoding.UTF8.GetString(plaintext!));
    }

    [Theory]
    [InlineData(OnionEncryption.AesGcm, EncGcmBroken1)]
    [InlineData(OnionEncryption.AesGcm, EncGcmBroken2)]
    [InlineData(OnionEncryption.AesGcm, EncXChaChaBroken1)]
    [InlineData(OnionEncryption.AesGcm, EncXChaChaBroken2)]
    [InlineData(OnionEncryption.XChaCha20, EncXChaChaBroken1)]
    [InlineData(OnionEncryption.XChaCha20, EncXChaChaBroken2)]
    [InlineData(OnionEncryption.XChaCha20, EncGcm)]
    [InlineData(OnionEncryption.AesGcm, EncXChaCha)]
    public void Decrypt_AlteredOrWrongTypeVector_IsRefused(OnionEncryption type, string ciphertext)
    {
        Assert.Null(HopEncryption.Decrypt(type, ServerKey(type, EncServerPrivate, EncClientPublic), Hex(ciphertext)));
    }

    [Theory]
    [InlineData(OnionEncryption.AesGcm, 27)]
    [InlineData(OnionEncryption.XChaCha20, 39)]
    [InlineData(OnionEncryption.XChaCha20, 0)]
    public void Decrypt_ShorterThanNonceAndTag_IsRefused(OnionEncryption type, int length)
    {
        Assert.Null(HopEncryption.Decrypt(type, new byte[32], new byte[length]));
    }

    [Theory]
    [InlineData(ParserGcm, OnionEncryption.AesGcm, 12 + 13 + 16)]
    [InlineData(ParserXChaCha, OnionEncryption.XChaCha20, 24 + 13 + 16)]
    public void Envelope_LibsessionParserVector_OpensAndTheReplyDecryptsOnTheClient(string envelope, OnionEncryption type, int replySize)
    {
        var server = OnionServerKey.FromPrivate(Hex(ParserServerPrivate))!;

        var parsed = OnionEnvelope.TryParse(Hex(envelope), out var error);
        Assert.Null(error);
        Assert.Equal(type, parsed!.Encryption);
        Assert.Equal(ParserClientPublic, Convert.ToHexStringLower(parsed.EphemeralKey));
        var opened = parsed.TryOpen(server, out error);
        Assert.Null(error);
        Assert.Equal("Hello world", Encoding.UTF8.GetString(opened!.Payload.Span));

        var reply = opened.Seal("Goodbye world"u8);
        Assert.Equal(replySize, reply.Length);
        var xchacha = type == OnionEncryption.XChaCha20;
        var clientKey = OnionWire.Key(xchacha, OnionWire.Shared(Hex(ParserClientPrivate), Hex(ParserServerPublic)), Hex(ParserClientPublic), Hex(ParserServerPublic));
        Assert.Equal("Goodbye world", Encoding.UTF8.GetString(OnionWire.Open(xchacha, clientKey, reply)));
    }

    [Fact]
    public void Seal_TwoReplies_UseFreshNonces()
    {
        var opened = OnionEnvelope.TryParse(Hex(ParserXChaCha), out _)!.TryOpen(OnionServerKey.FromPrivate(Hex(ParserServerPrivate))!, out _)!;

        var one = opened.Seal("same"u8);
        var two = opened.Seal("same"u8);

        Assert.NotEqual(one[..24], two[..24]);
    }

    [Theory]
    [InlineData("aes-gcm", false)]
    [InlineData("gcm", false)]
    [InlineData("xchacha20", true)]
    [InlineData("xchacha20-poly1305", true)]
    public void IndependentClient_EachEncTypeName_RoundTripsBothWays(string encType, bool xchacha)
    {
        var serverPrivate = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var server = OnionServerKey.FromPrivate(serverPrivate)!;
        var client = new OnionClient(server.PublicKey.ToArray(), encType);
        Assert.Equal(xchacha, client.XChaCha);

        var opened = OnionEnvelope.TryParse(client.Envelope("ping"u8.ToArray()), out _)!.TryOpen(server, out var error);

        Assert.Null(error);
        Assert.Equal("ping", Encoding.UTF8.GetString(opened!.Payload.Span));
        Assert.Equal("pong", Encoding.UTF8.GetString(client.Open(opened.Seal("pong"u8))));
    }

    [Fact]
    public void AesGcm_KeyedWithTheRawSharedSecret_AsPysogsTestHelperDoes_IsRefused()
    {
        // session-pysogs tests/test_onion_requests.py derives the AES key as the bare X25519 secret; libsession (and so
        // SOGS and Session clients) use HMAC-SHA256("LOKI", secret). The gateway must follow libsession.
        var serverPrivate = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var server = OnionServerKey.FromPrivate(serverPrivate)!;
        var clientPrivate = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var clientPublic = OnionWire.PublicKey(clientPrivate);
        var raw = OnionWire.Shared(clientPrivate, server.PublicKey.ToArray());
        var blob = OnionWire.Seal(false, raw, "hello"u8.ToArray());
        var envelope = BitConverter.GetBytes(blob.Length).Concat(blob)
            .Concat(Encoding.UTF8.GetBytes($"{{\"ephemeral_key\": \"{Convert.ToHexStringLower(clientPublic)}\"}}")).ToArray();

        Assert.Null(OnionEnvelope.TryParse(envelope, out _)!.TryOpen(server, out var error));
        Assert.Equal("undecryptable", error);
    }

    [Fact]
    public void HChaCha20_DraftXChaChaVector()
    {
        // draft-irtf-cfrg-xchacha-03 §2.2.1.
        var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var nonce = Hex("000000090000004a0000000031415927");
        var output = new byte[32];

        HopEncryption.HChaCha20(key, nonce, output);

        Assert.Equal("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc", Convert.ToHexStringLower(output));
    }

    [Fact]
    public void SharedSecret_SmallOrderPoint_IsRefusedAsLibsodiumDoes()
    {
        var server = OnionServerKey.FromPrivate(Hex(ParserServerPrivate))!;
        var shared = new byte[32];

        Assert.False(server.TrySharedSecret(new byte[32], shared)); // the all-zero point
        Assert.False(server.TrySharedSecret(Hex("0100000000000000000000000000000000000000000000000000000000000000"), shared));
    }
}
