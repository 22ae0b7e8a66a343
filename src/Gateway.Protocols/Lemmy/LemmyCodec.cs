using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Json;

namespace Gateway.Protocols.Lemmy;

/// <summary>
/// Lemmy request bodies ⇄ message fields, with no HttpContext: which JSON fields of a post, comment, private message,
/// community or profile are text (from LemmyNet/lemmy's CreatePost/EditPost, CreateComment/EditComment,
/// CreatePrivateMessage/EditPrivateMessage, CreateCommunity/EditCommunity and SaveUserSettings), the ids the adapter
/// needs to place them, and the rewrite of censored fields back into the bytes. Every other byte stays as sent.
/// </summary>
internal sealed class LemmyCodec
{
    private static readonly (string Pointer, FieldKind Kind, LemmyRequestKind[] Kinds)[] TextFields =
    {
        ("/name", FieldKind.Title, new[] { LemmyRequestKind.Post, LemmyRequestKind.Community }),
        ("/title", FieldKind.Title, new[] { LemmyRequestKind.Community }),
        ("/url", FieldKind.Link, new[] { LemmyRequestKind.Post }),
        ("/body", FieldKind.Body, new[] { LemmyRequestKind.Post }),
        ("/content", FieldKind.Body, new[] { LemmyRequestKind.Comment, LemmyRequestKind.PrivateMessage }),
        ("/description", FieldKind.Body, new[] { LemmyRequestKind.Community }), // 0.19
        ("/sidebar", FieldKind.Body, new[] { LemmyRequestKind.Community }), // 1.0
        ("/summary", FieldKind.Body, new[] { LemmyRequestKind.Community }), // 1.0
        ("/display_name", FieldKind.DisplayName, new[] { LemmyRequestKind.UserSettings }),
        ("/bio", FieldKind.Body, new[] { LemmyRequestKind.UserSettings }),
        ("/reason", FieldKind.Body, new[] { LemmyRequestKind.CommentReport, LemmyRequestKind.PostReport, LemmyRequestKind.PrivateMessageReport, LemmyRequestKind.CommunityReport }),
    };

    private static readonly string[] IdFields =
    {
        "/community_id", "/post_id", "/comment_id", "/recipient_id", "/private_message_id", "/person_id",
    };

    private readonly JsonFieldScanner _scanner;

    public LemmyCodec(int maxJsonDepth)
    {
        var pointers = new List<JsonPointer>();
        foreach (var (p, _, _) in TextFields)
        {
            pointers.Add(Pointer(p));
        }

        foreach (var p in IdFields)
        {
            pointers.Add(Pointer(p));
        }

        _scanner = new JsonFieldScanner(pointers, maxJsonDepth);
    }

    /// <summary>Scans the body once: the text fields of <paramref name="kind"/> and every id field.</summary>
    public LemmyContent Read(LemmyRequestKind kind, ReadOnlySpan<byte> json)
    {
        var found = new JsonValueLocation?[TextFields.Length + IdFields.Length];
        var error = _scanner.Scan(json, found, out var detail);
        var content = new LemmyContent(found) { Error = error, ErrorDetail = detail };
        if (error != JsonScanError.None)
        {
            return content;
        }

        for (var i = 0; i < TextFields.Length; i++)
        {
            if (Array.IndexOf(TextFields[i].Kinds, kind) >= 0 && found[i] is { TokenType: JsonTokenType.String } loc
                && JsonValues.ReadString(json, loc) is { Length: > 0 } text)
            {
                content.Fields.Add(new MessageField(TextFields[i].Kind, text));
                content.Slots.Add(i);
            }
        }

        if (kind == LemmyRequestKind.Community && found[0] is { TokenType: JsonTokenType.String } nameLoc)
        {
            content.CommunityName = JsonValues.ReadString(json, nameLoc);
        }

        content.CommunityId = Id(json, found, 0);
        content.PostId = Id(json, found, 1);
        content.CommentId = Id(json, found, 2);
        content.RecipientId = Id(json, found, 3);
        content.PrivateMessageId = Id(json, found, 4);
        content.PersonId = Id(json, found, 5);
        return content;
    }

    /// <summary>The body with each censored field replaced by its rewritten text, in place.</summary>
    public static byte[] Rewrite(LemmyContent content, Verdict verdict, ReadOnlySpan<byte> json) =>
        Rewrite(content, verdict.Rewritten ?? content.Fields, json);

    /// <summary>The body with each field whose text differs in <paramref name="rewritten"/> (same order as the fields) replaced.</summary>
    public static byte[] Rewrite(LemmyContent content, IReadOnlyList<MessageField> rewritten, ReadOnlySpan<byte> json)
    {
        var replacements = new List<(JsonValueLocation, string)>();
        for (var fi = 0; fi < content.Slots.Count; fi++)
        {
            if (fi < rewritten.Count && content.Found[content.Slots[fi]] is { } loc
                && !string.Equals(rewritten[fi].Text, content.Fields[fi].Text, StringComparison.Ordinal))
            {
                replacements.Add((loc, rewritten[fi].Text));
            }
        }

        return JsonRewriter.Replace(json, replacements.ToArray());
    }

    /// <summary>Lemmy's own answer to a body it cannot deserialize is a 400; this one keeps the error shape clients read.</summary>
    public static (string Code, string Text, byte[] Body) ErrorBody(LemmyContent content)
    {
        var text = content.ErrorDetail is null ? "The request body is not valid JSON." : $"The request body is not valid JSON ({content.ErrorDetail}).";
        var code = content.Error == JsonScanError.InvalidUtf8 ? "invalid_utf8" : "invalid_json";
        var node = new JsonObject { ["error"] = "couldnt_parse_json", ["message"] = text };
        return (code, text, Encoding.UTF8.GetBytes(node.ToJsonString()));
    }

    private static long? Id(ReadOnlySpan<byte> json, JsonValueLocation?[] found, int index)
    {
        if (found[TextFields.Length + index] is not { TokenType: JsonTokenType.Number } loc)
        {
            return null;
        }

        return Utf8Parser.TryParse(json.Slice(loc.Start, loc.Length), out long value, out var consumed) && consumed == loc.Length ? value : null;
    }

    private static JsonPointer Pointer(string text) =>
        JsonPointer.TryParse(text, out var pointer, out var error) ? pointer : throw new InvalidOperationException(error); // a bug in the tables above
}

/// <summary>What one Lemmy body carries: text fields (with the pointer slot each came from) and ids.</summary>
internal sealed class LemmyContent
{
    internal LemmyContent(JsonValueLocation?[] found) => Found = found;

    internal JsonValueLocation?[] Found { get; }

    public JsonScanError Error { get; init; }

    public string? ErrorDetail { get; init; }

    public List<MessageField> Fields { get; } = new(3);

    internal List<int> Slots { get; } = new(3);

    /// <summary>A new community's <c>name</c> (its slug, what filters' <c>rooms</c> globs name).</summary>
    public string? CommunityName { get; set; }

    public long? CommunityId { get; set; }

    public long? PostId { get; set; }

    public long? CommentId { get; set; }

    public long? RecipientId { get; set; }

    public long? PrivateMessageId { get; set; }

    public long? PersonId { get; set; }

    /// <summary>The text of the first field of <paramref name="kind"/>, as rewritten when <paramref name="rewritten"/> is given.</summary>
    public string? Text(FieldKind kind, IReadOnlyList<MessageField>? rewritten = null)
    {
        var fields = rewritten ?? Fields;
        foreach (var f in fields)
        {
            if (f.Kind == kind)
            {
                return f.Text;
            }
        }

        return null;
    }
}
