using System.Security.Cryptography;
using System.Text;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Gateway.Protocols.Sogs;
using Gateway.Protocols.Sogs.Onion;

namespace Gateway.Tests.Sogs;

/// <summary>The handler with a recording inner inspector: what reaches the inspector and what the client gets back.</summary>
public sealed class OnionHandlerTests
{
    private sealed class RecordingInner(Func<SogsRequest, SogsDecision> decide) : IOnionInnerHandler
    {
        public List<SogsRequest> Seen { get; } = new();

        public ValueTask<SogsDecision> InspectAsync(SogsRequest request, CancellationToken cancellationToken)
        {
            Seen.Add(request);
            return ValueTask.FromResult(decide(request));
        }
    }

    private static readonly byte[] Dropped = "{\"id\": 7, \"seqno\": 9, \"filtered\": true}"u8.ToArray();

    private static (OnionRequestHandler Handler, RecordingInner Inner, OnionServerKey Key, OpaqueTraffic Opaque) Make(bool withKey = true)
    {
        var key = OnionServerKey.FromPrivate(RandomNumberGenerator.GetBytes(32))!;
        var inner = new RecordingInner(r => Encoding.UTF8.GetString(r.Body.Span).Contains("badword", StringComparison.Ordinal)
            ? SogsDecision.Respond(201, "application/json", Dropped)
            : SogsDecision.Forward);
        var opaque = new OpaqueTraffic();
        return (new OnionRequestHandler(withKey ? key : null, inner, opaque), inner, key, opaque);
    }

    private static readonly Dictionary<string, string> Auth = new() { ["X-SOGS-Pubkey"] = "00" + new string('a', 64), ["Content-Type"] = "application/json" };

    [Theory]
    [InlineData(null)]
    [InlineData("aes-gcm")]
    [InlineData("xchacha20")]
    public async Task V4_CleanPost_IsForwardedAndTheInspectorSawTheInnerRequest(string? encType)
    {
        var (handler, inner, key, _) = Make();
        var client = new OnionClient(key.PublicKey.ToArray(), encType);

        var result = await handler.HandleAsync(OnionVersion.V4, client.V4("POST", "/room/lobby/message", Auth, "{\"data\":\"hello\"}"u8.ToArray()), default);

        Assert.Equal(SogsDecisionKind.Forward, result.Decision.Kind);
        Assert.Null(result.Failure);
        var seen = Assert.Single(inner.Seen);
        Assert.Equal("POST", seen.Method);
        Assert.Equal("/room/lobby/message", seen.PathAndQuery);
        Assert.Equal(Auth["X-SOGS-Pubkey"], seen.Header("x-sogs-pubkey"));
        Assert.Equal("{\"data\":\"hello\"}", Encoding.UTF8.GetString(seen.Body.Span));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("gcm")]
    [InlineData("xchacha20-poly1305")]
    public async Task V4_DroppedPost_AnswersAnEncrypted201TheClientDecrypts(string? encType)
    {
        var (handler, _, key, _) = Make();
        var client = new OnionClient(key.PublicKey.ToArray(), encType);

        var result = await handler.HandleAsync(OnionVersion.V4, client.V4("POST", "/room/lobby/message", Auth, "{\"data\":\"a badword\"}"u8.ToArray()), default);

        Assert.Equal(SogsDecisionKind.Respond, result.Decision.Kind);
        Assert.Equal(200, result.Decision.Status);
        Assert.Equal("text/html; charset=utf-8", result.Decision.ContentType);
        var (meta, body) = client.OpenV4(result.Decision.Body.ToArray());
        Assert.Equal("{\"code\": 201, \"headers\": {\"content-type\": \"application/json\"}}", meta);
        Assert.Equal(Dropped, body);
    }

    [Fact]
    public async Task V3_DroppedPost_AnswersBase64OfTheEncryptedBody()
    {
        var (handler, inner, key, _) = Make();
        var client = new OnionClient(key.PublicKey.ToArray(), "xchacha20");
        var payload = "{\"method\":\"POST\",\"endpoint\":\"/room/lobby/message\",\"body\":\"{\\\"data\\\":\\\"badword\\\"}\"}"u8.ToArray();

        var result = await handler.HandleAsync(OnionVersion.V3, client.Envelope(payload), default);

        Assert.Equal(200, result.Decision.Status);
        var sealedReply = Convert.FromBase64String(Encoding.ASCII.GetString(result.Decision.Body.Span));
        Assert.Equal(Dropped, client.Open(sealedReply));
        Assert.Equal("application/json", Assert.Single(inner.Seen).Header("Content-Type"));
    }

    [Fact]
    public async Task V3_RejectedPost_AnswersTheStatusCodeOnly()
    {
        var key = OnionServerKey.FromPrivate(RandomNumberGenerator.GetBytes(32))!;
        var handler = new OnionRequestHandler(key, new RecordingInner(_ => SogsDecision.Respond(429, "text/html; charset=utf-8",
            "filtration rejected message (profanity)"u8.ToArray())), new OpaqueTraffic());
        var client = new OnionClient(key.PublicKey.ToArray(), "aes-gcm");

        var result = await handler.HandleAsync(OnionVersion.V3,
            client.Envelope("{\"method\":\"POST\",\"endpoint\":\"/room/r/message\",\"body\":\"x\"}"u8.ToArray()), default);

        Assert.Equal("{\"status_code\": 429}", Encoding.UTF8.GetString(client.Open(Convert.FromBase64String(Encoding.ASCII.GetString(result.Decision.Body.Span)))));
    }

    [Fact]
    public async Task WrongServerKey_Answers400HtmlAndNeverReachesTheInspector()
    {
        var (handler, inner, _, _) = Make();
        var otherServer = OnionServerKey.FromPrivate(RandomNumberGenerator.GetBytes(32))!;
        var client = new OnionClient(otherServer.PublicKey.ToArray(), "xchacha20");

        var result = await handler.HandleAsync(OnionVersion.V4, client.V4("POST", "/room/lobby/message", Auth, "x"u8.ToArray()), default);

        Assert.Equal(400, result.Decision.Status);
        Assert.Equal("undecryptable", result.Failure);
        Assert.Contains("<title>400 Bad Request</title>", Encoding.UTF8.GetString(result.Decision.Body.Span), StringComparison.Ordinal);
        Assert.Empty(inner.Seen);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(20)]
    [InlineData(60)]
    [InlineData(-1)]
    public async Task TruncatedPayload_Answers400AndNeverReachesTheInspector(int keep)
    {
        var (handler, inner, key, _) = Make();
        var full = new OnionClient(key.PublicKey.ToArray(), null).V4("POST", "/room/lobby/message", Auth, "hello"u8.ToArray());

        var body = keep < 0 ? full[..^1] : full[..keep];
        var result = await handler.HandleAsync(OnionVersion.V4, body, default);

        Assert.Equal(SogsDecisionKind.Respond, result.Decision.Kind);
        Assert.Equal(400, result.Decision.Status);
        Assert.NotNull(result.Failure);
        Assert.Empty(inner.Seen);
    }

    [Fact]
    public async Task FlippedCiphertextBit_Answers400()
    {
        var (handler, inner, key, _) = Make();
        var body = new OnionClient(key.PublicKey.ToArray(), "xchacha20").V4("GET", "/room/lobby", Auth);
        body[30] ^= 1;

        var result = await handler.HandleAsync(OnionVersion.V4, body, default);

        Assert.Equal(400, result.Decision.Status);
        Assert.Equal("undecryptable", result.Failure);
        Assert.Empty(inner.Seen);
    }

    [Theory]
    [InlineData("l5:{}e")]
    [InlineData("l2:{}Xe")]
    [InlineData("l02:{}e")]
    [InlineData("not bencode")]
    public async Task V4_BadInnerBencode_AnswersTheEncrypted400SogsGives(string inside)
    {
        var (handler, inner, key, _) = Make();
        var client = new OnionClient(key.PublicKey.ToArray(), "xchacha20");

        var result = await handler.HandleAsync(OnionVersion.V4, client.Envelope(Encoding.UTF8.GetBytes(inside)), default);

        Assert.Equal(200, result.Decision.Status);
        Assert.NotNull(result.Failure);
        var (meta, body) = client.OpenV4(result.Decision.Body.ToArray());
        Assert.Equal("{\"code\": 400, \"headers\": {\"content-type\": \"text/plain; charset=utf-8\"}}", meta);
        Assert.Equal("Invalid v4 onion request", Encoding.UTF8.GetString(body));
        Assert.Empty(inner.Seen);
    }

    [Fact]
    public async Task V4_LowercaseMethod_ReachesTheInspectorAsPost()
    {
        // werkzeug upper-cases REQUEST_METHOD, so SOGS serves an inner "post" as a POST: it must be inspected as one.
        var (handler, inner, key, _) = Make();
        var client = new OnionClient(key.PublicKey.ToArray(), "xchacha20");

        var result = await handler.HandleAsync(OnionVersion.V4, client.V4("post", "/room/lobby/message", Auth, "badword"u8.ToArray()), default);

        Assert.Equal("POST", Assert.Single(inner.Seen).Method);
        Assert.Equal(SogsDecisionKind.Respond, result.Decision.Kind);
    }

    [Theory]
    [InlineData("/oxen/v4/lsrpc")]
    [InlineData("/oxen/v4/%6Csrpc?x=1")]
    public async Task V4_OnionInsideOnion_IsOpenedAndInspected_TheDropReplyWrappedTwice(string innerEndpoint)
    {
        var (handler, inner, key, _) = Make();
        var innermost = new OnionClient(key.PublicKey.ToArray(), "aes-gcm");
        var wrapped = innermost.V4("POST", "/room/lobby/message", Auth, "badword"u8.ToArray());
        var outer = new OnionClient(key.PublicKey.ToArray(), "xchacha20");

        var result = await handler.HandleAsync(OnionVersion.V4, outer.V4("POST", innerEndpoint, null, wrapped), default);

        Assert.Equal("/room/lobby/message", Assert.Single(inner.Seen).PathAndQuery);
        var (meta, body) = outer.OpenV4(result.Decision.Body.ToArray());
        Assert.Equal("{\"code\": 200, \"headers\": {\"content-type\": \"text/html; charset=utf-8\"}}", meta);
        var (innerMeta, innerBody) = innermost.OpenV4(body);
        Assert.Contains("\"code\": 201", innerMeta, StringComparison.Ordinal);
        Assert.Equal(Dropped, innerBody);
    }

    [Fact]
    public async Task V4_OnionInsideOnion_CleanIsForwarded_TooDeepIsRefused()
    {
        var (handler, inner, key, _) = Make();
        var clean = new OnionClient(key.PublicKey.ToArray(), null).V4("POST", "/room/lobby/message", Auth, "hello"u8.ToArray());
        var once = new OnionClient(key.PublicKey.ToArray(), null).V4("POST", "/oxen/v4/lsrpc", null, clean);
        var deepClient = new OnionClient(key.PublicKey.ToArray(), "xchacha20");
        var deep = clean;
        for (var i = 0; i < OnionRequestHandler.MaxNesting; i++)
        {
            deep = (i == OnionRequestHandler.MaxNesting - 1 ? deepClient : new OnionClient(key.PublicKey.ToArray(), null)).V4("POST", "/oxen/v4/lsrpc", null, deep);
        }

        var forwarded = await handler.HandleAsync(OnionVersion.V4, once, default);
        var refused = await handler.HandleAsync(OnionVersion.V4, deep, default);

        Assert.Equal(SogsDecisionKind.Forward, forwarded.Decision.Kind);
        Assert.Equal("nested_too_deep", refused.Failure);
        Assert.Equal(SogsDecisionKind.Respond, refused.Decision.Kind);
        Assert.Contains("\"code\": 200", deepClient.OpenV4(refused.Decision.Body.ToArray()).Meta, StringComparison.Ordinal);
        Assert.Single(inner.Seen);
    }

    [Fact]
    public async Task V4_OnionInsideOnion_UndecryptableInner_AnswersSogs400PageInside()
    {
        var (handler, inner, key, _) = Make();
        var outer = new OnionClient(key.PublicKey.ToArray(), "xchacha20");

        var result = await handler.HandleAsync(OnionVersion.V4, outer.V4("POST", "/oxen/v4/lsrpc", null, "junk"u8.ToArray()), default);

        var (meta, body) = outer.OpenV4(result.Decision.Body.ToArray());
        Assert.Contains("\"code\": 400", meta, StringComparison.Ordinal);
        Assert.Contains("400 Bad Request", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        Assert.Empty(inner.Seen);
    }

    [Fact]
    public async Task NoKey_CountsOpaqueAndForwards()
    {
        var (handler, inner, key, opaque) = Make(withKey: false);
        var body = new OnionClient(key.PublicKey.ToArray(), null).V4("POST", "/room/lobby/message", Auth, "badword"u8.ToArray());

        var result = await handler.HandleAsync(OnionVersion.V4, body, default);

        Assert.Equal(SogsDecisionKind.Forward, result.Decision.Kind);
        Assert.True(result.Opaque);
        Assert.Equal(1, opaque.Get("sogs", OpaqueKind.Onion, "unknown"));
        Assert.Empty(inner.Seen);
    }

    [Fact]
    public void Settings_KeyFile_RawOrHex_AndBadFilesAreConfigErrors()
    {
        var dir = Path.Combine(Path.GetTempPath(), "onion-settings-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var priv = RandomNumberGenerator.GetBytes(32);
            File.WriteAllBytes(Path.Combine(dir, "key_x25519"), priv);
            File.WriteAllText(Path.Combine(dir, "key.hex"), Convert.ToHexStringLower(priv) + "\n");
            File.WriteAllBytes(Path.Combine(dir, "short"), new byte[31]);

            Assert.Equal(OnionWire.PublicKey(priv), Read(dir, "key_x25519", out var errors)!.PublicKey.ToArray());
            Assert.Empty(errors);
            Assert.Equal(OnionWire.PublicKey(priv), Read(dir, "key.hex", out errors)!.PublicKey.ToArray());
            Assert.Empty(errors);
            Assert.Null(Read(dir, "short", out errors));
            Assert.Contains(errors, e => e.Contains("x25519_key_file", StringComparison.Ordinal) && e.Contains("not a 32-byte", StringComparison.Ordinal));
            Assert.Null(Read(dir, "missing", out errors));
            Assert.Contains(errors, e => e.Contains("does not exist", StringComparison.Ordinal));
            Assert.Null(Read(dir, null, out errors));
            Assert.Empty(errors);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static OnionServerKey? Read(string dir, string? file, out List<string> errors)
    {
        var toml = file is null ? "" : $"x25519_key_file = \"{file}\"\n";
        var model = Tomlyn.TomlSerializer.Deserialize<Tomlyn.Model.TomlTable>(toml)!;
        var ctx = new TomlReadContext("gateway.toml", new Tomlyn.Serialization.TomlMetadataStore());
        var reader = new TomlTableReader(model, "backends.sogs", ctx, (1, 1));
        var settings = OnionSettings.Read(new ModuleConfigContext(dir, new ConfigLimits(), null!), reader);
        errors = ctx.Errors.Select(e => e.ToString()).ToList();
        return settings.ServerKey;
    }
}
