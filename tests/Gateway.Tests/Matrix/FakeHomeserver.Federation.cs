using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Matrix;

/// <summary>
/// Server-server endpoints. They answer small spec-shaped bodies; what matters to the tests is the record of who
/// reached them (<see cref="FederationRequests"/>). Like Synapse, the X-Matrix signature is checked against the raw
/// request target as received (path and query, percent-encoding untouched), and a room's own m.room.server_acl is
/// enforced.
/// </summary>
internal sealed partial class FakeHomeserver
{
    private const string Fed = "_matrix/federation";

    private IEnumerable<Route> FederationRoutes() =>
    [
        R("GET", Api.Server, $"{Fed}/v1/version", Auth.None, BodyKind.None, _ => Reply.Ok(new JsonObject
        {
            ["server"] = new JsonObject { ["name"] = "Gateway.Tests FakeHomeserver", ["version"] = "1.0" },
        })),
        R("GET", Api.Server, "_matrix/key/v2/server", Auth.None, BodyKind.None, _ => Reply.Ok(SigningKey.SignJson(new JsonObject
        {
            ["server_name"] = ServerName,
            ["verify_keys"] = new JsonObject { [SigningKey.KeyId] = new JsonObject { ["key"] = SigningKey.PublicKeyBase64 } },
            ["old_verify_keys"] = new JsonObject(),
            ["valid_until_ts"] = Now + (long)TimeSpan.FromDays(1).TotalMilliseconds,
        }))),
        R("GET", Api.Server, $"{Fed}/v1/make_join/{{roomId}}/{{userId}}", Auth.Federation, BodyKind.None, c => MakeMembership(c, "join")),
        R("PUT", Api.Server, $"{Fed}/v1/send_join/{{roomId}}/{{eventId}}", Auth.Federation, BodyKind.Required, c => V1(SendJoin(c))),
        R("PUT", Api.Server, $"{Fed}/v2/send_join/{{roomId}}/{{eventId}}", Auth.Federation, BodyKind.Required, SendJoin),
        R("GET", Api.Server, $"{Fed}/v1/make_leave/{{roomId}}/{{userId}}", Auth.Federation, BodyKind.None, c => MakeMembership(c, "leave")),
        R("PUT", Api.Server, $"{Fed}/v1/send_leave/{{roomId}}/{{eventId}}", Auth.Federation, BodyKind.Required, c => V1(SendMembership(c, "leave"))),
        R("PUT", Api.Server, $"{Fed}/v2/send_leave/{{roomId}}/{{eventId}}", Auth.Federation, BodyKind.Required, c => SendMembership(c, "leave")),
        R("GET", Api.Server, $"{Fed}/v1/make_knock/{{roomId}}/{{userId}}", Auth.Federation, BodyKind.None, c => MakeMembership(c, "knock")),
        R("PUT", Api.Server, $"{Fed}/v1/send_knock/{{roomId}}/{{eventId}}", Auth.Federation, BodyKind.Required, c =>
        {
            var reply = SendMembership(c, "knock");
            return reply.Status == 200 ? Reply.Ok(new JsonObject { ["knock_room_state"] = StrippedState(FederatedRoom(c)) }) : reply;
        }),
        R("PUT", Api.Server, $"{Fed}/v1/invite/{{roomId}}/{{eventId}}", Auth.Federation, BodyKind.Required, c => V1(Invite(c, c.Body))),
        R("PUT", Api.Server, $"{Fed}/v2/invite/{{roomId}}/{{eventId}}", Auth.Federation, BodyKind.Required, c =>
            c.Body.TryGetProperty("event", out var ev) ? Invite(c, ev) : Error(400, "M_MISSING_PARAM", "Missing 'event'")),
        R("GET", Api.Server, $"{Fed}/v1/state/{{roomId}}", Auth.Federation, BodyKind.None, c =>
        {
            var room = FederatedRoom(c);
            return Reply.Ok(new JsonObject
            {
                ["auth_chain"] = new JsonArray(),
                ["pdus"] = new JsonArray(room.State.Values.OrderBy(e => e.StreamOrdering).Select(e => (JsonNode)Pdu(e)).ToArray()),
            });
        }),
        R("GET", Api.Server, $"{Fed}/v1/state_ids/{{roomId}}", Auth.Federation, BodyKind.None, c =>
        {
            var room = FederatedRoom(c);
            return Reply.Ok(new JsonObject
            {
                ["auth_chain_ids"] = new JsonArray(),
                ["pdu_ids"] = new JsonArray(room.State.Values.OrderBy(e => e.StreamOrdering).Select(e => (JsonNode)JsonValue.Create(e.EventId)).ToArray()),
            });
        }),
        R("GET", Api.Server, $"{Fed}/v1/backfill/{{roomId}}", Auth.Federation, BodyKind.None, c =>
        {
            var room = FederatedRoom(c);
            var limit = IntParam(c.Query("limit"), 10)!.Value;
            var pdus = Enumerable.Reverse(room.Timeline).Take(Math.Max(0, limit)).Select(e => (JsonNode)Pdu(e)).ToArray();
            return Reply.Ok(new JsonObject { ["origin"] = ServerName, ["origin_server_ts"] = Now, ["pdus"] = new JsonArray(pdus) });
        }),
        R("GET", Api.Server, $"{Fed}/v1/event_auth/{{roomId}}/{{eventId}}", Auth.Federation, BodyKind.None, c =>
        {
            FederatedRoom(c);
            return Reply.Ok(new JsonObject { ["auth_chain"] = new JsonArray() });
        }),
        R("POST", Api.Server, $"{Fed}/v1/get_missing_events/{{roomId}}", Auth.Federation, BodyKind.Required, c =>
        {
            FederatedRoom(c);
            return Reply.Ok(new JsonObject { ["events"] = new JsonArray() });
        }),
        R("GET", Api.Server, $"{Fed}/v1/event/{{eventId}}", Auth.Federation, BodyKind.None, c =>
            _events.TryGetValue(c["eventId"], out var e) && _rooms.TryGetValue(e.RoomId, out var room) && AclAllows(room, Origin(c))
                ? Reply.Ok(new JsonObject { ["origin"] = ServerName, ["origin_server_ts"] = Now, ["pdus"] = new JsonArray(Pdu(e)) })
                : Error(404, "M_NOT_FOUND", "Event not found")),
        R("PUT", Api.Server, $"{Fed}/v1/send/{{txnId}}", Auth.Federation, BodyKind.Required, SendTransaction),
        R("GET", Api.Server, $"{Fed}/v1/hierarchy/{{roomId}}", Auth.Federation, BodyKind.None, c =>
        {
            var room = FederatedRoom(c);
            return Reply.Ok(new JsonObject
            {
                ["room"] = new JsonObject { ["room_id"] = room.RoomId, ["num_joined_members"] = 1, ["children_state"] = new JsonArray() },
                ["children"] = new JsonArray(),
                ["inaccessible_children"] = new JsonArray(),
            });
        }),
        R("GET", Api.Server, $"{Fed}/v1/query/profile", Auth.Federation, BodyKind.None, c =>
            c.Query("user_id") is { } user && _users.TryGetValue(user, out var u)
                ? Reply.Ok(new JsonObject { ["displayname"] = u.DisplayName ?? u.Localpart })
                : Error(404, "M_NOT_FOUND", "Profile was not found")),
    ];

    /// <summary>v1 of send_join, send_leave and invite wrap the body as <c>[200, body]</c>.</summary>
    private static Reply V1(Reply reply) => reply.Status == 200 ? Reply.Ok(new JsonArray(200, reply.Body.DeepClone())) : reply;

    private static string? Origin(Call c) =>
        XMatrixAuthorization.TryParse(c.Http.Request.Headers.Authorization.FirstOrDefault(h => h?.StartsWith("X-Matrix", StringComparison.OrdinalIgnoreCase) == true), out var x)
            ? x!.Origin
            : null;

    private static string ServerOf(string id) => id[(id.IndexOf(':', StringComparison.Ordinal) + 1)..];

    /// <summary>The room, checked against its own m.room.server_acl for the origin (403 M_FORBIDDEN, as Synapse).</summary>
    private RoomRecord FederatedRoom(Call c)
    {
        if (!_rooms.TryGetValue(c["roomId"], out var room))
        {
            throw new MatrixErrorException(404, "M_NOT_FOUND", $"Room {c["roomId"]} not found");
        }

        if (!AclAllows(room, Origin(c)))
        {
            throw new MatrixErrorException(403, "M_FORBIDDEN", "Server is banned from room");
        }

        return room;
    }

    private Reply MakeMembership(Call c, string membership)
    {
        var room = FederatedRoom(c);
        var userId = c["userId"];
        if (Origin(c) is { } origin && ServerOf(userId) != origin)
        {
            return Error(403, "M_FORBIDDEN", "User's server does not match origin");
        }

        if (membership is "join" or "knock" && c.Http.Request.Query.TryGetValue("ver", out var versions) && !versions.Contains(RoomVersion))
        {
            return Error(400, "M_INCOMPATIBLE_ROOM_VERSION", "Your homeserver does not support the features required to interact with this room",
                new JsonObject { ["room_version"] = RoomVersion });
        }

        return Reply.Ok(new JsonObject
        {
            ["room_version"] = RoomVersion,
            ["event"] = new JsonObject
            {
                ["type"] = "m.room.member",
                ["room_id"] = room.RoomId,
                ["sender"] = userId,
                ["state_key"] = userId,
                ["content"] = new JsonObject { ["membership"] = membership },
                ["origin"] = ServerName,
                ["origin_server_ts"] = Now,
                ["depth"] = _stream + 1,
                ["auth_events"] = new JsonArray(),
                ["prev_events"] = new JsonArray(room.Timeline.Count > 0 ? room.Timeline[^1].EventId : null),
            },
        });
    }

    private Reply SendJoin(Call c)
    {
        var reply = SendMembership(c, "join");
        if (reply.Status != 200)
        {
            return reply;
        }

        var room = FederatedRoom(c);
        return Reply.Ok(new JsonObject
        {
            ["origin"] = ServerName,
            ["members_omitted"] = false,
            ["state"] = new JsonArray(room.State.Values.OrderBy(e => e.StreamOrdering).Select(e => (JsonNode)Pdu(e)).ToArray()),
            ["auth_chain"] = new JsonArray(),
            ["event"] = Node(c.Body),
        });
    }

    /// <summary>Stores a remote user's join/leave/knock from a send_* body, so their later PDUs are accepted.</summary>
    private Reply SendMembership(Call c, string membership)
    {
        var room = FederatedRoom(c);
        var sender = Str(c.Body, "sender");
        var stateKey = Str(c.Body, "state_key");
        if (Str(c.Body, "type") != "m.room.member" || sender is null || stateKey != sender
            || !c.Body.TryGetProperty("content", out var content) || Str(content, "membership") != membership)
        {
            return Error(400, "M_BAD_JSON", $"Not an m.room.member {membership} event");
        }

        if (Origin(c) is { } origin && ServerOf(sender) != origin)
        {
            return Error(403, "M_FORBIDDEN", "Sender's server does not match origin");
        }

        if (membership == "join")
        {
            var joinRule = room.State.TryGetValue(("m.room.join_rules", ""), out var jr) ? jr.Text("join_rule") : "invite";
            if (joinRule != "public" && MembershipLocked(room, sender) is not ("invite" or "join"))
            {
                return Error(403, "M_FORBIDDEN", "You are not invited to this room.");
            }
        }

        AppendRemoteLocked(room, c.Body, sender, "m.room.member", sender, content);
        return Reply.Empty();
    }

    private Reply Invite(Call c, JsonElement invite)
    {
        FederatedRoom(c);
        var stateKey = Str(invite, "state_key");
        if (Str(invite, "type") != "m.room.member" || stateKey is null || ServerOf(stateKey) != ServerName)
        {
            return Error(400, "M_BAD_JSON", "Not an invite for a user of this server");
        }

        // The invited server co-signs the invite event and returns it.
        var signed = SigningKey.SignJson(JsonNode.Parse(invite.GetRawText())!.AsObject());
        return Reply.Ok(new JsonObject { ["event"] = signed });
    }

    /// <summary>
    /// A transaction: each PDU is accepted or refused on its own (unknown room, ACL, sender not of the origin, sender
    /// not joined); the answer maps event ids to <c>{}</c> or <c>{"error": …}</c>. EDUs are only recorded.
    /// </summary>
    private Reply SendTransaction(Call c)
    {
        var results = new JsonObject();
        var origin = Origin(c) ?? Str(c.Body, "origin");
        if (c.Body.TryGetProperty("pdus", out var pdus) && pdus.ValueKind == JsonValueKind.Array)
        {
            foreach (var pdu in pdus.EnumerateArray())
            {
                var eventId = Str(pdu, "event_id") ?? ReferenceId(pdu);
                var roomId = Str(pdu, "room_id");
                var sender = Str(pdu, "sender");
                var type = Str(pdu, "type");
                string? error = null;
                if (roomId is null || sender is null || type is null || !pdu.TryGetProperty("content", out var content))
                {
                    error = "Malformed PDU";
                }
                else if (!_rooms.TryGetValue(roomId, out var room))
                {
                    error = "Unknown room";
                }
                else if (!AclAllows(room, origin))
                {
                    error = "Server is banned from room";
                }
                else if (origin is not null && ServerOf(sender) != origin)
                {
                    error = "Sender's server does not match origin";
                }
                else if (MembershipLocked(room, sender) != "join" && type != "m.room.member")
                {
                    error = "Sender not in room";
                }
                else
                {
                    AppendRemoteLocked(room, pdu, sender, type, Str(pdu, "state_key"), content, eventId);
                }

                results[eventId] = error is null ? new JsonObject() : new JsonObject { ["error"] = error };
            }
        }

        return Reply.Ok(new JsonObject { ["pdus"] = results });
    }

    private void AppendRemoteLocked(RoomRecord room, JsonElement pdu, string sender, string type, string? stateKey, JsonElement content, string? eventId = null)
    {
        using var canonical = JsonDocument.Parse(CanonicalJson.Encode(content));
        var ts = pdu.TryGetProperty("origin_server_ts", out var t) && t.TryGetInt64(out var ms) ? ms : Now;
        var e = new MatrixEvent(eventId ?? ReferenceId(pdu), room.RoomId, sender, type, stateKey, canonical.RootElement.Clone(), ts, ++_stream, null, null);
        room.Timeline.Add(e);
        _events[e.EventId] = e;
        if (stateKey is not null)
        {
            room.State[(type, stateKey)] = e;
        }

        PulseLocked();
    }

    /// <summary>
    /// Event id of a room v4+ PDU. The real reference hash is taken over the redacted event; this hashes the whole
    /// event without signatures and unsigned: stable and in the right shape, which is all a test needs.
    /// </summary>
    private static string ReferenceId(JsonElement pdu)
    {
        var copy = JsonNode.Parse(pdu.GetRawText())!.AsObject();
        copy.Remove("signatures");
        copy.Remove("unsigned");
        return NewEventId(SHA256.HashData(CanonicalJson.Encode(copy)));
    }

    /// <summary>A stored event in federation (PDU) form, hashed and signed by this server.</summary>
    private JsonObject Pdu(MatrixEvent e)
    {
        var pdu = new JsonObject
        {
            ["auth_events"] = new JsonArray(),
            ["content"] = Node(e.Content),
            ["depth"] = e.StreamOrdering,
            ["origin_server_ts"] = e.OriginServerTs,
            ["prev_events"] = new JsonArray(),
            ["room_id"] = e.RoomId,
            ["sender"] = e.Sender,
            ["type"] = e.Type,
        };
        if (e.StateKey is not null)
        {
            pdu["state_key"] = e.StateKey;
        }

        pdu["hashes"] = new JsonObject { ["sha256"] = UnpaddedBase64.Encode(SHA256.HashData(CanonicalJson.Encode(pdu))) };
        return SigningKey.SignJson(pdu);
    }

    private JsonArray StrippedState(RoomRecord room) =>
        new(new[] { "m.room.create", "m.room.join_rules", "m.room.name", "m.room.canonical_alias" }
            .Select(t => room.State.GetValueOrDefault((t, "")))
            .Where(e => e is not null)
            .Select(e => (JsonNode)new JsonObject { ["type"] = e!.Type, ["state_key"] = "", ["sender"] = e.Sender, ["content"] = Node(e.Content) })
            .ToArray());

    // ---------------------------------------------------------------- m.room.server_acl and X-Matrix

    /// <summary>
    /// The room's own m.room.server_acl (spec: no event → allow; IP literal refused unless allow_ip_literals;
    /// deny globs, then allow globs, on the server name without port; missing allow = deny all).
    /// </summary>
    private static bool AclAllows(RoomRecord room, string? origin)
    {
        if (origin is null || !room.State.TryGetValue(("m.room.server_acl", ""), out var acl))
        {
            return true;
        }

        var host = origin.StartsWith('[') ? origin[..(origin.IndexOf(']', StringComparison.Ordinal) + 1)] : origin.Split(':')[0];
        var allowIpLiterals = !acl.Content.TryGetProperty("allow_ip_literals", out var ipl) || ipl.ValueKind != JsonValueKind.False;
        if (!allowIpLiterals && (host.StartsWith('[') || System.Net.IPAddress.TryParse(host, out _)))
        {
            return false;
        }

        return !Globs(acl.Content, "deny").Any(g => g.IsMatch(host)) && Globs(acl.Content, "allow").Any(g => g.IsMatch(host));
    }

    private static IEnumerable<Regex> Globs(JsonElement content, string key) =>
        content.TryGetProperty(key, out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Where(g => g.ValueKind == JsonValueKind.String).Select(g =>
                new Regex("^" + Regex.Escape(g.GetString()!).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$",
                    RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking))
            : [];

    private Reply? AuthenticateFederation(HttpContext ctx, string rawTarget, string body, out FederationAuth auth, out XMatrixAuthorization? xmatrix)
    {
        xmatrix = null;
        var header = ctx.Request.Headers.Authorization.FirstOrDefault(h => h?.StartsWith("X-Matrix", StringComparison.OrdinalIgnoreCase) == true);
        if (header is null)
        {
            auth = FederationAuth.Missing;
            return Refuse(auth, "Missing Authorization headers");
        }

        if (!XMatrixAuthorization.TryParse(header, out xmatrix))
        {
            auth = FederationAuth.Malformed;
            return Refuse(auth, "Malformed Authorization header");
        }

        if (xmatrix!.Destination is { } destination && destination != ServerName)
        {
            auth = FederationAuth.WrongDestination;
            return Refuse(auth, "Destination mismatch in auth header");
        }

        byte[]? key;
        lock (_gate)
        {
            key = _trustedKeys.GetValueOrDefault((xmatrix.Origin, xmatrix.Key));
        }

        if (key is null)
        {
            auth = FederationAuth.UnknownKey;
            return Refuse(auth, $"Failed to find any key to satisfy: {xmatrix.Origin} {xmatrix.Key}");
        }

        byte[] payload;
        try
        {
            payload = XMatrixAuthorization.SigningPayload(ctx.Request.Method, rawTarget, xmatrix.Origin, xmatrix.Destination, body.Length > 0 ? body : null);
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            auth = FederationAuth.BadSignature;
            return Error(400, "M_NOT_JSON", "Content not JSON.");
        }

        auth = FederationSigner.Verify(key, payload, xmatrix.Signature) ? FederationAuth.Valid : FederationAuth.BadSignature;
        return auth == FederationAuth.Valid ? null : Refuse(auth, "Invalid signature");
    }

    private Reply? Refuse(FederationAuth auth, string message) =>
        RequireFederationSignatures && auth != FederationAuth.Valid ? Error(401, "M_UNAUTHORIZED", message) : null;
}
