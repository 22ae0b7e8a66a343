using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Tomlyn.Model;

namespace Gateway.Protocols.Json;

/// <summary>The <c>json</c> table of a route: the fields' JSON pointers, answers, and the frame keys of WebSocket routes.</summary>
internal static class JsonConfigReader
{
    public static JsonAdapterOptions ReadHttp(TomlTableReader t, ConfigLimits limits)
    {
        JsonPointer? Pointer(string key)
        {
            var s = t.String(key);
            if (s is null)
            {
                return null;
            }

            if (JsonPointer.TryParse(s, out var p, out var error))
            {
                return p;
            }

            t.Error(key, error ?? "invalid JSON pointer");
            return null;
        }

        var options = new JsonAdapterOptions
        {
            Body = Pointer("body"),
            Title = Pointer("title"),
            Link = Pointer("link"),
            DisplayName = Pointer("display_name"),
            Sender = Pointer("sender"),
            Room = Pointer("room"),
            Direct = Pointer("direct"),
            Recipient = Pointer("recipient"),
            RecipientHeader = t.String("recipient_header"),
            Kind = t.Enum("kind", "message", ("message", "message"), ("report", "report")),
            SenderHeader = t.String("sender_header"),
            RoomHeader = t.String("room_header"),
            DirectHeader = t.String("direct_header"),
            ModeratorHeader = t.String("moderator_header"),
            DropStatus = (int)t.Integer("drop_status", 200, 200, 299),
            DropBody = t.String("drop_body", "{}")!,
            RejectStatus = (int)t.Integer("reject_status", 403, 400, 499),
            MaxDepth = limits.MaxJsonDepth,
            Keys = t.Enum("keys", JsonKeyMatching.AnyCase, ("any_case", JsonKeyMatching.AnyCase), ("exact", JsonKeyMatching.Exact)),
        };
        if (!t.Has("body") && !t.Has("title") && !t.Has("link") && !t.Has("display_name"))
        {
            t.Context.Error(t.Position, t.Path, "name at least one text field: body, title, link or display_name (JSON pointers like \"/text\")");
        }

        if (!JsonAdapterOptions.IsJsonObject(options.DropBody))
        {
            t.Error("drop_body", "must be a JSON object, like '{\"status\":\"sent\"}'");
        }

        return options;
    }

    /// <summary>Reads match, notice_key, drop_frame, reject_frame and error_frame; null for HTTP routes (where they are errors).</summary>
    public static JsonFrameOptions? ReadFrames(TomlTableReader t, bool websocket)
    {
        string[] keys = ["match", "notice_key", "drop_frame", "reject_frame", "error_frame"];
        if (!websocket)
        {
            foreach (var key in keys)
            {
                if (t.Has(key))
                {
                    t.Error(key, "only routes with transport = \"websocket\" take frame settings");
                }
            }

            return null;
        }

        if (t.Has("kind") && t.Raw("kind") is "report")
        {
            t.Error("kind", "\"report\" is not supported with transport = \"websocket\"");
        }

        var match = new List<KeyValuePair<JsonPointer, string>>();
        switch (t.Raw("match"))
        {
            case null:
                break;
            case TomlTable table:
                foreach (var (pointerText, value) in table)
                {
                    if (value is not string expected)
                    {
                        t.Error("match", $"\"{pointerText}\" must map to a string, found {TomlTableReader.Describe(value)}");
                    }
                    else if (!JsonPointer.TryParse(pointerText, out var pointer, out var error))
                    {
                        t.Error("match", $"\"{pointerText}\": {error}");
                    }
                    else
                    {
                        match.Add(new(pointer, expected));
                    }
                }

                break;
            default:
                t.Error("match", "expected a table of JSON pointer = string, like { \"/type\" = \"message\" }");
                break;
        }

        var defaults = new JsonFrameOptions();
        var options = new JsonFrameOptions
        {
            Match = match,
            NoticeKey = t.String("notice_key", defaults.NoticeKey)!,
            DropFrame = t.String("drop_frame", defaults.DropFrame) is { Length: > 0 } drop ? drop : null,
            RejectFrame = t.String("reject_frame", defaults.RejectFrame)!,
            ErrorFrame = t.String("error_frame", defaults.ErrorFrame)!,
        };
        foreach (var (key, value) in new[] { ("drop_frame", options.DropFrame), ("reject_frame", options.RejectFrame), ("error_frame", options.ErrorFrame) })
        {
            if (value is not null && !JsonAdapterOptions.IsJsonObject(value))
            {
                t.Error(key, "must be a JSON object, like '{\"type\":\"notice\"}'");
            }
        }

        if (options.NoticeKey.Length == 0)
        {
            t.Error("notice_key", "must not be empty");
        }

        return options;
    }
}
