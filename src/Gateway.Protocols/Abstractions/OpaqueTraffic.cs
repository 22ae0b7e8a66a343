using System.Collections.Concurrent;

namespace Gateway.Protocols.Abstractions;

/// <summary>
/// What the gateway could not inspect, counted rather than guessed: encrypted events, signed federation bodies,
/// onion requests. Keys are (protocol, kind, room type) — a small, bounded set. Telemetry reads <see cref="Snapshot"/>.
/// </summary>
public sealed class OpaqueTraffic
{
    private readonly ConcurrentDictionary<(string Protocol, string Kind, string RoomType), long> _counts = new();

    /// <summary>Raised after each count; the host forwards it to its metrics.</summary>
    public event Action<string, string, string>? Counted;

    public void Count(string protocol, string kind, string roomType)
    {
        _counts.AddOrUpdate((protocol, kind, roomType), 1, static (_, n) => n + 1);
        Counted?.Invoke(protocol, kind, roomType);
    }

    public long Get(string protocol, string kind, string roomType) =>
        _counts.TryGetValue((protocol, kind, roomType), out var n) ? n : 0;

    public IReadOnlyList<KeyValuePair<(string Protocol, string Kind, string RoomType), long>> Snapshot() => _counts.ToArray();
}
