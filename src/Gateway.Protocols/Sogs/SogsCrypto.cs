using System.Collections.Concurrent;
using System.Numerics;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Gateway.Protocols.Sogs;

/// <summary>
/// The Ed25519 arithmetic SOGS relies on and .NET lacks: key validity (libsodium's
/// <c>crypto_core_ed25519_is_valid_point</c>), the Ed25519 → X25519 conversion that turns an unblinded <c>00</c> key
/// into its <c>05</c> Session ID, and the blinded <c>15</c> id of a Session ID for one server
/// (session-pysogs <c>sogs/crypto.py</c> <c>compute_blinded_abs_key</c>: k = reduce(BLAKE2b-512(server X25519 key)),
/// blinded = k·A with A the positive Ed25519 key of the Session ID's X25519 key). Signatures are checked with
/// BouncyCastle. Point maths is in <see cref="BigInteger"/>s: it runs once per configured id or per new request key
/// (cached), never per byte of traffic.
/// </summary>
internal static class SogsCrypto
{
    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
    private static readonly BigInteger L = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493");
    private static readonly BigInteger D = Mod(-121665 * Inverse(121666));
    private static readonly BigInteger D2 = Mod(2 * D);
    private static readonly BigInteger SqrtM1 = BigInteger.ModPow(2, (P - 1) / 4, P);
    private static readonly ConcurrentDictionary<string, bool> ValidKeys = new(StringComparer.Ordinal);

    /// <summary>BLAKE2b with a 64-byte digest, as SOGS hashes request bodies and the blinding factor's input.</summary>
    public static byte[] Blake2b512(ReadOnlySpan<byte> data)
    {
        var digest = new Blake2bDigest(512);
        digest.BlockUpdate(data);
        var output = new byte[64];
        digest.DoFinal(output, 0);
        return output;
    }

    public static bool VerifyEd25519(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        publicKey.Length == 32 && signature.Length == 64 && Ed25519.Verify(signature.ToArray(), 0, publicKey.ToArray(), 0, message.ToArray(), 0, message.Length);

    /// <summary>
    /// libsodium's <c>crypto_core_ed25519_is_valid_point</c>: a canonical encoding of a point on the curve, in the
    /// prime-order subgroup, not of small order. Answers are cached (bounded) because the same keys come back.
    /// </summary>
    public static bool IsValidPoint(ReadOnlySpan<byte> key)
    {
        if (key.Length != 32)
        {
            return false;
        }

        var hex = Convert.ToHexString(key);
        if (ValidKeys.TryGetValue(hex, out var known))
        {
            return known;
        }

        var valid = Decode(key) is { } point && !IsIdentity(Double(Double(Double(point)))) && IsIdentity(Multiply(point, L));
        if (ValidKeys.Count > 50_000)
        {
            ValidKeys.Clear();
        }

        ValidKeys[hex] = valid;
        return valid;
    }

    /// <summary>
    /// libsodium's <c>crypto_sign_ed25519_pk_to_curve25519</c>: the X25519 key (u = (1+y)/(1−y)) of a valid Ed25519
    /// key, null for an invalid one. SOGS names an unblinded (<c>00</c>) user by <c>05</c> + this.
    /// </summary>
    public static byte[]? Ed25519ToX25519(ReadOnlySpan<byte> edKey)
    {
        if (!IsValidPoint(edKey))
        {
            return null;
        }

        var y = ReadLittleEndian(edKey, clearTopBit: true);
        var u = Mod((1 + y) * Inverse(Mod(1 - y)));
        return WriteLittleEndian(u);
    }

    /// <summary>The blinding factor k of a server: BLAKE2b-512 of its X25519 public key, reduced mod L.</summary>
    public static BigInteger BlindingFactor(ReadOnlySpan<byte> serverX25519Key) =>
        BigInteger.Remainder(new BigInteger(Blake2b512(serverX25519Key), isUnsigned: true, isBigEndian: false), L);

    /// <summary>
    /// The positive blinded key (sign bit cleared) of an X25519 Session key for the server whose factor is
    /// <paramref name="k"/>; null when the key is not a point (a mistyped id).
    /// </summary>
    public static byte[]? BlindedAbsKey(ReadOnlySpan<byte> x25519Key, BigInteger k)
    {
        if (x25519Key.Length != 32)
        {
            return null;
        }

        // xed25519: the Ed25519 key whose Montgomery form is u, taken with the positive sign.
        var u = ReadLittleEndian(x25519Key, clearTopBit: true);
        if (Mod(u + 1).IsZero)
        {
            return null;
        }

        var y = Mod((u - 1) * Inverse(Mod(u + 1)));
        var encoded = WriteLittleEndian(y);
        if (Decode(encoded) is not { } a)
        {
            return null;
        }

        var blinded = Encode(Multiply(a, k));
        blinded[31] &= 0x7F;
        return blinded;
    }

    /// <summary>Clears the sign bit of a 32-byte key: the form SOGS compares blinded ids in (<c>blinded_abs</c>).</summary>
    public static byte[] Abs(ReadOnlySpan<byte> key)
    {
        var copy = key.ToArray();
        copy[31] &= 0x7F;
        return copy;
    }

    // ---- Edwards curve −x² + y² = 1 + d·x²·y², extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, x·y = T/Z.

    private readonly record struct Point(BigInteger X, BigInteger Y, BigInteger Z, BigInteger T);

    private static Point Identity => new(0, 1, 1, 0);

    private static Point? Decode(ReadOnlySpan<byte> encoded)
    {
        var y = ReadLittleEndian(encoded, clearTopBit: true);
        if (y >= P)
        {
            return null; // not canonical
        }

        var sign = (encoded[31] & 0x80) != 0;
        var y2 = y * y % P;
        var u = Mod(y2 - 1);
        var v = Mod(D * y2 + 1);
        var x2 = u * Inverse(v) % P;
        var x = BigInteger.ModPow(x2, (P + 3) / 8, P);
        if (Mod(x * x - x2) != 0)
        {
            x = x * SqrtM1 % P;
            if (Mod(x * x - x2) != 0)
            {
                return null; // not on the curve
            }
        }

        if (x.IsZero && sign)
        {
            return null;
        }

        if (!x.IsEven != sign)
        {
            x = P - x;
        }

        return new Point(x, y, 1, x * y % P);
    }

    private static byte[] Encode(Point p)
    {
        var zi = Inverse(p.Z);
        var x = p.X * zi % P;
        var y = p.Y * zi % P;
        var bytes = WriteLittleEndian(y);
        if (!x.IsEven)
        {
            bytes[31] |= 0x80;
        }

        return bytes;
    }

    private static bool IsIdentity(Point p) => Mod(p.X).IsZero && Mod(p.Y - p.Z).IsZero;

    // add-2008-hwcd-3: unified, so it doubles too.
    private static Point Add(Point a, Point b)
    {
        var pa = Mod((a.Y - a.X) * (b.Y - b.X));
        var pb = Mod((a.Y + a.X) * (b.Y + b.X));
        var c = Mod(a.T * D2 % P * b.T);
        var d = Mod(2 * a.Z * b.Z);
        var e = pb - pa;
        var f = d - c;
        var g = d + c;
        var h = pb + pa;
        return new Point(Mod(e * f), Mod(g * h), Mod(f * g), Mod(e * h));
    }

    private static Point Double(Point a) => Add(a, a);

    private static Point Multiply(Point p, BigInteger scalar)
    {
        var result = Identity;
        var addend = p;
        while (!scalar.IsZero)
        {
            if (!scalar.IsEven)
            {
                result = Add(result, addend);
            }

            addend = Double(addend);
            scalar >>= 1;
        }

        return result;
    }

    private static BigInteger Mod(BigInteger a)
    {
        var r = BigInteger.Remainder(a, P);
        return r.Sign < 0 ? r + P : r;
    }

    private static BigInteger Inverse(BigInteger a) => BigInteger.ModPow(Mod(a), P - 2, P);

    private static BigInteger ReadLittleEndian(ReadOnlySpan<byte> bytes, bool clearTopBit)
    {
        Span<byte> copy = stackalloc byte[32];
        bytes[..32].CopyTo(copy);
        if (clearTopBit)
        {
            copy[31] &= 0x7F;
        }

        return new BigInteger(copy, isUnsigned: true, isBigEndian: false);
    }

    private static byte[] WriteLittleEndian(BigInteger value)
    {
        var bytes = new byte[32];
        value.TryWriteBytes(bytes, out _, isUnsigned: true, isBigEndian: false);
        return bytes;
    }
}
