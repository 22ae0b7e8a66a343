using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Json;

namespace Gateway.Protocols.Matrix;

/// <summary>Which text fields an event's content carries, by event type.</summary>
internal enum MatrixContentKind
{
    /// <summary>No text the filters read (only a report's reason, if any).</summary>
    None = 0,

    /// <summary>m.room.message, m.sticker: body, formatted_body, and an edit's m.new_content.</summary>
    Message,

    /// <summary>m.room.name: the room's name (a title).</summary>
    RoomName,

    /// <summary>m.room.topic: the room's topic.</summary>
    RoomTopic,

    /// <summary>m.room.member and profile updates: the display name (and a membership event's reason).</summary>
    DisplayName,

    /// <summary>m.room.canonical_alias: <c>alias</c> and every <c>alt_aliases</c> entry (titles; never rewritten).</summary>
    CanonicalAlias,

    /// <summary>m.room.avatar: the image's <c>info.alt</c> text, where present.</summary>
    Avatar,

    /// <summary>invite / kick / ban / unban and reports: the <c>reason</c>.</summary>
    Reason,
}

/// <summary>
/// Matrix event content bytes ⇄ message fields, with no HttpContext: the one field extraction the client-server
/// adapter and the antispam callbacks share (body, formatted_body as visible text, the edit's m.new_content body and
/// formatted_body, room name, topic, display name), and the rewrite of censored fields back into the bytes.
/// </summary>
internal sealed class MatrixCodec
{
    /// <summary>A field with no single location in the bytes (an <c>alt_aliases</c> entry): evaluated, never rewritten.</summary>
    internal const int NoSlot = -1;

    // Slots of the pointers the scanner looks for, in this order.
    private const int SlotBody = 0;
    private const int SlotFormat = 1;
    private const int SlotFormatted = 2;
    private const int SlotNewBody = 3;
    private const int SlotNewFormat = 4;
    private const int SlotNewFormatted = 5;
    private const int SlotDisplayName = 6;
    private const int SlotName = 7;
    private const int SlotTopic = 8;
    internal const int SlotReason = 9;
    private const int SlotAlias = 10;
    private const int SlotAlt = 11;

    private static readonly string[] PointerTexts =
    {
        "/body", "/format", "/formatted_body", "/m.new_content/body", "/m.new_content/format", "/m.new_content/formatted_body",
        "/displayname", "/name", "/topic", "/reason", "/alias", "/info/alt",
    };

    private readonly JsonFieldScanner _scanner;

    public MatrixCodec(int maxJsonDepth)
    {
        var pointers = new List<JsonPointer>();
        foreach (var p in PointerTexts)
        {
            if (!JsonPointer.TryParse(p, out var pointer, out var error))
            {
                throw new InvalidOperationException(error); // a bug in the constant table above
            }

            pointers.Add(pointer);
        }

        _scanner = new JsonFieldScanner(pointers, maxJsonDepth);
    }

    /// <summary>The content kind of an event type (federated events, antispam callbacks).</summary>
    public static MatrixContentKind KindOfEvent(string? eventType) => eventType switch
    {
        "m.room.message" or "m.sticker" => MatrixContentKind.Message,
        "m.room.name" => MatrixContentKind.RoomName,
        "m.room.topic" => MatrixContentKind.RoomTopic,
        "m.room.member" => MatrixContentKind.DisplayName,
        "m.room.canonical_alias" => MatrixContentKind.CanonicalAlias,
        "m.room.avatar" => MatrixContentKind.Avatar,
        _ => MatrixContentKind.None,
    };

    /// <summary>The content kind of a client-server request body.</summary>
    public static MatrixContentKind KindOfRequest(MatrixPath path) => path.Kind switch
    {
        MatrixRequestKind.Send => MatrixContentKind.Message,
        MatrixRequestKind.State when path.EventType == "m.room.name" => MatrixContentKind.RoomName,
        MatrixRequestKind.State when path.EventType == "m.room.topic" => MatrixContentKind.RoomTopic,
        MatrixRequestKind.State when path.EventType == "m.room.member" => MatrixContentKind.DisplayName,
        MatrixRequestKind.State => KindOfEvent(path.EventType),
        MatrixRequestKind.ProfileDisplayName => MatrixContentKind.DisplayName,
        MatrixRequestKind.Join or MatrixRequestKind.MembershipChange or MatrixRequestKind.ReportEvent or MatrixRequestKind.ReportRoom
            or MatrixRequestKind.ReportUser => MatrixContentKind.Reason,
        _ => MatrixContentKind.None,
    };

    /// <summary>
    /// Scans event content once and pulls out the text fields of <paramref name="kind"/> (and a report's reason).
    /// Bytes that are not a JSON object give <see cref="MatrixContent.Error"/> and no fields.
    /// </summary>
    public MatrixContent Read(MatrixContentKind kind, ReadOnlySpan<byte> json)
    {
        var found = new JsonValueLocation?[PointerTexts.Length];
        var error = _scanner.Scan(json, found, out var detail);
        var result = new MatrixContent(found) { Error = error, ErrorDetail = detail };
        if (error != JsonScanError.None)
        {
            return result;
        }

        result.Reason = String(json, found[SlotReason]);
        switch (kind)
        {
            case MatrixContentKind.Message:
                result.Add(FieldKind.Body, SlotBody, String(json, found[SlotBody]));
                result.AddHtml(String(json, found[SlotFormat]), SlotFormatted, String(json, found[SlotFormatted]));
                result.Add(FieldKind.Body, SlotNewBody, String(json, found[SlotNewBody]));
                result.AddHtml(String(json, found[SlotNewFormat]), SlotNewFormatted, String(json, found[SlotNewFormatted]));
                break;
            case MatrixContentKind.RoomName:
                result.Add(FieldKind.Title, SlotName, String(json, found[SlotName]));
                break;
            case MatrixContentKind.RoomTopic:
                result.Add(FieldKind.Body, SlotTopic, String(json, found[SlotTopic]));
                break;
            case MatrixContentKind.DisplayName:
                result.Add(FieldKind.DisplayName, SlotDisplayName, String(json, found[SlotDisplayName]));
                result.Add(FieldKind.Body, SlotReason, result.Reason);
                break;
            case MatrixContentKind.CanonicalAlias:
                result.Add(FieldKind.Title, SlotAlias, String(json, found[SlotAlias]));
                foreach (var alt in AltAliases(json))
                {
                    result.Add(FieldKind.Title, NoSlot, alt);
                }

                result.CannotRewrite = true; // an alias must exist as written: a censored one would be refused anyway
                break;
            case MatrixContentKind.Avatar:
                result.Add(FieldKind.Body, SlotAlt, String(json, found[SlotAlt]));
                break;
            case MatrixContentKind.Reason:
                result.Add(FieldKind.Body, SlotReason, result.Reason);
                break;
        }

        return result;
    }

    /// <summary>The Matrix error body for content that is not a JSON object (M_NOT_JSON, or M_BAD_JSON for a non-object).</summary>
    public static (string Code, string Text, byte[] Body) ErrorBody(MatrixContent content)
    {
        var text = content.ErrorDetail is null ? "The request body is not valid JSON." : $"The request body is not valid JSON ({content.ErrorDetail}).";
        var errcode = content.Error == JsonScanError.NotAnObject ? "M_BAD_JSON" : "M_NOT_JSON";
        var node = new JsonObject { ["errcode"] = errcode, ["error"] = text };
        return (content.Error == JsonScanError.InvalidUtf8 ? "invalid_utf8" : "invalid_json", text, Encoding.UTF8.GetBytes(node.ToJsonString()));
    }

    /// <summary>The content with the censored ranges of <paramref name="verdict"/> replaced, field by field, in place.</summary>
    public static byte[] Rewrite(MatrixContent content, Verdict verdict, ReadOnlySpan<byte> json)
    {
        var replacements = new List<(JsonValueLocation, string)>();
        for (var fi = 0; fi < content.Slots.Count; fi++)
        {
            var ranges = new List<(int Start, int End)>();
            foreach (var m in verdict.Matches)
            {
                if (m.FieldIndex == fi && !m.DryRun && m.Action == FilterAction.Censor)
                {
                    ranges.Add((m.Start, m.End));
                }
            }

            if (ranges.Count == 0 || content.Slots[fi] == NoSlot || content.Found[content.Slots[fi]] is not { } loc)
            {
                continue;
            }

            var html = content.Htmls[fi];
            var replacement = html is not null
                ? html.Censor(ranges)
                : verdict.Rewritten![fi].Text;
            replacements.Add((loc, replacement));
        }

        return JsonRewriter.Replace(json, replacements.ToArray());
    }

    /// <summary>The <c>alt_aliases</c> strings of an m.room.canonical_alias content (bounded; read only when the key is there).</summary>
    private static List<string> AltAliases(ReadOnlySpan<byte> json)
    {
        var result = new List<string>();
        if (json.IndexOf("\"alt_aliases\""u8) < 0)
        {
            return result;
        }

        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            using var doc = JsonDocument.ParseValue(ref reader);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("alt_aliases", out var alts)
                && alts.ValueKind == JsonValueKind.Array)
            {
                foreach (var a in alts.EnumerateArray())
                {
                    if (a.ValueKind == JsonValueKind.String && result.Count < 1000)
                    {
                        result.Add(a.GetString()!);
                    }
                }
            }
        }
        catch (JsonException)
        {
            // The scanner already accepted the bytes; a duplicate-key oddity is the homeserver's to refuse.
        }

        return result;
    }

    private static string? String(ReadOnlySpan<byte> json, JsonValueLocation? loc) =>
        loc is { TokenType: JsonTokenType.String } l ? JsonValues.ReadString(json, l) : null;
}

/// <summary>Fields found in one event content, with the pointer slot each came from (for rewriting).</summary>
internal sealed class MatrixContent
{
    internal MatrixContent(JsonValueLocation?[] found) => Found = found;

    internal JsonValueLocation?[] Found { get; }

    /// <summary>Why the bytes could not be read; <see cref="JsonScanError.None"/> when they could.</summary>
    public JsonScanError Error { get; init; }

    public string? ErrorDetail { get; init; }

    /// <summary>Text that is not in the request body (an alias in the path): checked, never rewritten.</summary>
    internal static MatrixContent FromPath(string? text) => FromTexts((FieldKind.Title, text));

    internal static MatrixContent FromTexts(params (FieldKind Kind, string? Text)[] texts)
    {
        var content = new MatrixContent(Array.Empty<JsonValueLocation?>()) { CannotRewrite = true };
        foreach (var (kind, text) in texts)
        {
            content.Add(kind, MatrixCodec.NoSlot, text);
        }

        return content;
    }

    /// <summary>True when a censor verdict cannot be applied in place (aliases): the request is refused instead.</summary>
    public bool CannotRewrite { get; internal set; }

    /// <summary>A report's <c>reason</c>, when the content has one.</summary>
    public string? Reason { get; internal set; }

    /// <summary>Where the <c>reason</c> string is in the body, when there is one (a dropped reason is emptied there).</summary>
    internal JsonValueLocation? ReasonLocation => Found.Length > MatrixCodec.SlotReason ? Found[MatrixCodec.SlotReason] : null;

    /// <summary>The text fields, in order; formatted bodies as their visible text.</summary>
    public List<MessageField> Fields { get; } = new(4);

    internal List<int> Slots { get; } = new(4);

    internal List<MatrixHtml?> Htmls { get; } = new(4);

    internal void Add(FieldKind kind, int slot, string? text, MatrixHtml? html = null)
    {
        if (!string.IsNullOrEmpty(text))
        {
            Fields.Add(new MessageField(kind, text));
            Slots.Add(slot);
            Htmls.Add(html);
        }
    }

    /// <summary>formatted_body counts as body for filters; matching runs on its visible text.</summary>
    internal void AddHtml(string? format, int slot, string? html)
    {
        if (format == "org.matrix.custom.html" && !string.IsNullOrEmpty(html))
        {
            var parsed = MatrixHtml.Parse(html);
            Add(FieldKind.Body, slot, parsed.Text, parsed);
        }
    }
}
