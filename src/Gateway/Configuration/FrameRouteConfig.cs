using Gateway.Protocols.Configuration;
using Gateway.Protocols.Json;
using Tomlyn.Model;

namespace Gateway.Configuration;

/// <summary>The route keys of frame transports: <c>transport</c> and, for JSON routes, the frame keys of the json table.</summary>
internal static class FrameRouteConfig
{
    public static string ReadTransport(TomlTableReader r, string protocol, bool inspect)
    {
        var transport = r.Enum("transport", "http", ("http", "http"), ("websocket", "websocket"));
        if (transport == "websocket" && !(inspect && protocol == "json"))
        {
            r.Error("transport", "\"websocket\" relays frames through an inspecting protocol: it needs an inspected route of a \"json\" backend "
                + "(other WebSocket routes are tunnelled as they are without it)");
        }

        return transport;
    }

    /// <summary>Reads match, notice_key, drop_frame, reject_frame and error_frame; null for HTTP routes (where they are errors).</summary>
    public static JsonFrameOptions? ReadJsonFrames(TomlTableReader t, bool websocket)
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
