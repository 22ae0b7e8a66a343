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
/// <remarks>
/// A backend's parser may read a field from a key the pointer does not spell exactly: Go's encoding/json and
/// System.Text.Json with PropertyNameCaseInsensitive match keys case-insensitively, and parsers disagree on which
/// duplicate wins. So every value at a text pointer's path, each duplicate and (unless <c>json.keys = "exact"</c>)
/// each case variant, is a field of the message: all are evaluated and each is censored in place. Sender, room,
/// recipient and direct flag must not be ambiguous: when their candidates disagree the request is refused with
/// 400 <c>ambiguous_field</c>, whatever <c>on_error</c> says, since the sender would otherwise choose the identity
/// the gateway filters under (issue 9).
/// </remarks>
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

    [ThreadStatic]
    private static List<JsonFieldHit>? t_hits;

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
        _scanner = new JsonFieldScanner(pointers, options.MaxDepth, foldKeyCase: options.Keys == JsonKeyMatching.AnyCase);
        _dropBody = Encoding.UTF8.GetBytes(options.DropBody);
    }

    public string Protocol => "json";

    public bool ShouldInspect(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method) || HttpMethods.IsPatch(request.Method);

    public ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Parse(context.Request, body.Span));

    internal AdapterParse Parse(HttpRequest request, ReadOnlySpan<byte> json) => Parse(json, name => Header(request, name));

    /// <summary>
    /// Reads one JSON document (a request body or a WebSocket frame) into a message: every candidate of every text
    /// field, and identity from the document or, failing that, from <paramref name="header"/>.
    /// </summary>
    internal AdapterParse Parse(ReadOnlySpan<byte> json, Func<string?, string?> header)
    {
        // Parsing is synchronous and nothing keeps the hit list, so one per thread serves every request; a list a
        // hostile body grew large is let go rather than kept.
        var hits = t_hits ??= new List<JsonFieldHit>();
        try
        {
            return Parse(header, json, hits);
        }
        finally
        {
            hits.Clear();
            if (hits.Capacity > 1024)
            {
                t_hits = null;
            }
        }
    }

    private AdapterParse Parse(Func<string?, string?> header, ReadOnlySpan<byte> json, List<JsonFieldHit> hits)
    {
        var error = _scanner.ScanAll(json, hits, out var detail);
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

        // Every candidate of every text pointer is a field of its own (document order), remembered with its place.
        var fields = new List<MessageField>(_textKinds.Length);
        var locations = new List<JsonValueLocation>(_textKinds.Length);
        foreach (var hit in hits)
        {
            if (hit.Pointer >= _textKinds.Length || hit.Location.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            if (hit.Location.TokenType != JsonTokenType.String)
            {
                return AdapterParse.Failed("invalid_field", $"the field at {PointerText(hit.Pointer)} must be a string");
            }

            fields.Add(new MessageField(_textKinds[hit.Pointer], JsonValues.ReadString(json, hit.Location) ?? string.Empty));
            locations.Add(hit.Location);
        }

        string? ambiguous = null;
        var sender = SingleText(json, hits, _senderSlot, ref ambiguous) ?? header(_options.SenderHeader);
        var room = SingleText(json, hits, _roomSlot, ref ambiguous) ?? header(_options.RoomHeader);
        var recipient = SingleText(json, hits, _recipientSlot, ref ambiguous) ?? header(_options.RecipientHeader);
        var isDirect = SingleFlag(json, hits, _directSlot, ref ambiguous) ?? IsTrue(header(_options.DirectHeader));
        if (ambiguous is not null)
        {
            return new AdapterParse { Messages = Array.Empty<ChatMessage>(), State = new AmbiguousField(ambiguous) };
        }

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
            SenderIsModerator = IsTrue(header(_options.ModeratorHeader)),
            Fields = fields,
        };
        return new AdapterParse { Messages = new[] { message }, State = locations.ToArray() };
    }

    public AdapterOutcome Apply(HttpContext context, AdapterParse parsed, ReadOnlySpan<Verdict> verdicts, ReadOnlyMemory<byte> body)
    {
        if (parsed.State is AmbiguousField ambiguous)
        {
            return AdapterOutcome.Respond(StatusCodes.Status400BadRequest, ErrorBody("ambiguous_field",
                $"the body gives {ambiguous.Pointer} more than one value (duplicate keys, or keys differing only in case); send it once"));
        }

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

    /// <summary>The document with every censored candidate rewritten in place; other bytes untouched.</summary>
    internal static byte[] Rewrite(AdapterParse parsed, Verdict verdict, ReadOnlySpan<byte> json)
    {
        var locations = (JsonValueLocation[])parsed.State!;
        var original = parsed.Messages[0].Fields;
        var rewritten = verdict.Rewritten!;

        // Two pointers can name one value ("/text" and "/Text" with any-case keys): such a value is written once,
        // censored wherever either field was. Counts per value start; 0 once written.
        Dictionary<int, int>? fieldsAt = null;
        if (locations.Length > 1)
        {
            fieldsAt = new Dictionary<int, int>(locations.Length);
            foreach (var loc in locations)
            {
                fieldsAt[loc.Start] = fieldsAt.GetValueOrDefault(loc.Start) + 1;
            }
        }

        var replacements = new List<(JsonValueLocation, string)>();
        for (var fi = 0; fi < locations.Length; fi++)
        {
            var loc = locations[fi];
            var before = original[fi].Text;
            string after;
            var shared = fieldsAt is null ? 1 : fieldsAt[loc.Start];
            if (shared == 0)
            {
                continue;
            }

            if (shared > 1)
            {
                fieldsAt![loc.Start] = 0;
                after = CensorShared(verdict, locations, loc.Start, before);
            }
            else
            {
                after = rewritten[fi].Text;
            }

            if (!string.Equals(before, after, StringComparison.Ordinal))
            {
                replacements.Add((loc, after));
            }
        }

        return JsonRewriter.Replace(json, replacements.ToArray());
    }

    private static string CensorShared(Verdict verdict, JsonValueLocation[] locations, int start, string text)
    {
        var ranges = new List<(int Start, int End)>();
        foreach (var m in verdict.Matches)
        {
            if (!m.DryRun && m.Action == FilterAction.Censor && locations[m.FieldIndex].Start == start)
            {
                ranges.Add((m.Start, m.End));
            }
        }

        return ranges.Count == 0 ? text : PolicySnapshot.CensorText(text, ranges);
    }

    private byte[] DropBodyWithNotice(string notice)
    {
        var node = JsonNode.Parse(_options.DropBody) as JsonObject ?? new JsonObject();
        node["notice"] = notice;
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    internal static byte[] RejectBody(string message) => ErrorBody("rejected", message);

    private static byte[] ErrorBody(string code, string message)
    {
        var node = new JsonObject { ["error"] = code, ["message"] = message };
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
        _ when slot == _senderSlot => _options.Sender!.Text,
        _ when slot == _roomSlot => _options.Room!.Text,
        _ when slot == _recipientSlot => _options.Recipient!.Text,
        _ when slot == _directSlot => _options.Direct!.Text,
        _ => "?",
    };

    /// <summary>
    /// The value of an identity pointer: null when absent, the value when every candidate agrees; otherwise
    /// <paramref name="ambiguous"/> names the pointer.
    /// </summary>
    private string? SingleText(ReadOnlySpan<byte> json, List<JsonFieldHit> hits, int slot, ref string? ambiguous)
    {
        if (slot < 0)
        {
            return null;
        }

        string? value = null;
        foreach (var hit in hits)
        {
            if (hit.Pointer != slot)
            {
                continue;
            }

            var text = hit.Location.TokenType switch
            {
                JsonTokenType.String => JsonValues.ReadString(json, hit.Location),
                JsonTokenType.Number => Encoding.UTF8.GetString(json.Slice(hit.Location.Start, hit.Location.Length)),
                _ => null,
            };
            if (text is null)
            {
                continue;
            }

            if (value is not null && !string.Equals(value, text, StringComparison.Ordinal))
            {
                ambiguous ??= PointerText(slot);
            }

            value ??= text;
        }

        return value;
    }

    private bool? SingleFlag(ReadOnlySpan<byte> json, List<JsonFieldHit> hits, int slot, ref string? ambiguous)
    {
        if (slot < 0)
        {
            return null;
        }

        bool? value = null;
        foreach (var hit in hits)
        {
            if (hit.Pointer == slot && JsonValues.ReadBool(json, hit.Location) is { } flag)
            {
                if (value is not null && value != flag)
                {
                    ambiguous ??= PointerText(slot);
                }

                value ??= flag;
            }
        }

        return value;
    }

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

/// <summary>Parse state of a request whose sender, room, recipient or direct flag has conflicting candidates.</summary>
internal sealed record AmbiguousField(string Pointer);
