using System.Globalization;
using System.Text;

namespace Gateway.Protocols.Sogs;

/// <summary>Who signed a request, after <see cref="SogsAuth"/> checked it.</summary>
/// <param name="SessionId">SOGS's name for the user: <c>15…</c> for a blinded key, <c>05…</c> (the X25519 form) for an unblinded one.</param>
/// <param name="Blinded">True for a <c>15</c> key.</param>
/// <param name="Key">The 32-byte Ed25519 key the request was signed with.</param>
internal sealed record SogsUser(string SessionId, bool Blinded, byte[] Key);

/// <summary>The outcome of checking the X-SOGS-* headers: a user, nobody (no headers at all), or SOGS's refusal.</summary>
internal readonly record struct SogsAuthResult(SogsUser? User, int Status, string? Error)
{
    public static SogsAuthResult Anonymous => new(null, 0, null);

    public bool Failed => Error is not null;

    public static SogsAuthResult Fail(int status, string error) => new(null, status, error);
}

/// <summary>
/// Verifies X-SOGS-Pubkey/Nonce/Timestamp/Signature exactly as session-pysogs does (<c>sogs/routes/auth.py</c>
/// <c>handle_http_auth</c>), with the same statuses and plain-text reasons: 400 for unreadable headers, 425 for a
/// timestamp more than 24 h off or a reused nonce, 401 for a signature that does not verify. The signed bytes are the
/// server's X25519 key ‖ nonce ‖ timestamp text ‖ method ‖ path (URL-decoded, as Flask's <c>request.path</c>)
/// [‖ '?' query] [‖ BLAKE2b-512(body)]. Like SOGS, a nonce is spent before the signature is checked.
/// </summary>
internal sealed class SogsAuth(byte[] serverPubkey, bool requireBlindKeys, SogsNonces nonces, TimeProvider time)
{
    public const int BadRequest = 400;
    public const int Unauthorized = 401;
    public const int TooEarly = 425;

    public bool RequireBlindKeys => requireBlindKeys;

    public SogsAuthResult Verify(SogsRequest request)
    {
        var pk = request.Header("X-SOGS-Pubkey");
        var nonceText = request.Header("X-SOGS-Nonce");
        var tsText = request.Header("X-SOGS-Timestamp");
        var sigText = request.Header("X-SOGS-Signature");
        var missing = (string.IsNullOrEmpty(pk) ? 1 : 0) + (string.IsNullOrEmpty(nonceText) ? 1 : 0)
            + (string.IsNullOrEmpty(tsText) ? 1 : 0) + (string.IsNullOrEmpty(sigText) ? 1 : 0);
        if (missing == 4)
        {
            return SogsAuthResult.Anonymous;
        }

        if (missing > 0)
        {
            return SogsAuthResult.Fail(BadRequest, $"Invalid authentication headers: missing {missing}/4 required X-SOGS-* headers");
        }

        var key = DecodeHexOrBase64(pk!, 33);
        if (key is null)
        {
            return SogsAuthResult.Fail(BadRequest, "Invalid authentication: X-SOGS-Pubkey is not a valid 66-hex digit id");
        }

        if (key[0] is not (0x00 or 0x15))
        {
            return SogsAuthResult.Fail(BadRequest, "Invalid authentication: X-SOGS-Pubkey must be 00- or 15- prefixed");
        }

        var blinded = key[0] == 0x15;
        var ed = key.AsSpan(1).ToArray();
        if (!SogsCrypto.IsCanonicalPoint(ed))
        {
            return SogsAuthResult.Fail(BadRequest, "Invalid authentication: given X-SOGS-Pubkey is not a valid Ed25519 pubkey");
        }

        string sessionId;
        if (blinded)
        {
            sessionId = "15" + Convert.ToHexStringLower(ed);
        }
        else if (requireBlindKeys)
        {
            return SogsAuthResult.Fail(BadRequest, "Invalid authentication: this server requires the use of blinded ids");
        }
        else if (SogsCrypto.Ed25519ToX25519(ed, checkSubgroup: false) is { } x)
        {
            sessionId = "05" + Convert.ToHexStringLower(x);
        }
        else
        {
            return SogsAuthResult.Fail(BadRequest, "Invalid authentication: given X-SOGS-Pubkey is not a valid Ed25519 pubkey");
        }

        var nonce = DecodeHexOrBase64(nonceText!, 16);
        if (nonce is null)
        {
            return SogsAuthResult.Fail(BadRequest, "Invalid authentication: X-SOGS-Nonce must be 16 bytes (encoded as base64 or hex)");
        }

        var sig = DecodeHexOrBase64(sigText!, 64);
        if (sig is null)
        {
            return SogsAuthResult.Fail(BadRequest, "Invalid authentication: X-SOGS-Signature is not base64[88]");
        }

        // Python's int() accepts surrounding whitespace, a sign and underscores between digits; SOGS signs the text as sent.
        if (!long.TryParse(tsText!.Trim().Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ts))
        {
            return SogsAuthResult.Fail(BadRequest, "Invalid authentication: X-SOGS-Timestamp is not a valid timestamp");
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        if (!(now - 86400 <= ts && ts <= now + 86400))
        {
            return SogsAuthResult.Fail(TooEarly, "Invalid authentication: X-SOGS-Timestamp is too far from current time");
        }

        if (!nonces.TryUse(sessionId, nonce))
        {
            return SogsAuthResult.Fail(TooEarly, "Invalid authentication: X-SOGS-Nonce cannot be reused");
        }

        if (!SogsCrypto.VerifyEd25519(ed, SignedBytes(serverPubkey, nonce, tsText, request), sig))
        {
            return SogsAuthResult.Fail(Unauthorized, "Invalid authentication: X-SOGS-Signature verification failed");
        }

        // pysogs checks this before the nonce; the gateway after the signature, so only signed keys cost a scalar
        // multiplication. Either way the request is refused with SOGS's answer and nothing is forwarded.
        if (!SogsCrypto.InPrimeSubgroup(ed))
        {
            return SogsAuthResult.Fail(BadRequest, "Invalid authentication: given X-SOGS-Pubkey is not a valid Ed25519 pubkey");
        }

        return new SogsAuthResult(new SogsUser(sessionId, blinded, ed), 0, null);
    }

    /// <summary>The bytes a client signs (also used by the tests' client, which is written from the spec instead).</summary>
    internal static byte[] SignedBytes(byte[] serverPubkey, byte[] nonce, string timestamp, SogsRequest request)
    {
        var (path, query) = SplitTarget(request.PathAndQuery);
        using var ms = new MemoryStream();
        ms.Write(serverPubkey);
        ms.Write(nonce);
        ms.Write(Encoding.UTF8.GetBytes(timestamp));
        ms.Write(Encoding.UTF8.GetBytes(request.Method));
        ms.Write(Encoding.UTF8.GetBytes(path));
        if (query.Length > 0)
        {
            ms.WriteByte((byte)'?');
            ms.Write(Encoding.Latin1.GetBytes(query));
        }

        if (!request.Body.IsEmpty)
        {
            ms.Write(SogsCrypto.Blake2b512(request.Body.Span));
        }

        return ms.ToArray();
    }

    /// <summary>The URL-decoded path (Flask's <c>request.path</c>) and the raw query string.</summary>
    internal static (string Path, string Query) SplitTarget(string pathAndQuery)
    {
        var q = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        var path = q < 0 ? pathAndQuery : pathAndQuery[..q];
        var query = q < 0 ? string.Empty : pathAndQuery[(q + 1)..];
        if (path.Contains('%', StringComparison.Ordinal))
        {
            path = Uri.UnescapeDataString(path);
        }

        return (path, query);
    }

    /// <summary>pysogs <c>utils.decode_hex_or_b64</c>: hex when exactly 2·size digits, else (un)padded base64 of exactly size bytes.</summary>
    internal static byte[]? DecodeHexOrBase64(string text, int size)
    {
        if (text.Length == size * 2)
        {
            try
            {
                return Convert.FromHexString(text);
            }
            catch (FormatException)
            {
                return null;
            }
        }

        var padded = (size + 2) / 3 * 4;
        var unpadded = ((size * 4) + 2) / 3;
        if (text.Length < unpadded || text.Length > padded)
        {
            return null;
        }

        var decoded = DecodeBase64(text);
        return decoded is not null && decoded.Length == size ? decoded : null;
    }

    /// <summary>pysogs <c>utils.decode_base64</c>: standard alphabet, padding optional, anything else refused.</summary>
    internal static byte[]? DecodeBase64(string text)
    {
        if (text.Length % 4 is 2 or 3 && !text.EndsWith('='))
        {
            text += new string('=', 4 - (text.Length % 4));
        }

        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>
/// Nonces already used, per user, for as long as a timestamp stays acceptable (SOGS's window is ±24 h); bounded, the
/// oldest forgotten first. A nonce forgotten early is still refused by SOGS itself, which keeps its own table.
/// </summary>
internal sealed class SogsNonces(TimeProvider time, int capacity)
{
    private static readonly TimeSpan Keep = TimeSpan.FromHours(48);
    private readonly object _gate = new();

    // A 128-bit digest of (session id, nonce) per entry, not the ~100-character string: ~110 bytes an entry with the tables'
    // slack and no heap object (the string key cost 286 bytes, 57 MB at the default capacity of 200,000; CompactStoreTests). A collision would refuse one
    // fresh request as a replay; at 2^-128 a pair it does not happen.
    private readonly HashSet<UInt128> _seen = new();
    private readonly Queue<(UInt128 Key, DateTimeOffset At)> _order = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _seen.Count;
            }
        }
    }

    public bool TryUse(string sessionId, byte[] nonce)
    {
        var key = Key(sessionId, nonce);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            while (_order.Count > 0 && (_order.Count >= capacity || now - _order.Peek().At > Keep))
            {
                _seen.Remove(_order.Dequeue().Key);
            }

            if (!_seen.Add(key))
            {
                return false;
            }

            _order.Enqueue((key, now));
            return true;
        }
    }

    private static UInt128 Key(string sessionId, byte[] nonce)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(sessionId));
        hash.AppendData([0]); // the session id is hex and never holds a NUL: (id, nonce) pairs cannot run together
        hash.AppendData(nonce);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(digest);
    }
}
