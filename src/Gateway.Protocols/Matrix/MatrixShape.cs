using System.Text.Json;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// What the protections need from an <c>m.room.message</c> beyond its text: the users it mentions
/// (<c>m.mentions.user_ids</c>, MSC3952) and whether it carries media (<c>msgtype</c> m.image, m.file, m.video,
/// m.audio). Reads the content only when those keys appear in it, so plain text messages cost one search.
/// </summary>
internal static class MatrixShape
{
    public static (IReadOnlyList<string>? Mentions, bool HasMedia) Read(ReadOnlySpan<byte> content)
    {
        var mentions = content.IndexOf("\"m.mentions\""u8) >= 0;
        var media = content.IndexOf("\"msgtype\""u8) >= 0 && (content.IndexOf("\"m.image\""u8) >= 0 || content.IndexOf("\"m.file\""u8) >= 0
            || content.IndexOf("\"m.video\""u8) >= 0 || content.IndexOf("\"m.audio\""u8) >= 0);
        if (!mentions && !media)
        {
            return (null, false);
        }

        try
        {
            var reader = new Utf8JsonReader(content, new JsonReaderOptions { MaxDepth = 64 });
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, false);
            }

            var hasMedia = root.TryGetProperty("msgtype", out var t) && t.ValueKind == JsonValueKind.String
                && t.GetString() is "m.image" or "m.file" or "m.video" or "m.audio";
            List<string>? users = null;
            if (root.TryGetProperty("m.mentions", out var m) && m.ValueKind == JsonValueKind.Object
                && m.TryGetProperty("user_ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
            {
                users = new List<string>();
                foreach (var id in ids.EnumerateArray())
                {
                    if (id.ValueKind == JsonValueKind.String && users.Count < 10_000)
                    {
                        users.Add(id.GetString()!);
                    }
                }
            }

            return (users, hasMedia);
        }
        catch (JsonException)
        {
            return (null, false);
        }
    }
}
