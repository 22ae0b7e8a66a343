using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Gateway.Tests.Matrix;

/// <summary>
/// Signs federation requests as a homeserver does (server-server API, "Request Authentication"): ed25519 over the
/// canonical JSON of <c>{method, uri, origin, destination, content?}</c>, sent as
/// <c>Authorization: X-Matrix origin="…",destination="…",key="ed25519:…",sig="…"</c> with an unpadded base64 signature.
/// <c>uri</c> is the request target as sent: path and query, starting at <c>/_matrix</c>, without scheme or host.
/// </summary>
internal sealed class FederationSigner
{
    private readonly Ed25519PrivateKeyParameters _privateKey;

    /// <param name="serverName">the origin's server name (hostname[:port]) as it appears in the header</param>
    /// <param name="keyId">algorithm and version, e.g. <c>ed25519:a_AbCd</c></param>
    /// <param name="seed">the 32-byte ed25519 seed (what Synapse's signing key file holds, base64-decoded)</param>
    public FederationSigner(string serverName, string keyId, byte[] seed)
    {
        if (!keyId.StartsWith("ed25519:", StringComparison.Ordinal))
        {
            throw new ArgumentException("only ed25519 keys are defined by the spec", nameof(keyId));
        }

        ServerName = serverName;
        KeyId = keyId;
        _privateKey = new Ed25519PrivateKeyParameters(seed, 0);
        PublicKey = _privateKey.GeneratePublicKey().GetEncoded();
    }

    /// <summary>A signer with a fresh random key, as a new homeserver generates on first start.</summary>
    public static FederationSigner Generate(string serverName, string keyVersion = "test") =>
        new(serverName, "ed25519:" + keyVersion, RandomNumberGenerator.GetBytes(32));

    public string ServerName { get; }

    public string KeyId { get; }

    public byte[] PublicKey { get; }

    public string PublicKeyBase64 => UnpaddedBase64.Encode(PublicKey);

    /// <summary>The raw ed25519 signature of <paramref name="message"/>, unpadded base64.</summary>
    public string SignBytes(ReadOnlySpan<byte> message)
    {
        var signer = new Ed25519Signer();
        signer.Init(true, _privateKey);
        var bytes = message.ToArray();
        signer.BlockUpdate(bytes, 0, bytes.Length);
        return UnpaddedBase64.Encode(signer.GenerateSignature());
    }

    /// <summary>
    /// Signs a JSON object per the spec's "Signing Details": <c>signatures</c> and <c>unsigned</c> are removed, the
    /// rest is signed in canonical form, and the signature is added under <c>signatures.{server}.{key id}</c>.
    /// Returns the signed object (a copy).
    /// </summary>
    public JsonObject SignJson(JsonObject value)
    {
        var copy = value.DeepClone().AsObject();
        var signatures = copy["signatures"]?.DeepClone().AsObject() ?? [];
        var unsigned = copy["unsigned"]?.DeepClone();
        copy.Remove("signatures");
        copy.Remove("unsigned");
        var sig = SignBytes(CanonicalJson.Encode(copy));
        var mine = signatures[ServerName]?.AsObject();
        if (mine is null)
        {
            mine = [];
            signatures[ServerName] = mine;
        }

        mine[KeyId] = sig;
        copy["signatures"] = signatures;
        if (unsigned is not null)
        {
            copy["unsigned"] = unsigned;
        }

        return copy;
    }

    /// <summary>The value of the <c>Authorization</c> header for one request.</summary>
    /// <param name="uri">path and query exactly as they will be sent, e.g. <c>/_matrix/federation/v1/state/!r:hs?event_id=%24e</c></param>
    /// <param name="contentJson">the JSON body, or null for a request without one</param>
    public string Authorization(string method, string uri, string destination, string? contentJson)
    {
        var payload = XMatrixAuthorization.SigningPayload(method, uri, ServerName, destination, contentJson);
        return new XMatrixAuthorization(ServerName, destination, KeyId, SignBytes(payload)).ToString();
    }

    /// <summary>A signed request for <paramref name="pathAndQuery"/> (relative: give the HttpClient a BaseAddress).</summary>
    public HttpRequestMessage CreateRequest(HttpMethod method, string pathAndQuery, string destination, string? jsonBody = null)
    {
        var request = new HttpRequestMessage(method, pathAndQuery);
        if (jsonBody is not null)
        {
            request.Content = new StringContent(jsonBody, Encoding.UTF8, "application/json");
        }

        request.Headers.TryAddWithoutValidation("Authorization", Authorization(method.Method, pathAndQuery, destination, jsonBody));
        return request;
    }

    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, string signatureBase64)
    {
        if (publicKey.Length != Ed25519PublicKeyParameters.KeySize || !UnpaddedBase64.TryDecode(signatureBase64, out var signature))
        {
            return false;
        }

        var verifier = new Ed25519Signer();
        verifier.Init(false, new Ed25519PublicKeyParameters(publicKey.ToArray(), 0));
        var bytes = message.ToArray();
        verifier.BlockUpdate(bytes, 0, bytes.Length);
        return verifier.VerifySignature(signature);
    }
}

/// <summary>The parameters of an <c>X-Matrix</c> Authorization header.</summary>
internal sealed record XMatrixAuthorization(string Origin, string? Destination, string Key, string Signature)
{
    public override string ToString() =>
        Destination is null
            ? $"X-Matrix origin=\"{Origin}\",key=\"{Key}\",sig=\"{Signature}\""
            : $"X-Matrix origin=\"{Origin}\",destination=\"{Destination}\",key=\"{Key}\",sig=\"{Signature}\"";

    /// <summary>
    /// Parses the header value. Parameter names are case-insensitive, values quoted or bare (RFC 9110 auth-param,
    /// as the spec's v1.11 grammar says), separated by commas with optional whitespace. origin, key and sig are
    /// required; destination is optional for compatibility with senders older than spec v1.3.
    /// </summary>
    public static bool TryParse(string? header, out XMatrixAuthorization? value)
    {
        value = null;
        if (header is null || !header.StartsWith("X-Matrix ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var s = header.AsSpan("X-Matrix ".Length);
        var i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && (s[i] == ' ' || s[i] == ',' || s[i] == '\t'))
            {
                i++;
            }

            var nameStart = i;
            while (i < s.Length && s[i] != '=')
            {
                i++;
            }

            if (i >= s.Length)
            {
                break;
            }

            var name = s[nameStart..i].Trim().ToString();
            i++;
            var sb = new StringBuilder();
            if (i < s.Length && s[i] == '"')
            {
                i++;
                while (i < s.Length && s[i] != '"')
                {
                    if (s[i] == '\\' && i + 1 < s.Length)
                    {
                        i++;
                    }

                    sb.Append(s[i]);
                    i++;
                }

                if (i >= s.Length)
                {
                    return false;
                }

                i++;
            }
            else
            {
                while (i < s.Length && s[i] != ',')
                {
                    sb.Append(s[i]);
                    i++;
                }
            }

            parameters[name] = sb.ToString().Trim();
        }

        if (!parameters.TryGetValue("origin", out var origin) || !parameters.TryGetValue("key", out var key)
            || !parameters.TryGetValue("sig", out var sig))
        {
            return false;
        }

        parameters.TryGetValue("destination", out var destination);
        value = new XMatrixAuthorization(origin, destination, key, sig);
        return true;
    }

    /// <summary>The canonical JSON bytes that the signature covers.</summary>
    public static byte[] SigningPayload(string method, string uri, string origin, string? destination, string? contentJson)
    {
        // Built as text and re-encoded, so a body with duplicate keys is signed the way the receiver parses it
        // (last wins) instead of failing in JsonObject.
        using var text = new MemoryStream();
        using (var writer = new Utf8JsonWriter(text))
        {
            writer.WriteStartObject();
            writer.WriteString("method", method);
            writer.WriteString("uri", uri);
            writer.WriteString("origin", origin);
            if (destination is not null)
            {
                writer.WriteString("destination", destination);
            }

            if (contentJson is not null)
            {
                writer.WritePropertyName("content");
                writer.WriteRawValue(contentJson, skipInputValidation: false);
            }

            writer.WriteEndObject();
        }

        using var doc = JsonDocument.Parse(text.ToArray());
        return CanonicalJson.Encode(doc.RootElement);
    }
}

/// <summary>Unpadded base64 (spec appendices): RFC 4648 standard alphabet without <c>=</c>; decoding accepts both.</summary>
internal static class UnpaddedBase64
{
    public static string Encode(ReadOnlySpan<byte> data) => Convert.ToBase64String(data).TrimEnd('=');

    public static bool TryDecode(string text, out byte[] data)
    {
        var padded = text.TrimEnd('=');
        padded += (padded.Length % 4) switch
        {
            2 => "==",
            3 => "=",
            _ => "",
        };
        data = new byte[padded.Length];
        if (padded.Length % 4 == 1 || !Convert.TryFromBase64String(padded, data, out var written))
        {
            data = [];
            return false;
        }

        data = data[..written];
        return true;
    }

    public static byte[] Decode(string text) =>
        TryDecode(text, out var data) ? data : throw new FormatException("not base64: " + text.Length.ToString(CultureInfo.InvariantCulture) + " chars");
}
