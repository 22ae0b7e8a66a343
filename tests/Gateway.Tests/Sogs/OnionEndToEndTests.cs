using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Gateway.Protocols.Sogs;
using Gateway.Protocols.Sogs.Onion;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Sogs;

/// <summary>
/// Onion requests through the real gateway on loopback, to a fake SOGS that decrypts and answers them as pysogs does.
/// The SOGS module is another branch's work; <see cref="OnionTestModule"/> binds the onion layer to a stand-in
/// inspector (the host's policy over the post's text) the way the SOGS module will bind it to SogsInspector.
/// </summary>
public sealed class OnionEndToEndTests : IAsyncLifetime
{
    private static readonly ProtocolModules Modules = ProtocolModules.BuiltIn.With(new OnionTestModule());

    private readonly byte[] _serverPrivate = RandomNumberGenerator.GetBytes(32);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "onion-e2e-" + Guid.NewGuid().ToString("N"));
    private RecordingBackend _sogs = null!;

    private byte[] ServerPublic => OnionWire.PublicKey(_serverPrivate);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        await File.WriteAllBytesAsync(Path.Combine(_dir, "key_x25519"), _serverPrivate);
        _sogs = await RecordingBackend.StartAsync();
        _sogs.Responder = (ctx, received) => OnionFakeSogs.AnswerAsync(ctx, received.Body, _serverPrivate);
    }

    public async Task DisposeAsync()
    {
        await _sogs.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Config(bool withKey) => $$"""
        [[backends]]
        name = "community"
        protocol = "{{OnionTestModule.ProtocolName}}"
        upstreams = ["{{_sogs.Url}}"]
        {{(withKey ? $"  [backends.{OnionTestModule.ProtocolName}]\n  x25519_key_file = \"{Path.Combine(_dir, "key_x25519").Replace("\\", "/", StringComparison.Ordinal)}\"" : "")}}

        [[filters]]
        name = "profanity"
        keywords = ["badword"]
        action = "drop"

        [[filters]]
        name = "spam"
        keywords = ["cheap pills"]
        action = "reject"
        """;

    private static Dictionary<string, string> Headers => new()
    {
        ["X-SOGS-Pubkey"] = "15" + new string('b', 64),
        ["Content-Type"] = "application/json",
    };

    private static byte[] Post(string text) =>
        Encoding.UTF8.GetBytes($"{{\"data\":\"{Convert.ToBase64String(Encoding.UTF8.GetBytes(text))}\",\"signature\":\"c2ln\"}}");

    private static async Task<HttpResponseMessage> SendAsync(GatewayHost gw, string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        return await gw.Client.PostAsync(path, content);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("xchacha20")]
    public async Task CleanPost_ReachesSogsByteIdentical_AndTheClientDecryptsSogsReply(string? encType)
    {
        await using var gw = await GatewayHost.StartAsync(Config(withKey: true), modules: Modules);
        var client = new OnionClient(ServerPublic, encType);
        var request = client.V4("POST", "/room/lobby/message", Headers, Post("hello everyone"));

        var response = await SendAsync(gw, "/oxen/v4/lsrpc", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_sogs.Received);
        Assert.Equal("/oxen/v4/lsrpc", received.Path);
        Assert.Equal(request, received.Body);
        var (meta, body) = client.OpenV4(await response.Content.ReadAsByteArrayAsync());
        Assert.Contains("\"code\": 201", meta, StringComparison.Ordinal);
        Assert.Contains("/room/lobby/message", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("aes-gcm")]
    [InlineData("xchacha20")]
    public async Task DroppedPost_NeverReachesSogs_AndTheClientDecryptsA201(string? encType)
    {
        await using var gw = await GatewayHost.StartAsync(Config(withKey: true), modules: Modules);
        var client = new OnionClient(ServerPublic, encType);

        var response = await SendAsync(gw, "/oxen/v4/lsrpc", client.V4("POST", "/room/lobby/message", Headers, Post("what a BADWORD day")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Empty(_sogs.Received);
        var (meta, body) = client.OpenV4(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("{\"code\": 201, \"headers\": {\"content-type\": \"application/json\"}}", meta);
        using var json = JsonDocument.Parse(body);
        Assert.True(json.RootElement.GetProperty("filtered").GetBoolean());
        Assert.Equal(Headers["X-SOGS-Pubkey"], json.RootElement.GetProperty("session_id").GetString());
    }

    [Fact]
    public async Task RejectedPost_TheClientDecryptsSogsRefusal()
    {
        await using var gw = await GatewayHost.StartAsync(Config(withKey: true), modules: Modules);
        var client = new OnionClient(ServerPublic, "xchacha20");

        var response = await SendAsync(gw, "/oxen/v4/lsrpc", client.V4("POST", "/room/lobby/message", Headers, Post("cheap pills here")));

        Assert.Empty(_sogs.Received);
        var (meta, body) = client.OpenV4(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("{\"code\": 429, \"headers\": {\"content-type\": \"text/html; charset=utf-8\"}}", meta);
        Assert.Equal("filtration rejected message (profanity)", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task InvalidUtf8InEnvelopeMetadata_Answers400_NothingForwarded()
    {
        // The input make fuzz found (issue 17): the envelope parser threw on it instead of answering.
        await using var gw = await GatewayHost.StartAsync(Config(withKey: true), modules: Modules);
        var body = BitConverter.GetBytes(16).Concat(new byte[16]).Concat("{\"ephemeral_key\": \"ab"u8.ToArray())
            .Concat(new byte[] { 0xA7 }).Concat("cd\", \"enc_type\": \"xchacha20\"}"u8.ToArray()).ToArray();

        var response = await SendAsync(gw, "/oxen/v4/lsrpc", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(_sogs.Received);
    }

    [Fact]
    public async Task WrongKeyOrTruncated_Answers400_NothingForwarded_NoContentInLogs()
    {
        await using var gw = await GatewayHost.StartAsync(Config(withKey: true), modules: Modules);
        var stranger = new OnionClient(OnionWire.PublicKey(RandomNumberGenerator.GetBytes(32)), "xchacha20");
        var wrongKey = stranger.V4("POST", "/room/lobby/message", Headers, Post("secret words"));
        var truncated = new OnionClient(ServerPublic, null).V4("POST", "/room/lobby/message", Headers, Post("secret words"))[..40];

        var first = await SendAsync(gw, "/oxen/v4/lsrpc", wrongKey);
        var second = await SendAsync(gw, "/oxen/v4/lsrpc", truncated);
        var inner = await SendAsync(gw, "/oxen/v4/lsrpc", new OnionClient(ServerPublic, "xchacha20").Envelope("l2:{}Xe"u8.ToArray()));

        Assert.Equal(HttpStatusCode.BadRequest, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Contains("400 Bad Request", await first.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, inner.StatusCode);
        Assert.Empty(_sogs.Received);
        Assert.DoesNotContain(gw.Logs.Lines, l => l.Contains("secret", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("/loki/v3/lsrpc")]
    [InlineData("/oxen/v3/lsrpc")]
    public async Task V3_DroppedPostAnswersBase64OfTheEncryptedBody_CleanPostForwardedUntouched(string path)
    {
        await using var gw = await GatewayHost.StartAsync(Config(withKey: true), modules: Modules);
        var client = new OnionClient(ServerPublic, "xchacha20");
        string V3(string text) => JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["method"] = "POST",
            ["endpoint"] = "/room/lobby/message",
            ["headers"] = Headers,
            ["body"] = Encoding.UTF8.GetString(Post(text)),
        });
        var clean = client.Envelope(Encoding.UTF8.GetBytes(V3("hello")));

        var dropped = await SendAsync(gw, path, client.Envelope(Encoding.UTF8.GetBytes(V3("badword"))));
        await SendAsync(gw, path, clean);

        Assert.Equal(HttpStatusCode.OK, dropped.StatusCode);
        var reply = client.Open(Convert.FromBase64String(await dropped.Content.ReadAsStringAsync()));
        using var json = JsonDocument.Parse(reply);
        Assert.True(json.RootElement.GetProperty("filtered").GetBoolean());
        var received = Assert.Single(_sogs.Received);
        Assert.Equal(path, received.Path);
        Assert.Equal(clean, received.Body);
    }

    [Fact]
    public async Task NoKeyFile_OnionRequestsPassUninspected_AndAreCountedOpaque()
    {
        await using var gw = await GatewayHost.StartAsync(Config(withKey: false), modules: Modules);
        var request = new OnionClient(ServerPublic, "xchacha20").V4("POST", "/room/lobby/message", Headers, Post("badword"));

        var response = await SendAsync(gw, "/oxen/v4/lsrpc", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(request, Assert.Single(_sogs.Received).Body);
        Assert.Equal(1, gw.Service<OpaqueTraffic>().Get(OnionTestModule.ProtocolName, OpaqueKind.Onion, "unknown"));
    }
}

/// <summary>
/// A stand-in for the SOGS module: routes of this protocol send onion endpoints through <see cref="OnionRequestHandler"/>
/// with an inspector that reads the post's text (base64 <c>data</c>, here plain UTF-8 instead of a Session protobuf) and
/// asks the host's policy. Drop answers SOGS's silent-filter 201, reject its 429.
/// </summary>
internal sealed class OnionTestModule : IProtocolModule
{
    public const string ProtocolName = "onion-sogs";

    public string Name => ProtocolName;

    public object? ReadBackend(ModuleConfigContext context, BackendDraft backend, TomlTableReader? table)
    {
        var settings = OnionSettings.Read(context, table);
        table?.Finish();
        return settings;
    }

    public IReadOnlyList<RouteDefaults> DefaultRoutes(object? backendSettings) => new[] { new RouteDefaults("/", Inspect: true) };

    public ModuleCapabilities Capabilities => new() { CanRewrite = false };

    public IModuleRuntime CreateRuntime(IServiceProvider services) => new Runtime();

    private sealed class Runtime : IModuleRuntime
    {
        public RouteHandler BuildRoute(RouteBuildContext context) => new()
        {
            Http = new Adapter(((OnionSettings)context.BackendSettings!).CreateHandler(new Inspector(context.Host), context.Host.Opaque, ProtocolName)),
            Capabilities = new ModuleCapabilities { CanRewrite = false },
        };

        public void Dispose()
        {
        }
    }

    private sealed class Adapter(OnionRequestHandler onion) : IProtocolAdapter
    {
        public string Protocol => ProtocolName;

        public bool ShouldInspect(HttpRequest request) => HttpMethods.IsPost(request.Method) && OnionEnvelope.IsOnionPath(request.Path.Value ?? "", out _);

        public async ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        {
            OnionEnvelope.IsOnionPath(context.Request.Path.Value!, out var version);
            var result = await onion.HandleAsync(version, body, cancellationToken);
            return new AdapterParse { Messages = Array.Empty<ChatMessage>(), State = result };
        }

        public AdapterOutcome Apply(HttpContext context, AdapterParse parsed, ReadOnlySpan<Verdict> verdicts, ReadOnlyMemory<byte> body)
        {
            var decision = ((OnionResult)parsed.State!).Decision;
            return decision.Kind == SogsDecisionKind.Forward
                ? AdapterOutcome.ForwardUnchanged
                : AdapterOutcome.Respond(decision.Status, decision.Body.ToArray(), decision.ContentType);
        }
    }

    private sealed class Inspector(IModuleHost host) : IOnionInnerHandler
    {
        private long _id;

        public ValueTask<SogsDecision> InspectAsync(SogsRequest request, CancellationToken cancellationToken)
        {
            if (request.Method != "POST" || !request.PathAndQuery.EndsWith("/message", StringComparison.Ordinal))
            {
                return ValueTask.FromResult(SogsDecision.Forward);
            }

            using var json = JsonDocument.Parse(request.Body);
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(json.RootElement.GetProperty("data").GetString()!));
            var sender = request.Header("X-SOGS-Pubkey");
            var verdict = host.Evaluate(new ChatMessage
            {
                Protocol = ProtocolName,
                Sender = sender,
                Room = request.PathAndQuery,
                Fields = new[] { new MessageField(FieldKind.Body, text) },
            }, "onion-test");
            switch (verdict.Action)
            {
                case VerdictAction.Drop:
                    var id = Interlocked.Increment(ref _id);
                    var stored = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
                    {
                        ["id"] = id,
                        ["session_id"] = sender,
                        ["posted"] = 1.5,
                        ["seqno"] = id,
                        ["filtered"] = true,
                    });
                    return ValueTask.FromResult(SogsDecision.Respond(201, "application/json", stored));
                case VerdictAction.Reject:
                    return ValueTask.FromResult(SogsDecision.Respond(429, "text/html; charset=utf-8", "filtration rejected message (profanity)"u8.ToArray()));
                default:
                    return ValueTask.FromResult(SogsDecision.Forward);
            }
        }
    }
}
