using System.Security.Cryptography;
using System.Text;

namespace Gateway.Tests.Lemmy;

/// <summary>
/// HTTP Signatures as Lemmy and Mastodon send them to an inbox (draft-cavage-http-signatures, rsa-sha256): a
/// <c>Digest: SHA-256=…</c> of the body, and a <c>Signature</c> over <c>(request-target) host date digest</c>.
/// Verification is what activitypub-federation does on the receiving side, with the actor's public key.
/// </summary>
internal static class HttpSignature
{
    public const string SignedHeaders = "(request-target) host date digest";

    public static string Digest(byte[] body) => "SHA-256=" + Convert.ToBase64String(SHA256.HashData(body));

    /// <summary>Signs <paramref name="request"/> (a POST with <paramref name="body"/> to <paramref name="host"/>) with <paramref name="key"/>.</summary>
    public static void Sign(HttpRequestMessage request, byte[] body, string host, string keyId, RSA key, string date = "Tue, 01 Dec 2026 12:00:00 GMT")
    {
        var digest = Digest(body);
        request.Headers.Host = host;
        request.Headers.TryAddWithoutValidation("Date", date);
        request.Headers.TryAddWithoutValidation("Digest", digest);
        var target = "post " + request.RequestUri!.OriginalString;
        var signingString = $"(request-target): {target}\nhost: {host}\ndate: {date}\ndigest: {digest}";
        var signature = Convert.ToBase64String(key.SignData(Encoding.UTF8.GetBytes(signingString), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        request.Headers.TryAddWithoutValidation("Signature",
            $"keyId=\"{keyId}\",algorithm=\"rsa-sha256\",headers=\"{SignedHeaders}\",signature=\"{signature}\"");
    }

    /// <summary>Verifies a received request: the digest matches the body and the signature the key of its keyId.</summary>
    public static bool Verify(string method, string pathAndQuery, Func<string, string?> header, byte[] body, Func<string, RSA?> keyOf)
    {
        var sig = header("signature");
        if (sig is null || header("digest") != Digest(body))
        {
            return false;
        }

        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in sig.Split(','))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                parts[part[..eq].Trim()] = part[(eq + 1)..].Trim().Trim('"');
            }
        }

        if (!parts.TryGetValue("keyId", out var keyId) || keyOf(keyId) is not { } key || !parts.TryGetValue("signature", out var signature)
            || !parts.TryGetValue("headers", out var headers))
        {
            return false;
        }

        var lines = new List<string>();
        foreach (var name in headers.Split(' '))
        {
            lines.Add(name == "(request-target)" ? $"(request-target): {method.ToLowerInvariant()} {pathAndQuery}" : $"{name}: {header(name)}");
        }

        return key.VerifyData(Encoding.UTF8.GetBytes(string.Join('\n', lines)), Convert.FromBase64String(signature), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }
}
