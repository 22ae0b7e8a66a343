using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Microsoft.AspNetCore.Http;

namespace Gateway.Protocols.Json;

/// <summary>
/// The generic adapter for any JSON chat API: configured JSON pointers name the text fields, sender, room and
/// direct flag (or headers carry them). Censoring rewrites only those string values; every other byte of the body
/// is forwarded as it came.
/// </summary>
public sealed class JsonAdapter : IProtocolAdapter
{
    public const string DefaultRejectMessage = "This message was rejected by the content filter.";

    private readonly JsonAdapterOptions _options;
    private readonly JsonFieldScanner _scanner;
    private readonly FieldKind[] _textKinds;     // for pointer slots 0.._textKinds.Length-1
    private readonly int _senderSlot;
    private readonly int _roomSlot;
    private readonly int _directSlot;
    private readonly int _recipientSlot;
    private readonly byte[] _dropBody;

    public JsonAdapter(JsonAdapterOptions options)
    {
        _options = options;
        var pointers = new List<JsonPointer>();
        var kinds = new List<FieldKind>();
        void AddText(JsonPointer? p, FieldKind kind)
        {
            if (p is not null)
            {
                pointers.Add(p);
                kinds.Add(kind);
            }
        }

        AddText(options.Body, FieldKind.Body);
        AddText(options.Title, FieldKind.Title);
        AddText(options.Link, FieldKind.Link);
        AddText(options.DisplayName, FieldKind.DisplayName);
        _textKinds = kinds.ToArray();
        int Slot(JsonPointer? p)
        {
            if (p is null)
            {
                return -1;
            }

            pointers.Add(p);
            return pointers.Count - 1;
        }

        _senderSlot = Slot(options.Sender);
        _roomSlot = Slot(options.Room);
        _directSlot = Slot(options.Direct);
        _recipientSlot = Slot(options.Recipient);
        _scanner = new JsonFieldScanner(pointers, options.MaxDepth);
        _dropBody = Encoding.UTF8.GetBytes(options.DropBody);
    }

    public string Protocol => "json";

    public bool ShouldInspect(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method) || HttpMethods.IsPatch(request.Method);

    public ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Parse(context.Request, body.Span));

    internal AdapterParse Parse(HttpRequest request, ReadOnlySpan<byte> json)
    {
        var found = new JsonValueLocation?[_scanner.PointerCount];
        var error = _scanner.Scan(json, found, out var detail);
        if (error != JsonScanError.None)
        {
            var (code, text) = error switch
            {
                JsonScanError.InvalidUtf8 => ("invalid_utf8", "the request body is not valid UTF-8"),
                JsonScanError.TooDeep => ("too_deep", $"the JSON nests deeper than {_options.MaxDepth} levels"),
                JsonScanError.NotAnObject => ("not_an_object", "the request body must be a JSON object"),
                _ => ("invalid_json", "the request body is not valid JSON"),
            };
            return AdapterParse.Failed(code, detail is null ? text : $"{text} ({detail})");
        }

        var fields = new List<MessageField>(_textKinds.Length);
        for (var i = 0; i < _textKinds.Length; i++)
        {
            if (found[i] is not { } loc || loc.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            if (loc.TokenType != JsonTokenType.String)
            {
                return AdapterParse.Failed("invalid_field", $"the field at {PointerText(i)} must be a string");
            }

            fields.Add(new MessageField(_textKinds[i], JsonValues.ReadString(json, loc) ?? string.Empty));
        }

        var sender = ReadText(json, found, _senderSlot) ?? Header(request, _options.SenderHeader);
        var room = ReadText(json, found, _roomSlot) ?? Header(request, _options.RoomHeader);
        var recipient = ReadText(json, found, _recipientSlot) ?? Header(request, _options.RecipientHeader);
        var isDirect = ReadFlag(json, found, _directSlot) ?? IsTrue(Header(request, _options.DirectHeader));
        if (_options.Kind == "report")
        {
            if (sender is null)
            {
                return AdapterParse.NoMessages;
            }

            var reason = fields.Count > 0 ? fields[0].Text : null;
            return new AdapterParse
            {
                Messages = Array.Empty<ChatMessage>(),
                UserReport = new UserReport(Protocol, sender, recipient, room, isDirect, reason),
            };
        }

        var message = new ChatMessage
        {
            Protocol = Protocol,
            Sender = sender,
            Room = room,
            Recipient = recipient,
            IsDirect = isDirect,
            SenderIsModerator = IsTrue(Header(request, _options.ModeratorHeader)),
            Fields = fields,
        };
        return new AdapterParse { Messages = new[] { message }, State = found };
    }

    public AdapterOutcome Apply(HttpContext context, AdapterParse parsed, ReadOnlySpan<Verdict> verdicts, ReadOnlyMemory<byte> body)
    {
        if (verdicts.Length == 0)
        {
            return AdapterOutcome.ForwardUnchanged;
        }

        var verdict = verdicts[0];
        switch (verdict.Action)
        {
            case VerdictAction.Drop:
                return AdapterOutcome.Respond(_options.DropStatus, verdict.Notice is null ? _dropBody : DropBodyWithNotice(verdict.Notice));
            case VerdictAction.Reject:
                return AdapterOutcome.Respond(_options.RejectStatus, RejectBody(verdict.Notice ?? DefaultRejectMessage));
            case VerdictAction.Censor when verdict.Rewritten is not null:
                return AdapterOutcome.Rewritten(Rewrite(parsed, verdict, body.Span));
            default:
                return AdapterOutcome.ForwardUnchanged;
        }
    }

    private byte[] Rewrite(AdapterParse parsed, Verdict verdict, ReadOnlySpan<byte> json)
    {
        var found = (JsonValueLocation?[])parsed.State!;
        var message = parsed.Messages[0];
        var replacements = new List<(JsonValueLocation, string)>();
        for (var i = 0; i < _textKinds.Length; i++)
        {
            if (found[i] is not { TokenType: JsonTokenType.String } loc)
            {
                continue;
            }

            var before = Find(message.Fields, _textKinds[i]);
            var after = Find(verdict.Rewritten!, _textKinds[i]);
            if (after is not null && !string.Equals(before, after, StringComparison.Ordinal))
            {
                replacements.Add((loc, after));
            }
        }

        return JsonRewriter.Replace(json, replacements.ToArray());
    }

    private static string? Find(IReadOnlyList<MessageField> fields, FieldKind kind)
    {
        foreach (var f in fields)
        {
            if (f.Kind == kind)
            {
                return f.Text;
            }
        }

        return null;
    }

    private byte[] DropBodyWithNotice(string notice)
    {
        var node = JsonNode.Parse(_options.DropBody) as JsonObject ?? new JsonObject();
        node["notice"] = notice;
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    internal static byte[] RejectBody(string message)
    {
        var node = new JsonObject { ["error"] = "rejected", ["message"] = message };
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    private string PointerText(int slot) => slot switch
    {
        _ when slot < _textKinds.Length => _textKinds[slot] switch
        {
            FieldKind.Body => _options.Body!.Text,
            FieldKind.Title => _options.Title!.Text,
            FieldKind.Link => _options.Link!.Text,
            _ => _options.DisplayName!.Text,
        },
        _ => "?",
    };

    private static string? ReadText(ReadOnlySpan<byte> json, JsonValueLocation?[] found, int slot)
    {
        if (slot < 0 || found[slot] is not { } loc)
        {
            return null;
        }

        return loc.TokenType switch
        {
            JsonTokenType.String => JsonValues.ReadString(json, loc),
            JsonTokenType.Number => Encoding.UTF8.GetString(json.Slice(loc.Start, loc.Length)),
            _ => null,
        };
    }

    private static bool? ReadFlag(ReadOnlySpan<byte> json, JsonValueLocation?[] found, int slot) =>
        slot < 0 || found[slot] is not { } loc ? null : JsonValues.ReadBool(json, loc);

    private static string? Header(HttpRequest request, string? name)
    {
        if (name is null)
        {
            return null;
        }

        var v = request.Headers[name];
        return v.Count == 0 ? null : v[0];
    }

    private static bool IsTrue(string? s) => s is not null && (s == "1" || s.Equals("true", StringComparison.OrdinalIgnoreCase));
}
