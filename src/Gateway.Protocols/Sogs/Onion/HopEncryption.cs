using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Math.EC.Rfc7748;

namespace Gateway.Protocols.Sogs.Onion;

/// <summary>The two hop encryptions an onion request may name in its <c>enc_type</c>.</summary>
public enum OnionEncryption
{
    /// <summary>AES-256-GCM: the default when <c>enc_type</c> is absent (<c>"aes-gcm"</c> or <c>"gcm"</c>).</summary>
    AesGcm = 0,

    /// <summary>XChaCha20-Poly1305 IETF (<c>"xchacha20"</c> or <c>"xchacha20-poly1305"</c>).</summary>
    XChaCha20 = 1,
}

/// <summary>
/// The SOGS server's X25519 key pair, as SOGS keeps it: the 32 raw private-key bytes of its <c>key_x25519</c> file
/// (pysogs <c>crypto.py</c>: <c>PrivateKey(f.read())</c>); the public key is derived from it.
/// </summary>
public sealed class OnionServerKey
{
    public const int KeySize = 32;

    private readonly byte[] _private;

    private OnionServerKey(byte[] privateKey)
    {
        _private = privateKey;
        var pub = new byte[KeySize];
        X25519.ScalarMultBase(_private, 0, pub, 0);
        PublicKey = pub;
    }

    /// <summary>The server's X25519 public key (what Session clients encrypt to).</summary>
    public ReadOnlyMemory<byte> PublicKey { get; }

    /// <summary>Null unless <paramref name="privateKey"/> is exactly 32 bytes.</summary>
    public static OnionServerKey? FromPrivate(ReadOnlySpan<byte> privateKey) =>
        privateKey.Length == KeySize ? new OnionServerKey(privateKey.ToArray()) : null;

    /// <summary>
    /// The X25519 shared secret with a client's ephemeral key; false when it is all zeroes (a small-order point),
    /// which libsodium's <c>crypto_scalarmult</c> refuses too.
    /// </summary>
    internal bool TrySharedSecret(ReadOnlySpan<byte> remotePublic, Span<byte> shared)
    {
        if (remotePublic.Length != KeySize || shared.Length < KeySize)
        {
            return false;
        }

        var result = new byte[KeySize];
        var ok = X25519.CalculateAgreement(_private, 0, remotePublic.ToArray(), 0, result, 0);
        result.CopyTo(shared);
        CryptographicOperations.ZeroMemory(result);
        return ok;
    }
}

/// <summary>
/// Onion hop encryption exactly as libsession-util's <c>src/onionreq/hop_encryption.cpp</c> does it (the same code
/// oxen-pyonionreq gives SOGS):
/// <list type="bullet">
/// <item>AES-GCM key = HMAC-SHA256(key = ASCII "LOKI", message = X25519 shared secret); wire = 12-byte IV ‖ ciphertext ‖ 16-byte tag.</item>
/// <item>XChaCha20 key = BLAKE2b-256(shared ‖ client public ‖ server public) — the same order on both sides;
///   wire = 24-byte nonce ‖ ciphertext ‖ 16-byte tag.</item>
/// </list>
/// Replies use the same key and type with a fresh random IV/nonce.
/// </summary>
public static class HopEncryption
{
    public const int GcmIvSize = 12;
    public const int XChaChaNonceSize = 24;
    public const int TagSize = 16;
    public const int SymmetricKeySize = 32;

    private static readonly byte[] LokiSalt = "LOKI"u8.ToArray();

    /// <summary>Reads an <c>enc_type</c> value the way libsession's <c>parse_enc_type</c> does; false for anything else.</summary>
    public static bool TryParseType(string? name, out OnionEncryption type)
    {
        switch (name)
        {
            case "aes-gcm" or "gcm":
                type = OnionEncryption.AesGcm;
                return true;
            case "xchacha20" or "xchacha20-poly1305":
                type = OnionEncryption.XChaCha20;
                return true;
            default:
                type = default;
                return false;
        }
    }

    /// <summary>
    /// The symmetric key both sides derive from the X25519 shared secret. <paramref name="clientPublic"/> is the
    /// ephemeral key from the request, <paramref name="serverPublic"/> the SOGS key.
    /// </summary>
    public static void DeriveKey(OnionEncryption type, ReadOnlySpan<byte> shared, ReadOnlySpan<byte> clientPublic,
        ReadOnlySpan<byte> serverPublic, Span<byte> key)
    {
        if (type == OnionEncryption.AesGcm)
        {
            HMACSHA256.HashData(LokiSalt, shared, key);
            return;
        }

        var blake = new Blake2bDigest(SymmetricKeySize * 8);
        blake.BlockUpdate(shared);
        blake.BlockUpdate(clientPublic);
        blake.BlockUpdate(serverPublic);
        blake.DoFinal(key);
    }

    /// <summary>The plaintext, or null when the data is too short or does not authenticate under <paramref name="key"/>.</summary>
    public static byte[]? Decrypt(OnionEncryption type, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data)
    {
        var prefix = type == OnionEncryption.AesGcm ? GcmIvSize : XChaChaNonceSize;
        if (data.Length < prefix + TagSize)
        {
            return null;
        }

        var nonce = data[..prefix];
        var ciphertext = data[prefix..^TagSize];
        var tag = data[^TagSize..];
        var plaintext = new byte[ciphertext.Length];
        try
        {
            if (type == OnionEncryption.AesGcm)
            {
                using var gcm = new AesGcm(key, TagSize);
                gcm.Decrypt(nonce, ciphertext, tag, plaintext);
            }
            else
            {
                Span<byte> subkey = stackalloc byte[SymmetricKeySize];
                Span<byte> nonce12 = stackalloc byte[12];
                XChaChaParts(key, nonce, subkey, nonce12);
                using var chacha = new ChaCha20Poly1305(subkey);
                CryptographicOperations.ZeroMemory(subkey);
                chacha.Decrypt(nonce12, ciphertext, tag, plaintext);
            }
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }

        return plaintext;
    }

    /// <summary>Encrypts with a fresh random IV/nonce: IV/nonce ‖ ciphertext ‖ tag.</summary>
    public static byte[] Encrypt(OnionEncryption type, ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext)
    {
        var prefix = type == OnionEncryption.AesGcm ? GcmIvSize : XChaChaNonceSize;
        var output = new byte[prefix + plaintext.Length + TagSize];
        var nonce = output.AsSpan(0, prefix);
        RandomNumberGenerator.Fill(nonce);
        var ciphertext = output.AsSpan(prefix, plaintext.Length);
        var tag = output.AsSpan(prefix + plaintext.Length, TagSize);
        if (type == OnionEncryption.AesGcm)
        {
            using var gcm = new AesGcm(key, TagSize);
            gcm.Encrypt(nonce, plaintext, ciphertext, tag);
        }
        else
        {
            Span<byte> subkey = stackalloc byte[SymmetricKeySize];
            Span<byte> nonce12 = stackalloc byte[12];
            XChaChaParts(key, nonce, subkey, nonce12);
            using var chacha = new ChaCha20Poly1305(subkey);
            CryptographicOperations.ZeroMemory(subkey);
            chacha.Encrypt(nonce12, plaintext, ciphertext, tag);
        }

        return output;
    }

    /// <summary>
    /// XChaCha20-Poly1305 (libsodium's <c>crypto_aead_xchacha20poly1305_ietf</c>) is ChaCha20-Poly1305 IETF under the
    /// HChaCha20 subkey of the first 16 nonce bytes, with the nonce 0x00000000 ‖ the last 8 nonce bytes.
    /// </summary>
    private static void XChaChaParts(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce24, Span<byte> subkey, Span<byte> nonce12)
    {
        HChaCha20(key, nonce24[..16], subkey);
        nonce12[..4].Clear();
        nonce24[16..].CopyTo(nonce12[4..]);
    }

    /// <summary>HChaCha20 (draft-irtf-cfrg-xchacha §2.2): the ChaCha20 block without the final addition, words 0–3 and 12–15.</summary>
    internal static void HChaCha20(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce16, Span<byte> output)
    {
        Span<uint> s = stackalloc uint[16];
        s[0] = 0x61707865;
        s[1] = 0x3320646e;
        s[2] = 0x79622d32;
        s[3] = 0x6b206574;
        for (var i = 0; i < 8; i++)
        {
            s[4 + i] = BinaryPrimitives.ReadUInt32LittleEndian(key[(4 * i)..]);
        }

        for (var i = 0; i < 4; i++)
        {
            s[12 + i] = BinaryPrimitives.ReadUInt32LittleEndian(nonce16[(4 * i)..]);
        }

        for (var round = 0; round < 10; round++)
        {
            QuarterRound(s, 0, 4, 8, 12);
            QuarterRound(s, 1, 5, 9, 13);
            QuarterRound(s, 2, 6, 10, 14);
            QuarterRound(s, 3, 7, 11, 15);
            QuarterRound(s, 0, 5, 10, 15);
            QuarterRound(s, 1, 6, 11, 12);
            QuarterRound(s, 2, 7, 8, 13);
            QuarterRound(s, 3, 4, 9, 14);
        }

        for (var i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(output[(4 * i)..], s[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(output[(16 + 4 * i)..], s[12 + i]);
        }

        s.Clear();
    }

    private static void QuarterRound(Span<uint> s, int a, int b, int c, int d)
    {
        s[a] += s[b];
        s[d] = BitOperations.RotateLeft(s[d] ^ s[a], 16);
        s[c] += s[d];
        s[b] = BitOperations.RotateLeft(s[b] ^ s[c], 12);
        s[a] += s[b];
        s[d] = BitOperations.RotateLeft(s[d] ^ s[a], 8);
        s[c] += s[d];
        s[b] = BitOperations.RotateLeft(s[b] ^ s[c], 7);
    }
}
