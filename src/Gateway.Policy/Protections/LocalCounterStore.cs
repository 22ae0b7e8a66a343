namespace Gateway.Policy.Protections;

/// <summary>
/// The in-process <see cref="ICounterStore"/>: exact up to each operation's cap, bounded to <c>maxKeys</c> keys by
/// evicting the least recently used (counted), clocked by an injected <see cref="TimeProvider"/>. One lock: an
/// operation is a dictionary lookup and a few array writes, well under a microsecond, so contention stays cheap.
/// An evicted key starts again from nothing (a sender's first sighting becomes "now": stricter, never looser).
/// </summary>
public sealed class LocalCounterStore : ICounterStore
{
    private readonly Dictionary<string, Entry> _entries;
    private readonly TimeProvider _time;
    private readonly int _maxKeys;
    private readonly Lock _lock = new();
    private Entry? _newest;
    private Entry? _oldest;
    private long _evictions;

    public LocalCounterStore(TimeProvider time, int maxKeys = 100_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKeys, 1);
        _time = time;
        _maxKeys = maxKeys;
        _entries = new Dictionary<string, Entry>(Math.Min(maxKeys, 4096), StringComparer.Ordinal);
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>Slots in <paramref name="key"/>'s ring of event times, 0 when it has none (tests).</summary>
    internal int RingLength(string key)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(key, out var entry) ? entry.RingLength : 0;
        }
    }

    public ValueTask ExecuteAsync(ReadOnlyMemory<CounterOp> ops, Memory<long> results, CancellationToken cancellationToken)
    {
        Execute(ops.Span, results.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>The synchronous form the in-process callers use.</summary>
    public void Execute(ReadOnlySpan<CounterOp> ops, Span<long> results)
    {
        if (results.Length < ops.Length)
        {
            throw new ArgumentException("one result per operation", nameof(results));
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_lock)
        {
            for (var i = 0; i < ops.Length; i++)
            {
                results[i] = Apply(in ops[i], now);
            }
        }
    }

    private long Apply(in CounterOp op, long now)
    {
        var cap = Math.Max(1, op.Cap);
        if (op.Kind == CounterOpKind.Peek)
        {
            return _entries.TryGetValue(op.Key, out var seen) ? seen.CountSince(now - WindowMs(op.Window)) : 0;
        }

        var entry = Touch(op.Key, now);
        switch (op.Kind)
        {
            case CounterOpKind.FirstSeen:
                return entry.First;
            case CounterOpKind.Distinct:
                return entry.AddMember(op.Member, now, now - WindowMs(op.Window), cap);
            default:
                return entry.AddEvent(now, now - WindowMs(op.Window), cap);
        }
    }

    private static long WindowMs(TimeSpan window) =>
        window <= TimeSpan.Zero ? 0 : window >= TimeSpan.FromDays(3650) ? long.MaxValue / 4 : (long)window.TotalMilliseconds;

    private Entry Touch(string key, long now)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (!ReferenceEquals(entry, _newest))
            {
                Unlink(entry);
                LinkNewest(entry);
            }

            return entry;
        }

        if (_entries.Count >= _maxKeys && _oldest is { } victim)
        {
            Unlink(victim);
            _entries.Remove(victim.Key);
            _evictions++;
        }

        entry = new Entry(key, now);
        _entries.Add(key, entry);
        LinkNewest(entry);
        return entry;
    }

    private void LinkNewest(Entry entry)
    {
        entry.Older = _newest;
        entry.Newer = null;
        if (_newest is not null)
        {
            _newest.Newer = entry;
        }

        _newest = entry;
        _oldest ??= entry;
    }

    private void Unlink(Entry entry)
    {
        if (entry.Newer is not null)
        {
            entry.Newer.Older = entry.Older;
        }
        else
        {
            _newest = entry.Older;
        }

        if (entry.Older is not null)
        {
            entry.Older.Newer = entry.Newer;
        }
        else
        {
            _oldest = entry.Newer;
        }

        entry.Newer = entry.Older = null;
    }

    /// <summary>One key: its first sighting, a ring of recent event times, or a small set of (member, last seen).</summary>
    private sealed class Entry(string key, long first)
    {
        private const int MinRing = 8;

        private long[]? _times;
        private int _head;
        private int _count;
        private (ulong Member, long Seen)[]? _members;
        private int _memberCount;

        public string Key { get; } = key;

        public long First { get; } = first;

        public Entry? Newer { get; set; }

        public Entry? Older { get; set; }

        public long AddEvent(long now, long since, int cap)
        {
            // Grown on demand up to the cap, and only while the window needs it: a limit of thousands costs memory
            // only for senders who come near it *within one window*. When the ring is full, the next write lands on
            // its oldest event; if that one has left the window it is simply overwritten. (Growing whenever the ring
            // was full took every steady sender's ring to the cap in time: the soak's 10,000-a-second flood limit
            // grew ~150 senders' rings to 32 KB and on toward 80 KB each, the live heap rising with them.)
            if (_times is null)
            {
                _times = new long[Math.Min(cap, 4)];
            }
            else if (_times.Length > cap)
            {
                Resize(cap); // the limit went down in a reload
            }
            else if (_count == _times.Length && _times.Length < cap && _times[_head] > since)
            {
                Resize(Math.Min(cap, _times.Length * 2));
            }

            var times = _times!;
            times[_head] = now;
            _head = (_head + 1) % times.Length;
            _count = Math.Min(_count + 1, times.Length);
            var n = CountSince(since);

            // A ring that grew for a burst halves once a quarter of it holds the whole window again.
            if (n * 4 <= times.Length && times.Length > MinRing)
            {
                Resize(times.Length / 2);
            }

            return n;
        }

        /// <summary>Slots in this key's ring of event times (tests).</summary>
        public int RingLength => _times?.Length ?? 0;

        public int CountSince(long since)
        {
            if (_times is null)
            {
                return 0;
            }

            var n = 0;
            for (var k = 0; k < _count; k++)
            {
                var t = _times[(_head - 1 - k + _times.Length * 2) % _times.Length];
                if (t <= since)
                {
                    break;
                }

                n++;
            }

            return n;
        }

        public long AddMember(ulong member, long now, long since, int cap)
        {
            _members ??= new (ulong, long)[Math.Min(cap, 8)];
            var live = 0;
            var found = false;
            for (var k = 0; k < _memberCount; k++)
            {
                var m = _members[k];
                if (m.Member == member)
                {
                    m.Seen = now;
                    found = true;
                }

                if (m.Seen > since)
                {
                    _members[live++] = m;
                }
            }

            _memberCount = live;
            if (!found)
            {
                if (_memberCount == _members.Length)
                {
                    if (_members.Length < cap)
                    {
                        Array.Resize(ref _members, Math.Min(cap, _members.Length * 2));
                    }
                    else
                    {
                        // Full at the cap: the oldest member makes room (the count stays exact up to the cap).
                        var oldest = 0;
                        for (var k = 1; k < _memberCount; k++)
                        {
                            if (_members[k].Seen < _members[oldest].Seen)
                            {
                                oldest = k;
                            }
                        }

                        _members[oldest] = _members[--_memberCount];
                    }
                }

                _members[_memberCount++] = (member, now);
            }

            return _memberCount;
        }

        private void Resize(int cap)
        {
            var old = _times;
            var oldCount = _count;
            var oldHead = _head;
            _times = new long[cap];
            _head = 0;
            _count = 0;
            if (old is null)
            {
                return;
            }

            // Keep the newest events that fit, oldest first.
            var keep = Math.Min(oldCount, cap);
            for (var k = keep - 1; k >= 0; k--)
            {
                _times[_head] = old[(oldHead - 1 - k + old.Length * 2) % old.Length];
                _head = (_head + 1) % cap;
                _count++;
            }
        }
    }
}
