using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// The Matrix client-server adapter: message sends (m.room.message with body and formatted_body, edits through
/// m.new_content), room name/topic, member display names and profile display names. Unsigned JSON behind a bearer
/// token, so rewriting is clean. Encrypted events are counted, never pretended to be inspected.
/// </summary>
public sealed class MatrixAdapter : IProtocolAdapter
{
    public const string ProtocolName = "matrix";
    public const string DefaultRejectMessage = "This message was blocked by the server's content filter.";

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
    private const int SlotReason = 9;

    private static readonly string[] PointerTexts =
    {
        "/body", "/format", "/formatted_body", "/m.new_content/body", "/m.new_content/format", "/m.new_content/formatted_body",
        "/displayname", "/name", "/topic", "/reason",
    };

    private readonly MatrixOptions _options;
    private readonly IMatrixDirectory _directory;
    private readonly MatrixPolicyList _policy;
    private readonly OpaqueTraffic _opaque;
    private readonly JsonFieldScanner _scanner;
    private readonly Regex? _publicRooms;

    public MatrixAdapter(MatrixOptions options, IMatrixDirectory directory, MatrixPolicyList policy, OpaqueTraffic opaque)
    {
        _options = options;
        _directory = directory;
        _policy = policy;
        _opaque = opaque;
        var pointers = new List<JsonPointer>();
        foreach (var p in PointerTexts)
        {
            if (!JsonPointer.TryParse(p, out var pointer, out var error))
            {
                throw new InvalidOperationException(error); // a bug in the constant table above
            }

            pointers.Add(pointer);
        }

        _scanner = new JsonFieldScanner(pointers, options.MaxJsonDepth);
        _publicRooms = NameGlob.CompileAny(options.PublicRooms);
    }

    public string Protocol => ProtocolName;

    public bool ShouldInspect(HttpRequest request) =>
        MatrixPath.Parse(request.Method, request.Path.Value ?? string.Empty).Kind is not (MatrixRequestKind.Other or MatrixRequestKind.Federation);

    public async ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var path = MatrixPath.Parse(request.Method, request.Path.Value ?? string.Empty);
        var token = AccessToken(request);
        if (token is null)
        {
            return AdapterParse.NoMessages; // the homeserver answers M_MISSING_TOKEN itself
        }

        if (path.Kind == MatrixRequestKind.State && path.EventType == "m.room.power_levels" && path.RoomId is not null)
        {
            _directory.InvalidateRoom(path.RoomId); // moderators may change: look again next time
            return AdapterParse.NoMessages;
        }

        if (path.Kind == MatrixRequestKind.State && path.EventType is not ("m.room.name" or "m.room.topic" or "m.room.member"))
        {
            return AdapterParse.NoMessages;
        }

        if (path.Kind == MatrixRequestKind.Send && path.EventType is not ("m.room.message" or "m.room.encrypted" or "m.sticker"))
        {
            return AdapterParse.NoMessages;
        }

        var sender = await _directory.WhoAmIAsync(token, cancellationToken);
        if (sender is null)
        {
            return AdapterParse.NoMessages; // unknown or revoked token: the homeserver answers M_UNKNOWN_TOKEN
        }

        if (_policy.IsUserBanned(sender) && path.Kind is not (MatrixRequestKind.ReportEvent or MatrixRequestKind.ReportRoom or MatrixRequestKind.ReportUser))
        {
            return Refuse("You are banned by this server's policy list.");
        }

        if (path.Kind == MatrixRequestKind.Send && path.EventType == "m.room.encrypted")
        {
            var isPublic = _publicRooms is not null && _publicRooms.IsMatch(path.RoomId!);
            _opaque.Count(ProtocolName, "encrypted", isPublic ? "public" : "private");
            return isPublic && _options.RejectEncryptedInPublicRooms
                ? Refuse("Encrypted messages are not allowed in this public room.")
                : AdapterParse.NoMessages;
        }

        var extracted = Extract(path, body.Span);
        if (extracted.Failure is { } failure)
        {
            return failure;
        }

        if (path.Kind is MatrixRequestKind.ReportEvent or MatrixRequestKind.ReportRoom or MatrixRequestKind.ReportUser)
        {
            var facts = path.RoomId is null ? default : await _directory.RoomFactsAsync(token, sender, path.RoomId, cancellationToken);
            return new AdapterParse
            {
                Messages = Array.Empty<ChatMessage>(),
                UserReport = new UserReport(ProtocolName, sender, path.UserId, path.RoomId, facts.IsDirect, extracted.Reason, facts.OtherMembers),
            };
        }

        var fields = extracted.Fields;
        if (fields.Count == 0)
        {
            return AdapterParse.NoMessages;
        }

        var roomFacts = path.RoomId is null ? default : await _directory.RoomFactsAsync(token, sender, path.RoomId, cancellationToken);
        var message = new ChatMessage
        {
            Protocol = ProtocolName,
            Sender = sender,
            Room = path.RoomId,
            IsDirect = roomFacts.IsDirect,
            Recipients = roomFacts.OtherMembers,
            SenderIsModerator = roomFacts.SenderIsModerator,
            Fields = fields,
        };
        return new AdapterParse { Messages = new[] { message }, State = new ParseState(path, extracted.Found, extracted.Slots, extracted.Htmls) };
    }

    /// <summary>The synchronous part: scan the body once and pull out the text fields this kind of request carries.</summary>
    private Extraction Extract(MatrixPath path, ReadOnlySpan<byte> json)
    {
        var found = new JsonValueLocation?[PointerTexts.Length];
        var error = _scanner.Scan(json, found, out var detail);
        var result = new Extraction(found);
        if (error != JsonScanError.None)
        {
            var text = detail is null ? "The request body is not valid JSON." : $"The request body is not valid JSON ({detail}).";
            var errcode = error == JsonScanError.NotAnObject ? "M_BAD_JSON" : "M_NOT_JSON";
            var node = new JsonObject { ["errcode"] = errcode, ["error"] = text };
            result.Failure = AdapterParse.Failed(error == JsonScanError.InvalidUtf8 ? "invalid_utf8" : "invalid_json", text,
                Encoding.UTF8.GetBytes(node.ToJsonString()));
            return result;
        }

        result.Reason = String(json, found[SlotReason]);
        switch (path.Kind)
        {
            case MatrixRequestKind.Send:
                result.Add(FieldKind.Body, SlotBody, String(json, found[SlotBody]));
                result.AddHtml(String(json, found[SlotFormat]), SlotFormatted, String(json, found[SlotFormatted]));
                result.Add(FieldKind.Body, SlotNewBody, String(json, found[SlotNewBody]));
                result.AddHtml(String(json, found[SlotNewFormat]), SlotNewFormatted, String(json, found[SlotNewFormatted]));
                break;
            case MatrixRequestKind.State when path.EventType == "m.room.name":
                result.Add(FieldKind.Title, SlotName, String(json, found[SlotName]));
                break;
            case MatrixRequestKind.State when path.EventType == "m.room.topic":
                result.Add(FieldKind.Body, SlotTopic, String(json, found[SlotTopic]));
                break;
            case MatrixRequestKind.State:
            case MatrixRequestKind.ProfileDisplayName:
                result.Add(FieldKind.DisplayName, SlotDisplayName, String(json, found[SlotDisplayName]));
                break;
        }

        return result;
    }

    public AdapterOutcome Apply(HttpContext context, AdapterParse parsed, ReadOnlySpan<Verdict> verdicts, ReadOnlyMemory<byte> body)
    {
        if (parsed.State is Refusal refusal)
        {
            return Forbidden(refusal.Message);
        }

        if (verdicts.Length == 0 || parsed.State is not ParseState state)
        {
            return AdapterOutcome.ForwardUnchanged;
        }

        var verdict = verdicts[0];
        switch (verdict.Action)
        {
            case VerdictAction.Reject:
                return Forbidden(verdict.Notice ?? DefaultRejectMessage);
            case VerdictAction.Drop:
                // A well-formed success: the sender's client shows the message as sent; nobody else ever sees it.
                return AdapterOutcome.Respond(200, state.Path.Kind == MatrixRequestKind.ProfileDisplayName
                    ? "{}"u8.ToArray()
                    : Encoding.UTF8.GetBytes($"{{\"event_id\":\"{FakeEventId()}\"}}"));
            case VerdictAction.Censor:
                return AdapterOutcome.Rewritten(Rewrite(state, verdict, body.Span));
            default:
                return AdapterOutcome.ForwardUnchanged;
        }
    }

    private static byte[] Rewrite(ParseState state, Verdict verdict, ReadOnlySpan<byte> json)
    {
        var replacements = new List<(JsonValueLocation, string)>();
        for (var fi = 0; fi < state.Slots.Count; fi++)
        {
            var ranges = new List<(int Start, int End)>();
            foreach (var m in verdict.Matches)
            {
                if (m.FieldIndex == fi && !m.DryRun && m.Action == FilterAction.Censor)
                {
                    ranges.Add((m.Start, m.End));
                }
            }

            if (ranges.Count == 0 || state.Found[state.Slots[fi]] is not { } loc)
            {
                continue;
            }

            var html = state.Htmls[fi];
            var replacement = html is not null
                ? html.Censor(ranges)
                : verdict.Rewritten![fi].Text;
            replacements.Add((loc, replacement));
        }

        return JsonRewriter.Replace(json, replacements.ToArray());
    }

    private static string? String(ReadOnlySpan<byte> json, JsonValueLocation? loc) =>
        loc is { TokenType: JsonTokenType.String } l ? JsonValues.ReadString(json, l) : null;

    /// <summary>The access token: `Authorization: Bearer` or the legacy `?access_token=` some clients still send.</summary>
    public static string? AccessToken(HttpRequest request)
    {
        var auth = request.Headers.Authorization;
        if (auth.Count > 0 && auth[0] is { } a && a.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return a[7..].Trim();
        }

        var q = request.Query["access_token"];
        return q.Count > 0 && !string.IsNullOrEmpty(q[0]) ? q[0] : null;
    }

    public static AdapterOutcome Forbidden(string message)
    {
        var node = new JsonObject { ["errcode"] = "M_FORBIDDEN", ["error"] = message };
        return AdapterOutcome.Respond(403, Encoding.UTF8.GetBytes(node.ToJsonString()));
    }

    private static AdapterParse Refuse(string message) =>
        new() { Messages = Array.Empty<ChatMessage>(), State = new Refusal(message) };

    private static string FakeEventId()
    {
        Span<byte> bytes = stackalloc byte[18];
        RandomNumberGenerator.Fill(bytes);
        return "$" + Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_');
    }

    private sealed record Refusal(string Message);

    /// <summary>Fields found in one request body, with the pointer slot each came from (for rewriting).</summary>
    private sealed class Extraction(JsonValueLocation?[] found)
    {
        public JsonValueLocation?[] Found { get; } = found;

        public AdapterParse? Failure { get; set; }

        public string? Reason { get; set; }

        public List<MessageField> Fields { get; } = new(4);

        public List<int> Slots { get; } = new(4);

        public List<MatrixHtml?> Htmls { get; } = new(4);

        public void Add(FieldKind kind, int slot, string? text, MatrixHtml? html = null)
        {
            if (!string.IsNullOrEmpty(text))
            {
                Fields.Add(new MessageField(kind, text));
                Slots.Add(slot);
                Htmls.Add(html);
            }
        }

        /// <summary>formatted_body counts as body for filters; matching runs on its visible text.</summary>
        public void AddHtml(string? format, int slot, string? html)
        {
            if (format == "org.matrix.custom.html" && !string.IsNullOrEmpty(html))
            {
                var parsed = MatrixHtml.Parse(html);
                Add(FieldKind.Body, slot, parsed.Text, parsed);
            }
        }
    }

    private sealed record ParseState(MatrixPath Path, JsonValueLocation?[] Found, List<int> Slots, List<MatrixHtml?> Htmls);
}
