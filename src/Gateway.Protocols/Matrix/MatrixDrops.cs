using System.Security.Cryptography;
using System.Text;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// What a silent drop needs so the sender's client cannot tell it from a send: an event id of the real shape (<c>$</c>
/// and 43 URL-safe base64 characters, as a room-v4+ id), the same id again for a retry with the same transaction id
/// (the homeserver answers a repeated txnId with the first id), and the set of ids it handed out, so read markers and
/// receipts naming them can be answered as successes and requests for their content as for an unknown event.
/// Holds ids only — never the dropped text, never the token (a SHA-256 of it) — bounded and expiring.
/// </summary>
internal sealed class MatrixDrops(TimeProvider time, int capacity = 50_000, TimeSpan? lifetime = null)
{
    // Entries are fixed-size values, no strings: (token, txnId) and (token, event id) as 128-bit SHA-256 prefixes and
    // the id as its 32 random bytes: ~280 bytes an entry with the tables' slack and no heap object (the strings cost 457
    // bytes and three objects an entry, 23 MB at the default capacity, all of it for the GC to trace; CompactStoreTests). A digest collision would answer one
    // unrelated id as dropped: at 2^-128 a pair it does not happen.
    private readonly TimeSpan _lifetime = lifetime ?? TimeSpan.FromHours(24);
    private readonly Dictionary<UInt128, (EventIdBytes EventId, DateTimeOffset Expires)> _byTxn = new();
    private readonly Dictionary<UInt128, DateTimeOffset> _ids = new();
    private readonly Queue<(UInt128 Txn, UInt128 Id, DateTimeOffset Expires)> _order = new();
    private readonly Lock _lock = new();
    private int _capacity = capacity;

    /// <summary>
    /// How many drops are remembered ([matrix] <c>dropped_ids</c>, applied on each reload); lowering it forgets the
    /// oldest at once.
    /// </summary>
    public int Capacity
    {
        get => _capacity;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            lock (_lock)
            {
                if (value == _capacity)
                {
                    return;
                }

                var shrinking = value < _order.Count;
                _capacity = value;
                while (_order.Count > value)
                {
                    Evict(_order.Dequeue());
                }

                if (shrinking)
                {
                    _byTxn.TrimExcess();
                    _ids.TrimExcess();
                    _order.TrimExcess();
                }
            }
        }
    }

    /// <summary>The event id for a dropped send: the one given before for this (token, txnId), or a fresh one.</summary>
    public string EventIdFor(string token, string? txnId)
    {
        var now = time.GetUtcNow();
        var txnKey = txnId is null ? (UInt128?)null : Key(token, 't', txnId);
        lock (_lock)
        {
            Expire(now);
            if (txnKey is { } k && _byTxn.TryGetValue(k, out var known) && known.Expires > now)
            {
                return known.EventId.ToEventId();
            }

            var bytes = EventIdBytes.Random();
            var id = bytes.ToEventId();
            var expires = now + _lifetime;
            if (_order.Count >= _capacity)
            {
                Evict(_order.Dequeue());
            }

            var idKey = Key(token, 'e', id);
            var txn = txnKey ?? idKey;
            _byTxn[txn] = (bytes, expires);
            _ids[idKey] = expires;
            _order.Enqueue((txn, idKey, expires));
            return id;
        }
    }

    /// <summary>True when this token's client was handed <paramref name="eventId"/> for a dropped message.</summary>
    public bool IsDropped(string token, string? eventId)
    {
        if (eventId is null)
        {
            return false;
        }

        var now = time.GetUtcNow();
        lock (_lock)
        {
            return _ids.Count > 0 && _ids.TryGetValue(Key(token, 'e', eventId), out var expires) && expires > now;
        }
    }

    /// <summary>Entries held (tests).</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _order.Count;
            }
        }
    }

    private void Expire(DateTimeOffset now)
    {
        while (_order.Count > 0 && _order.Peek().Expires <= now)
        {
            Evict(_order.Dequeue());
        }
    }

    private void Evict((UInt128 Txn, UInt128 Id, DateTimeOffset Expires) entry)
    {
        _byTxn.Remove(entry.Txn);
        _ids.Remove(entry.Id);
    }

    /// <summary>SHA-256 of (token, kind, value), first 128 bits: the token itself is never kept, only this digest.</summary>
    private static UInt128 Key(string token, char kind, string value)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(token));
        hash.AppendData([0, (byte)kind, 0]); // tokens and txn ids hold no NUL: the parts cannot run together
        hash.AppendData(Encoding.UTF8.GetBytes(value));
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(digest);
    }

    /// <summary><c>$</c> + 43 URL-safe base64 characters: the shape of a reference-hash event id (room versions 4+).</summary>
    internal static string NewEventId() => EventIdBytes.Random().ToEventId();

    /// <summary>An event id's 32 random bytes, kept inline.</summary>
    private readonly record struct EventIdBytes(UInt128 Low, UInt128 High)
    {
        public static EventIdBytes Random()
        {
            Span<byte> bytes = stackalloc byte[32];
            RandomNumberGenerator.Fill(bytes);
            return new(System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(bytes), System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(bytes[16..]));
        }

        public string ToEventId()
        {
            Span<byte> bytes = stackalloc byte[32];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(bytes, Low);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(bytes[16..], High);
            return "$" + Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        }
    }
}
