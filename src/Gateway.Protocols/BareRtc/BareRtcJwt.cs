using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gateway.Protocols.BareRtc;

/// <summary>Who a verified login token says the user is (BareRTC's pkg/jwt: <c>sub</c> = username, <c>op</c> = operator).</summary>
internal readonly record struct BareRtcIdentity(string Username, bool Operator);

/// <summary>
/// Verifies BareRTC login tokens as the server does: HS256 with the site's shared secret, expiry checked. Anything
/// else (another algorithm, a bad signature, expired, no subject) is not an identity: the session falls back to the
/// name the server confirms, never to the token's unverified claims.
/// </summary>
internal sealed class BareRtcJwt(byte[] secret, TimeProvider time)
{
    public BareRtcIdentity? Verify(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 16 * 1024)
        {
            return null;
        }

        var first = token.IndexOf('.');
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (first <= 0 || second <= first + 1 || token.IndexOf('.', second + 1) >= 0)
        {
            return null;
        }

        try
        {
            var header = Base64Url.DecodeFromChars(token.AsSpan(0, first));
            using (var h = JsonDocument.Parse(header))
            {
                if (!h.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != "HS256")
                {
                    return null;
                }
            }

            var signature = Base64Url.DecodeFromChars(token.AsSpan(second + 1));
            var expected = HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(token, 0, second));
            if (!CryptographicOperations.FixedTimeEquals(signature, expected))
            {
                return null;
            }

            var payload = Base64Url.DecodeFromChars(token.AsSpan(first + 1, second - first - 1));
            using var doc = JsonDocument.Parse(payload);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var now = time.GetUtcNow().ToUnixTimeSeconds();
            if (root.TryGetProperty("exp", out var exp) && (!exp.TryGetDouble(out var e) || e <= now))
            {
                return null;
            }

            if (root.TryGetProperty("nbf", out var nbf) && (!nbf.TryGetDouble(out var n) || n > now))
            {
                return null;
            }

            if (!root.TryGetProperty("sub", out var sub) || sub.ValueKind != JsonValueKind.String || sub.GetString() is not { Length: > 0 } subject)
            {
                return null;
            }

            var op = root.TryGetProperty("op", out var o) && o.ValueKind == JsonValueKind.True;
            return new BareRtcIdentity(subject, op);
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException)
        {
            return null;
        }
    }
}
