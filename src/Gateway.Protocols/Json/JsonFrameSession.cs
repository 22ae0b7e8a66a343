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

    // Frames are read exactly as HTTP bodies are: every duplicate and case variant of a field is a candidate
    // (issue 9, defect 4), identity must not be ambiguous, and censoring rewrites every candidate.
    private readonly JsonAdapter _reader;
    private readonly JsonFieldScanner? _matchScanner;

    public JsonFrameSessionFactory(JsonAdapterOptions options, JsonFrameOptions frames)
    {
        _options = options;
        _frames = frames;
        _reader = new JsonAdapter(options);
        if (frames.Match.Count > 0)
        {
            var pointers = new List<JsonPointer>();
            foreach (var m in frames.Match)
            {
                pointers.Add(m.Key);
            }

            _matchScanner = new JsonFieldScanner(pointers, options.MaxDepth, foldKeyCase: options.Keys == JsonKeyMatching.AnyCase);
        }
    }

    public string Protocol => "json";

    public IFrameSession Create(FrameConnectionInfo info) => new Session(this, info);

    private sealed record ParseState(AdapterParse Parsed, ReadOnlyMemory<byte> Payload);

    private sealed class Session(JsonFrameSessionFactory f, FrameConnectionInfo info) : IFrameSession
    {
        public bool InspectsBackendFrames => false;

        public FrameParse Parse(FrameDirection direction, ReadOnlyMemory<byte> textPayload)
        {
            if (direction != FrameDirection.ClientToBackend)
            {
                return FrameParse.Pass;
            }

            var json = textPayload.Span;
            if (f._matchScanner is not null)
            {
                var hits = new List<JsonFieldHit>();
                var error = f._matchScanner.ScanAll(json, hits, out var detail);
                if (error != JsonScanError.None)
                {
                    return f.Failed(error == JsonScanError.NotAnObject ? "not_an_object" : "invalid_json",
                        error == JsonScanError.NotAnObject ? "the frame must be a JSON object" : "the frame is not valid JSON", detail);
                }

                if (!f.Matches(json, hits))
                {
                    return FrameParse.Pass;
                }
            }

            var parsed = f._reader.Parse(json, info.Header);
            if (parsed.Error is { } bad)
            {
                return FrameParse.Failed(bad.Code, bad.Detail, f.Reply(f._frames.ErrorFrame, bad.Detail.Replace("the request body", "the frame", StringComparison.Ordinal)));
            }

            if (parsed.State is AmbiguousField ambiguous)
            {
                var text = $"the frame gives {ambiguous.Pointer} more than one value (duplicate keys, or keys differing only in case); send it once";
                return FrameParse.Failed("ambiguous_field", text, f.Reply(f._frames.ErrorFrame, text));
            }

            if (parsed.Messages.Count == 0)
            {
                return FrameParse.Pass;
            }

            return new FrameParse { Messages = parsed.Messages, State = new ParseState(parsed, textPayload) };
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
                    return FrameOutcome.Rewritten(JsonAdapter.Rewrite(state.Parsed, verdict, state.Payload.Span));
                default:
                    return FrameOutcome.Forward;
            }
        }
    }

    /// <summary>
    /// A frame carries a message when every match pointer has a candidate holding its string. Any candidate counts:
    /// a backend that reads keys case-insensitively, or takes the last duplicate, would see it as a message.
    /// </summary>
    private bool Matches(ReadOnlySpan<byte> json, List<JsonFieldHit> hits)
    {
        for (var i = 0; i < _frames.Match.Count; i++)
        {
            var found = false;
            foreach (var hit in hits)
            {
                if (hit.Pointer == i && hit.Location.TokenType == JsonTokenType.String
                    && string.Equals(JsonValues.ReadString(json, hit.Location), _frames.Match[i].Value, StringComparison.Ordinal))
                {
                    found = true;
                    break;
                }
            }

            if (!found)
            {
                return false;
            }
        }

        return true;
    }

    private FrameParse Failed(string code, string text, string? detail)
    {
        var message = detail is null ? text : $"{text} ({detail})";
        return FrameParse.Failed(code, message, Reply(_frames.ErrorFrame, message));
    }

    /// <summary>A reply frame: the configured JSON object with the notice under <see cref="JsonFrameOptions.NoticeKey"/>.</summary>
    private byte[] Reply(string template, string notice)
    {
        var node = JsonNode.Parse(template) as JsonObject ?? new JsonObject();
        node[_frames.NoticeKey] = notice;
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }
}
