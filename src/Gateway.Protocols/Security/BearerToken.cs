using System.Security.Cryptography;
using System.Text;
using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Security;

/// <summary>
/// The one bearer-token check, in constant time: both sides are hashed first, so neither content nor length leaks
/// through timing. Used by the admin API and the Matrix antispam callbacks.
/// </summary>
public static class BearerToken
{
    private const string Scheme = "Bearer ";

    /// <summary>Whether <paramref name="authorization"/> is <c>Bearer &lt;token&gt;</c> (scheme case-insensitive, token trimmed) with the expected token.</summary>
    public static bool Matches(string? authorization, Secret expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = authorization.AsSpan(Scheme.Length).Trim();
        Span<byte> presentedHash = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> expectedHash = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(presented.ToString());
        SHA256.HashData(bytes, presentedHash);
        SHA256.HashData(expected.Value, expectedHash);
        CryptographicOperations.ZeroMemory(bytes);
        return CryptographicOperations.FixedTimeEquals(presentedHash, expectedHash);
    }
}
