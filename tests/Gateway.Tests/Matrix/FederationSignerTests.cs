using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Tests.Matrix;

/// <summary>Canonical JSON, unpadded base64 and ed25519 signing checked against the spec's own examples.</summary>
public sealed class FederationSignerTests
{
    // Spec appendices, "Cryptographic test vectors": SIGNING_KEY_SEED, entity "domain", key id "ed25519:1".
    private const string SpecSeed = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1";

    private static FederationSigner SpecSigner() => new("domain", "ed25519:1", UnpaddedBase64.Decode(SpecSeed));

    // Spec appendices, "Canonical JSON" → "Examples" (input, expected), plus the grammar's escaping rules.
    [Theory]
    [InlineData("{}", "{}")]
    [InlineData("{\n    \"one\": 1,\n    \"two\": \"Two\"\n}", "{\"one\":1,\"two\":\"Two\"}")]
    [InlineData("{\n    \"b\": \"2\",\n    \"a\": \"1\"\n}", "{\"a\":\"1\",\"b\":\"2\"}")]
    [InlineData("{\"b\":\"2\",\"a\":\"1\"}", "{\"a\":\"1\",\"b\":\"2\"}")]
    [InlineData(
        "{\"auth\":{\"success\":true,\"mxid\":\"@john.doe:example.com\",\"profile\":{\"display_name\":\"John Doe\",\"three_pids\":[{\"medium\":\"email\",\"address\":\"john.doe@example.org\"},{\"medium\":\"msisdn\",\"address\":\"123456789\"}]}}}",
        "{\"auth\":{\"mxid\":\"@john.doe:example.com\",\"profile\":{\"display_name\":\"John Doe\",\"three_pids\":[{\"address\":\"john.doe@example.org\",\"medium\":\"email\"},{\"address\":\"123456789\",\"medium\":\"msisdn\"}]},\"success\":true}}")]
    [InlineData("{\"a\": \"日本語\"}", "{\"a\":\"日本語\"}")]
    [InlineData("{\"本\": 2, \"日\": 1}", "{\"日\":1,\"本\":2}")]
    [InlineData("{\"a\": \"\\u65E5\"}", "{\"a\":\"日\"}")]
    [InlineData("{\"a\": null}", "{\"a\":null}")]
    // Escapes: only " \ and control characters; \u00xx in lower-case hex; "/" and U+2028 stay raw.
    [InlineData("{\"a\":\"q\\\"b\\\\s\\/l\"}", "{\"a\":\"q\\\"b\\\\s/l\"}")]
    [InlineData("{\"a\":\"\\u0001\\u001F\\b\\f\\n\\r\\t\\u007f\\u2028\"}", "{\"a\":\"\\u0001\\u001f\\b\\f\\n\\r\\t\u007f\u2028\"}")]
    // Keys by code point: U+FB01 (BMP) before U+1F600 (a surrogate pair, which UTF-16 ordinal order puts first).
    [InlineData("{\"\\ud83d\\ude00\":1,\"\\ufb01\":2}", "{\"ﬁ\":2,\"😀\":1}")]
    // Duplicate keys: the last wins, as in Python's json module (the spec's reference encoder).
    [InlineData("{\"a\":1,\"a\":2}", "{\"a\":2}")]
    [InlineData("[1, -2, 9007199254740991, -9007199254740991, true, false]", "[1,-2,9007199254740991,-9007199254740991,true,false]")]
    public void Encode_SpecExamples_ProducesCanonicalForm(string input, string expected) =>
        Assert.Equal(expected, CanonicalJson.EncodeToString(input));

    [Theory]
    [InlineData("{\"a\":1.5}")]
    [InlineData("{\"a\":1.0}")]
    [InlineData("{\"a\":1e3}")]
    [InlineData("{\"a\":9007199254740992}")]
    [InlineData("{\"a\":-9007199254740992}")]
    public void Encode_FloatOrUnsafeInteger_IsRefused(string input) =>
        Assert.Throws<FormatException>(() => CanonicalJson.Encode(input));

    [Theory]
    [InlineData("", "")]
    [InlineData("f", "Zg")]
    [InlineData("fo", "Zm8")]
    [InlineData("foo", "Zm9v")]
    [InlineData("foob", "Zm9vYg")]
    [InlineData("fooba", "Zm9vYmE")]
    [InlineData("foobar", "Zm9vYmFy")]
    public void UnpaddedBase64_SpecExamples_RoundTrip(string plain, string encoded)
    {
        Assert.Equal(encoded, UnpaddedBase64.Encode(Encoding.ASCII.GetBytes(plain)));
        Assert.Equal(plain, Encoding.ASCII.GetString(UnpaddedBase64.Decode(encoded)));
        Assert.Equal(plain, Encoding.ASCII.GetString(UnpaddedBase64.Decode(Convert.ToBase64String(Encoding.ASCII.GetBytes(plain)))));
    }

    [Theory]
    [InlineData("{}", "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ")]
    [InlineData("{\"one\": 1, \"two\": \"Two\"}", "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw")]
    public void SignJson_SpecTestVectors_MatchAndVerify(string json, string expectedSignature)
    {
        var signer = SpecSigner();
        var signed = signer.SignJson(JsonNode.Parse(json)!.AsObject());
        Assert.Equal(expectedSignature, signed["signatures"]!["domain"]!["ed25519:1"]!.GetValue<string>());
        Assert.True(FederationSigner.Verify(signer.PublicKey, CanonicalJson.Encode(json), expectedSignature));
        Assert.False(FederationSigner.Verify(signer.PublicKey, CanonicalJson.Encode("{\"one\":2}"), expectedSignature));
    }

    [Fact]
    public void SignJson_UnsignedAndExistingSignatures_AreNotCoveredAndKept()
    {
        var signer = SpecSigner();
        var signed = signer.SignJson(new JsonObject
        {
            ["one"] = 1,
            ["two"] = "Two",
            ["unsigned"] = new JsonObject { ["age_ts"] = 922834800000 },
            ["signatures"] = new JsonObject { ["other"] = new JsonObject { ["ed25519:x"] = "abc" } },
        });
        Assert.Equal("KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw",
            signed["signatures"]!["domain"]!["ed25519:1"]!.GetValue<string>());
        Assert.Equal("abc", signed["signatures"]!["other"]!["ed25519:x"]!.GetValue<string>());
        Assert.Equal(922834800000, signed["unsigned"]!["age_ts"]!.GetValue<long>());
    }

    [Fact]
    public void Authorization_SignsMethodUriOriginDestinationContent_AndParsesBack()
    {
        var signer = FederationSigner.Generate("origin.test:8448", "k1");
        const string uri = "/_matrix/federation/v1/send/txn%201?x=%21y";
        const string body = "{\"origin\":\"origin.test:8448\",\"pdus\":[],\"origin_server_ts\":1}";
        var header = signer.Authorization("PUT", uri, "dest.test", body);

        Assert.StartsWith("X-Matrix origin=\"origin.test:8448\",destination=\"dest.test\",key=\"ed25519:k1\",sig=\"", header);
        Assert.True(XMatrixAuthorization.TryParse(header, out var parsed));
        Assert.Equal(new XMatrixAuthorization("origin.test:8448", "dest.test", "ed25519:k1", parsed!.Signature), parsed);
        Assert.DoesNotContain('=', parsed.Signature);

        // What the receiver verifies: the canonical JSON of {method, uri, origin, destination, content}.
        var expectedPayload = "{\"content\":{\"origin\":\"origin.test:8448\",\"origin_server_ts\":1,\"pdus\":[]},\"destination\":\"dest.test\","
            + "\"method\":\"PUT\",\"origin\":\"origin.test:8448\",\"uri\":\"/_matrix/federation/v1/send/txn%201?x=%21y\"}";
        Assert.Equal(expectedPayload, Encoding.UTF8.GetString(XMatrixAuthorization.SigningPayload("PUT", uri, "origin.test:8448", "dest.test", body)));
        Assert.True(FederationSigner.Verify(signer.PublicKey, Encoding.UTF8.GetBytes(expectedPayload), parsed.Signature));
        // Any change to the signed parts breaks it: another uri spelling, another body, another destination.
        Assert.False(FederationSigner.Verify(signer.PublicKey, XMatrixAuthorization.SigningPayload("PUT", "/_matrix/federation/v1/send/txn%201?x=!y", "origin.test:8448", "dest.test", body), parsed.Signature));
        Assert.False(FederationSigner.Verify(signer.PublicKey, XMatrixAuthorization.SigningPayload("PUT", uri, "origin.test:8448", "dest.test", "{\"pdus\":[]}"), parsed.Signature));
        Assert.False(FederationSigner.Verify(signer.PublicKey, XMatrixAuthorization.SigningPayload("PUT", uri, "origin.test:8448", "other.test", body), parsed.Signature));
    }

    [Theory]
    [InlineData("X-Matrix origin=a.test,key=\"ed25519:1\",sig=\"c2ln\"", "a.test", null)]
    [InlineData("X-Matrix origin=\"a.test\", destination=\"b.test\", key=\"ed25519:1\", sig=\"c2ln\"", "a.test", "b.test")]
    [InlineData("x-matrix ORIGIN=\"a.test:8448\",Destination=b.test,Key=ed25519:1,Sig=c2ln", "a.test:8448", "b.test")]
    public void TryParse_QuotedOrBareParameters_Parse(string header, string origin, string? destination)
    {
        Assert.True(XMatrixAuthorization.TryParse(header, out var x));
        Assert.Equal(origin, x!.Origin);
        Assert.Equal(destination, x.Destination);
        Assert.Equal("ed25519:1", x.Key);
        Assert.Equal("c2ln", x.Signature);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer abc")]
    [InlineData("X-Matrix origin=\"a.test\",key=\"ed25519:1\"")]
    [InlineData("X-Matrix origin=\"a.test,key=ed25519:1,sig=x")]
    public void TryParse_IncompleteHeader_Fails(string? header) => Assert.False(XMatrixAuthorization.TryParse(header, out _));
}
