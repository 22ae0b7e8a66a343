using System.Collections.Concurrent;

namespace Gateway.Protocols.Abstractions;

/// <summary>What kind of content the gateway could not read.</summary>
public enum OpaqueKind
{
    /// <summary>End-to-end encrypted events (Matrix m.room.encrypted, encrypted inbox messages).</summary>
    Encrypted = 0,

    /// <summary>Signed federation bodies: accepted or refused whole, never rewritten.</summary>
    Signed = 1,

    /// <summary>Onion-routed requests without a key.</summary>
    Onion = 2,
}

/// <summary>
/// What the gateway could not inspect, counted rather than guessed: encrypted events, signed federation bodies,
/// onion requests. Keys are (protocol, kind, room type) — a small, bounded set. Telemetry reads <see cref="Snapshot"/>.
/// </summary>
public sealed class OpaqueTraffic
{
    private static readonly string[] KindNames = ["encrypted", "signed", "onion"];

    private readonly ConcurrentDictionary<(string Protocol, OpaqueKind Kind, string RoomType), long> _counts = new();

    /// <summary>Raised after each count; the host forwards it to its metrics.</summary>
    public event Action<string, OpaqueKind, string>? Observed;

    /// <summary>
    /// The same as <see cref="Observed"/> with the kind's name ("encrypted", "signed", "onion"). Kept only until the
    /// host subscribes to <see cref="Observed"/>; delete it then.
    /// </summary>
    public event Action<string, string, string>? Counted;

    public static string NameOf(OpaqueKind kind) => KindNames[(int)kind];

    public void Count(string protocol, OpaqueKind kind, string roomType)
    {
        _counts.AddOrUpdate((protocol, kind, roomType), 1, static (_, n) => n + 1);
        Observed?.Invoke(protocol, kind, roomType);
        Counted?.Invoke(protocol, NameOf(kind), roomType);
    }

    public long Get(string protocol, OpaqueKind kind, string roomType) =>
        _counts.TryGetValue((protocol, kind, roomType), out var n) ? n : 0;

    /// <summary>By the kind's name ("encrypted", "signed", "onion"); 0 for a name that is none of them.</summary>
    public long Get(string protocol, string kind, string roomType)
    {
        var index = Array.IndexOf(KindNames, kind);
        return index < 0 ? 0 : Get(protocol, (OpaqueKind)index, roomType);
    }

    public IReadOnlyList<KeyValuePair<(string Protocol, OpaqueKind Kind, string RoomType), long>> Snapshot() => _counts.ToArray();
}
