namespace Gateway.Policy.Protections;

/// <summary>What one counter operation does to its key.</summary>
public enum CounterOpKind
{
    /// <summary>Adds one event now to the key's sliding window; the result is the events in the window, this one included (at most <see cref="CounterOp.Cap"/>).</summary>
    Hit = 0,

    /// <summary>Adds <see cref="CounterOp.Member"/> to the key's windowed set; the result is the distinct members in the window (at most the cap).</summary>
    Distinct = 1,

    /// <summary>Records now as the key's first sighting unless it has one; the result is that first sighting (Unix milliseconds).</summary>
    FirstSeen = 2,

    /// <summary>The events in the key's window now, without adding one.</summary>
    Peek = 3,
}

/// <summary>
/// One operation on the shared counters. Keys hold numbers and hashes only, never text: callers build them from rule
/// names, sender ids, room ids and keyed hashes. <see cref="Cap"/> bounds what a key keeps (a limit of N needs N + 1
/// events to tell "exactly N" from "more than N").
/// </summary>
public readonly record struct CounterOp(CounterOpKind Kind, string Key, TimeSpan Window, int Cap, ulong Member = 0);

/// <summary>
/// The counters protections keep: increment in a window, distinct members in a window, first seen. Network-shaped on
/// purpose: a message's operations go in one batch (one round trip for a shared store), asynchronously; the
/// in-process store answers synchronously. Implementations are exact up to each operation's cap and bound their
/// memory themselves.
/// </summary>
public interface ICounterStore
{
    /// <summary>Runs <paramref name="ops"/> in order and writes one result per operation into <paramref name="results"/>.</summary>
    ValueTask ExecuteAsync(ReadOnlyMemory<CounterOp> ops, Memory<long> results, CancellationToken cancellationToken);

    /// <summary>Keys held now.</summary>
    int Count { get; }

    /// <summary>Keys dropped to stay within the memory cap since the store started.</summary>
    long Evictions { get; }

    /// <summary>
    /// The seed for hashes inside keys (duplicate texts, links, conversations). Null: a random one per process. A store
    /// shared by several processes gives one seed to all of them, or the same text would count under different keys.
    /// </summary>
    long? HashSeed => null;
}
