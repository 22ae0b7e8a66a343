using Microsoft.AspNetCore.Http;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gateway.Tests.Matrix;

/// <summary>
/// Room aliases and the room directory, kick/ban/unban, and application services, as Synapse answers them
/// (synapse/handlers/directory.py, synapse/rest/client/room.py, synapse/api/auth/base.py get_appservice_user).
/// Every handler runs under <c>_gate</c>.
/// </summary>
internal sealed partial class FakeHomeserver
{
    private readonly HashSet<string> _published = new(StringComparer.Ordinal);
    private readonly List<AppserviceRecord> _appservices = [];

    private sealed record AppserviceRecord(string AsToken, string SenderUserId, Regex Users);

    /// <summary>Registers an application service (as the homeserver reads its registration file) and creates its bot user.</summary>
    public string RegisterAppservice(string asToken, string senderLocalpart, string userRegex)
    {
        var bot = CreateUser(senderLocalpart).UserId;
        lock (_gate)
        {
            _appservices.Add(new AppserviceRecord(asToken, bot, new Regex(userRegex)));
        }

        return bot;
    }

    /// <summary>Rooms published in the room directory.</summary>
    public IReadOnlyList<string> PublishedRooms()
    {
        lock (_gate)
        {
            return [.. _published];
        }
    }

    /// <summary>Creates an alias directly (as an admin would), without going through the gateway.</summary>
    public void AddAlias(string alias, string roomId)
    {
        lock (_gate)
        {
            _aliases[alias] = roomId;
        }
    }

    /// <summary>The room an alias points to, or null.</summary>
    public string? ResolveAlias(string alias)
    {
        lock (_gate)
        {
            return _aliases.TryGetValue(alias, out var r) ? r : null;
        }
    }

    /// <summary>
    /// Synapse's get_appservice_user: an as_token acts as its bot, or as <c>?user_id=</c> when that user is in the
    /// namespace and registered; otherwise 403. Null when the token is no appservice's.
    /// </summary>
    private Reply? AuthenticateAppserviceLocked(HttpContext ctx, string token, out SessionRecord? session)
    {
        session = null;
        var service = _appservices.FirstOrDefault(a => a.AsToken == token);
        if (service is null)
        {
            return null;
        }

        var userId = ctx.Request.Query.TryGetValue("user_id", out var u) && u.ToString().Length > 0 ? u.ToString() : service.SenderUserId;
        if (userId != service.SenderUserId && !service.Users.IsMatch(userId))
        {
            return Error(403, "M_FORBIDDEN", $"Application service cannot masquerade as this user ({userId}).");
        }

        if (!_users.ContainsKey(userId))
        {
            return Error(403, "M_FORBIDDEN", $"Application service has not registered this user ({userId})");
        }

        session = new SessionRecord(token, userId, "AS");
        return Reply.Empty(); // a marker: authenticated (the caller replaces it with null)
    }

    private IEnumerable<Route> DirectoryRoutes() =>
    [
        R("GET", Api.Client, "directory/room/{roomAlias}", Auth.Optional, BodyKind.None, c =>
            _aliases.TryGetValue(c["roomAlias"], out var roomId)
                ? Reply.Ok(new JsonObject { ["room_id"] = roomId, ["servers"] = new JsonArray(ServerName) })
                : Error(404, "M_NOT_FOUND", $"Room alias {c["roomAlias"]} not found")),
        R("PUT", Api.Client, "directory/room/{roomAlias}", Auth.Required, BodyKind.Required, CreateAlias),
        R("DELETE", Api.Client, "directory/room/{roomAlias}", Auth.Required, BodyKind.None, c =>
        {
            if (!_aliases.Remove(c["roomAlias"]))
            {
                return Error(404, "M_NOT_FOUND", "Room alias not found");
            }

            return Reply.Empty();
        }),
        R("GET", Api.Client, "directory/list/room/{roomId}", Auth.None, BodyKind.None, c =>
            _rooms.ContainsKey(c["roomId"])
                ? Reply.Ok(new JsonObject { ["visibility"] = _published.Contains(c["roomId"]) ? "public" : "private" })
                : Error(404, "M_NOT_FOUND", "Unknown room")),
        R("PUT", Api.Client, "directory/list/room/{roomId}", Auth.Required, BodyKind.Required, Publish),
        R("GET", Api.Client, "publicRooms", Auth.Optional, BodyKind.None, _ => Reply.Ok(new JsonObject
        {
            ["chunk"] = new JsonArray(_published.Select(r => (JsonNode)PublicRoomEntry(_rooms[r])).ToArray()),
            ["total_room_count_estimate"] = _published.Count,
        })),
        R("POST", Api.Client, "rooms/{roomId}/kick", Auth.Required, BodyKind.Required, c => Moderate(c, "kick", "leave", "kick", 50)),
        R("POST", Api.Client, "rooms/{roomId}/ban", Auth.Required, BodyKind.Required, c => Moderate(c, "ban", "ban", "ban", 50)),
        R("POST", Api.Client, "rooms/{roomId}/unban", Auth.Required, BodyKind.Required, c => Moderate(c, "unban", "leave", "ban", 50)),
    ];

    private Reply CreateAlias(Call c)
    {
        var alias = c["roomAlias"];
        var roomId = Str(c.Body, "room_id") ?? throw new MatrixErrorException(400, "M_MISSING_PARAM", "Missing parameter: room_id");
        if (!alias.StartsWith('#') || !alias.Contains(':'))
        {
            return Error(400, "M_INVALID_PARAM", $"Room alias {alias} is not valid");
        }

        if (!alias.EndsWith(":" + ServerName, StringComparison.Ordinal))
        {
            return Error(400, "M_UNKNOWN", "Room alias must be local");
        }

        if (_aliases.ContainsKey(alias))
        {
            return Error(409, "M_UNKNOWN", $"Room alias {alias} already exists");
        }

        if (!_rooms.TryGetValue(roomId, out var room) || MembershipLocked(room, c.Caller.UserId) != "join")
        {
            return Error(403, "M_FORBIDDEN", "You must be in the room to create an alias for it");
        }

        _aliases[alias] = roomId;
        return Reply.Empty();
    }

    private Reply Publish(Call c)
    {
        var visibility = Str(c.Body, "visibility") ?? "public";
        if (visibility is not ("public" or "private"))
        {
            return Error(400, "M_UNKNOWN", "Invalid visibility setting");
        }

        if (!_rooms.TryGetValue(c["roomId"], out var room))
        {
            return Error(404, "M_NOT_FOUND", "Unknown room");
        }

        // check_can_change_room_list: joined, and allowed to send m.room.canonical_alias.
        var required = PowerLevels(room) is { } pl && pl.TryGetProperty("events", out var ev) ? Int(ev, "m.room.canonical_alias") ?? 50 : 50;
        if (MembershipLocked(room, c.Caller.UserId) != "join" || UserLevelLocked(room, c.Caller.UserId) < required)
        {
            return Error(403, "M_FORBIDDEN", "This server requires you to be a moderator in the room to edit its room list entry");
        }

        if (visibility == "public")
        {
            _published.Add(room.RoomId);
        }
        else
        {
            _published.Remove(room.RoomId);
        }

        return Reply.Empty();
    }

    private JsonObject PublicRoomEntry(RoomRecord room)
    {
        var entry = new JsonObject { ["room_id"] = room.RoomId, ["num_joined_members"] = room.State.Values.Count(e => e.Type == "m.room.member" && e.Text("membership") == "join") };
        foreach (var (type, key, field) in new[] { ("m.room.name", "name", "name"), ("m.room.topic", "topic", "topic"), ("m.room.canonical_alias", "alias", "canonical_alias") })
        {
            if (room.State.TryGetValue((type, ""), out var e) && e.Text(key) is { } v)
            {
                entry[field] = v;
            }
        }

        return entry;
    }

    /// <summary>kick / ban / unban: the sender needs the action's level and more power than the target (kick, ban).</summary>
    private Reply Moderate(Call c, string action, string membership, string levelKey, int fallback)
    {
        var room = RoomForMember(c);
        var target = Str(c.Body, "user_id") ?? throw new MatrixErrorException(400, "M_MISSING_PARAM", "Missing parameter: user_id");
        RequireLevel(room, c.Caller.UserId, levelKey, fallback, action + " users");
        var current = MembershipLocked(room, target);
        if (action == "kick" && current is not ("join" or "invite"))
        {
            return Error(403, "M_FORBIDDEN", $"The target user is not in the room");
        }

        if (action == "unban" && current != "ban")
        {
            return Error(403, "M_FORBIDDEN", $"The target user is not banned");
        }

        if (action != "unban" && UserLevelLocked(room, target) >= UserLevelLocked(room, c.Caller.UserId))
        {
            return Error(403, "M_FORBIDDEN", $"You cannot {action} user {target}.");
        }

        var content = new JsonObject { ["membership"] = membership };
        if (Str(c.Body, "reason") is { } reason)
        {
            content["reason"] = reason;
        }

        AppendLocked(room, c.Caller.UserId, c.Caller.DeviceId, "m.room.member", target, Json(content), null, checkAuth: false);
        return Reply.Empty();
    }

    /// <summary>Synapse refuses a canonical alias that does not point to the room (400 M_BAD_ALIAS).</summary>
    private void CheckCanonicalAliasLocked(RoomRecord room, JsonElement content)
    {
        var aliases = new List<string>();
        if (Str(content, "alias") is { } a)
        {
            aliases.Add(a);
        }

        if (content.TryGetProperty("alt_aliases", out var alts) && alts.ValueKind == JsonValueKind.Array)
        {
            aliases.AddRange(alts.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!));
        }

        foreach (var alias in aliases)
        {
            if (!_aliases.TryGetValue(alias, out var r) || r != room.RoomId)
            {
                throw new MatrixErrorException(400, "M_BAD_ALIAS", $"Room alias {alias} does not point to the room");
            }
        }
    }
}
