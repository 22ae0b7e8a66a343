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
    private readonly TimeSpan _lifetime = lifetime ?? TimeSpan.FromHours(24);
    private readonly Dictionary<(string Token, string Txn), (string EventId, DateTimeOffset Expires)> _byTxn = new();
    private readonly Dictionary<(string Token, string EventId), DateTimeOffset> _ids = new();
    private readonly Queue<((string, string) Txn, (string, string) Id, DateTimeOffset Expires)> _order = new();
    private readonly Lock _lock = new();

    /// <summary>The event id for a dropped send: the one given before for this (token, txnId), or a fresh one.</summary>
    public string EventIdFor(string token, string? txnId)
    {
        var key = TokenKey(token);
        var now = time.GetUtcNow();
        lock (_lock)
        {
            Expire(now);
            if (txnId is not null && _byTxn.TryGetValue((key, txnId), out var known) && known.Expires > now)
            {
                return known.EventId;
            }

            var id = NewEventId();
            var expires = now + _lifetime;
            if (_order.Count >= capacity)
            {
                Evict(_order.Dequeue());
            }

            var txn = (key, txnId ?? id);
            _byTxn[txn] = (id, expires);
            _ids[(key, id)] = expires;
            _order.Enqueue((txn, (key, id), expires));
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
            return _ids.Count > 0 && _ids.TryGetValue((TokenKey(token), eventId), out var expires) && expires > now;
        }
    }

    private void Expire(DateTimeOffset now)
    {
        while (_order.Count > 0 && _order.Peek().Expires <= now)
        {
            Evict(_order.Dequeue());
        }
    }

    private void Evict(((string, string) Txn, (string, string) Id, DateTimeOffset Expires) entry)
    {
        _byTxn.Remove(entry.Txn);
        _ids.Remove(entry.Id);
    }

    private static string TokenKey(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary><c>$</c> + 43 URL-safe base64 characters: the shape of a reference-hash event id (room versions 4+).</summary>
    internal static string NewEventId()
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes);
        return "$" + Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
