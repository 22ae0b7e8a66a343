using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Math.EC.Rfc7748;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Gateway.Tests.Sogs;

/// <summary>
/// A Session user written from the SOGS spec (session-pysogs docs and tests/auth.py, tests/user.py): an Ed25519
/// seed, its <c>05</c> Session ID (the X25519 key), its blinded <c>15</c> key for a server (k = BLAKE2b-512(server
/// X25519 key) mod L; ka = k·a; kA = ka·B) and request signing with either key. Point maths is its own, affine and
/// slow, independent of the gateway's.
/// </summary>
internal sealed class SogsClient
{
    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
    private static readonly BigInteger L = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493");
    private static readonly BigInteger D = Mod(-121665 * Inv(121666));
    private static readonly (BigInteger X, BigInteger Y) B = BasePoint();

    private readonly byte[] _seed;
    private readonly byte[] _edPublic;
    private readonly BigInteger _a;

    public SogsClient(byte[] seed)
    {
        _seed = seed;
        _edPublic = new byte[32];
        Ed25519.GeneratePublicKey(seed, 0, _edPublic, 0);
        var h = SHA512.HashData(seed);
        h[0] &= 248;
        h[31] &= 127;
        h[31] |= 64;
        _a = new BigInteger(h.AsSpan(0, 32), isUnsigned: true);
        var x = new byte[32];
        X25519.GeneratePublicKey(h, 0, x, 0);
        SessionId = "05" + Convert.ToHexStringLower(x);
    }

    public static SogsClient Random() => new(RandomNumberGenerator.GetBytes(32));

    /// <summary>The <c>05…</c> Session ID.</summary>
    public string SessionId { get; }

    /// <summary>The unblinded auth key <c>00…</c> (pysogs accepts it when require_blind_keys is off).</summary>
    public string UnblindedKey => "00" + Convert.ToHexStringLower(_edPublic);

    /// <summary>The blinded <c>15…</c> id on the server with X25519 key <paramref name="serverPubkey"/>.</summary>
    public string BlindedId(byte[] serverPubkey) => "15" + Convert.ToHexStringLower(Encode(Mul(BlindedScalar(serverPubkey), B)));

    public static byte[] Blake2b(ReadOnlySpan<byte> data, int bytes = 64)
    {
        var d = new Blake2bDigest(bytes * 8);
        d.BlockUpdate(data);
        var o = new byte[bytes];
        d.DoFinal(o, 0);
        return o;
    }

    /// <summary>The four X-SOGS-* headers for a request, signed as SOGS checks them.</summary>
    public Dictionary<string, string> Sign(byte[] serverPubkey, string method, string pathAndQuery, byte[] body, bool blinded,
        long timestamp, byte[]? nonce = null)
    {
        nonce ??= RandomNumberGenerator.GetBytes(16);
        var ts = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var msg = new List<byte>();
        msg.AddRange(serverPubkey);
        msg.AddRange(nonce);
        msg.AddRange(Encoding.ASCII.GetBytes(ts));
        msg.AddRange(Encoding.ASCII.GetBytes(method));
        msg.AddRange(Encoding.UTF8.GetBytes(pathAndQuery));
        if (body.Length > 0)
        {
            msg.AddRange(Blake2b(body));
        }

        string pubkey;
        byte[] sig;
        if (blinded)
        {
            var ka = BlindedScalar(serverPubkey);
            var kA = Encode(Mul(ka, B));
            pubkey = "15" + Convert.ToHexStringLower(kA);
            sig = BlindedSign(ka, kA, msg.ToArray());
        }
        else
        {
            pubkey = UnblindedKey;
            sig = new byte[64];
            Ed25519.Sign(_seed, 0, msg.ToArray(), 0, msg.Count, sig, 0);
        }

        return new Dictionary<string, string>
        {
            ["X-SOGS-Pubkey"] = pubkey,
            ["X-SOGS-Nonce"] = Convert.ToBase64String(nonce),
            ["X-SOGS-Timestamp"] = ts,
            ["X-SOGS-Signature"] = Convert.ToBase64String(sig),
        };
    }

    /// <summary>A post body: <c>data</c> = padded Session protobuf, <c>signature</c> = Ed25519 over it by the poster.</summary>
    public JsonObject Post(string text, string? displayName = null, string? whisperTo = null)
    {
        var data = Content(text, displayName);
        var sig = new byte[64];
        Ed25519.Sign(_seed, 0, data, 0, data.Length, sig, 0);
        var o = new JsonObject { ["data"] = Convert.ToBase64String(data), ["signature"] = Convert.ToBase64String(sig) };
        if (whisperTo is not null)
        {
            o["whisper_to"] = whisperTo;
        }

        return o;
    }

    /// <summary>Content { dataMessage(1) { body(1), profile(101) { displayName(1) } } }, padded as Session pads (0x80 then zeros).</summary>
    public static byte[] Content(string text, string? displayName)
    {
        using var dm = new MemoryStream();
        var w = new CodedOutputStream(dm);
        w.WriteTag(1, WireFormat.WireType.LengthDelimited);
        w.WriteString(text);
        w.WriteTag(4, WireFormat.WireType.Varint); // flags-like field SOGS does not read
        w.WriteUInt32(0);
        if (displayName is not null)
        {
            using var prof = new MemoryStream();
            var pw = new CodedOutputStream(prof);
            pw.WriteTag(1, WireFormat.WireType.LengthDelimited);
            pw.WriteString(displayName);
            pw.Flush();
            w.WriteTag(101, WireFormat.WireType.LengthDelimited);
            w.WriteBytes(ByteString.CopyFrom(prof.ToArray()));
        }

        w.Flush();
        using var content = new MemoryStream();
        var cw = new CodedOutputStream(content);
        cw.WriteTag(1, WireFormat.WireType.LengthDelimited);
        cw.WriteBytes(ByteString.CopyFrom(dm.ToArray()));
        cw.Flush();
        var raw = content.ToArray();
        var padded = new byte[((raw.Length / 160) + 1) * 160];
        raw.CopyTo(padded, 0);
        padded[raw.Length] = 0x80;
        return padded;
    }

    private BigInteger BlindedScalar(byte[] serverPubkey)
    {
        var k = new BigInteger(Blake2b(serverPubkey), isUnsigned: true) % L;
        return k * _a % L;
    }

    /// <summary>Session's blinded signing (tests/user.py): r from the seed's hash prefix half, kA and the message.</summary>
    private byte[] BlindedSign(BigInteger ka, byte[] kA, byte[] message)
    {
        var hrh = SHA512.HashData(_seed).AsSpan(32).ToArray();
        var r = new BigInteger(SHA512.HashData([.. hrh, .. kA, .. message]), isUnsigned: true) % L;
        var rEnc = Encode(Mul(r, B));
        var hram = new BigInteger(SHA512.HashData([.. rEnc, .. kA, .. message]), isUnsigned: true) % L;
        var s = (r + (hram * ka)) % L;
        var sBytes = new byte[32];
        s.TryWriteBytes(sBytes, out _, isUnsigned: true);
        return [.. rEnc, .. sBytes];
    }

    private static (BigInteger X, BigInteger Y) Add((BigInteger X, BigInteger Y) p, (BigInteger X, BigInteger Y) q)
    {
        var t = D * p.X * q.X % P * p.Y % P * q.Y % P;
        var x = (p.X * q.Y + q.X * p.Y) % P * Inv(1 + t) % P;
        var y = (p.Y * q.Y + p.X * q.X) % P * Inv(Mod(1 - t)) % P;
        return (Mod(x), Mod(y));
    }

    private static (BigInteger X, BigInteger Y) Mul(BigInteger n, (BigInteger X, BigInteger Y) p)
    {
        (BigInteger X, BigInteger Y) r = (0, 1);
        while (n > 0)
        {
            if (!n.IsEven)
            {
                r = Add(r, p);
            }

            p = Add(p, p);
            n >>= 1;
        }

        return r;
    }

    private static byte[] Encode((BigInteger X, BigInteger Y) p)
    {
        var b = new byte[32];
        p.Y.TryWriteBytes(b, out _, isUnsigned: true);
        if (!p.X.IsEven)
        {
            b[31] |= 0x80;
        }

        return b;
    }

    private static (BigInteger, BigInteger) BasePoint()
    {
        var y = 4 * Inv(5) % P;
        var x2 = Mod((y * y - 1) * Inv(D * y * y + 1));
        var x = BigInteger.ModPow(x2, (P + 3) / 8, P);
        if (Mod(x * x - x2) != 0)
        {
            x = x * BigInteger.ModPow(2, (P - 1) / 4, P) % P;
        }

        if (!x.IsEven)
        {
            x = P - x;
        }

        return (x, y);
    }

    private static BigInteger Mod(BigInteger a) => ((a % P) + P) % P;

    private static BigInteger Inv(BigInteger a) => BigInteger.ModPow(Mod(a), P - 2, P);
}
