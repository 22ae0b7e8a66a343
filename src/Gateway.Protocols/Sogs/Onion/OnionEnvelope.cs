using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;

namespace Gateway.Protocols.Sogs.Onion;

/// <summary>Which onion endpoint a request came in on.</summary>
public enum OnionVersion
{
    /// <summary><c>/oxen/v3/lsrpc</c> and <c>/loki/v3/lsrpc</c>: a JSON request inside, a base64 reply outside.</summary>
    V3 = 3,

    /// <summary><c>/oxen/v4/lsrpc</c>: a bencoded request inside, the raw encrypted reply outside.</summary>
    V4 = 4,
}

/// <summary>
/// The outer envelope of an onion request as it reaches SOGS (the last hop's "junk"):
/// <c>[4-byte little-endian N][N bytes encrypted to the server][JSON {"ephemeral_key": hex, "enc_type"?: …}]</c>.
/// The JSON may carry more (host, port, target: the last hop's own fields), which is ignored, as SOGS does.
/// </summary>
public sealed record OnionEnvelope(ReadOnlyMemory<byte> Ciphertext, byte[] EphemeralKey, OnionEncryption Encryption)
{
    /// <summary>The endpoints SOGS serves onion requests on (pysogs <c>routes/onion_request.py</c>): exact paths only.</summary>
    public static bool IsOnionPath(string path, out OnionVersion version)
    {
        switch (path)
        {
            case "/oxen/v4/lsrpc":
                version = OnionVersion.V4;
                return true;
            case "/oxen/v3/lsrpc" or "/loki/v3/lsrpc":
                version = OnionVersion.V3;
                return true;
            default:
                version = default;
                return false;
        }
    }

    /// <summary>
    /// Reads the envelope with the bounds libsession-util's <c>OnionReqParser</c> applies; null and a short, stable
    /// <paramref name="error"/> code (never content) when it cannot be read.
    /// </summary>
    public static OnionEnvelope? TryParse(ReadOnlyMemory<byte> body, out string? error)
    {
        var span = body.Span;
        if (span.Length < sizeof(uint))
        {
            error = "envelope_too_short";
            return null;
        }

        var size = BinaryPrimitives.ReadUInt32LittleEndian(span);
        if (size > (uint)(span.Length - sizeof(uint)))
        {
            error = "envelope_length_exceeds_body";
            return null;
        }

        var ciphertext = body.Slice(sizeof(uint), (int)size);
        var metadata = span[(sizeof(uint) + (int)size)..];

        // Utf8JsonReader checks a string's UTF-8 only when it is read (GetString throws InvalidOperationException),
        // so check the whole metadata first, as libsession-util's JSON parser does (found by make fuzz, issue 17).
        if (!System.Text.Unicode.Utf8.IsValid(metadata))
        {
            error = "metadata_not_json";
            return null;
        }

        string? keyText = null;
        string? encType = null;
        var sawKey = false;
        var sawType = false;
        try
        {
            var reader = new Utf8JsonReader(metadata, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "metadata_not_object";
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                // A repeated key could be read differently by SOGS's JSON parser than by ours: refuse it.
                if (reader.ValueTextEquals("ephemeral_key"u8))
                {
                    if (sawKey || !reader.Read() || reader.TokenType != JsonTokenType.String)
                    {
                        error = "bad_ephemeral_key";
                        return null;
                    }

                    sawKey = true;
                    keyText = reader.GetString();
                }
                else if (reader.ValueTextEquals("enc_type"u8))
                {
                    if (sawType || !reader.Read() || reader.TokenType != JsonTokenType.String)
                    {
                        error = "bad_enc_type";
                        return null;
                    }

                    sawType = true;
                    encType = reader.GetString();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // The object must close and nothing but whitespace may follow it.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = "metadata_not_json";
                return null;
            }
        }
        catch (JsonException)
        {
            error = "metadata_not_json";
            return null;
        }

        var type = OnionEncryption.AesGcm;
        if (sawType && !HopEncryption.TryParseType(encType, out type))
        {
            error = "bad_enc_type";
            return null;
        }

        if (!sawKey)
        {
            error = "no_ephemeral_key";
            return null;
        }

        var key = ParsePublicKey(keyText!);
        if (key is null)
        {
            error = "bad_ephemeral_key";
            return null;
        }

        error = null;
        return new OnionEnvelope(ciphertext, key, type);
    }

    /// <summary>
    /// Decrypts the blob with the server key; null and an error code when the key agreement or the AEAD fails (a
    /// request encrypted to another key, or altered on the way).
    /// </summary>
    public OnionOpened? TryOpen(OnionServerKey server, out string? error)
    {
        Span<byte> shared = stackalloc byte[OnionServerKey.KeySize];
        var key = new byte[HopEncryption.SymmetricKeySize];
        try
        {
            if (!server.TrySharedSecret(EphemeralKey, shared))
            {
                error = "bad_ephemeral_key";
                return null;
            }

            HopEncryption.DeriveKey(Encryption, shared, EphemeralKey, server.PublicKey.Span, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }

        var plaintext = HopEncryption.Decrypt(Encryption, key, Ciphertext.Span);
        if (plaintext is null)
        {
            CryptographicOperations.ZeroMemory(key);
            error = "undecryptable";
            return null;
        }

        error = null;
        return new OnionOpened(plaintext, key, Encryption);
    }

    /// <summary>
    /// The ephemeral key as libsession's <c>parse_x25519_pubkey</c> reads it: 64 hex digits or 43/44 characters of
    /// base64 (the encodings Session clients use; anything else leaves libsession with a key that fails agreement).
    /// </summary>
    internal static byte[]? ParsePublicKey(string text)
    {
        if (text.Length == 64)
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

        if (text.Length == 43 || (text.Length == 44 && text[^1] == '='))
        {
            var padded = text.Length == 43 ? text + "=" : text;
            var bytes = new byte[33];
            return Convert.TryFromBase64String(padded, bytes, out var written) && written == OnionServerKey.KeySize
                ? bytes[..OnionServerKey.KeySize]
                : null;
        }

        return null;
    }
}

/// <summary>
/// A decrypted onion request: the inner payload plus the symmetric key and encryption it came with, which the reply
/// must use (libsession <c>OnionReqParser::encrypt_reply</c>).
/// </summary>
public sealed class OnionOpened(byte[] payload, byte[] key, OnionEncryption encryption)
{
    public ReadOnlyMemory<byte> Payload { get; } = payload;

    public OnionEncryption Encryption { get; } = encryption;

    /// <summary>The reply, encrypted back with the same key and type under a fresh IV/nonce.</summary>
    public byte[] Seal(ReadOnlySpan<byte> reply) => HopEncryption.Encrypt(Encryption, key, reply);
}
