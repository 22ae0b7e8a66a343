using System.Text;
using Gateway.Protocols.Configuration;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Gateway.Protocols.Matrix;

/// <summary>The policy server's ed25519 key: signs as <c>ed25519:policy_server</c> (MSC4284), unpadded base64.</summary>
internal sealed class PolicyServerKey
{
    public const string KeyId = "ed25519:policy_server";

    private readonly Ed25519PrivateKeyParameters _key;

    public PolicyServerKey(Secret seed)
    {
        _key = new Ed25519PrivateKeyParameters(seed.Value, 0);
        PublicKeyBase64 = Unpadded(_key.GeneratePublicKey().GetEncoded());
    }

    /// <summary>What goes in m.room.policy's public_key and /.well-known/matrix/policy_server.</summary>
    public string PublicKeyBase64 { get; }

    public string Sign(byte[] message)
    {
        var signer = new Ed25519Signer();
        signer.Init(true, _key);
        signer.BlockUpdate(message, 0, message.Length);
        return Unpadded(signer.GenerateSignature());
    }

    /// <summary>
    /// The 32-byte seed from a key file's text: Synapse's signing key line <c>ed25519 &lt;version&gt; &lt;base64&gt;</c>
    /// (the first line when there are several) or the bare base64; padded or not. Null when it is neither.
    /// </summary>
    public static Secret? ParseSeed(byte[] text)
    {
        string line;
        try
        {
            line = new UTF8Encoding(false, true).GetString(text).Trim().Split('\n')[0].Trim();
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var b64 = parts.Length switch
        {
            1 => parts[0],
            3 when parts[0] == "ed25519" => parts[2],
            _ => null,
        };
        if (b64 is null)
        {
            return null;
        }

        b64 = b64.TrimEnd('=');
        b64 += new string('=', (4 - (b64.Length % 4)) % 4);
        var bytes = new byte[b64.Length];
        return Convert.TryFromBase64String(b64, bytes, out var n) && n == 32 ? new Secret(bytes[..32]) : null;
    }

    private static string Unpadded(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');
}
