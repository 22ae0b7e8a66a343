using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Cluster;

/// <summary>What <see cref="PeerSeal.Open"/> made of a push.</summary>
internal enum PeerOpenResult
{
    Ok = 0,

    /// <summary>Not a push envelope at all (too short, wrong magic, bad sender name).</summary>
    Malformed = 1,

    /// <summary>Its time is outside the replay window (or the clocks differ by more than that).</summary>
    Stale = 2,

    /// <summary>The tag does not verify: not sealed with the cluster secret, for this instance, as sent.</summary>
    Forged = 3,

    /// <summary>Authentic, but its nonce was seen already inside the window.</summary>
    Replayed = 4,

    /// <summary>The replay cache is full: refused rather than remembered badly.</summary>
    Busy = 5,
}

/// <summary>
/// The sealed envelope of the instance-to-instance channel (DM pair owner pushes). Every push is encrypted and
/// authenticated with AES-256-GCM under a key derived by HKDF-SHA256 from the cluster secret and the sending
/// instance's name; the clear header (magic, sender, time, nonce) and the receiving instance's name are the
/// associated data, so a push cannot be altered, re-attributed or replayed to another instance. A push is accepted
/// only when its time is within <see cref="Window"/> of the receiver's clock and its nonce was not seen in that window.
/// </summary>
/// <remarks>
/// Wire format: <c>"GWP1" | sender length (1 byte) | sender (ASCII) | unix time ms (8, big-endian) | nonce (12) |
/// ciphertext | tag (16)</c>.
/// </remarks>
internal sealed class PeerSeal
{
    public const int NonceBytes = 12;
    public const int TagBytes = 16;
    public const int MaxReplayEntries = 1_000_000;
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(30);

    private static readonly byte[] Magic = "GWP1"u8.ToArray();
    private static readonly byte[] Salt = "gateway cluster peer channel v1"u8.ToArray();

    private readonly byte[] _secret;
    private readonly ConcurrentDictionary<string, byte[]> _keys = new(StringComparer.Ordinal);
    private readonly Lock _replayLock = new();
    private readonly Dictionary<UInt128, long> _seen = [];
    private readonly Queue<(UInt128 Nonce, long Expires)> _expiry = new();

    public PeerSeal(ReadOnlySpan<byte> secret)
    {
        _secret = secret.ToArray();
    }

    /// <summary>Seals <paramref name="plaintext"/> from <paramref name="sender"/> for <paramref name="target"/>.</summary>
    public byte[] Seal(string sender, string target, DateTimeOffset now, ReadOnlySpan<byte> plaintext)
    {
        var headerLength = Magic.Length + 1 + sender.Length + 8 + NonceBytes;
        var envelope = new byte[headerLength + plaintext.Length + TagBytes];
        var span = envelope.AsSpan();
        Magic.CopyTo(span);
        span[Magic.Length] = (byte)sender.Length;
        Encoding.ASCII.GetBytes(sender, span[(Magic.Length + 1)..]);
        BinaryPrimitives.WriteInt64BigEndian(span[(Magic.Length + 1 + sender.Length)..], now.ToUnixTimeMilliseconds());
        var nonce = span.Slice(headerLength - NonceBytes, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        var header = span[..headerLength];
        using var gcm = new AesGcm(KeyFor(sender), TagBytes);
        gcm.Encrypt(nonce, plaintext, span.Slice(headerLength, plaintext.Length), span[^TagBytes..], Aad(header, target));
        return envelope;
    }

    /// <summary>
    /// Checks and decrypts a push addressed to <paramref name="self"/>. Only an authentic push enters the replay cache,
    /// so forged ones cannot fill it. The caller zeroes <paramref name="plaintext"/> when done.
    /// </summary>
    public PeerOpenResult Open(ReadOnlySpan<byte> envelope, string self, DateTimeOffset now, out string sender, out byte[] plaintext)
    {
        sender = "";
        plaintext = [];
        if (envelope.Length < Magic.Length + 1 + 1 + 8 + NonceBytes + TagBytes || !envelope.StartsWith(Magic))
        {
            return PeerOpenResult.Malformed;
        }

        int nameLength = envelope[Magic.Length];
        var headerLength = Magic.Length + 1 + nameLength + 8 + NonceBytes;
        if (nameLength is 0 or > 64 || envelope.Length < headerLength + TagBytes)
        {
            return PeerOpenResult.Malformed;
        }

        var name = envelope.Slice(Magic.Length + 1, nameLength);
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit((char)c) || c is (byte)'-' or (byte)'_' or (byte)'.'))
            {
                return PeerOpenResult.Malformed;
            }
        }

        var sent = BinaryPrimitives.ReadInt64BigEndian(envelope[(Magic.Length + 1 + nameLength)..]);
        var nowMs = now.ToUnixTimeMilliseconds();
        if (Math.Abs(nowMs - sent) > (long)Window.TotalMilliseconds)
        {
            return PeerOpenResult.Stale;
        }

        var from = Encoding.ASCII.GetString(name);
        var header = envelope[..headerLength];
        var nonce = envelope.Slice(headerLength - NonceBytes, NonceBytes);
        var cipher = envelope[headerLength..^TagBytes];
        var clear = new byte[cipher.Length];
        try
        {
            using var gcm = new AesGcm(KeyFor(from), TagBytes);
            gcm.Decrypt(nonce, cipher, envelope[^TagBytes..], clear, Aad(header, self));
        }
        catch (AuthenticationTagMismatchException)
        {
            return PeerOpenResult.Forged;
        }

        var seen = Remember(nonce, sent, nowMs);
        if (seen != PeerOpenResult.Ok)
        {
            CryptographicOperations.ZeroMemory(clear);
            return seen;
        }

        sender = from;
        plaintext = clear;
        return PeerOpenResult.Ok;
    }

    private PeerOpenResult Remember(ReadOnlySpan<byte> nonce, long sentMs, long nowMs)
    {
        Span<byte> wide = stackalloc byte[16];
        wide.Clear();
        nonce.CopyTo(wide);
        var id = BinaryPrimitives.ReadUInt128LittleEndian(wide);
        lock (_replayLock)
        {
            while (_expiry.TryPeek(out var oldest) && oldest.Expires < nowMs)
            {
                _expiry.Dequeue();
                _seen.Remove(oldest.Nonce);
            }

            if (_seen.ContainsKey(id))
            {
                return PeerOpenResult.Replayed;
            }

            if (_seen.Count >= MaxReplayEntries)
            {
                return PeerOpenResult.Busy;
            }

            // Kept until its time can no longer pass the window check: sent + window (+ the same again for a late clock).
            var expires = Math.Max(sentMs, nowMs) + (2 * (long)Window.TotalMilliseconds);
            _seen[id] = expires;
            _expiry.Enqueue((id, expires));
            return PeerOpenResult.Ok;
        }
    }

    private byte[] KeyFor(string sender)
    {
        if (_keys.TryGetValue(sender, out var key))
        {
            return key;
        }

        key = HKDF.DeriveKey(HashAlgorithmName.SHA256, _secret, 32, Salt, Encoding.ASCII.GetBytes("push|" + sender));
        // Names arrive before the tag is checked: cache only a cluster's worth, so made-up names cannot grow it.
        if (_keys.Count < 256)
        {
            _keys.TryAdd(sender, key);
        }

        return key;
    }

    private static byte[] Aad(ReadOnlySpan<byte> header, string target)
    {
        var aad = new byte[header.Length + 1 + target.Length];
        header.CopyTo(aad);
        aad[header.Length] = (byte)'>';
        Encoding.ASCII.GetBytes(target, aad.AsSpan(header.Length + 1));
        return aad;
    }
}
