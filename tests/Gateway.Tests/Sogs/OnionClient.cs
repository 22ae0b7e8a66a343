using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Org.BouncyCastle.Crypto.Agreement;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;

namespace Gateway.Tests.Sogs;

/// <summary>
/// Onion hop encryption written from the spec (libsession-util hop_encryption.cpp, session-pysogs onion_request.py)
/// with BouncyCastle only, so it shares no code with the gateway's implementation: AES-GCM through BouncyCastle's
/// GCM mode, XChaCha20-Poly1305 assembled from its XChaCha20 engine and Poly1305 MAC (RFC 8439 §2.8 construction).
/// Used by the test client and by the fake SOGS backend, which decrypts onion requests as the real one does.
/// </summary>
internal static class OnionWire
{
    public static byte[] PublicKey(byte[] privateKey) => new X25519PrivateKeyParameters(privateKey).GeneratePublicKey().GetEncoded();

    public static byte[] Shared(byte[] privateKey, byte[] remotePublic)
    {
        var agreement = new X25519Agreement();
        agreement.Init(new X25519PrivateKeyParameters(privateKey));
        var shared = new byte[32];
        agreement.CalculateAgreement(new X25519PublicKeyParameters(remotePublic), shared, 0);
        return shared;
    }

    /// <summary>aes-gcm: HMAC-SHA256(key "LOKI", shared); xchacha20: BLAKE2b-256(shared ‖ client pub ‖ server pub).</summary>
    public static byte[] Key(bool xchacha, byte[] shared, byte[] clientPublic, byte[] serverPublic)
    {
        var key = new byte[32];
        if (!xchacha)
        {
            var hmac = new HMac(new Sha256Digest());
            hmac.Init(new KeyParameter("LOKI"u8.ToArray()));
            hmac.BlockUpdate(shared, 0, shared.Length);
            hmac.DoFinal(key, 0);
            return key;
        }

        var blake = new Blake2bDigest(256);
        foreach (var part in new[] { shared, clientPublic, serverPublic })
        {
            blake.BlockUpdate(part, 0, part.Length);
        }

        blake.DoFinal(key, 0);
        return key;
    }

    public static byte[] Seal(bool xchacha, byte[] key, byte[] plaintext, byte[]? nonce = null)
    {
        nonce ??= RandomNumberGenerator.GetBytes(xchacha ? 24 : 12);
        var body = xchacha ? XChaCha(true, key, nonce, plaintext) : Gcm(true, key, nonce, plaintext);
        return nonce.Concat(body).ToArray();
    }

    /// <summary>Throws when the data does not authenticate.</summary>
    public static byte[] Open(bool xchacha, byte[] key, byte[] data)
    {
        var n = xchacha ? 24 : 12;
        return xchacha ? XChaCha(false, key, data[..n], data[n..]) : Gcm(false, key, data[..n], data[n..]);
    }

    private static byte[] Gcm(bool encrypt, byte[] key, byte[] iv, byte[] input)
    {
        var gcm = new GcmBlockCipher(new AesEngine());
        gcm.Init(encrypt, new AeadParameters(new KeyParameter(key), 128, iv));
        var output = new byte[gcm.GetOutputSize(input.Length)];
        var len = gcm.ProcessBytes(input, 0, input.Length, output, 0);
        len += gcm.DoFinal(output, len);
        return output[..len];
    }

    private static byte[] XChaCha(bool encrypt, byte[] key, byte[] nonce, byte[] input)
    {
        var engine = new XChaCha20Engine();
        engine.Init(true, new ParametersWithIV(new KeyParameter(key), nonce));
        var block0 = new byte[64];
        engine.ProcessBytes(new byte[64], 0, 64, block0, 0);
        var polyKey = block0[..32];

        byte[] ciphertext;
        byte[] tag;
        if (encrypt)
        {
            ciphertext = new byte[input.Length];
            engine.ProcessBytes(input, 0, input.Length, ciphertext, 0);
            tag = Mac(polyKey, ciphertext);
            return ciphertext.Concat(tag).ToArray();
        }

        if (input.Length < 16)
        {
            throw new CryptographicException("too short");
        }

        ciphertext = input[..^16];
        tag = Mac(polyKey, ciphertext);
        if (!CryptographicOperations.FixedTimeEquals(tag, input.AsSpan(input.Length - 16)))
        {
            throw new CryptographicException("xchacha20-poly1305 tag mismatch");
        }

        var plaintext = new byte[ciphertext.Length];
        engine.ProcessBytes(ciphertext, 0, ciphertext.Length, plaintext, 0);
        return plaintext;
    }

    private static byte[] Mac(byte[] polyKey, byte[] ciphertext)
    {
        var mac = new Poly1305();
        mac.Init(new KeyParameter(polyKey));
        mac.BlockUpdate(ciphertext, 0, ciphertext.Length);
        var pad = (16 - ciphertext.Length % 16) % 16;
        mac.BlockUpdate(new byte[pad], 0, pad);
        var lengths = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(lengths.AsSpan(8), (ulong)ciphertext.Length);
        mac.BlockUpdate(lengths, 0, 16);
        var tag = new byte[16];
        mac.DoFinal(tag, 0);
        return tag;
    }

    /// <summary>Bencodes a list of byte strings: <c>l&lt;len&gt;:&lt;bytes&gt;…e</c>.</summary>
    public static byte[] Bencode(params byte[][] parts)
    {
        using var ms = new MemoryStream();
        ms.WriteByte((byte)'l');
        foreach (var p in parts)
        {
            ms.Write(Encoding.ASCII.GetBytes($"{p.Length}:"));
            ms.Write(p);
        }

        ms.WriteByte((byte)'e');
        return ms.ToArray();
    }

    /// <summary>Reads a bencoded list of byte strings (test side: lenient enough to read what SOGS writes).</summary>
    public static List<byte[]> Unbencode(byte[] data)
    {
        if (data.Length < 2 || data[0] != 'l' || data[^1] != 'e')
        {
            throw new InvalidDataException("not a bencoded list"); // (no Assert here: the soak rig compiles this file too)
        }

        var parts = new List<byte[]>();
        var i = 1;
        while (i < data.Length - 1)
        {
            var colon = Array.IndexOf(data, (byte)':', i);
            var len = int.Parse(Encoding.ASCII.GetString(data, i, colon - i), System.Globalization.CultureInfo.InvariantCulture);
            parts.Add(data[(colon + 1)..(colon + 1 + len)]);
            i = colon + 1 + len;
        }

        return parts;
    }
}

/// <summary>
/// A Session client's side of an onion request to SOGS (the last hop's payload, as a guard node hands it on):
/// <c>[N LE][blob encrypted to the server][{"ephemeral_key": hex, "enc_type": …}]</c>.
/// </summary>
internal sealed class OnionClient
{
    private readonly byte[] _key;

    /// <param name="encType">The enc_type to send; null sends none (AES-GCM, the backwards-compatible default).</param>
    public OnionClient(byte[] serverPublic, string? encType, byte[]? ephemeralPrivate = null)
    {
        EncType = encType;
        XChaCha = encType is "xchacha20" or "xchacha20-poly1305";
        var priv = ephemeralPrivate ?? RandomNumberGenerator.GetBytes(32);
        EphemeralPublic = OnionWire.PublicKey(priv);
        _key = OnionWire.Key(XChaCha, OnionWire.Shared(priv, serverPublic), EphemeralPublic, serverPublic);
    }

    public string? EncType { get; }

    public bool XChaCha { get; }

    public byte[] EphemeralPublic { get; }

    public byte[] V4(string method, string endpoint, IReadOnlyDictionary<string, string>? headers = null, byte[]? body = null)
    {
        var meta = System.Text.Json.JsonSerializer.Serialize(new { method, endpoint, headers = headers ?? new Dictionary<string, string>() });
        var parts = body is null ? new[] { Encoding.UTF8.GetBytes(meta) } : new[] { Encoding.UTF8.GetBytes(meta), body };
        return Envelope(OnionWire.Bencode(parts));
    }

    public byte[] Envelope(byte[] plaintext, string? extraJson = null)
    {
        var blob = OnionWire.Seal(XChaCha, _key, plaintext);
        var json = "{\"host\": \"sogs.example\", \"port\": 443, \"protocol\": \"https\", \"target\": \"/oxen/v4/lsrpc\", "
            + $"\"ephemeral_key\": \"{Convert.ToHexStringLower(EphemeralPublic)}\""
            + (EncType is null ? "" : $", \"enc_type\": \"{EncType}\"") + (extraJson ?? "") + "}";
        var size = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(size, blob.Length);
        return size.Concat(blob).Concat(Encoding.UTF8.GetBytes(json)).ToArray();
    }

    /// <summary>Decrypts a v4 reply into its metadata JSON and body; throws when it does not authenticate.</summary>
    public (string Meta, byte[] Body) OpenV4(byte[] reply)
    {
        var parts = OnionWire.Unbencode(OnionWire.Open(XChaCha, _key, reply));
        if (parts.Count != 2)
        {
            throw new InvalidDataException($"a v4 reply has 2 parts, not {parts.Count}");
        }

        return (Encoding.UTF8.GetString(parts[0]), parts[1]);
    }

    public byte[] Open(byte[] reply) => OnionWire.Open(XChaCha, _key, reply);
}

/// <summary>
/// SOGS's side of an onion request, from session-pysogs routes/onion_request.py: decrypt with the server key, answer
/// the inner request (here: a stored post, 201), encrypt the bencoded reply back with the same key and enc_type, and
/// send it raw with Flask's default content type. 400 when it cannot decrypt.
/// </summary>
internal static class OnionFakeSogs
{
    public static async Task AnswerAsync(HttpContext ctx, byte[] body, byte[] serverPrivate)
    {
        if (ctx.Request.Path != "/oxen/v4/lsrpc" || body.Length < 4)
        {
            ctx.Response.StatusCode = 201; // a direct request: SOGS's answer to a stored post
            await ctx.Response.WriteAsync("{\"id\": 1, \"seqno\": 1}");
            return;
        }

        if (Open(body, serverPrivate) is not { } opened)
        {
            ctx.Response.StatusCode = 400;
            return;
        }

        using var request = JsonDocument.Parse(opened.Parts[0]);
        var stored = $"{{\"id\": 1, \"seqno\": 1, \"endpoint\": \"{request.RootElement.GetProperty("endpoint").GetString()}\"}}";
        await opened.ReplyAsync(ctx, 201, Encoding.UTF8.GetBytes(stored));
    }

    /// <summary>Decrypts a v4 onion request with the server key: its bencoded parts (request JSON, body), or null when it does not authenticate.</summary>
    public static OnionAtSogs? Open(byte[] body, byte[] serverPrivate)
    {
        var serverPublic = OnionWire.PublicKey(serverPrivate);
        var n = BinaryPrimitives.ReadInt32LittleEndian(body);
        var blob = body[4..(4 + n)];
        using var meta = JsonDocument.Parse(body.AsMemory(4 + n));
        var clientPublic = Convert.FromHexString(meta.RootElement.GetProperty("ephemeral_key").GetString()!);
        var xchacha = meta.RootElement.TryGetProperty("enc_type", out var enc) && enc.GetString()!.StartsWith("xchacha", StringComparison.Ordinal);
        var key = OnionWire.Key(xchacha, OnionWire.Shared(serverPrivate, clientPublic), clientPublic, serverPublic);
        try
        {
            return new OnionAtSogs(OnionWire.Unbencode(OnionWire.Open(xchacha, key, blob)), xchacha, key);
        }
        catch (Exception ex) when (ex is CryptographicException or Org.BouncyCastle.Crypto.InvalidCipherTextException)
        {
            return null;
        }
    }
}

/// <summary>An onion request as SOGS decrypted it, and its reply: bencoded metadata and body, encrypted back with the same key and enc_type, sent raw with Flask's default content type.</summary>
internal sealed record OnionAtSogs(List<byte[]> Parts, bool XChaCha, byte[] Key)
{
    public async Task ReplyAsync(HttpContext ctx, int code, byte[] body)
    {
        var meta = Encoding.UTF8.GetBytes($"{{\"code\": {code}, \"headers\": {{\"content-type\": \"application/json\"}}}}");
        ctx.Response.ContentType = "text/html; charset=utf-8";
        await ctx.Response.Body.WriteAsync(OnionWire.Seal(XChaCha, Key, OnionWire.Bencode(meta, body)));
    }
}
