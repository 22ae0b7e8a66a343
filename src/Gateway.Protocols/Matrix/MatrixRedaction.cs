using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// The redaction algorithm of room versions 1–12 (spec, "Room Versions": v1 for 1–5, v6 drops m.room.aliases, v8 keeps
/// join_rules' allow, v9 keeps join_authorised_via_users_server, v11 (also 12) drops origin/membership/prev_state and
/// keeps the whole create content, redaction's redacts, power levels' invite and third_party_invite.signed).
/// Event signatures (and so a policy server's) are computed over the redacted event without signatures/unsigned.
/// </summary>
internal static class MatrixRedaction
{
    private static readonly string[] TopLevel =
    {
        "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth",
        "prev_events", "auth_events", "origin_server_ts",
    };

    private static readonly string[] TopLevelBefore11 = { "origin", "membership", "prev_state" };

    /// <summary>Room versions this reads; an unknown one is refused rather than signed with guessed rules.</summary>
    public static bool IsKnown(string version) => Number(version) > 0;

    /// <summary>The redacted copy of <paramref name="ev"/> for room version <paramref name="roomVersion"/>.</summary>
    public static JsonObject Redact(JsonElement ev, string roomVersion)
    {
        var v = Number(roomVersion);
        if (v <= 0)
        {
            throw new ArgumentException("unknown room version", nameof(roomVersion));
        }

        var result = new JsonObject();
        foreach (var property in ev.EnumerateObject())
        {
            if (Array.IndexOf(TopLevel, property.Name) >= 0 || (v < 11 && Array.IndexOf(TopLevelBefore11, property.Name) >= 0))
            {
                result[property.Name] = property.Name == "content" ? null : JsonNode.Parse(property.Value.GetRawText());
            }
        }

        var type = ev.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var content = new JsonObject();
        if (ev.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.Object)
        {
            foreach (var key in KeptContent(type, v))
            {
                if (key == "*")
                {
                    content = JsonNode.Parse(c.GetRawText())!.AsObject();
                    break;
                }

                if (key == "third_party_invite.signed")
                {
                    if (c.TryGetProperty("third_party_invite", out var tpi) && tpi.ValueKind == JsonValueKind.Object && tpi.TryGetProperty("signed", out var signed))
                    {
                        content["third_party_invite"] = new JsonObject { ["signed"] = JsonNode.Parse(signed.GetRawText()) };
                    }

                    continue;
                }

                if (c.TryGetProperty(key, out var value))
                {
                    content[key] = JsonNode.Parse(value.GetRawText());
                }
            }
        }

        result["content"] = content;
        return result;
    }

    private static string[] KeptContent(string? type, int v) => type switch
    {
        "m.room.member" => v >= 11 ? ["membership", "join_authorised_via_users_server", "third_party_invite.signed"]
            : v >= 9 ? ["membership", "join_authorised_via_users_server"]
            : ["membership"],
        "m.room.create" => v >= 11 ? ["*"] : ["creator"],
        "m.room.join_rules" => v >= 8 ? ["join_rule", "allow"] : ["join_rule"],
        "m.room.power_levels" => v >= 11
            ? ["ban", "events", "events_default", "invite", "kick", "redact", "state_default", "users", "users_default"]
            : ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"],
        "m.room.aliases" when v <= 5 => ["aliases"],
        "m.room.history_visibility" => ["history_visibility"],
        "m.room.redaction" when v >= 11 => ["redacts"],
        _ => [],
    };

    /// <summary>1–12 as numbers; anything else (experimental org.matrix.* versions included) is 0.</summary>
    private static int Number(string version) =>
        int.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 12 ? n : 0;
}
