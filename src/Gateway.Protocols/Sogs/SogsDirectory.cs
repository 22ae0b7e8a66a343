using System.Numerics;

namespace Gateway.Protocols.Sogs;

/// <summary>
/// Who is a moderator (room or global, visible or hidden) and who is trusted, in the one form requests are compared
/// in: a <c>05…</c> id for an unblinded user, the positive (sign bit cleared) <c>15…</c> key for a blinded one. Each
/// configured <c>05…</c> Session ID also stands for its blinded id on this server, so a request signed with the
/// blinded key matches a <c>05…</c> entry as SOGS's own <c>compute_blinded_abs_id</c> matches it.
/// </summary>
internal sealed class SogsDirectory
{
    private readonly BigInteger _k;
    private readonly Lists _configured;
    private volatile Lists _fromDatabase = Lists.Empty;

    public SogsDirectory(SogsBackendSettings settings)
    {
        _k = SogsCrypto.BlindingFactor(settings.ServerPubkey);
        var rooms = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        var roomTrusted = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (token, room) in settings.Rooms)
        {
            rooms[token] = Normalize(room.Moderators);
            roomTrusted[token] = Normalize(room.Trusted);
        }

        _configured = new Lists(Normalize(settings.Moderators), rooms, Normalize(settings.Trusted), roomTrusted);
    }

    /// <summary>What SOGS's database says (replaced whole on every refresh).</summary>
    public void SetDatabase(IEnumerable<string> globalModerators, IEnumerable<(string Room, string SessionId)> roomModerators,
        IEnumerable<(string Room, string SessionId)> roomUploaders)
    {
        _fromDatabase = new Lists(Normalize(globalModerators), Group(roomModerators), new HashSet<string>(StringComparer.Ordinal), Group(roomUploaders));
    }

    /// <summary>A moderator or admin of <paramref name="room"/> (null: of the server, i.e. global).</summary>
    public bool IsModerator(string sessionId, string? room)
    {
        var id = Canonical(sessionId);
        return id is not null && (_configured.IsModerator(id, room) || _fromDatabase.IsModerator(id, room));
    }

    /// <summary>A moderator, or trusted in <paramref name="room"/> or everywhere (null: anywhere on the server).</summary>
    public bool IsTrusted(string sessionId, string? room)
    {
        var id = Canonical(sessionId);
        return id is not null && (_configured.IsTrusted(id, room) || _fromDatabase.IsTrusted(id, room));
    }

    /// <summary>The blinded id (positive form) of a <c>05…</c> Session ID on this server.</summary>
    public string? BlindedId(string sessionId05)
    {
        if (sessionId05.Length != 66 || !sessionId05.StartsWith("05", StringComparison.Ordinal) || !IsHex(sessionId05.AsSpan(2)))
        {
            return null;
        }

        return SogsCrypto.BlindedAbsKey(Convert.FromHexString(sessionId05.AsSpan(2)), _k) is { } key ? "15" + Convert.ToHexStringLower(key) : null;
    }

    /// <summary>The comparable form: lower-case; a 15 key with its sign bit cleared. Null for what is no Session ID.</summary>
    internal static string? Canonical(string id)
    {
        if (id.Length != 66 || !IsHex(id.AsSpan(2)))
        {
            return null;
        }

        var lower = id.ToLowerInvariant();
        if (lower.StartsWith("15", StringComparison.Ordinal))
        {
            var key = SogsCrypto.Abs(Convert.FromHexString(lower.AsSpan(2)));
            return "15" + Convert.ToHexStringLower(key);
        }

        return lower.StartsWith("05", StringComparison.Ordinal) ? lower : null;
    }

    private HashSet<string> Normalize(IEnumerable<string> ids)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in ids)
        {
            if (Canonical(raw.Trim()) is not { } id)
            {
                continue;
            }

            set.Add(id);
            if (id.StartsWith("05", StringComparison.Ordinal) && BlindedId(id) is { } blinded)
            {
                set.Add(blinded);
            }
        }

        return set;
    }

    private Dictionary<string, HashSet<string>> Group(IEnumerable<(string Room, string SessionId)> rows)
    {
        var byRoom = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (room, id) in rows)
        {
            if (!byRoom.TryGetValue(room, out var list))
            {
                byRoom[room] = list = new List<string>();
            }

            list.Add(id);
        }

        return byRoom.ToDictionary(p => p.Key, p => Normalize(p.Value), StringComparer.OrdinalIgnoreCase);
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private sealed record Lists(HashSet<string> Global, Dictionary<string, HashSet<string>> Rooms, HashSet<string> Trusted,
        Dictionary<string, HashSet<string>> RoomTrusted)
    {
        public static Lists Empty { get; } = new(new(StringComparer.Ordinal), new(StringComparer.OrdinalIgnoreCase), new(StringComparer.Ordinal),
            new(StringComparer.OrdinalIgnoreCase));

        public bool IsModerator(string id, string? room) =>
            Global.Contains(id) || (room is not null ? Rooms.TryGetValue(room, out var r) && r.Contains(id) : Rooms.Values.Any(r => r.Contains(id)));

        public bool IsTrusted(string id, string? room) =>
            IsModerator(id, room) || Trusted.Contains(id)
            || (room is not null ? RoomTrusted.TryGetValue(room, out var r) && r.Contains(id) : RoomTrusted.Values.Any(r => r.Contains(id)));
    }
}
