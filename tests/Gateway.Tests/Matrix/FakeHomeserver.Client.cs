using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Tests.Matrix;

/// <summary>Client-server API handlers. Every handler runs under <c>_gate</c>.</summary>
internal sealed partial class FakeHomeserver
{
    private static readonly string[] SupportedVersions =
    [
        "r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1",
        "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12",
    ];

    private static readonly Dictionary<string, (string JoinRule, bool GuestCanJoin, bool InviteesAreAdmins, int InviteLevel)> Presets = new()
    {
        // Synapse's RoomCreationHandler._presets_dict: private presets lower "invite" to 0, public keeps 50.
        ["private_chat"] = ("invite", true, false, 0),
        ["trusted_private_chat"] = ("invite", true, true, 0),
        ["public_chat"] = ("public", false, false, 50),
    };

    private readonly Dictionary<string, MatrixEvent> _redactedBy = new(StringComparer.Ordinal);

    private List<Route> BuildRoutes() =>
    [
        R("GET", Api.ClientUnversioned, "versions", Auth.Optional, BodyKind.None, _ => Reply.Ok(new JsonObject
        {
            ["versions"] = new JsonArray(SupportedVersions.Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
            ["unstable_features"] = new JsonObject(),
        })),
        R("GET", Api.Client, "login", Auth.None, BodyKind.None, _ => Reply.Ok(new JsonObject
        {
            ["flows"] = new JsonArray(new JsonObject { ["type"] = "m.login.password" }),
        })),
        R("POST", Api.Client, "login", Auth.None, BodyKind.Required, Login),
        R("POST", Api.Client, "logout", Auth.Required, BodyKind.Optional, c =>
        {
            _sessions.Remove(c.Caller.Token);
            return Reply.Empty();
        }),
        R("POST", Api.Client, "logout/all", Auth.Required, BodyKind.Optional, c =>
        {
            foreach (var t in _sessions.Values.Where(s => s.UserId == c.Caller.UserId).Select(s => s.Token).ToList())
            {
                _sessions.Remove(t);
            }

            return Reply.Empty();
        }),
        R("GET", Api.Client, "account/whoami", Auth.Required, BodyKind.None, c => Reply.Ok(new JsonObject
        {
            ["user_id"] = c.Caller.UserId,
            ["device_id"] = c.Caller.DeviceId,
            ["is_guest"] = false,
        })),
        R("GET", Api.Client, "capabilities", Auth.Required, BodyKind.None, _ => Reply.Ok(new JsonObject
        {
            ["capabilities"] = new JsonObject
            {
                ["m.change_password"] = new JsonObject { ["enabled"] = false },
                ["m.set_displayname"] = new JsonObject { ["enabled"] = true },
                ["m.set_avatar_url"] = new JsonObject { ["enabled"] = true },
                ["m.3pid_changes"] = new JsonObject { ["enabled"] = false },
                ["m.room_versions"] = new JsonObject
                {
                    ["default"] = RoomVersion,
                    ["available"] = new JsonObject { [RoomVersion] = "stable" },
                },
            },
        })),
        R("GET", Api.Client, "pushrules/", Auth.Required, BodyKind.None, _ => Reply.Ok(new JsonObject { ["global"] = EmptyRuleset() })),
        R("GET", Api.Client, "pushrules/global/", Auth.Required, BodyKind.None, _ => Reply.Ok(EmptyRuleset())),
        R("POST", Api.Client, "user/{userId}/filter", Auth.Required, BodyKind.Required, c =>
        {
            var user = RequireSelf(c, "Cannot create filters for other users");
            user.Filters.Add(c.Body);
            return Reply.Ok(new JsonObject { ["filter_id"] = (user.Filters.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }),
        R("GET", Api.Client, "user/{userId}/filter/{filterId}", Auth.Required, BodyKind.None, c =>
        {
            var user = RequireSelf(c, "Cannot get filters for other users");
            return int.TryParse(c["filterId"], out var id) && id >= 0 && id < user.Filters.Count
                ? Reply.Ok(Node(user.Filters[id]))
                : Error(404, "M_NOT_FOUND", "No such filter");
        }),
        R("GET", Api.Client, "user/{userId}/account_data/{type}", Auth.Required, BodyKind.None, c =>
        {
            var user = RequireSelf(c, "Cannot get account data for other users.");
            return user.AccountData.TryGetValue(c["type"], out var v) ? Reply.Ok(Node(v.Content)) : Error(404, "M_NOT_FOUND", "Account data not found");
        }),
        R("PUT", Api.Client, "user/{userId}/account_data/{type}", Auth.Required, BodyKind.Required, c =>
        {
            var user = RequireSelf(c, "Cannot add account data for other users.");
            user.AccountData[c["type"]] = (c.Body, ++_stream);
            PulseLocked();
            return Reply.Empty();
        }),
        R("GET", Api.Client, "user/{userId}/rooms/{roomId}/account_data/{type}", Auth.Required, BodyKind.None, c =>
        {
            var user = RequireSelf(c, "Cannot get account data for other users.");
            return user.RoomAccountData.TryGetValue((c["roomId"], c["type"]), out var v) ? Reply.Ok(Node(v)) : Error(404, "M_NOT_FOUND", "Room account data not found");
        }),
        R("PUT", Api.Client, "user/{userId}/rooms/{roomId}/account_data/{type}", Auth.Required, BodyKind.Required, c =>
        {
            var user = RequireSelf(c, "Cannot add account data for other users.");
            user.RoomAccountData[(c["roomId"], c["type"])] = c.Body;
            return Reply.Empty();
        }),
        R("POST", Api.Client, "createRoom", Auth.Required, BodyKind.Required, c =>
        {
            var roomId = CreateRoomLocked(c.Caller.UserId, c.Caller.DeviceId, c.Body);
            var reply = new JsonObject { ["room_id"] = roomId };
            if (Str(c.Body, "room_alias_name") is { } alias)
            {
                reply["room_alias"] = $"#{alias}:{ServerName}";
            }

            return Reply.Ok(reply);
        }),
        R("POST", Api.Client, "join/{roomIdOrAlias}", Auth.Required, BodyKind.Optional, c =>
            Reply.Ok(new JsonObject { ["room_id"] = JoinLocked(c.Caller.UserId, c.Caller.DeviceId, c["roomIdOrAlias"], Str(c.Body, "reason")) })),
        R("POST", Api.Client, "rooms/{roomId}/join", Auth.Required, BodyKind.Optional, c =>
            Reply.Ok(new JsonObject { ["room_id"] = JoinLocked(c.Caller.UserId, c.Caller.DeviceId, c["roomId"], Str(c.Body, "reason")) })),
        R("POST", Api.Client, "rooms/{roomId}/leave", Auth.Required, BodyKind.Optional, c =>
        {
            // An invited user may leave (reject the invite): LeaveLocked checks the membership.
            var room = _rooms.TryGetValue(c["roomId"], out var r)
                ? r
                : throw new MatrixErrorException(403, "M_FORBIDDEN", $"User {c.Caller.UserId} not in room {c["roomId"]}");
            LeaveLocked(room, c.Caller.UserId, c.Caller.DeviceId, Str(c.Body, "reason"));
            return Reply.Empty();
        }),
        R("POST", Api.Client, "rooms/{roomId}/invite", Auth.Required, BodyKind.Required, c =>
        {
            var invitee = Str(c.Body, "user_id") ?? throw new MatrixErrorException(400, "M_MISSING_PARAM", "Missing parameter: user_id");
            InviteLocked(RoomForMember(c), c.Caller.UserId, invitee, c.Caller.DeviceId, Str(c.Body, "reason"));
            return Reply.Empty();
        }),
        R("PUT", Api.Client, "rooms/{roomId}/send/{eventType}/{txnId}", Auth.Required, BodyKind.Required, Send),
        R("PUT", Api.Client, "rooms/{roomId}/state/{eventType}/{stateKey?}", Auth.Required, BodyKind.Required, PutState),
        R("GET", Api.Client, "rooms/{roomId}/state/{eventType}/{stateKey?}", Auth.Required, BodyKind.None, c =>
        {
            var room = RoomForMember(c);
            if (!room.State.TryGetValue((c["eventType"], c["stateKey"]), out var e))
            {
                return Error(404, "M_NOT_FOUND", "Event not found.");
            }

            return Reply.Ok(c.Query("format") == "event" ? ClientEvent(e, c.Session) : Node(e.Content));
        }),
        R("GET", Api.Client, "rooms/{roomId}/state", Auth.Required, BodyKind.None, c =>
            Reply.Ok(new JsonArray(RoomForMember(c).State.Values.OrderBy(e => e.StreamOrdering).Select(e => (JsonNode)ClientEvent(e, c.Session)).ToArray()))),
        R("GET", Api.Client, "rooms/{roomId}/joined_members", Auth.Required, BodyKind.None, c =>
        {
            var room = RoomForMember(c);
            var joined = new JsonObject();
            foreach (var m in room.State.Values.Where(e => e.Type == "m.room.member" && e.Text("membership") == "join"))
            {
                var info = new JsonObject();
                if (m.Text("displayname") is { } dn)
                {
                    info["display_name"] = dn;
                }

                if (m.Text("avatar_url") is { } av)
                {
                    info["avatar_url"] = av;
                }

                joined[m.StateKey!] = info;
            }

            return Reply.Ok(new JsonObject { ["joined"] = joined });
        }),
        R("GET", Api.Client, "rooms/{roomId}/members", Auth.Required, BodyKind.None, c =>
        {
            var room = RoomForMember(c);
            var only = c.Query("membership");
            var not = c.Query("not_membership");
            var chunk = room.State.Values
                .Where(e => e.Type == "m.room.member" && (only is null || e.Text("membership") == only) && (not is null || e.Text("membership") != not))
                .OrderBy(e => e.StreamOrdering)
                .Select(e => (JsonNode)ClientEvent(e, c.Session));
            return Reply.Ok(new JsonObject { ["chunk"] = new JsonArray(chunk.ToArray()) });
        }),
        R("GET", Api.Client, "rooms/{roomId}/event/{eventId}", Auth.Required, BodyKind.None, c =>
        {
            // Synapse answers 404 both for a missing event and for one the caller may not see.
            if (!_events.TryGetValue(c["eventId"], out var e) || e.RoomId != c["roomId"]
                || !_rooms.TryGetValue(e.RoomId, out var room) || MembershipLocked(room, c.Caller.UserId) != "join")
            {
                return Error(404, "M_NOT_FOUND", "Event not found.");
            }

            return Reply.Ok(ClientEvent(e, c.Session));
        }),
        R("GET", Api.Client, "rooms/{roomId}/messages", Auth.Required, BodyKind.None, RoomMessages),
        R("PUT", Api.Client, "rooms/{roomId}/redact/{eventId}/{txnId}", Auth.Required, BodyKind.Optional, Redact),
        R("PUT", Api.Client, "rooms/{roomId}/typing/{userId}", Auth.Required, BodyKind.Required, c =>
        {
            RequireSelf(c, "Cannot set typing status for other users.");
            RoomForMember(c);
            return Reply.Empty();
        }),
        R("POST", Api.Client, "rooms/{roomId}/receipt/{receiptType}/{eventId}", Auth.Required, BodyKind.Optional, c =>
        {
            RoomForMember(c);
            // Synapse looks the event up first: a receipt for an id it never stored is 404 (what clients showed on
            // the gateway's early fake ids).
            return _events.ContainsKey(c["eventId"]) ? Reply.Empty() : Error(404, "M_NOT_FOUND", $"Could not find event {c["eventId"]}");
        }),
        R("POST", Api.Client, "rooms/{roomId}/read_markers", Auth.Required, BodyKind.Required, c =>
        {
            RoomForMember(c);
            if (c.Body.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in c.Body.EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.String && p.Value.GetString() is { } id && !_events.ContainsKey(id))
                    {
                        return Error(404, "M_NOT_FOUND", $"Could not find event {id}");
                    }
                }
            }

            return Reply.Empty();
        }),
        R("POST", Api.Client, "rooms/{roomId}/report/{eventId}", Auth.Required, BodyKind.Required, ReportEvent),
        R("POST", Api.Client, "rooms/{roomId}/report", Auth.Required, BodyKind.Required, c =>
        {
            if (!_rooms.ContainsKey(c["roomId"]))
            {
                return Error(404, "M_NOT_FOUND", "Room does not exist");
            }

            _reports.Add(new ContentReport("room", c.Caller.UserId, c["roomId"], null, null, ReportReason(c.Body), null));
            return Reply.Empty();
        }),
        R("POST", Api.Client, "users/{userId}/report", Auth.Required, BodyKind.Required, c =>
        {
            // Spec v1.14: answers 200 even for unknown users, so reports cannot probe for accounts.
            _reports.Add(new ContentReport("user", c.Caller.UserId, null, null, c["userId"], ReportReason(c.Body), null));
            return Reply.Empty();
        }),
        R("GET", Api.Client, "profile/{userId}", Auth.Optional, BodyKind.None, c =>
        {
            var user = ProfileUser(c);
            var o = new JsonObject();
            if (user.DisplayName is not null)
            {
                o["displayname"] = user.DisplayName;
            }

            if (user.AvatarUrl is not null)
            {
                o["avatar_url"] = user.AvatarUrl;
            }

            return Reply.Ok(o);
        }),
        R("GET", Api.Client, "profile/{userId}/displayname", Auth.Optional, BodyKind.None, c =>
            ProfileUser(c).DisplayName is { } dn ? Reply.Ok(new JsonObject { ["displayname"] = dn }) : Error(404, "M_NOT_FOUND", "Profile was not found")),
        R("GET", Api.Client, "profile/{userId}/avatar_url", Auth.Optional, BodyKind.None, c =>
            ProfileUser(c).AvatarUrl is { } av ? Reply.Ok(new JsonObject { ["avatar_url"] = av }) : Error(404, "M_NOT_FOUND", "Profile was not found")),
        R("PUT", Api.Client, "profile/{userId}/displayname", Auth.Required, BodyKind.Required, c => SetProfile(c, "displayname")),
        R("PUT", Api.Client, "profile/{userId}/avatar_url", Auth.Required, BodyKind.Required, c => SetProfile(c, "avatar_url")),
        R("GET", Api.Client, "sync", Auth.Required, BodyKind.None, Sync),
        .. FederationRoutes(),
        .. DirectoryRoutes(),
    ];

    private static JsonObject EmptyRuleset() => new()
    {
        ["override"] = new JsonArray(),
        ["content"] = new JsonArray(),
        ["room"] = new JsonArray(),
        ["sender"] = new JsonArray(),
        ["underride"] = new JsonArray(),
    };

    // ---------------------------------------------------------------- login

    private Reply Login(Call c)
    {
        var type = Str(c.Body, "type");
        if (type != "m.login.password")
        {
            return Error(400, "M_UNKNOWN", $"Unknown login type {type}");
        }

        string? user = null;
        if (c.Body.TryGetProperty("identifier", out var identifier) && identifier.ValueKind == JsonValueKind.Object)
        {
            if (Str(identifier, "type") != "m.id.user")
            {
                // Only m.id.user exists here; Synapse answers an unknown third-party id the same way.
                return Error(403, "M_FORBIDDEN", "Invalid username or password");
            }

            user = Str(identifier, "user");
        }
        else
        {
            user = Str(c.Body, "user"); // deprecated top-level form, still accepted by Synapse
        }

        if (user is null)
        {
            return Error(400, "M_MISSING_PARAM", "User identifier is missing 'user' key");
        }

        var userId = user.StartsWith('@') ? user : $"@{user.ToLowerInvariant()}:{ServerName}";
        if (!_users.TryGetValue(userId, out var record) || Str(c.Body, "password") != record.Password)
        {
            return Error(403, "M_FORBIDDEN", "Invalid username or password");
        }

        var session = NewSessionLocked(userId, Str(c.Body, "device_id"));
        return Reply.Ok(new JsonObject
        {
            ["user_id"] = userId,
            ["access_token"] = session.Token,
            ["device_id"] = session.DeviceId,
            ["home_server"] = ServerName,
        });
    }

    // ---------------------------------------------------------------- rooms

    private string CreateRoomLocked(string creator, string? device, JsonElement body)
    {
        var visibility = Str(body, "visibility") ?? "private";
        if (visibility is not ("private" or "public"))
        {
            throw new MatrixErrorException(400, "M_INVALID_PARAM", "Invalid visibility value");
        }

        var preset = Str(body, "preset") ?? (visibility == "public" ? "public_chat" : "private_chat");
        if (!Presets.TryGetValue(preset, out var p))
        {
            throw new MatrixErrorException(400, "M_INVALID_PARAM", $"Unknown preset {preset}");
        }

        if (Str(body, "room_version") is { } version && version != RoomVersion)
        {
            throw new MatrixErrorException(400, "M_UNSUPPORTED_ROOM_VERSION", $"Your homeserver does not support this room version: {version}");
        }

        var invites = new List<string>();
        if (body.TryGetProperty("invite", out var inviteList))
        {
            if (inviteList.ValueKind != JsonValueKind.Array)
            {
                throw new MatrixErrorException(400, "M_BAD_JSON", "invite must be a list of user ids");
            }

            foreach (var i in inviteList.EnumerateArray())
            {
                var id = i.ValueKind == JsonValueKind.String ? i.GetString()! : "";
                if (!id.StartsWith('@') || !id.Contains(':', StringComparison.Ordinal))
                {
                    throw new MatrixErrorException(400, "M_INVALID_PARAM", $"Invalid user_id: {id}");
                }

                invites.Add(id);
            }
        }

        string? alias = null;
        if (Str(body, "room_alias_name") is { } aliasName)
        {
            alias = $"#{aliasName}:{ServerName}";
            if (_aliases.ContainsKey(alias))
            {
                throw new MatrixErrorException(400, "M_ROOM_IN_USE", "Room alias already taken");
            }
        }

        var roomId = $"!{RandomLetters(18)}:{ServerName}";
        var room = new RoomRecord(roomId, creator);
        _rooms[roomId] = room;
        if (alias is not null)
        {
            _aliases[alias] = roomId;
        }

        var isDirect = body.TryGetProperty("is_direct", out var d) && d.ValueKind == JsonValueKind.True;

        // Event order as Synapse sends them (RoomCreationHandler._send_events_for_new_room).
        var create = body.TryGetProperty("creation_content", out var cc) && cc.ValueKind == JsonValueKind.Object
            ? JsonNode.Parse(cc.GetRawText())!.AsObject()
            : [];
        create["creator"] = creator;
        create["room_version"] = RoomVersion;
        AppendLocked(room, creator, device, "m.room.create", "", Json(create), null, checkAuth: false);
        AppendLocked(room, creator, device, "m.room.member", creator, Json(MemberContent("join", creator)), null, checkAuth: false);

        var users = new JsonObject { [creator] = 100 };
        if (p.InviteesAreAdmins)
        {
            foreach (var i in invites)
            {
                users[i] = 100;
            }
        }

        var powerLevels = new JsonObject
        {
            ["users"] = users,
            ["users_default"] = 0,
            ["events"] = new JsonObject
            {
                ["m.room.name"] = 50,
                ["m.room.power_levels"] = 100,
                ["m.room.history_visibility"] = 100,
                ["m.room.canonical_alias"] = 50,
                ["m.room.avatar"] = 50,
                ["m.room.tombstone"] = 100,
                ["m.room.server_acl"] = 100,
                ["m.room.encryption"] = 100,
            },
            ["events_default"] = 0,
            ["state_default"] = 50,
            ["ban"] = 50,
            ["kick"] = 50,
            ["redact"] = 50,
            ["invite"] = p.InviteLevel,
            ["historical"] = 100,
        };
        if (body.TryGetProperty("power_level_content_override", out var plo))
        {
            if (plo.ValueKind != JsonValueKind.Object)
            {
                throw new MatrixErrorException(400, "M_BAD_JSON", "power_level_content_override must be an object");
            }

            foreach (var prop in plo.EnumerateObject())
            {
                powerLevels[prop.Name] = JsonNode.Parse(prop.Value.GetRawText());
            }
        }

        AppendLocked(room, creator, device, "m.room.power_levels", "", Json(powerLevels), null, checkAuth: false);
        if (alias is not null)
        {
            AppendLocked(room, creator, device, "m.room.canonical_alias", "", Json(new JsonObject { ["alias"] = alias }), null, checkAuth: false);
        }

        AppendLocked(room, creator, device, "m.room.join_rules", "", Json(new JsonObject { ["join_rule"] = p.JoinRule }), null, checkAuth: false);
        AppendLocked(room, creator, device, "m.room.history_visibility", "", Json(new JsonObject { ["history_visibility"] = "shared" }), null, checkAuth: false);
        if (p.GuestCanJoin)
        {
            AppendLocked(room, creator, device, "m.room.guest_access", "", Json(new JsonObject { ["guest_access"] = "can_join" }), null, checkAuth: false);
        }

        if (body.TryGetProperty("initial_state", out var initial) && initial.ValueKind == JsonValueKind.Array)
        {
            foreach (var s in initial.EnumerateArray())
            {
                var type = Str(s, "type") ?? throw new MatrixErrorException(400, "M_BAD_JSON", "initial_state event without type");
                var content = s.TryGetProperty("content", out var sc) ? sc : Json(new JsonObject());
                AppendLocked(room, creator, device, type, Str(s, "state_key") ?? "", content, null, checkAuth: false);
            }
        }

        if (Str(body, "name") is { } name)
        {
            AppendLocked(room, creator, device, "m.room.name", "", Json(new JsonObject { ["name"] = name }), null, checkAuth: false);
        }

        if (Str(body, "topic") is { } topic)
        {
            AppendLocked(room, creator, device, "m.room.topic", "", Json(new JsonObject { ["topic"] = topic }), null, checkAuth: false);
        }

        foreach (var invitee in invites)
        {
            InviteLocked(room, creator, invitee, device, null, isDirect);
        }

        return roomId;
    }

    private JsonObject MemberContent(string membership, string userId, string? reason = null, bool isDirect = false)
    {
        var content = new JsonObject { ["membership"] = membership };
        if (membership is "join" or "invite" && _users.TryGetValue(userId, out var u))
        {
            if (u.DisplayName is not null)
            {
                content["displayname"] = u.DisplayName;
            }

            if (u.AvatarUrl is not null)
            {
                content["avatar_url"] = u.AvatarUrl;
            }
        }

        if (reason is not null)
        {
            content["reason"] = reason;
        }

        if (isDirect)
        {
            content["is_direct"] = true;
        }

        return content;
    }

    private void InviteLocked(RoomRecord room, string inviter, string invitee, string? device, string? reason, bool isDirect = false)
    {
        RequireJoined(room, inviter);
        RequireLevel(room, inviter, "invite", 0, "invite users");
        switch (MembershipLocked(room, invitee))
        {
            case "join":
                throw new MatrixErrorException(403, "M_FORBIDDEN", $"{invitee} is already in the room.");
            case "ban":
                throw new MatrixErrorException(403, "M_FORBIDDEN", $"{invitee} is banned from the room");
        }

        AppendLocked(room, inviter, device, "m.room.member", invitee, Json(MemberContent("invite", invitee, reason, isDirect)), null, checkAuth: false);
    }

    private string JoinLocked(string userId, string? device, string roomIdOrAlias, string? reason = null)
    {
        string roomId;
        if (roomIdOrAlias.StartsWith('#'))
        {
            roomId = _aliases.TryGetValue(roomIdOrAlias, out var id)
                ? id
                : throw new MatrixErrorException(404, "M_NOT_FOUND", $"Room alias {roomIdOrAlias} not found");
        }
        else if (roomIdOrAlias.StartsWith('!'))
        {
            roomId = roomIdOrAlias;
        }
        else
        {
            throw new MatrixErrorException(400, "M_INVALID_PARAM", $"{roomIdOrAlias} was not legal room ID or room alias");
        }

        if (!_rooms.TryGetValue(roomId, out var room))
        {
            throw new MatrixErrorException(404, "M_NOT_FOUND", "No known servers");
        }

        var membership = MembershipLocked(room, userId);
        if (membership == "ban")
        {
            throw new MatrixErrorException(403, "M_FORBIDDEN", "You are banned from this room");
        }

        var joinRule = room.State.TryGetValue(("m.room.join_rules", ""), out var jr) ? jr.Text("join_rule") : "invite";
        if (membership is not ("join" or "invite") && joinRule != "public")
        {
            throw new MatrixErrorException(403, "M_FORBIDDEN", "You are not invited to this room.");
        }

        if (membership != "join")
        {
            AppendLocked(room, userId, device, "m.room.member", userId, Json(MemberContent("join", userId, reason)), null, checkAuth: false);
        }

        return roomId;
    }

    private void LeaveLocked(RoomRecord room, string userId, string? device, string? reason = null)
    {
        if (MembershipLocked(room, userId) is not ("join" or "invite"))
        {
            throw new MatrixErrorException(403, "M_FORBIDDEN", $"User {userId} not in room {room.RoomId}");
        }

        AppendLocked(room, userId, device, "m.room.member", userId, Json(MemberContent("leave", userId, reason)), null, checkAuth: false);
    }

    private Reply Send(Call c)
    {
        var key = (c.Caller.UserId, c.Caller.DeviceId, c["roomId"], c["eventType"], c["txnId"]);
        if (_transactions.TryGetValue(key, out var previous))
        {
            // Spec: a retried transaction (same device, same txnId) returns the original event id.
            return Reply.Ok(new JsonObject { ["event_id"] = previous });
        }

        if (!_rooms.TryGetValue(c["roomId"], out var room))
        {
            return Error(403, "M_FORBIDDEN", $"User {c.Caller.UserId} not in room {c["roomId"]}");
        }

        var e = AppendLocked(room, c.Caller.UserId, c.Caller.DeviceId, c["eventType"], null, c.Body, c["txnId"], checkAuth: true);
        _transactions[key] = e.EventId;
        return Reply.Ok(new JsonObject { ["event_id"] = e.EventId });
    }

    private Reply PutState(Call c)
    {
        var room = RoomForMember(c);
        var (type, stateKey, sender) = (c["eventType"], c["stateKey"], c.Caller.UserId);
        if (type == "m.room.member")
        {
            // Membership changes belong to /join, /leave, /invite; a member may re-send their own join with a new
            // displayname or avatar (per-room profile), and may leave through it.
            var membership = Str(c.Body, "membership");
            if (stateKey != sender || membership is not ("join" or "leave"))
            {
                return Error(403, "M_FORBIDDEN", "You cannot change another user's membership through this endpoint");
            }

            if (membership == "leave")
            {
                LeaveLocked(room, sender, c.Caller.DeviceId);
                return Reply.Ok(new JsonObject { ["event_id"] = room.State[(type, stateKey)].EventId });
            }
        }

        if (type == "m.room.canonical_alias")
        {
            CheckCanonicalAliasLocked(room, c.Body);
        }

        // Synapse deduplicates a state event identical to the current one from the same sender.
        if (room.State.TryGetValue((type, stateKey), out var current) && current.Sender == sender
            && CanonicalJson.EncodeToString(current.Content) == CanonicalJson.EncodeToString(c.Body))
        {
            return Reply.Ok(new JsonObject { ["event_id"] = current.EventId });
        }

        var e = AppendLocked(room, sender, c.Caller.DeviceId, type, stateKey, c.Body, null, checkAuth: type != "m.room.member");
        return Reply.Ok(new JsonObject { ["event_id"] = e.EventId });
    }

    private Reply Redact(Call c)
    {
        var room = RoomForMember(c);
        if (!_events.TryGetValue(c["eventId"], out var target) || target.RoomId != room.RoomId)
        {
            return Error(404, "M_NOT_FOUND", "Event not found.");
        }

        if (target.Sender != c.Caller.UserId)
        {
            RequireLevel(room, c.Caller.UserId, "redact", 50, "redact events");
        }

        var key = (c.Caller.UserId, c.Caller.DeviceId, room.RoomId, "m.room.redaction", c["txnId"]);
        if (_transactions.TryGetValue(key, out var previous))
        {
            return Reply.Ok(new JsonObject { ["event_id"] = previous });
        }

        var e = AppendLocked(room, c.Caller.UserId, c.Caller.DeviceId, "m.room.redaction", null, c.Body, c["txnId"], checkAuth: false, redacts: target.EventId);
        _transactions[key] = e.EventId;
        _redactedBy[target.EventId] = e;
        return Reply.Ok(new JsonObject { ["event_id"] = e.EventId });
    }

    private Reply ReportEvent(Call c)
    {
        // Spec: 404 "The event was not found or you are not joined to the room where this event is."
        if (!_rooms.TryGetValue(c["roomId"], out var room) || MembershipLocked(room, c.Caller.UserId) != "join"
            || !_events.TryGetValue(c["eventId"], out var e) || e.RoomId != room.RoomId)
        {
            return Error(404, "M_NOT_FOUND", "Unable to report event: it does not exist or you aren't able to see it.");
        }

        int? score = null;
        if (c.Body.TryGetProperty("score", out var s))
        {
            if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt32(out var v) || v is < -100 or > 0)
            {
                return Error(400, "M_INVALID_PARAM", "score must be an integer in the range [-100, 0]");
            }

            score = v;
        }

        _reports.Add(new ContentReport("event", c.Caller.UserId, room.RoomId, e.EventId, e.Sender, ReportReason(c.Body), score));
        return Reply.Empty();
    }

    private static string? ReportReason(JsonElement body)
    {
        if (!body.TryGetProperty("reason", out var r))
        {
            return null;
        }

        return r.ValueKind == JsonValueKind.String ? r.GetString() : throw new MatrixErrorException(400, "M_BAD_JSON", "Param 'reason' must be a string");
    }

    private Reply SetProfile(Call c, string field)
    {
        var user = RequireSelf(c, $"Cannot set another user's {field}");
        if (!c.Body.TryGetProperty(field, out var v) || v.ValueKind != JsonValueKind.String)
        {
            return Error(400, "M_BAD_JSON", $"Missing key '{field}'");
        }

        var value = v.GetString()!;
        if (field == "displayname")
        {
            if (value.Length > 256)
            {
                return Error(400, "M_BAD_JSON", "Displayname is too long (max 256)");
            }

            user.DisplayName = value;
        }
        else
        {
            user.AvatarUrl = value;
        }

        // Synapse propagates a profile change to every joined room as a fresh m.room.member join event.
        foreach (var room in _rooms.Values.Where(r => MembershipLocked(r, user.UserId) == "join").ToList())
        {
            AppendLocked(room, user.UserId, c.Caller.DeviceId, "m.room.member", user.UserId, Json(MemberContent("join", user.UserId)), null, checkAuth: false);
        }

        return Reply.Empty();
    }

    private UserRecord ProfileUser(Call c) =>
        _users.TryGetValue(c["userId"], out var u) ? u : throw new MatrixErrorException(404, "M_NOT_FOUND", "Profile was not found");

    private UserRecord RequireSelf(Call c, string message) =>
        c["userId"] == c.Caller.UserId ? _users[c.Caller.UserId] : throw new MatrixErrorException(403, "M_FORBIDDEN", message);

    /// <summary>The room, with the caller joined; otherwise 403 as Synapse answers (also for unknown rooms).</summary>
    private RoomRecord RoomForMember(Call c)
    {
        if (_rooms.TryGetValue(c["roomId"], out var room) && MembershipLocked(room, c.Caller.UserId) == "join")
        {
            return room;
        }

        throw new MatrixErrorException(403, "M_FORBIDDEN", $"User {c.Caller.UserId} not in room {c["roomId"]}");
    }

    // ---------------------------------------------------------------- events, membership, power

    private string? MembershipLocked(RoomRecord room, string userId) =>
        room.State.TryGetValue(("m.room.member", userId), out var m) ? m.Text("membership") : null;

    private static IEnumerable<string> JoinedLocked(RoomRecord room) =>
        room.State.Values.Where(e => e.Type == "m.room.member" && e.Text("membership") == "join").Select(e => e.StateKey!);

    private void RequireJoined(RoomRecord room, string userId)
    {
        if (MembershipLocked(room, userId) != "join")
        {
            throw new MatrixErrorException(403, "M_FORBIDDEN", $"User {userId} not in room {room.RoomId}");
        }
    }

    private static JsonElement? PowerLevels(RoomRecord room) =>
        room.State.TryGetValue(("m.room.power_levels", ""), out var pl) ? pl.Content : null;

    private int UserLevelLocked(RoomRecord room, string userId)
    {
        // Spec: without a power_levels event the creator has 100 and everyone else 0.
        if (PowerLevels(room) is not { } pl)
        {
            return userId == room.Creator ? 100 : 0;
        }

        return pl.TryGetProperty("users", out var users) && users.TryGetProperty(userId, out var level) && level.TryGetInt32(out var l)
            ? l
            : Int(pl, "users_default") ?? 0;
    }

    private static int? Int(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;

    private void RequireLevel(RoomRecord room, string userId, string action, int fallback, string what)
    {
        var required = PowerLevels(room) is { } pl ? Int(pl, action) ?? fallback : fallback;
        var level = UserLevelLocked(room, userId);
        if (level < required)
        {
            throw new MatrixErrorException(403, "M_FORBIDDEN", $"You don't have permission to {what}. user_level ({level}) < required ({required})");
        }
    }

    /// <summary>Appends an event: auth checks (membership, power levels) when asked, size limit, state, stream, pulse.</summary>
    private MatrixEvent AppendLocked(RoomRecord room, string sender, string? device, string type, string? stateKey, JsonElement content,
        string? txnId, bool checkAuth, string? redacts = null)
    {
        if (content.ValueKind != JsonValueKind.Object)
        {
            throw new MatrixErrorException(400, "M_BAD_JSON", "Content must be a JSON object.");
        }

        // Canonical form: duplicate keys resolved (last wins), floats and big integers refused (room version 6+).
        using (var canonical = JsonDocument.Parse(CanonicalJson.Encode(content)))
        {
            content = canonical.RootElement.Clone();
        }
        if (checkAuth)
        {
            RequireJoined(room, sender);
            var pl = PowerLevels(room);
            var required = pl is { } p && p.TryGetProperty("events", out var events) && Int(events, type) is { } specific
                ? specific
                : stateKey is null ? (pl is { } p2 ? Int(p2, "events_default") ?? 0 : 0) : (pl is { } p3 ? Int(p3, "state_default") ?? 50 : 0);
            var level = UserLevelLocked(room, sender);
            if (level < required)
            {
                throw new MatrixErrorException(403, "M_FORBIDDEN",
                    $"You don't have permission to post that to the room. user_level ({level}) < send_level ({required})");
            }

            if (stateKey is not null && stateKey.StartsWith('@') && stateKey != sender)
            {
                throw new MatrixErrorException(403, "M_FORBIDDEN", "You are not allowed to set others state");
            }
        }

        var e = new MatrixEvent(NewEventId(), room.RoomId, sender, type, stateKey, content, Now, ++_stream, txnId, device, redacts);
        if (CanonicalJson.Encode(ClientEvent(e, null)).Length > MaxEventBytes)
        {
            _stream--;
            throw new MatrixErrorException(413, "M_TOO_LARGE", "event too large");
        }

        room.Timeline.Add(e);
        _events[e.EventId] = e;
        if (stateKey is not null)
        {
            room.State[(type, stateKey)] = e;
        }

        PulseLocked();
        return e;
    }

    /// <summary>The client-server event format, with <c>unsigned.transaction_id</c> for the device that sent it.</summary>
    private JsonObject ClientEvent(MatrixEvent e, SessionRecord? viewer)
    {
        var redactedBy = _redactedBy.GetValueOrDefault(e.EventId);
        var o = new JsonObject
        {
            ["content"] = redactedBy is null ? Node(e.Content) : RedactedContent(e),
            ["event_id"] = e.EventId,
            ["origin_server_ts"] = e.OriginServerTs,
            ["room_id"] = e.RoomId,
            ["sender"] = e.Sender,
            ["type"] = e.Type,
        };
        if (e.StateKey is not null)
        {
            o["state_key"] = e.StateKey;
        }

        if (e.Redacts is not null)
        {
            o["redacts"] = e.Redacts;
        }

        var unsigned = new JsonObject { ["age"] = Math.Max(0, Now - e.OriginServerTs) };
        if (viewer is not null && e.TransactionId is not null && viewer.UserId == e.Sender && viewer.DeviceId == e.SenderDevice)
        {
            unsigned["transaction_id"] = e.TransactionId;
        }

        if (redactedBy is not null)
        {
            unsigned["redacted_because"] = ClientEvent(redactedBy, null);
        }

        if (e.StateKey is not null && _rooms.TryGetValue(e.RoomId, out var room))
        {
            var prev = room.Timeline.LastOrDefault(x => x.Type == e.Type && x.StateKey == e.StateKey && x.StreamOrdering < e.StreamOrdering);
            if (prev is not null)
            {
                unsigned["prev_content"] = Node(prev.Content);
                unsigned["replaces_state"] = prev.EventId;
            }
        }

        o["unsigned"] = unsigned;
        return o;
    }

    /// <summary>Redaction keeps only the keys the room version protects (v10: membership, join_rule, power levels…).</summary>
    private static JsonObject RedactedContent(MatrixEvent e)
    {
        string[] keep = e.Type switch
        {
            "m.room.member" => ["membership"],
            "m.room.create" => ["creator"],
            "m.room.join_rules" => ["join_rule", "allow"],
            "m.room.power_levels" => ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"],
            "m.room.history_visibility" => ["history_visibility"],
            _ => [],
        };
        var o = new JsonObject();
        foreach (var k in keep)
        {
            if (e.Content.TryGetProperty(k, out var v))
            {
                o[k] = Node(v);
            }
        }

        return o;
    }

    // ---------------------------------------------------------------- /messages

    private Reply RoomMessages(Call c)
    {
        var room = RoomForMember(c);
        var dir = c.Query("dir") ?? "f"; // Synapse's default when absent (PaginationConfig); clients always send it
        if (dir is not ("b" or "f"))
        {
            return Error(400, "M_INVALID_PARAM", "Query parameter \"dir\" must be one of [\"b\", \"f\"]");
        }

        var limit = IntParam(c.Query("limit"), 10)!.Value;
        if (limit < 0)
        {
            return Error(400, "M_INVALID_PARAM", "Query parameter \"limit\" must be non-negative");
        }

        var from = ParseToken(c.Query("from"));
        var to = ParseToken(c.Query("to"));
        List<MatrixEvent> chunk;
        string start;
        string? end = null;
        if (dir == "b")
        {
            var pos = from ?? _stream;
            start = "t" + pos;
            var candidates = room.Timeline.Where(e => e.StreamOrdering <= pos && (to is null || e.StreamOrdering > to)).Reverse().ToList();
            chunk = [.. candidates.Take(limit)];
            if (candidates.Count > chunk.Count && chunk.Count > 0)
            {
                end = "t" + (chunk[^1].StreamOrdering - 1);
            }
        }
        else
        {
            var pos = from ?? 0;
            start = "t" + pos;
            var candidates = room.Timeline.Where(e => e.StreamOrdering > pos && (to is null || e.StreamOrdering <= to)).ToList();
            chunk = [.. candidates.Take(limit)];
            if (candidates.Count > chunk.Count && chunk.Count > 0)
            {
                end = "t" + chunk[^1].StreamOrdering;
            }
        }

        // Spec: "end" is omitted when there are no more events in that direction.
        var reply = new JsonObject
        {
            ["chunk"] = new JsonArray(chunk.Select(e => (JsonNode)ClientEvent(e, c.Session)).ToArray()),
            ["start"] = start,
        };
        if (end is not null)
        {
            reply["end"] = end;
        }

        return Reply.Ok(reply);
    }

    /// <summary>Tokens are positions in the global stream: <c>s123</c> (sync) and <c>t123</c> (pagination) mean the same.</summary>
    private static long? ParseToken(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        return token.Length > 1 && token[0] is 's' or 't' && long.TryParse(token.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new MatrixErrorException(400, "M_INVALID_PARAM", $"Invalid token: {token}");
    }

    // ---------------------------------------------------------------- /sync

    private async Task WaitForSyncAsync(Call c)
    {
        long? since;
        try
        {
            since = ParseToken(c.Query("since"));
        }
        catch (MatrixErrorException)
        {
            return; // the handler answers the error
        }

        var timeout = Math.Min(int.TryParse(c.Query("timeout"), out var t) ? t : 0, 30_000);
        if (since is null || timeout <= 0)
        {
            return;
        }

        var deadline = _time.GetUtcNow().AddMilliseconds(timeout);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (HasChangesLocked(c.Caller.UserId, since.Value))
                {
                    return;
                }

                changed = _changed.Task;
            }

            var remaining = deadline - _time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }

            await Task.WhenAny(changed, Task.Delay(remaining, _time, c.Http.RequestAborted));
            if (c.Http.RequestAborted.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private bool HasChangesLocked(string userId, long since) =>
        _rooms.Values.Any(r => MembershipLocked(r, userId) is not null && r.Timeline.Count > 0 && r.Timeline[^1].StreamOrdering > since)
        || _users[userId].AccountData.Values.Any(a => a.Stream > since);

    private Reply Sync(Call c)
    {
        var since = ParseToken(c.Query("since"));
        var fullState = c.Query("full_state") == "true";
        var limit = 10; // Synapse's default timeline limit
        if (c.Query("filter") is { } filterParam)
        {
            JsonElement filter;
            if (filterParam.TrimStart().StartsWith('{'))
            {
                try
                {
                    filter = Content(filterParam);
                }
                catch (JsonException)
                {
                    return Error(400, "M_NOT_JSON", "Invalid filter JSON");
                }
            }
            else if (int.TryParse(filterParam, out var id) && id >= 0 && id < _users[c.Caller.UserId].Filters.Count)
            {
                filter = _users[c.Caller.UserId].Filters[id];
            }
            else
            {
                return Error(400, "M_INVALID_PARAM", "No such filter");
            }

            if (filter.TryGetProperty("room", out var roomFilter) && roomFilter.TryGetProperty("timeline", out var tl) && Int(tl, "limit") is { } l)
            {
                limit = Math.Max(0, l);
            }
        }

        var userId = c.Caller.UserId;
        var join = new JsonObject();
        var invite = new JsonObject();
        var leave = new JsonObject();
        foreach (var room in _rooms.Values)
        {
            if (!room.State.TryGetValue(("m.room.member", userId), out var member))
            {
                continue;
            }

            var membership = member.Text("membership");
            var newMembership = since is null || member.StreamOrdering > since;
            if (membership == "join")
            {
                var initial = since is null || newMembership || fullState;
                var fromIndex = since is null || newMembership ? 0 : room.Timeline.FindIndex(e => e.StreamOrdering > since);
                if (fromIndex < 0)
                {
                    if (!fullState)
                    {
                        continue;
                    }

                    fromIndex = room.Timeline.Count;
                }

                var startIndex = Math.Max(fromIndex, room.Timeline.Count - limit);
                var timeline = room.Timeline.Skip(startIndex).Select(e => (JsonNode)ClientEvent(e, c.Session)).ToArray();
                // State between since (or the room's start) and the timeline's first event, latest per key.
                var stateMap = new Dictionary<(string, string), MatrixEvent>();
                foreach (var e in room.Timeline.Take(startIndex).Skip(initial ? 0 : fromIndex).Where(e => e.IsState))
                {
                    stateMap[(e.Type, e.StateKey!)] = e;
                }

                join[room.RoomId] = new JsonObject
                {
                    ["timeline"] = new JsonObject
                    {
                        ["events"] = new JsonArray(timeline),
                        ["limited"] = startIndex > fromIndex,
                        ["prev_batch"] = "s" + (startIndex > 0 ? room.Timeline[startIndex - 1].StreamOrdering : 0),
                    },
                    ["state"] = new JsonObject
                    {
                        ["events"] = new JsonArray(stateMap.Values.OrderBy(e => e.StreamOrdering).Select(e => (JsonNode)ClientEvent(e, c.Session)).ToArray()),
                    },
                    ["ephemeral"] = new JsonObject { ["events"] = new JsonArray() },
                    ["account_data"] = new JsonObject { ["events"] = new JsonArray() },
                    ["summary"] = new JsonObject
                    {
                        ["m.joined_member_count"] = JoinedLocked(room).Count(),
                        ["m.invited_member_count"] = room.State.Values.Count(e => e.Type == "m.room.member" && e.Text("membership") == "invite"),
                    },
                    ["unread_notifications"] = new JsonObject { ["highlight_count"] = 0, ["notification_count"] = 0 },
                };
            }
            else if (membership == "invite" && newMembership)
            {
                // Stripped state (type, state_key, sender, content) the invitee may see before joining.
                var stripped = new[] { "m.room.create", "m.room.join_rules", "m.room.name", "m.room.canonical_alias", "m.room.avatar", "m.room.topic" }
                    .Select(t => room.State.GetValueOrDefault((t, "")))
                    .Append(room.State.GetValueOrDefault(("m.room.member", member.Sender)))
                    .Append(member)
                    .Where(e => e is not null)
                    .Distinct()
                    .Select(e => (JsonNode)new JsonObject
                    {
                        ["type"] = e!.Type,
                        ["state_key"] = e.StateKey,
                        ["sender"] = e.Sender,
                        ["content"] = Node(e.Content),
                    });
                invite[room.RoomId] = new JsonObject { ["invite_state"] = new JsonObject { ["events"] = new JsonArray(stripped.ToArray()) } };
            }
            else if (membership is "leave" or "ban" && since is not null && newMembership)
            {
                leave[room.RoomId] = new JsonObject
                {
                    ["timeline"] = new JsonObject { ["events"] = new JsonArray(ClientEvent(member, c.Session)), ["limited"] = false },
                    ["state"] = new JsonObject { ["events"] = new JsonArray() },
                };
            }
        }

        var accountData = _users[userId].AccountData
            .Where(a => since is null || a.Value.Stream > since)
            .Select(a => (JsonNode)new JsonObject { ["type"] = a.Key, ["content"] = Node(a.Value.Content) });
        return Reply.Ok(new JsonObject
        {
            ["next_batch"] = "s" + _stream,
            ["rooms"] = new JsonObject { ["join"] = join, ["invite"] = invite, ["leave"] = leave },
            ["account_data"] = new JsonObject { ["events"] = new JsonArray(accountData.ToArray()) },
            ["presence"] = new JsonObject { ["events"] = new JsonArray() },
            ["to_device"] = new JsonObject { ["events"] = new JsonArray() },
            ["device_lists"] = new JsonObject { ["changed"] = new JsonArray(), ["left"] = new JsonArray() },
            ["device_one_time_keys_count"] = new JsonObject(),
        });
    }

    // ---------------------------------------------------------------- JSON helpers

    private static string? Str(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static JsonNode Node(JsonElement e) => JsonNode.Parse(e.GetRawText())!;

    private static JsonElement Json(JsonNode node) => JsonSerializer.SerializeToElement(node);
}
