using System.Text;
using Gateway.Configuration;
using Gateway.Policy.Acl;
using Gateway.Policy.Model;
using Gateway.Policy.Net;
using Gateway.Policy.Protections;
using Gateway.Policy.Rules;
using Gateway.Policy.Text;
using Gateway.Protocols.BareRtc;
using Gateway.Protocols.Json;
using Gateway.Protocols.Lemmy;
using Gateway.Protocols.Matrix;
using Gateway.Protocols.Sogs;
using Gateway.Protocols.Sogs.Onion;
using Gateway.Transports.WebSocket;

namespace Gateway.Fuzz;

/// <summary>
/// One entry per parser that takes bytes from the network or from an operator's files. Each target runs the parser
/// the way the gateway does (parse, evaluate, rewrite) and lets only unexpected exceptions escape: those are the
/// crashes. Expected failures are values, as everywhere in the gateway.
/// </summary>
internal static class Targets
{
    // Built on first use, inside the fuzzing loop: instrumented code that runs before SharpFuzz has mapped AFL's
    // coverage memory (a static initialiser, say) dies with an access violation.
    private static PolicySnapshot? s_policy;
    private static JsonAdapter? s_json;
    private static MatrixCodec? s_matrix;
    private static LemmyCodec? s_lemmy;
    private static LemmyInbox? s_inbox;

    // Terms that the seeds contain, so the rewrite paths run, not only the parsers.
    private static PolicySnapshot Policy => s_policy ??= PolicyCompiler.Compile(
    [
        new FilterDefinition { Name = "censor", Action = FilterAction.Censor, Keywords = ["spam", "*bad*", "bad word"], Fields = FieldSet.All },
        new FilterDefinition { Name = "regex", Action = FilterAction.Censor, Regexes = [@"fr[e3]+ m[o0]ney"], Fields = FieldSet.All },
    ]);

    private static JsonAdapter Json => s_json ??= new(new JsonAdapterOptions
    {
        Body = Pointer("/text"),
        Title = Pointer("/Text"),
        DisplayName = Pointer("/user/name"),
        Sender = Pointer("/sender"),
        Room = Pointer("/room"),
    });

    private static MatrixCodec Matrix => s_matrix ??= new(64);

    private static LemmyCodec Lemmy => s_lemmy ??= new(64);

    private static LemmyInbox Inbox => s_inbox ??= new("lemmy.example", 64);

    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>
    {
        ["json"] = JsonBody,
        ["matrix-html"] = MatrixHtmlCensor,
        ["matrix-content"] = MatrixContent,
        ["config"] = Config,
        ["lists"] = Lists,
        ["normalise"] = NormaliseAndCensor,
        ["websocket"] = WebSocketFrame,
        ["onion"] = Onion,
        ["protobuf"] = Protobuf,
        ["lemmy"] = LemmyBodies,
        ["activitypub"] = ActivityPub,
        ["barertc"] = BareRtc,
        ["acl"] = Acl,
    };

    private static JsonPointer Pointer(string text) =>
        JsonPointer.TryParse(text, out var p, out var error) ? p : throw new InvalidOperationException(error);

    private static string Text(byte[] data) => Encoding.UTF8.GetString(data);

    private static ChatMessage Message(IReadOnlyList<MessageField> fields) =>
        new() { Protocol = "fuzz", Sender = "@fuzz:example.org", Room = "lobby", Fields = fields };

    private static void JsonBody(byte[] data)
    {
        var parsed = Json.Parse(data, _ => null);
        if (parsed.Error is not null || parsed.Messages.Count == 0)
        {
            return;
        }

        var verdict = Policy.Evaluate(parsed.Messages[0]);
        if (verdict.Action == VerdictAction.Censor && verdict.Rewritten is not null)
        {
            var output = JsonAdapter.Rewrite(parsed, verdict, data);
            var again = Json.Parse(output, _ => null);
            Check(again.Error is null, "a rewritten body no longer parses");
            Check(Policy.Evaluate(again.Messages[0]).IsClean, "a rewritten body still matches");
        }
    }

    private static void MatrixHtmlCensor(byte[] data)
    {
        var html = MatrixHtml.Parse(Text(data));
        var verdict = Policy.Evaluate(Message([new MessageField(FieldKind.Body, html.Text)]));
        var ranges = new List<(int Start, int End)>();
        foreach (var m in verdict.Matches)
        {
            ranges.Add((m.Start, m.End));
        }

        var censored = html.Censor(ranges);
        if (ranges.Count > 0)
        {
            var visible = MatrixHtml.Parse(censored).Text;
            Check(Policy.Evaluate(Message([new MessageField(FieldKind.Body, visible)])).IsClean, "censored HTML still shows a term");
        }
    }

    private static void MatrixContent(byte[] data)
    {
        foreach (var kind in new[] { MatrixContentKind.Message, MatrixContentKind.RoomName, MatrixContentKind.DisplayName })
        {
            var content = Matrix.Read(kind, data);
            if (content.Error != JsonScanError.None)
            {
                _ = MatrixCodec.ErrorBody(content);
                continue;
            }

            if (content.Fields.Count == 0)
            {
                continue;
            }

            var verdict = Policy.Evaluate(Message(content.Fields));
            if (verdict.Action == VerdictAction.Censor)
            {
                var output = MatrixCodec.Rewrite(content, verdict, data);
                Check(Matrix.Read(kind, output).Error == JsonScanError.None, "a rewritten Matrix event no longer parses");
            }
        }
    }

    private static void Config(byte[] data)
    {
        // A path in a directory that does not exist: list files the config names resolve to nothing.
        _ = ConfigLoader.Load(Text(data), "/nonexistent/gateway-fuzz/gateway.toml");
    }

    private static void Lists(byte[] data)
    {
        var text = Text(data);
        var terms = WordListFile.Parse(text);
        _ = IpListFile.Parse(text, "fuzz.txt", new List<string>());
        _ = SogsIni.Parse(text);
        _ = SogsIni.Words(text);
        _ = DomainList.Create(text.Split('\n'), out _);
        if (terms.Count is > 0 and < 200)
        {
            // What the config loader does with a list's terms: validate, then compile.
            var valid = terms.Where(t => KeywordTerm.TryParse(t, out _, out _)).ToArray();
            _ = PolicyCompiler.Compile([new FilterDefinition { Name = "list", Keywords = valid }]);
        }
    }

    private static void NormaliseAndCensor(byte[] data)
    {
        var text = Text(data);
        var once = TextNormalizer.NormalizeToString(text);
        Check(once == TextNormalizer.NormalizeToString(once), "normalisation is not idempotent");
        var verdict = Policy.Evaluate(Message([new MessageField(FieldKind.Body, text)]));
        if (verdict.Action == VerdictAction.Censor)
        {
            var delivered = verdict.DeliveredText(Message([new MessageField(FieldKind.Body, text)]), FieldKind.Body)!;
            Check(Policy.Evaluate(Message([new MessageField(FieldKind.Body, delivered)])).IsClean, "censored text still matches");
        }
    }

    private static void WebSocketFrame(byte[] data)
    {
        var offset = 0;
        while (offset < data.Length)
        {
            var status = WebSocketFrameCodec.TryReadHeader(data.AsSpan(offset), out var header, out _);
            if (status != WsHeaderStatus.Ok)
            {
                return;
            }

            var start = offset + header.HeaderLength;
            var available = Math.Min(header.PayloadLength, data.Length - start);
            var payload = data.AsSpan(start, (int)available).ToArray();
            if (header.Masked)
            {
                WebSocketFrameCodec.Mask(payload, header.MaskKey, 0);
            }

            if (header.Opcode == WsOpcode.Close)
            {
                _ = WebSocketFrameCodec.ReadClose(payload);
            }

            offset = start + (int)available;
        }
    }

    private static void Onion(byte[] data)
    {
        var envelope = OnionEnvelope.TryParse(data, out _);
        _ = envelope;
        var v4 = OnionPayload.TryParseV4(data, out _);
        var v3 = OnionPayload.TryParseV3(data, out _);
        foreach (var request in new[] { v4, v3 })
        {
            if (request is not null)
            {
                _ = request.Header("X-SOGS-Pubkey");
                _ = SessionContent.Read(request.Body.Span);
            }
        }
    }

    private static void Protobuf(byte[] data)
    {
        if (SessionContent.Read(data) is { } content)
        {
            _ = Policy.Evaluate(Message([new MessageField(FieldKind.Body, content.Body)]));
        }
    }

    private static void LemmyBodies(byte[] data)
    {
        foreach (var kind in new[] { LemmyRequestKind.Post, LemmyRequestKind.Comment, LemmyRequestKind.PrivateMessage, LemmyRequestKind.Community })
        {
            var content = Lemmy.Read(kind, data);
            if (content.Error != JsonScanError.None)
            {
                _ = LemmyCodec.ErrorBody(content);
                continue;
            }

            if (content.Fields.Count == 0)
            {
                continue;
            }

            var verdict = Policy.Evaluate(Message(content.Fields));
            if (verdict.Action == VerdictAction.Censor)
            {
                var output = LemmyCodec.Rewrite(content, verdict, data);
                Check(Lemmy.Read(kind, output).Error == JsonScanError.None, "a rewritten Lemmy body no longer parses");
            }
        }
    }

    private static void ActivityPub(byte[] data)
    {
        var parsed = Inbox.Parse("/inbox", "lemmy.example", data);
        foreach (var m in parsed.Messages)
        {
            _ = Policy.Evaluate(m);
        }

        _ = LemmyInboxGate.Peek(data);
        var text = Text(data);
        _ = LemmyInboxGate.KeyIdHost(text);
        _ = LemmyInbox.HtmlText(text);
        _ = XMatrix.Origins(text);
    }

    private static void BareRtc(byte[] data)
    {
        if (!BareRtcCodec.TryRead(data, out var frame, out _) || frame.Message is null)
        {
            return;
        }

        var message = BareRtcCodec.ToChatMessage(frame.Username, false, frame.Channel, frame.Message);
        var verdict = Policy.Evaluate(message);
        var delivered = verdict.DeliveredText(message, FieldKind.Body) ?? frame.Message;
        _ = BareRtcCodec.EscapeCensorStars(frame.Message, delivered, verdict.Matches);
        _ = BareRtcCodec.RenderPlain(delivered);
        _ = BareRtcCodec.SenderReplies(verdict, frame.Channel, frame.Username, frame.Message, 1);
    }

    private static void Acl(byte[] data)
    {
        // Lines: allow globs until a blank line, deny globs until the next, then server names.
        var parts = Text(data).Split("\n\n");
        var allow = parts[0].Split('\n');
        var deny = parts.Length > 1 ? parts[1].Split('\n') : [];
        var names = parts.Length > 2 ? parts[2].Split('\n') : ["example.org"];
        var acl = ServerAcl.Create(allow, deny, allowIpLiterals: names.Length % 2 == 0);
        foreach (var name in names)
        {
            _ = acl.IsAllowed(name);
        }
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new FuzzFinding(what);
        }
    }
}

/// <summary>A property broken on fuzzed input: reported as a crash like any unexpected exception.</summary>
internal sealed class FuzzFinding(string message) : Exception(message);
