using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Policy.Rules;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// Matrix policy lists (MSC2313, in the spec): m.policy.rule.user | m.policy.rule.server | m.policy.rule.room state
/// events (and their legacy spellings org.matrix.mjolnir.rule.* and m.room.rule.*) with content {entity (glob), recommendation, reason}. Only "m.ban" is acted on (the one recommendation the
/// spec defines; the unstable "org.matrix.mjolnir.ban" is accepted as its alias). Server rules join the ACL deny list;
/// user rules reject that user's messages and federation membership requests; room rules refuse federation for the room.
/// </summary>
public sealed class MatrixPolicyList
{
    private readonly Regex? _users;
    private readonly Regex? _rooms;

    private MatrixPolicyList(IReadOnlyList<string> servers, IReadOnlyList<string> users, IReadOnlyList<string> rooms)
    {
        ServerBans = servers;
        UserBans = users;
        RoomBans = rooms;
        _users = NameGlob.CompileAny(users);
        _rooms = NameGlob.CompileAny(rooms);
    }

    public static MatrixPolicyList Empty { get; } = new(Array.Empty<string>(), Array.Empty<string>(), Array.Empty<string>());

    public IReadOnlyList<string> ServerBans { get; }

    public IReadOnlyList<string> UserBans { get; }

    public IReadOnlyList<string> RoomBans { get; }

    public bool IsUserBanned(string? userId) => userId is not null && _users is not null && _users.IsMatch(userId);

    public bool IsRoomBanned(string? roomId) => roomId is not null && _rooms is not null && _rooms.IsMatch(roomId);

    /// <summary>
    /// Reads a JSON file holding an array of policy events, or an object with an "events" array (what a /state or
    /// /messages export gives). Problems are reported per event; valid events still load.
    /// </summary>
    public static MatrixPolicyList Parse(IEnumerable<(string Source, string Json)> files, List<string> errors)
    {
        var servers = new List<string>();
        var users = new List<string>();
        var rooms = new List<string>();
        foreach (var (source, json) in files)
        {
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64, AllowTrailingCommas = false });
            }
            catch (JsonException ex)
            {
                errors.Add($"{source}: not valid JSON ({ex.Message.Split('.')[0]})");
                continue;
            }

            using (doc)
            {
                var events = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement
                    : doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("events", out var e) ? e
                    : default;
                if (events.ValueKind != JsonValueKind.Array)
                {
                    errors.Add($"{source}: expected an array of m.policy.rule.* events or {{\"events\": [...]}}");
                    continue;
                }

                var index = 0;
                foreach (var ev in events.EnumerateArray())
                {
                    Read(ev, $"{source}: events[{index++}]", servers, users, rooms, errors);
                }
            }
        }

        return new MatrixPolicyList(servers, users, rooms);
    }

    private static void Read(JsonElement ev, string where, List<string> servers, List<string> users, List<string> rooms, List<string> errors)
    {
        if (ev.ValueKind != JsonValueKind.Object || !ev.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
            || !ev.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{where}: not an event with a type and a content object");
            return;
        }

        if (!content.TryGetProperty("entity", out var entity) || entity.ValueKind != JsonValueKind.String)
        {
            return; // a redacted or withdrawn rule has empty content: nothing to apply
        }

        var recommendation = content.TryGetProperty("recommendation", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        if (recommendation is not ("m.ban" or "org.matrix.mjolnir.ban"))
        {
            return;
        }

        var glob = entity.GetString()!;
        if (!NameGlob.TryValidate(glob, out var error))
        {
            errors.Add($"{where}: entity {error}");
            return;
        }

        switch (type.GetString())
        {
            // The legacy spellings Mjolnir and Draupnir still read (and older lists still hold) count the same.
            case "m.policy.rule.server" or "org.matrix.mjolnir.rule.server" or "m.room.rule.server":
                servers.Add(glob);
                break;
            case "m.policy.rule.user" or "org.matrix.mjolnir.rule.user" or "m.room.rule.user":
                users.Add(glob);
                break;
            case "m.policy.rule.room" or "org.matrix.mjolnir.rule.room" or "m.room.rule.room":
                rooms.Add(glob);
                break;
        }
    }

    /// <summary>Whether an event type is a policy rule (stable or legacy spelling): what a policy room's state is read for.</summary>
    public static bool IsRuleType(string? type) => type is "m.policy.rule.server" or "m.policy.rule.user" or "m.policy.rule.room"
        or "org.matrix.mjolnir.rule.server" or "org.matrix.mjolnir.rule.user" or "org.matrix.mjolnir.rule.room"
        or "m.room.rule.server" or "m.room.rule.user" or "m.room.rule.room";

    /// <summary>A list from policy events already parsed (a policy room's current state). Problems go to <paramref name="errors"/>.</summary>
    public static MatrixPolicyList FromEvents(IEnumerable<(string Where, JsonElement Event)> events, List<string> errors)
    {
        var servers = new List<string>();
        var users = new List<string>();
        var rooms = new List<string>();
        foreach (var (where, ev) in events)
        {
            Read(ev, where, servers, users, rooms, errors);
        }

        return servers.Count + users.Count + rooms.Count == 0 ? Empty : new MatrixPolicyList(servers, users, rooms);
    }

    /// <summary>Both lists' bans together (files and rooms).</summary>
    public static MatrixPolicyList Merge(MatrixPolicyList a, MatrixPolicyList b) =>
        ReferenceEquals(b, Empty) || b.Count == 0 ? a
        : ReferenceEquals(a, Empty) || a.Count == 0 ? b
        : new MatrixPolicyList([.. a.ServerBans, .. b.ServerBans], [.. a.UserBans, .. b.UserBans], [.. a.RoomBans, .. b.RoomBans]);

    /// <summary>How many ban rules the list holds.</summary>
    public int Count => ServerBans.Count + UserBans.Count + RoomBans.Count;
}
