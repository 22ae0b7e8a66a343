namespace Gateway.Policy.Protections;

/// <summary>A sender refused on every protocol until <see cref="Until"/>: by an escalation ladder or by hand.</summary>
public sealed record SenderBlock(string Sender, DateTimeOffset Until, string Source, string? Reason);

/// <summary>
/// Blocked senders, in process: added by escalation steps and the admin API, removed by hand or by expiry. Bounded:
/// at the cap, the block that expires soonest makes room (counted). Keys are sender ids, never text.
/// </summary>
public sealed class SenderBlockList(TimeProvider time, int maxEntries = 100_000)
{
    private readonly Dictionary<string, SenderBlock> _blocks = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private long _evictions;
    private int _count;

    /// <summary>Blocks held now (expired ones included until next touched); read without the lock.</summary>
    public int Count => Volatile.Read(ref _count);

    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>Raised after a block is added (the host closes the sender's open connections).</summary>
    public event Action<SenderBlock>? Added;

    /// <summary>Raised after a block is removed by <see cref="Remove"/> (not when one expires).</summary>
    public event Action<string>? Removed;

    public SenderBlock? Find(string? sender)
    {
        if (sender is null || Volatile.Read(ref _count) == 0)
        {
            return null;
        }

        lock (_lock)
        {
            if (!_blocks.TryGetValue(sender, out var block))
            {
                return null;
            }

            if (block.Until > time.GetUtcNow())
            {
                return block;
            }

            _blocks.Remove(sender);
            _count = _blocks.Count;
            return null;
        }
    }

    /// <summary>Adds or extends a block (a longer one is never shortened by a shorter one).</summary>
    public SenderBlock Add(string sender, TimeSpan duration, string source, string? reason) =>
        Add(new SenderBlock(sender, time.GetUtcNow() + duration, source, reason));

    /// <summary>Adds or extends a block with its own end (a block another instance made, say).</summary>
    public SenderBlock Add(SenderBlock block)
    {
        var sender = block.Sender;
        lock (_lock)
        {
            if (_blocks.TryGetValue(sender, out var existing) && existing.Until >= block.Until)
            {
                return existing;
            }

            if (!_blocks.ContainsKey(sender) && _blocks.Count >= maxEntries)
            {
                Evict();
            }

            _blocks[sender] = block;
            _count = _blocks.Count;
        }

        Added?.Invoke(block);
        return block;
    }

    public bool Remove(string sender)
    {
        bool removed;
        lock (_lock)
        {
            removed = _blocks.Remove(sender);
            _count = _blocks.Count;
        }

        if (removed)
        {
            Removed?.Invoke(sender);
        }

        return removed;
    }

    /// <summary>The live blocks, soonest expiry first.</summary>
    public IReadOnlyList<SenderBlock> Snapshot()
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            return _blocks.Values.Where(b => b.Until > now).OrderBy(b => b.Until).ToArray();
        }
    }

    private void Evict()
    {
        var now = time.GetUtcNow();
        SenderBlock? victim = null;
        foreach (var b in _blocks.Values)
        {
            if (b.Until <= now)
            {
                victim = b;
                break;
            }

            if (victim is null || b.Until < victim.Until)
            {
                victim = b;
            }
        }

        if (victim is not null)
        {
            _blocks.Remove(victim.Sender);
            _evictions++;
        }
    }
}
