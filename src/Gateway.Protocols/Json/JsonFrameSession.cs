using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;

namespace Gateway.Protocols.Json;

/// <summary>
/// The generic JSON protocol over WebSocket: each text frame is a JSON document read with the route's pointers
/// (the same ones its HTTP bodies use). Frames that <see cref="JsonFrameOptions.Match"/> rejects pass untouched;
/// censor rewrites only the string values, drop and reject answer the sender with a JSON frame.
/// </summary>
public sealed class JsonFrameSessionFactory : IFrameSessionFactory
{
    private readonly JsonAdapterOptions _options;
    private readonly JsonFrameOptions _frames;
    private readonly JsonFieldScanner _scanner;
    private readonly FieldKind[] _textKinds;
    private readonly int _senderSlot;
    private readonly int _roomSlot;
    private readonly int _directSlot;
    private readonly int _recipientSlot;
    private readonly int _matchSlot;

    public JsonFrameSessionFactory(JsonAdapterOptions options, JsonFrameOptions frames)
    {
        _options = options;
        _frames = frames;
        var pointers = new List<JsonPointer>();
        var kinds = new List<FieldKind>();
        foreach (var (p, kind) in new[] { (options.Body, FieldKind.Body), (options.Title, FieldKind.Title), (options.Link, FieldKind.Link), (options.DisplayName, FieldKind.DisplayName) })
        {
            if (p is not null)
            {
                pointers.Add(p);
                kinds.Add(kind);
            }
        }

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
        _matchSlot = pointers.Count;
        foreach (var m in frames.Match)
        {
            pointers.Add(m.Key);
        }

        _scanner = new JsonFieldScanner(pointers, options.MaxDepth);
    }

    public string Protocol => "json";

    public IFrameSession Create(FrameConnectionInfo info) => new Session(this, info);

    private sealed record ParseState(JsonValueLocation?[] Found, ReadOnlyMemory<byte> Payload);

    private sealed class Session(JsonFrameSessionFactory f, FrameConnectionInfo info) : IFrameSession
    {
        // Header-given identity is fixed for the connection: read once.
        private readonly string? _headerSender = info.Header(f._options.SenderHeader);
        private readonly string? _headerRoom = info.Header(f._options.RoomHeader);
        private readonly string? _headerRecipient = info.Header(f._options.RecipientHeader);
        private readonly bool _headerDirect = IsTrue(info.Header(f._options.DirectHeader));
        private readonly bool _moderator = IsTrue(info.Header(f._options.ModeratorHeader));

        public bool InspectsBackendFrames => false;

        public FrameParse Parse(FrameDirection direction, ReadOnlyMemory<byte> textPayload)
        {
            if (direction != FrameDirection.ClientToBackend)
            {
                return FrameParse.Pass;
            }

            var json = textPayload.Span;
            var found = new JsonValueLocation?[f._scanner.PointerCount];
            var error = f._scanner.Scan(json, found, out var detail);
            if (error != JsonScanError.None)
            {
                var (code, text) = error switch
                {
                    JsonScanError.TooDeep => ("too_deep", $"the JSON nests deeper than {f._options.MaxDepth} levels"),
                    JsonScanError.NotAnObject => ("not_an_object", "the frame must be a JSON object"),
                    _ => ("invalid_json", "the frame is not valid JSON"),
                };
                return FrameParse.Failed(code, text, f.Reply(f._frames.ErrorFrame, detail is null ? text : $"{text} ({detail})"));
            }

            for (var i = 0; i < f._frames.Match.Count; i++)
            {
                if (found[f._matchSlot + i] is not { TokenType: JsonTokenType.String } loc
                    || !string.Equals(JsonValues.ReadString(json, loc), f._frames.Match[i].Value, StringComparison.Ordinal))
                {
                    return FrameParse.Pass;
                }
            }

            var fields = new List<MessageField>(f._textKinds.Length);
            for (var i = 0; i < f._textKinds.Length; i++)
            {
                if (found[i] is not { } loc || loc.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (loc.TokenType != JsonTokenType.String)
                {
                    return FrameParse.Failed("invalid_field", "a message field is not a string", f.Reply(f._frames.ErrorFrame, "a message field is not a string"));
                }

                fields.Add(new MessageField(f._textKinds[i], JsonValues.ReadString(json, loc) ?? string.Empty));
            }

            var message = new ChatMessage
            {
                Protocol = "json",
                Sender = Text(json, found, f._senderSlot) ?? _headerSender,
                Room = Text(json, found, f._roomSlot) ?? _headerRoom,
                Recipient = Text(json, found, f._recipientSlot) ?? _headerRecipient,
                IsDirect = (f._directSlot < 0 || found[f._directSlot] is not { } d ? null : JsonValues.ReadBool(json, d)) ?? _headerDirect,
                SenderIsModerator = _moderator,
                Fields = fields,
            };
            return new FrameParse { Messages = new[] { message }, State = new ParseState(found, textPayload) };
        }

        public FrameOutcome Apply(FrameParse parsed, ReadOnlySpan<Verdict> verdicts)
        {
            if (verdicts.Length == 0 || parsed.State is not ParseState state)
            {
                return FrameOutcome.Forward;
            }

            var verdict = verdicts[0];
            switch (verdict.Action)
            {
                case VerdictAction.Drop:
                    return FrameOutcome.Drop(verdict.Notice is null || f._frames.DropFrame is null ? null : new[] { f.Reply(f._frames.DropFrame, verdict.Notice) });
                case VerdictAction.Reject:
                    return FrameOutcome.Drop(new[] { f.Reply(f._frames.RejectFrame, verdict.Notice ?? JsonAdapter.DefaultRejectMessage) });
                case VerdictAction.Censor when verdict.Rewritten is not null:
                    return FrameOutcome.Rewritten(f.Rewrite(state, parsed.Messages[0], verdict));
                default:
                    return FrameOutcome.Forward;
            }
        }
    }

    private byte[] Rewrite(ParseState state, ChatMessage message, Verdict verdict)
    {
        var replacements = new List<(JsonValueLocation, string)>();
        for (var i = 0; i < _textKinds.Length; i++)
        {
            if (state.Found[i] is not { TokenType: JsonTokenType.String } loc)
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

        return JsonRewriter.Replace(state.Payload.Span, replacements.ToArray());
    }

    /// <summary>A reply frame: the configured JSON object with the notice under <see cref="JsonFrameOptions.NoticeKey"/>.</summary>
    private byte[] Reply(string template, string notice)
    {
        var node = JsonNode.Parse(template) as JsonObject ?? new JsonObject();
        node[_frames.NoticeKey] = notice;
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    private static string? Find(IReadOnlyList<MessageField> fields, FieldKind kind)
    {
        foreach (var field in fields)
        {
            if (field.Kind == kind)
            {
                return field.Text;
            }
        }

        return null;
    }

    private static string? Text(ReadOnlySpan<byte> json, JsonValueLocation?[] found, int slot)
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

    private static bool IsTrue(string? s) => s is not null && (s == "1" || s.Equals("true", StringComparison.OrdinalIgnoreCase));
}
