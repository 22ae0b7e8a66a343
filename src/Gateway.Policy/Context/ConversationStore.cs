using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Unicode;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;

namespace Gateway.Policy.Context;

/// <summary>
/// The last messages of each conversation, raw, in RAM only, so a report can show what led up to a message. One
/// cache entry per conversation holds a <see cref="ConversationRing"/>; the cache gives idle expiry (sliding) and a
/// byte budget with least-recently-used compaction, the ring gives oldest-first overwrite inside a conversation.
/// </summary>
/// <remarks>
/// <para>
/// Nothing here logs, traces or writes anywhere, and neither exceptions nor <c>ToString</c> carry message text.
/// Bytes are zeroed when a record is overwritten, a ring grows, or a conversation is evicted or cleared.
/// </para>
/// <para>
/// Threads: each ring is locked while it is read or written. Every write of a cache entry (creating a conversation,
/// or setting it again with its new size after the ring grew) happens under one of a few striped locks, so two
/// rings never compete for one key. A ring leaves the cache only through the eviction callback, which wipes it and
/// marks it dead; an appender holding a dead ring looks the key up again.
/// </para>
/// </remarks>
// Stack buffers are written before they are read: skipping their zeroing saves a 1 KiB memset per append.
[SkipLocalsInit]
public sealed class ConversationStore : IDisposable
{
    /// <summary>
    /// Bytes a conversation costs beyond its ring's capacity and its key's characters, so the size limit tracks real
    /// memory: the cache entry with its callback list and dictionary node (~293), the ring object (40), the array and
    /// string headers (48). loadtests/ContextMemory measured 383 in all.
    /// </summary>
    internal const int EntryOverheadBytes = 384;

    private const int StackTextBytes = 1024;

    private readonly ConversationStoreOptions _options;
    private readonly RingLimits _limits;
    private readonly TimeProvider _time;
    private readonly MemoryCache _cache;
    private readonly PostEvictionCallbackRegistration _onEvicted;
    private readonly Lock[] _entryLocks;
    private long _bytes;
    private int _disposed;

    public ConversationStore(ConversationStoreOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MessagesPerConversation, 1, nameof(options.MessagesPerConversation));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MessagesPerConversation, 1024, nameof(options.MessagesPerConversation));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxMessageBytes, 16, nameof(options.MaxMessageBytes));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxMessageBytes, ushort.MaxValue, nameof(options.MaxMessageBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxTotalBytes, 1, nameof(options.MaxTotalBytes));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.IdleExpiry, TimeSpan.Zero, nameof(options.IdleExpiry));

        _options = options;
        _limits = RingLimits.For(options.MessagesPerConversation, options.MaxMessageBytes);
        _time = time;
        _cache = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = options.MaxTotalBytes,
            Clock = new TimeProviderClock(time),
        });
        // One registration shared by every entry: the callback learns the ring from the entry's value.
        _onEvicted = new PostEvictionCallbackRegistration { EvictionCallback = OnEvicted, State = this };
        _entryLocks = new Lock[Math.Max(16, Environment.ProcessorCount * 4)];
        for (var i = 0; i < _entryLocks.Length; i++)
        {
            _entryLocks[i] = new Lock();
        }
    }

    /// <summary>Conversations in the cache now.</summary>
    public long Conversations => _cache.Count;

    /// <summary>
    /// Bytes accounted to live conversations (ring arrays, keys and <see cref="EntryOverheadBytes"/> each). Evictions
    /// are reported by the cache on the thread pool, so this lags them briefly.
    /// </summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>
    /// Keeps <paramref name="text"/> (raw, cut to <see cref="ConversationStoreOptions.MaxMessageBytes"/> UTF-8 bytes
    /// at a code point boundary) as the newest message of the conversation, sent now by <paramref name="sender"/>.
    /// A sender id longer than 255 UTF-8 bytes is cut the same way.
    /// </summary>
    public void Append(ConversationKey key, string sender, ReadOnlySpan<char> text) => Append(key, sender, text, _time.GetUtcNow());

    /// <summary>
    /// As <see cref="Append(ConversationKey, string, ReadOnlySpan{char})"/>, sent at <paramref name="time"/> (an append
    /// another instance made and pushed to this one, the conversation's owner). Kept in arrival order.
    /// </summary>
    public void Append(ConversationKey key, string sender, ReadOnlySpan<char> text, DateTimeOffset time)
    {
        var id = KeyOf(key);
        ArgumentNullException.ThrowIfNull(sender);

        Span<byte> senderBytes = stackalloc byte[ConversationRing.MaxSenderBytes];
        senderBytes = senderBytes[..Encode(sender, senderBytes)];

        var textCapacity = (int)Math.Min(_options.MaxMessageBytes, 3L * text.Length);
        byte[]? rented = null;
        var textBytes = textCapacity <= StackTextBytes
            ? stackalloc byte[StackTextBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(textCapacity));
        try
        {
            textBytes = textBytes[..Encode(text, textBytes[..textCapacity])];
            Append(id, time.UtcTicks, senderBytes, textBytes);
        }
        finally
        {
            textBytes.Clear();
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The conversation's messages, oldest first; empty when there is none. Counts as use for expiry.</summary>
    public IReadOnlyList<ContextMessage> Snapshot(ConversationKey key)
    {
        if (!_cache.TryGetValue(KeyOf(key), out var value))
        {
            return [];
        }

        var ring = (ConversationRing)value!;
        lock (ring)
        {
            return ring.Snapshot();
        }
    }

    /// <summary>Whether <paramref name="participant"/> sent any of the messages the conversation still keeps.</summary>
    public bool Contains(ConversationKey key, string participant)
    {
        var id = KeyOf(key);
        ArgumentNullException.ThrowIfNull(participant);
        if (!_cache.TryGetValue(id, out var value))
        {
            return false;
        }

        Span<byte> participantBytes = stackalloc byte[ConversationRing.MaxSenderBytes];
        participantBytes = participantBytes[..Encode(participant, participantBytes)];
        var ring = (ConversationRing)value!;
        lock (ring)
        {
            return ring.HasSender(participantBytes);
        }
    }

    /// <summary>Wipes every conversation now (on shutdown, or when context must go).</summary>
    public void Clear()
    {
        foreach (var id in _cache.Keys)
        {
            if (_cache.TryGetValue(id, out var value))
            {
                Kill((ConversationRing)value!);
            }
        }

        _cache.Clear();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Clear();
        _cache.Dispose();
    }

    /// <summary>The ring behind a key, for tests (counts as use, like any lookup).</summary>
    internal ConversationRing? RingForTests(ConversationKey key) =>
        _cache.TryGetValue(key.Value, out var value) ? (ConversationRing?)value : null;

    /// <summary>Never prints keys or contents.</summary>
    public override string ToString() => $"ConversationStore {{ Conversations = {Conversations}, Bytes = {Bytes} }}";

    private void Append(string id, long ticks, ReadOnlySpan<byte> sender, ReadOnlySpan<byte> text)
    {
        while (true)
        {
            if (!_cache.TryGetValue(id, out var value))
            {
                lock (LockFor(id))
                {
                    if (!_cache.TryGetValue(id, out value))
                    {
                        // Nobody else can see this ring before SetEntry publishes it.
                        var created = new ConversationRing();
                        created.Append(_limits, ticks, sender, text);
                        Commit(id, created);
                        return;
                    }
                }
            }

            var ring = (ConversationRing)value!;
            lock (ring)
            {
                if (ring.IsDead)
                {
                    RemoveIfCurrent(id, ring);
                    continue;
                }

                if (ring.Append(_limits, ticks, sender, text))
                {
                    lock (LockFor(id))
                    {
                        // A ring evicted meanwhile is not put back: its pending eviction callback wipes it.
                        if (_cache.TryGetValue(id, out var current) && ReferenceEquals(current, ring))
                        {
                            Commit(id, ring);
                        }
                    }
                }

                return;
            }
        }
    }

    /// <summary>
    /// Puts the ring in the cache with its current size. Caller holds the key's entry lock.
    /// </summary>
    /// <remarks>
    /// An entry is never replaced in place: Microsoft.Extensions.Caching.Memory up to 10.0.14 (10.0.12 ships in the
    /// runtime's shared framework, which the gateway loads) subtracts a replaced entry's size before the swap, so a
    /// compaction removing that entry meanwhile subtracts it twice; the cache's size drifts below zero and from then on
    /// every set is refused (dotnet/runtime#129186). Removing first, then adding, never takes that path. The cache also
    /// refuses an entry that does not fit and compacts later on the thread pool, which would lose a new conversation
    /// whenever the budget is full: then room is made now, least recently used first, and the add tried once more.
    /// </remarks>
    private void Commit(string id, ConversationRing ring)
    {
        var size = ring.Capacity + (2 * id.Length) + EntryOverheadBytes;
        Interlocked.Add(ref _bytes, size - ring.AccountedSize);
        ring.AccountedSize = size;
        _cache.Remove(id); // its callback finds the ring current again (after this lock) and leaves it alone
        if (!Add(id, ring, size))
        {
            var count = Math.Max(1, _cache.Count);
            // At least a twentieth, as the cache's own compaction does, so a full store sorts its entries once per many adds.
            var share = Math.Max(Math.Max(2.0 * size / Math.Max(1, Bytes), 1.5 / count), 0.05);
            _cache.Compact(Math.Min(1.0, share));
            Add(id, ring, size);
        }
    }

    private bool Add(string id, ConversationRing ring, int size)
    {
        using (var entry = _cache.CreateEntry(id))
        {
            entry.Value = ring;
            entry.Size = size;
            entry.SlidingExpiration = _options.IdleExpiry;
            entry.PostEvictionCallbacks.Add(_onEvicted);
        }

        return _cache.TryGetValue(id, out var current) && ReferenceEquals(current, ring);
    }

    // Defensive: a dead ring should never be reachable from the cache, but if one is, drop it rather than spin.
    private void RemoveIfCurrent(string id, ConversationRing ring)
    {
        lock (LockFor(id))
        {
            if (_cache.TryGetValue(id, out var current) && ReferenceEquals(current, ring))
            {
                _cache.Remove(id);
            }
        }
    }

    private static void OnEvicted(object key, object? value, EvictionReason reason, object? state)
    {
        if (value is not ConversationRing ring || state is not ConversationStore store)
        {
            return;
        }

        // An entry leaves the cache for many reasons (expired, compacted, removed by Commit before it adds the ring
        // again, refused for capacity), and the callback runs later on the thread pool. The ring is wiped unless it is
        // the key's entry by then: once out of the cache a ring never returns except through Commit, which holds the
        // key's lock that IsCurrent waits for.
        if (key is string id && store.IsCurrent(id, ring))
        {
            return;
        }

        store.Kill(ring);
    }

    /// <summary>Whether <paramref name="ring"/> is the cache's entry for <paramref name="id"/>, after any set under way.</summary>
    private bool IsCurrent(string id, ConversationRing ring)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return false;
        }

        try
        {
            lock (LockFor(id))
            {
                return _cache.TryGetValue(id, out var current) && ReferenceEquals(current, ring);
            }
        }
        catch (ObjectDisposedException)
        {
            return false; // disposed meanwhile: Dispose wiped everything
        }
    }

    private void Kill(ConversationRing ring)
    {
        lock (ring)
        {
            if (!ring.IsDead)
            {
                Interlocked.Add(ref _bytes, -ring.AccountedSize);
                ring.Wipe();
            }
        }
    }

    private Lock LockFor(string id) => _entryLocks[(uint)id.GetHashCode() % (uint)_entryLocks.Length];

    private static string KeyOf(ConversationKey key) =>
        key.Value ?? throw new ArgumentException("The conversation key is empty (default).", nameof(key));

    private static int Encode(ReadOnlySpan<char> source, Span<byte> destination)
    {
        // Stops before the first code point that does not fit, so a cut never splits one; lone surrogates become
        // U+FFFD.
        Utf8.FromUtf16(source, destination, out _, out var written, replaceInvalidSequences: true, isFinalBlock: true);
        return written;
    }

    private sealed class TimeProviderClock(TimeProvider time) : ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
}
