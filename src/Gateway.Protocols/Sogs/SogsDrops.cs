namespace Gateway.Protocols.Sogs;

/// <summary>
/// Ids, seqnos and times for the 201 answers of dropped posts. SOGS numbers messages from 1 upwards; the gateway's
/// never reach SOGS, so they must not collide with real ones a client may see later (Session matches messages by
/// server id): both counters start at the gateway's start time in milliseconds and only increase, per backend.
/// </summary>
internal sealed class SogsDrops(TimeProvider time)
{
    private readonly object _gate = new();
    private long _id;
    private readonly Dictionary<string, long> _seqno = new(StringComparer.OrdinalIgnoreCase);

    public (long Id, long Seqno, double Posted) Next(string room)
    {
        var now = time.GetUtcNow();
        var ms = now.ToUnixTimeMilliseconds();
        lock (_gate)
        {
            _id = Math.Max(_id + 1, ms);
            var seqno = _seqno.TryGetValue(room, out var s) ? Math.Max(s + 1, ms) : ms;
            if (_seqno.Count > 10_000 && !_seqno.ContainsKey(room))
            {
                _seqno.Clear();
            }

            _seqno[room] = seqno;
            return (_id, seqno, ms / 1000.0);
        }
    }
}
