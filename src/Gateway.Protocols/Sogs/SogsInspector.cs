// Over 400 lines because one request shape (a post, an edit, a batch of them, an inbox blob, an upload) is read,
// authenticated, turned into messages and answered in one place, so direct and onion requests cannot drift apart.
using System.Text;
using System.Text.Json;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;

namespace Gateway.Protocols.Sogs;

/// <summary>
/// Inspects one SOGS request — direct, or the inner request of an onion request — exactly the same way: checks the
/// X-SOGS-* signature as SOGS would, reads posts, edits and batch sub-requests into messages (sender = the verified
/// key), applies the handbook's upload and message-request rules, and answers refused requests in SOGS's shapes.
/// The HTTP adapter runs <see cref="Prepare"/> and <see cref="Decide"/> around the host's evaluation;
/// <see cref="InspectAsync"/> does the whole thing for the onion layer, evaluating through the module host.
/// </summary>
public sealed class SogsInspector
{
    public const string ProtocolName = "sogs";
    private const int MaxBatchDepth = 4;

    private readonly SogsBackendSettings _settings;
    private readonly SogsAuth _auth;
    private readonly SogsDirectory _directory;
    private readonly SogsDrops _drops;
    private readonly OpaqueTraffic? _opaque;
    private readonly IModuleHost? _host;
    private readonly string _backend;
    private readonly SogsCensorFallback _censorFallback;
    private readonly int _maxJsonDepth;

    internal SogsInspector(SogsBackendSettings settings, SogsAuth auth, SogsDirectory directory, SogsDrops drops, OpaqueTraffic? opaque,
        IModuleHost? host, string backend, SogsCensorFallback censorFallback, int maxJsonDepth)
    {
        _settings = settings;
        _auth = auth;
        _directory = directory;
        _drops = drops;
        _opaque = opaque;
        _host = host;
        _backend = backend;
        _censorFallback = censorFallback;
        _maxJsonDepth = maxJsonDepth;
    }

    /// <summary>Cheap: does this request line carry something the gateway inspects?</summary>
    public static bool Inspects(string method, string pathAndQuery) => SogsPath.Parse(method, pathAndQuery).Kind != SogsRequestKind.Other;

    /// <summary>
    /// The onion layer's entry point: the decrypted inner request, inspected as a direct one, evaluated with the host's
    /// side effects. A censor verdict is applied as this route's <c>censor_fallback</c> (SOGS posts are signed).
    /// </summary>
    public ValueTask<SogsDecision> InspectAsync(SogsRequest request, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var prepared = Prepare(request);
        if (prepared.Immediate is { } immediate)
        {
            return ValueTask.FromResult(immediate);
        }

        if (prepared.ErrorCode is not null)
        {
            // No route on_error reaches inside an onion request: fail closed with SOGS's own answer to bad data.
            return ValueTask.FromResult(SogsDecision.Respond(400, SogsAnswers.Html, Encoding.UTF8.GetBytes(prepared.ErrorDetail ?? "")));
        }

        var verdicts = new Verdict[prepared.Messages.Count];
        for (var i = 0; i < verdicts.Length; i++)
        {
            var v = _host?.Evaluate(prepared.Messages[i], _backend) ?? Verdict.Clean;
            verdicts[i] = v.Action == VerdictAction.Censor ? v with { Action = _censorFallback.Apply(), Rewritten = null } : v;
        }

        return ValueTask.FromResult(Decide(prepared, verdicts));
    }

    /// <summary>Reads and authenticates the request: its messages, or an answer given before any evaluation.</summary>
    internal SogsPrepared Prepare(SogsRequest request)
    {
        var path = SogsPath.Parse(request.Method, request.PathAndQuery);
        if (path.Kind == SogsRequestKind.Other)
        {
            return SogsPrepared.Pass;
        }

        if (path.Kind == SogsRequestKind.LegacyWrite)
        {
            // Legacy tokens carry no per-request signature the gateway can check and no Session text it could be sure
            // of the sender of: refused unless the operator lets them through untouched.
            return _settings.LegacyWrites == SogsAllowance.Everyone ? SogsPrepared.Pass : SogsPrepared.Answer(SogsAnswers.Forbidden());
        }

        var auth = _auth.Verify(request);
        if (auth.Failed)
        {
            return SogsPrepared.Answer(SogsAnswers.Auth(auth.Status, auth.Error!));
        }

        if (auth.User is not { } user)
        {
            return SogsPrepared.Answer(SogsAnswers.AuthRequired());
        }

        var prepared = new SogsPrepared { Batch = path.Kind is SogsRequestKind.Batch or SogsRequestKind.Sequence, Sequence = path.Kind == SogsRequestKind.Sequence };
        if (prepared.Batch)
        {
            if (!ReadBatch(request.Body.Span, user, prepared, 0))
            {
                return SogsPrepared.Answer(SogsAnswers.BadRequest());
            }
        }
        else
        {
            ReadOne(path, request.Body.Span, default, user, prepared);
        }

        return prepared;
    }

    /// <summary>What happens to the request, given one verdict per message of <paramref name="prepared"/>.</summary>
    internal SogsDecision Decide(SogsPrepared prepared, ReadOnlySpan<Verdict> verdicts)
    {
        if (prepared.Immediate is { } immediate)
        {
            return immediate;
        }

        var answers = new SogsDecision?[prepared.Items.Count];
        var anyRefused = false;
        for (var i = 0; i < prepared.Items.Count; i++)
        {
            var item = prepared.Items[i];
            if (item.Refusal is not null)
            {
                answers[i] = item.Refusal;
            }
            else if (item.Message >= 0 && item.Message < verdicts.Length)
            {
                answers[i] = Answer(item, verdicts[item.Message]);
            }
            else if (item.NestedMessages is { } nested)
            {
                foreach (var n in nested)
                {
                    if (n < verdicts.Length && Refuses(verdicts[n]))
                    {
                        answers[i] = SogsAnswers.NotRun;
                    }
                }
            }

            anyRefused |= answers[i] is not null;
        }

        if (!anyRefused)
        {
            return SogsDecision.Forward;
        }

        if (!prepared.Batch)
        {
            return answers[0]!;
        }

        // The batch is signed whole, so it is answered whole: sub-requests that would have gone on were not run.
        var list = new List<SogsDecision>(answers.Length);
        foreach (var a in answers)
        {
            list.Add(a ?? SogsAnswers.NotRun);
            // /sequence stops at the first answer that is not 2xx (general.py batch(_sequential=True)).
            if (prepared.Sequence && list[^1].Status is < 200 or >= 300)
            {
                break;
            }
        }

        return SogsAnswers.Batch(list);
    }

    private bool Refuses(Verdict v) => v.Action switch
    {
        VerdictAction.Drop or VerdictAction.Reject => true,
        VerdictAction.Censor => _censorFallback.Apply() != VerdictAction.Forward,
        _ => false,
    };

    private SogsDecision? Answer(SogsItem item, Verdict verdict) => verdict.Action switch
    {
        VerdictAction.Drop when item.Kind == SogsRequestKind.Edit => SogsAnswers.EmptyObject(),
        VerdictAction.Drop => Filtered(item),
        VerdictAction.Reject => SogsAnswers.PostRejected(verdict.Notice ?? SogsFilters.RejectedText),
        VerdictAction.Censor => _censorFallback.Apply() switch
        {
            VerdictAction.Drop => item.Kind == SogsRequestKind.Edit ? SogsAnswers.EmptyObject() : Filtered(item),
            VerdictAction.Forward => null,
            _ => SogsAnswers.PostRejected(verdict.Notice ?? SogsFilters.RejectedText),
        },
        _ => null,
    };

    private SogsDecision Filtered(SogsItem item)
    {
        var (id, seqno, posted) = _drops.Next(item.Room ?? string.Empty);
        return SogsAnswers.Filtered201(id, item.SessionId, posted, seqno, item.Data ?? string.Empty, item.Signature ?? string.Empty,
            item.WhisperTo, item.WhisperMods);
    }

    /// <summary>Reads a post, edit, inbox or upload (direct or a batch sub-request) into <paramref name="prepared"/>.</summary>
    private void ReadOne(SogsPath path, ReadOnlySpan<byte> body, JsonElement json, SogsUser user, SogsPrepared prepared)
    {
        var item = new SogsItem { Kind = path.Kind, Room = path.Room, SessionId = user.SessionId };
        prepared.Items.Add(item);
        switch (path.Kind)
        {
            case SogsRequestKind.Upload:
                if (UploadsFor(path.Room!) == SogsAllowance.Trusted && !_directory.IsTrusted(user.SessionId, path.Room))
                {
                    item.Refusal = SogsAnswers.Forbidden();
                }

                return;
            case SogsRequestKind.Inbox:
                _opaque?.Count(ProtocolName, OpaqueKind.Encrypted, "direct");
                if (_settings.MessageRequests == SogsAllowance.Trusted && !_directory.IsTrusted(user.SessionId, null)
                    && !_directory.IsTrusted(path.Target!, null))
                {
                    item.Refusal = SogsAnswers.Forbidden();
                }

                return;
            case SogsRequestKind.Post:
            case SogsRequestKind.Edit:
                ReadPost(path, body, json, user, item, prepared);
                return;
            default:
                return;
        }
    }

    private void ReadPost(SogsPath path, ReadOnlySpan<byte> body, JsonElement json, SogsUser user, SogsItem item, SogsPrepared prepared)
    {
        JsonDocument? doc = null;
        try
        {
            if (json.ValueKind == JsonValueKind.Undefined)
            {
                try
                {
                    doc = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = _maxJsonDepth });
                }
                catch (JsonException)
                {
                    prepared.Fail("sogs_bad_json", "The request body is not JSON.");
                    return;
                }

                json = doc.RootElement;
            }

            if (json.ValueKind != JsonValueKind.Object)
            {
                prepared.Fail("sogs_bad_json", "The request body is not a JSON object.");
                return;
            }

            var dataText = json.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            var data = dataText is null ? null : SogsAuth.DecodeBase64(dataText);
            if (data is null)
            {
                prepared.Fail("sogs_bad_data", "Invalid data: 'data' must be the base64 of a Session message.");
                return;
            }

            if (SessionContent.Read(data) is not { } content)
            {
                prepared.Fail("sogs_bad_protobuf", "Invalid data: 'data' is not a Session protobuf message.");
                return;
            }

            item.Data = dataText;
            item.Signature = json.TryGetProperty("signature", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            if (path.Kind == SogsRequestKind.Post)
            {
                item.WhisperTo = json.TryGetProperty("whisper_to", out var w) && w.ValueKind == JsonValueKind.String && w.GetString()!.Length > 0
                    ? w.GetString()
                    : null;
                item.WhisperMods = json.TryGetProperty("whisper_mods", out var wm) && Truthy(wm);
            }

            var fields = new List<MessageField>(2) { new(FieldKind.Body, content.Body) };
            if (!string.IsNullOrEmpty(content.DisplayName))
            {
                fields.Add(new MessageField(FieldKind.DisplayName, content.DisplayName));
            }

            item.Message = prepared.Messages.Count;
            prepared.Messages.Add(new ChatMessage
            {
                Protocol = ProtocolName,
                Sender = user.SessionId,
                Room = path.Room,
                IsDirect = item.WhisperTo is not null,
                Recipient = item.WhisperTo,
                SenderIsModerator = _directory.IsModerator(user.SessionId, path.Room),
                Fields = fields,
            });
        }
        finally
        {
            doc?.Dispose();
        }
    }

    /// <summary>
    /// general.py <c>parse_batch_request</c>: a JSON list of {method, path, headers?, json|b64|bytes}; SOGS refuses the
    /// whole batch with 400 when any entry is malformed, and so does the gateway. Sub-requests run as the outer user.
    /// </summary>
    private bool ReadBatch(ReadOnlySpan<byte> body, SogsUser user, SogsPrepared prepared, int depth)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = _maxJsonDepth });
        }
        catch (JsonException)
        {
            return false;
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            foreach (var sub in doc.RootElement.EnumerateArray())
            {
                if (!ReadSubRequest(sub, user, prepared, depth))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private bool ReadSubRequest(JsonElement sub, SogsUser user, SogsPrepared prepared, int depth)
    {
        if (sub.ValueKind != JsonValueKind.Object || !sub.TryGetProperty("method", out var m) || m.ValueKind != JsonValueKind.String
            || !sub.TryGetProperty("path", out var p) || p.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        if (sub.TryGetProperty("headers", out var h) && (h.ValueKind != JsonValueKind.Object || h.EnumerateObject().Any(x => x.Value.ValueKind != JsonValueKind.String)))
        {
            return false;
        }

        var method = m.GetString()!;
        var target = p.GetString()!;
        var hasBody = method is "POST" or "PUT";
        if ((!hasBody && method is not ("GET" or "DELETE")) || !target.StartsWith('/'))
        {
            return false;
        }

        var bodies = (sub.TryGetProperty("json", out var json) ? 1 : 0) + (sub.TryGetProperty("b64", out var b64) ? 1 : 0)
            + (sub.TryGetProperty("bytes", out var raw) ? 1 : 0);
        if (hasBody ? bodies != 1 : bodies != 0)
        {
            return false;
        }

        byte[] bytes = Array.Empty<byte>();
        if (b64.ValueKind != JsonValueKind.Undefined)
        {
            if (b64.ValueKind != JsonValueKind.String || SogsAuth.DecodeBase64(b64.GetString()!) is not { } decoded)
            {
                return false;
            }

            bytes = decoded;
        }
        else if (raw.ValueKind == JsonValueKind.String)
        {
            bytes = Encoding.UTF8.GetBytes(raw.GetString()!);
        }

        if (target.StartsWith("/oxen/", StringComparison.Ordinal) || target.StartsWith("/loki/", StringComparison.Ordinal))
        {
            return false; // an onion request inside a batch would hide its inner request from inspection
        }

        var path = SogsPath.Parse(method, target);
        if (path.Kind is SogsRequestKind.Batch or SogsRequestKind.Sequence)
        {
            // A batch inside a batch runs in SOGS too: read it, bounded, as the same user.
            if (depth >= MaxBatchDepth)
            {
                return false;
            }

            var inner = new SogsPrepared();
            var innerBody = json.ValueKind != JsonValueKind.Undefined ? Encoding.UTF8.GetBytes(json.GetRawText()) : bytes;
            if (!ReadBatch(innerBody, user, inner, depth + 1))
            {
                return false;
            }

            MergeNested(inner, prepared);
            return true;
        }

        if (path.Kind == SogsRequestKind.Other)
        {
            prepared.Items.Add(new SogsItem { Kind = SogsRequestKind.Other, SessionId = user.SessionId });
            return true;
        }

        ReadOne(path, bytes, json.ValueKind == JsonValueKind.Undefined ? default : json.Clone(), user, prepared);
        return true;
    }

    /// <summary>
    /// A nested batch's messages are evaluated with the rest; if any is refused, the outer batch is answered by the
    /// gateway and the nested one shows as a sub-request that was not run.
    /// </summary>
    private static void MergeNested(SogsPrepared inner, SogsPrepared outer)
    {
        if (inner.ErrorCode is not null)
        {
            outer.Fail(inner.ErrorCode, inner.ErrorDetail ?? string.Empty);
        }

        var offset = outer.Messages.Count;
        outer.Messages.AddRange(inner.Messages);
        outer.Items.Add(new SogsItem
        {
            Kind = SogsRequestKind.Batch,
            SessionId = string.Empty,
            Refusal = inner.Items.Any(i => i.Refusal is not null) ? SogsAnswers.NotRun : null,
            NestedMessages = inner.Messages.Count == 0 ? null : Enumerable.Range(offset, inner.Messages.Count).ToArray(),
        });
    }

    private SogsAllowance UploadsFor(string room) =>
        _settings.Rooms.TryGetValue(room, out var r) && r.Uploads is { } own ? own : _settings.Uploads;

    /// <summary>Python's <c>bool()</c> of a JSON value.</summary>
    private static bool Truthy(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.Number => e.GetDouble() != 0,
        JsonValueKind.String => e.GetString()!.Length > 0,
        JsonValueKind.Array => e.GetArrayLength() > 0,
        JsonValueKind.Object => e.EnumerateObject().Any(),
        _ => false,
    };
}

/// <summary>A route's <c>censor_fallback</c>, as the module read it (the host applies it on direct requests).</summary>
internal enum SogsCensorFallback
{
    Reject = 0,
    Drop = 1,
    Forward = 2,
}

internal static class SogsCensorFallbackExtensions
{
    public static VerdictAction Apply(this SogsCensorFallback f) => f switch
    {
        SogsCensorFallback.Drop => VerdictAction.Drop,
        SogsCensorFallback.Forward => VerdictAction.Forward,
        _ => VerdictAction.Reject,
    };
}

/// <summary>One inspected request or batch sub-request.</summary>
internal sealed class SogsItem
{
    public SogsRequestKind Kind { get; init; }

    public string? Room { get; init; }

    public required string SessionId { get; init; }

    /// <summary>Index of its message in <see cref="SogsPrepared.Messages"/>, −1 when it carries none.</summary>
    public int Message { get; set; } = -1;

    /// <summary>For a nested batch: the indexes of its messages.</summary>
    public int[]? NestedMessages { get; init; }

    /// <summary>Set when a gateway rule refuses it whatever the filters say (uploads, message requests).</summary>
    public SogsDecision? Refusal { get; set; }

    public string? Data { get; set; }

    public string? Signature { get; set; }

    public string? WhisperTo { get; set; }

    public bool WhisperMods { get; set; }
}

/// <summary>What <see cref="SogsInspector.Prepare"/> read: messages to evaluate, or an answer already decided.</summary>
internal sealed class SogsPrepared
{
    public static SogsPrepared Pass => new();

    public SogsDecision? Immediate { get; init; }

    public bool Batch { get; init; }

    public bool Sequence { get; init; }

    public List<SogsItem> Items { get; } = new();

    public List<ChatMessage> Messages { get; } = new();

    public string? ErrorCode { get; private set; }

    public string? ErrorDetail { get; private set; }

    public static SogsPrepared Answer(SogsDecision decision) => new() { Immediate = decision };

    public void Fail(string code, string detail)
    {
        ErrorCode ??= code;
        ErrorDetail ??= detail;
    }
}
