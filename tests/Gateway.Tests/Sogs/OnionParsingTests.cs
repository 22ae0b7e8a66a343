using System.Text;
using Gateway.Protocols.Sogs.Onion;

namespace Gateway.Tests.Sogs;

/// <summary>The outer envelope and the inner v4/v3 payloads: strict bounds, each bad input a stable error code.</summary>
public sealed class OnionParsingTests
{
    private const string Key = "8167e97672005c669a48858c69895f395ca235219ac3f7a4210022b1f910e652";

    private static byte[] Envelope(int declared, int blobLength, string json)
    {
        var size = BitConverter.GetBytes(declared);
        return size.Concat(new byte[blobLength]).Concat(Encoding.UTF8.GetBytes(json)).ToArray();
    }

    [Theory]
    [InlineData("/oxen/v4/lsrpc", true, OnionVersion.V4)]
    [InlineData("/oxen/v3/lsrpc", true, OnionVersion.V3)]
    [InlineData("/loki/v3/lsrpc", true, OnionVersion.V3)]
    [InlineData("/loki/v4/lsrpc", false, default(OnionVersion))]
    [InlineData("/oxen/v4/lsrpc/", false, default(OnionVersion))]
    [InlineData("/OXEN/v4/lsrpc", false, default(OnionVersion))]
    [InlineData("/room/x/message", false, default(OnionVersion))]
    public void IsOnionPath_ExactSogsEndpointsOnly(string path, bool expected, OnionVersion version)
    {
        Assert.Equal(expected, OnionEnvelope.IsOnionPath(path, out var v));
        Assert.Equal(version, v);
    }

    [Fact]
    public void TryParse_GoodEnvelope_ReadsKeyTypeAndBlob()
    {
        var env = OnionEnvelope.TryParse(Envelope(5, 5, $"{{\"ephemeral_key\":\"{Key}\",\"enc_type\":\"xchacha20\",\"host\":\"x\",\"port\":1,\"nested\":{{\"a\":[1,2]}}}}"), out var error);

        Assert.Null(error);
        Assert.Equal(OnionEncryption.XChaCha20, env!.Encryption);
        Assert.Equal(5, env.Ciphertext.Length);
        Assert.Equal(Key, Convert.ToHexStringLower(env.EphemeralKey));
    }

    [Fact]
    public void TryParse_NoEncType_IsAesGcm_AndBase64KeysAreRead()
    {
        var b64 = Convert.ToBase64String(Convert.FromHexString(Key));
        var padded = OnionEnvelope.TryParse(Envelope(0, 0, $"{{\"ephemeral_key\":\"{b64}\"}}"), out _);
        var unpadded = OnionEnvelope.TryParse(Envelope(0, 0, $"{{\"ephemeral_key\":\"{b64.TrimEnd('=')}\"}}"), out _);

        Assert.Equal(OnionEncryption.AesGcm, padded!.Encryption);
        Assert.Equal(Key, Convert.ToHexStringLower(padded.EphemeralKey));
        Assert.Equal(Key, Convert.ToHexStringLower(unpadded!.EphemeralKey));
    }

    public static TheoryData<byte[], string> BadEnvelopes() => new()
    {
        { Array.Empty<byte>(), "envelope_too_short" },
        { new byte[] { 1, 0, 0 }, "envelope_too_short" },
        { Envelope(10, 9, ""), "envelope_length_exceeds_body" },
        { Envelope(-1, 4, $"{{\"ephemeral_key\":\"{Key}\"}}"), "envelope_length_exceeds_body" },
        { Envelope(int.MaxValue, 4, "{}"), "envelope_length_exceeds_body" },
        { Envelope(4, 4, ""), "metadata_not_json" },
        { Envelope(4, 4, "[1]"), "metadata_not_object" },
        { Envelope(4, 4, "{\"ephemeral_key\":"), "metadata_not_json" },
        { Envelope(4, 4, $"{{\"ephemeral_key\":\"{Key}\"}} x"), "metadata_not_json" },
        { Envelope(4, 4, $"{{\"ephemeral_key\":\"{Key}\"}}{{}}"), "metadata_not_json" },
        { Envelope(4, 4, "{}"), "no_ephemeral_key" },
        { Envelope(4, 4, "{\"enc_type\":\"gcm\"}"), "no_ephemeral_key" },
        { Envelope(4, 4, "{\"ephemeral_key\":\"zz67e97672005c669a48858c69895f395ca235219ac3f7a4210022b1f910e652\"}"), "bad_ephemeral_key" },
        { Envelope(4, 4, $"{{\"ephemeral_key\":\"{Key[..62]}\"}}"), "bad_ephemeral_key" },
        { Envelope(4, 4, $"{{\"ephemeral_key\":\"{Key}00\"}}"), "bad_ephemeral_key" },
        { Envelope(4, 4, "{\"ephemeral_key\":12}"), "bad_ephemeral_key" },
        { Envelope(4, 4, $"{{\"ephemeral_key\":\"{Key}\",\"ephemeral_key\":\"{Key}\"}}"), "bad_ephemeral_key" },
        { Envelope(4, 4, $"{{\"ephemeral_key\":\"{Key}\",\"enc_type\":\"chacha20\"}}"), "bad_enc_type" },
        { Envelope(4, 4, $"{{\"ephemeral_key\":\"{Key}\",\"enc_type\":\"AES-GCM\"}}"), "bad_enc_type" },
        { Envelope(4, 4, $"{{\"ephemeral_key\":\"{Key}\",\"enc_type\":null}}"), "bad_enc_type" },
    };

    [Theory]
    [MemberData(nameof(BadEnvelopes))]
    public void TryParse_BadEnvelope_NamesWhy(byte[] body, string expected)
    {
        Assert.Null(OnionEnvelope.TryParse(body, out var error));
        Assert.Equal(expected, error);
    }

    public static TheoryData<string, string> InvalidUtf8Metadata() => new()
    {
        { "{\"ephemeral_key\":\"", $"{Key}\"}}" },
        { $"{{\"ephemeral_key\":\"{Key}\",\"enc_type\":\"", "xchacha20\"}" },
        { $"{{\"ephemeral_key\":\"{Key}\",\"other\":\"", "\"}" },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8Metadata))]
    public void TryParse_InvalidUtf8InMetadata_IsNotJson(string before, string after)
    {
        // make fuzz (issue 17): a byte that is not UTF-8 inside a string made GetString throw InvalidOperationException.
        var body = Envelope(4, 4, before).Concat(new byte[] { 0xA7 }).Concat(Encoding.UTF8.GetBytes(after)).ToArray();

        Assert.Null(OnionEnvelope.TryParse(body, out var error));
        Assert.Equal("metadata_not_json", error);
    }

    [Fact]
    public void TryParseV3_InvalidUtf8InAKey_IsBadJson()
    {
        // make fuzz (issue 17): the duplicate-key check read the key with GetString, which threw.
        var payload = "{\"endpoint\":\"/rooms\",\"method\":\"GET\",\"~\":1}"u8.ToArray();
        payload[Array.IndexOf(payload, (byte)'~')] = 0xA7;

        Assert.Null(OnionPayload.TryParseV3(payload, out var error));
        Assert.Equal("bad_json", error);
    }

    [Fact]
    public void TryParseV4_MetaAndBody_GiveTheInnerRequest()
    {
        var meta = "{\"method\":\"POST\",\"endpoint\":\"/room/lobby/message?x=1\",\"headers\":{\"X-SOGS-Pubkey\":\"00ab\",\"X-SOGS-Timestamp\":1700000000,\"Content-Type\":\"application/json\"}}"u8.ToArray();
        var payload = OnionWire.Bencode(meta, "{\"data\":\"aGk=\"}"u8.ToArray());

        var request = OnionPayload.TryParseV4(payload, out var error);

        Assert.Null(error);
        Assert.Equal("POST", request!.Method);
        Assert.Equal("/room/lobby/message?x=1", request.PathAndQuery);
        Assert.Equal("00ab", request.Header("x-sogs-pubkey"));
        Assert.Equal("1700000000", request.Header("X-SOGS-Timestamp"));
        Assert.Equal("{\"data\":\"aGk=\"}", Encoding.UTF8.GetString(request.Body.Span));
    }

    [Fact]
    public void TryParseV4_MetaOnly_HasAnEmptyBody_AndUpstreamsExampleParses()
    {
        // The example in pysogs handle_v4_onionreq_plaintext's docstring.
        var payload = "l79:{\"method\":\"GET\",\"endpoint\":\"/room/some-room\",\"headers\":{\"Some-Header\":\"12345\"}}e"u8.ToArray();

        var request = OnionPayload.TryParseV4(payload, out var error);

        Assert.Null(error);
        Assert.Equal("GET", request!.Method);
        Assert.Equal("12345", request.Header("Some-Header"));
        Assert.True(request.Body.IsEmpty);
    }

    [Theory]
    [InlineData("", "not_a_bencoded_list")]
    [InlineData("l", "not_a_bencoded_list")]
    [InlineData("le", "bad_bencode")]
    [InlineData("x5:abcdee", "not_a_bencoded_list")]
    [InlineData("l5:abcde", "bad_bencode")]
    [InlineData("l5:abce", "bad_bencode")] // length past the end
    [InlineData("l05:{\"a\"}e", "bad_bencode")] // leading zero
    [InlineData("l:{}e", "bad_bencode")] // no digits
    [InlineData("l2{}e", "bad_bencode")] // no colon
    [InlineData("l99999999999:{}e", "bad_bencode")] // 11 digits
    [InlineData("l4294967298:{}e", "bad_bencode")] // overflows 32 bits, still bounded by the data
    [InlineData("l-2:{}e", "bad_bencode")]
    [InlineData("l2:{}Xe", "bad_bencode")] // one stray byte (pysogs silently ignores it; we refuse)
    [InlineData("l2:{}2:ab2:cde", "bad_bencode")] // three parts
    [InlineData("l2:{}2:abXe", "bad_bencode")] // stray bytes after the body
    [InlineData("l2:{}li1ee", "bad_bencode")] // nested list
    [InlineData("l2:[]e", "bad_meta")]
    [InlineData("l2:{}e", "missing_method_or_endpoint")]
    [InlineData("l3:{x}e", "bad_meta")]
    public void TryParseV4_Malformed_IsRefused(string payload, string expected)
    {
        Assert.Null(OnionPayload.TryParseV4(Encoding.UTF8.GetBytes(payload), out var error));
        Assert.Equal(expected, error);
    }

    [Theory]
    [InlineData("{\"method\":\"GET\",\"endpoint\":\"room/x\"}", "endpoint_not_absolute")]
    [InlineData("{\"method\":1,\"endpoint\":\"/x\"}", "missing_method_or_endpoint")]
    [InlineData("{\"method\":\"GET\"}", "missing_method_or_endpoint")]
    [InlineData("{\"method\":\"GET\",\"endpoint\":\"/x\",\"endpoint\":\"/y\"}", "bad_meta")]
    [InlineData("{\"method\":\"GET\",\"endpoint\":\"/x\",\"headers\":[]}", "bad_headers")]
    [InlineData("{\"method\":\"GET\",\"endpoint\":\"/x\",\"headers\":{\"A\":true}}", "bad_headers")]
    [InlineData("{\"method\":\"GET\",\"endpoint\":\"/x\",\"headers\":{\"A\":{}}}", "bad_headers")]
    [InlineData("{\"method\":\"GET\",\"endpoint\":\"/x\",\"headers\":{\"X-SOGS-Pubkey\":\"a\",\"x-sogs-pubkey\":\"b\"}}", "bad_headers")]
    [InlineData("{\"method\":\"GET\",\"endpoint\":\"/x\",\"headers\":{\"X-SOGS-Pubkey\":\"a\",\"X_SOGS_Pubkey\":\"b\"}}", "bad_headers")]
    public void TryParseV4_BadMeta_IsRefused(string meta, string expected)
    {
        Assert.Null(OnionPayload.TryParseV4(OnionWire.Bencode(Encoding.UTF8.GetBytes(meta)), out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void TryParseV4_MetaNotUtf8_IsRefused()
    {
        var meta = Encoding.UTF8.GetBytes("{\"method\":\"GET\",\"endpoint\":\"/x\",\"headers\":{\"A\":\"\u00e9\"}}");
        meta[^4] = 0xff;

        Assert.Null(OnionPayload.TryParseV4(OnionWire.Bencode(meta), out var error));
        Assert.Equal("bad_meta", error);
    }

    [Fact]
    public void TryParseV3_PostWithStringBody_AndLegacyEndpointWithAuthCode()
    {
        var post = OnionPayload.TryParseV3("{\"method\":\"POST\",\"endpoint\":\"/room/r/message\",\"body\":\"{\\\"data\\\":\\\"eA==\\\"}\",\"headers\":{\"X-SOGS-Pubkey\":\"15aa\"}}"u8.ToArray(), out var error);
        var legacy = OnionPayload.TryParseV3("{\"method\":\"GET\",\"endpoint\":\"rooms/r\",\"auth_code\":\"tok\",\"body\":\"null\"}"u8.ToArray(), out var legacyError);

        Assert.Null(error);
        Assert.Equal("{\"data\":\"eA==\"}", Encoding.UTF8.GetString(post!.Body.Span));
        Assert.Equal("15aa", post.Header("X-SOGS-Pubkey"));
        Assert.Equal("application/json", post.Header("content-type"));
        Assert.Null(legacyError);
        Assert.Equal("/legacy/rooms/r", legacy!.PathAndQuery);
        Assert.Equal("tok", legacy.Header("Authorization"));
        Assert.True(legacy.Body.IsEmpty);
    }

    [Theory]
    [InlineData("[]", "bad_json")]
    [InlineData(" {}", "bad_json")]
    [InlineData("{\"method\":\"GET\"", "bad_json")]
    [InlineData("{\"method\":\"GET\"}", "missing_method_or_endpoint")]
    [InlineData("{\"method\":\"GET\",\"endpoint\":\"/x\",\"body\":\"hi\"}", "body_on_bodiless_method")]
    [InlineData("{\"method\":\"POST\",\"endpoint\":\"/x\",\"body\":{\"a\":1}}", "bad_body")]
    [InlineData("{\"method\":\"POST\",\"endpoint\":\"/x\",\"method\":\"GET\"}", "duplicate_key")]
    public void TryParseV3_Malformed_IsRefused(string payload, string expected)
    {
        Assert.Null(OnionPayload.TryParseV3(Encoding.UTF8.GetBytes(payload), out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void V4Reply_IsTheBencodedPairSogsWrites()
    {
        var reply = OnionPayload.V4Reply(201, "application/json", "{\"id\": 1}"u8);

        Assert.Equal("l62:{\"code\": 201, \"headers\": {\"content-type\": \"application/json\"}}9:{\"id\": 1}e", Encoding.UTF8.GetString(reply));
        Assert.Equal(
            "l71:{\"code\": 400, \"headers\": {\"content-type\": \"text/plain; charset=utf-8\"}}24:Invalid v4 onion requeste",
            Encoding.UTF8.GetString(OnionPayload.V4InvalidReply()));
    }

    [Fact]
    public void V3Reply_SuccessIsTheBody_OtherwiseTheStatusCode()
    {
        Assert.Equal("{\"id\": 1}", Encoding.UTF8.GetString(OnionPayload.V3Reply(201, "{\"id\": 1}"u8)));
        Assert.Equal("{\"status_code\": 429}", Encoding.UTF8.GetString(OnionPayload.V3Reply(429, "filtration rejected message (profanity)"u8)));
    }

    [Fact]
    public void PythonJsonString_EscapesAsJsonDumps()
    {
        Assert.Equal("\"a\\\"b\\\\c\\u00e9\\u0001\"", OnionPayload.PythonJsonString("a\"b\\c\u00e9\u0001"));
    }
}
