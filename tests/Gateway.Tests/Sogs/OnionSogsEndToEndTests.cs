using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Policy.Rules;
using Gateway.Protocols;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Gateway.Protocols.Sogs;
using Gateway.Protocols.Sogs.Onion;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Gateway.Tests.Sogs;

/// <summary>
/// The onion layer bound to the real SOGS module (helper-sogs's SogsInspector: signature checks, Session protobuf
/// bodies, SOGS-shaped answers) exactly as <see cref="OnionAdapter"/>'s doc proposes the module wire it, through the
/// real gateway on loopback, to a fake SOGS that decrypts onion requests. The client signs its inner requests with an
/// Ed25519 key (X-SOGS-* headers as pysogs verifies them) and wraps them in v4 onion requests.
/// </summary>
public sealed class OnionSogsEndToEndTests : IAsyncLifetime
{
    private static readonly ProtocolModules Modules = ProtocolModules.BuiltIn; // the real SOGS module, onion layer wired in

    private readonly byte[] _serverPrivate = RandomNumberGenerator.GetBytes(32);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "onion-sogs-e2e-" + Guid.NewGuid().ToString("N"));
    private readonly Ed25519PrivateKeyParameters _user = new(RandomNumberGenerator.GetBytes(32));
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

    private string Config => $$"""
        [[backends]]
        name = "community"
        protocol = "sogs"
        upstreams = ["{{_sogs.Url}}"]
          [backends.sogs]
          x25519_key_file = "{{Path.Combine(_dir, "key_x25519").Replace("\\", "/", StringComparison.Ordinal)}}"
          require_blind_keys = false

        [[filters]]
        name = "profanity"
        keywords = ["badword"]
        action = "drop"
        """;

    /// <summary>A post body as Session sends it: base64 of Content{dataMessage{body}} and the poster's signature of it.</summary>
    private byte[] PostBody(string text)
    {
        var body = Encoding.UTF8.GetBytes(text);
        var dataMessage = new byte[] { 0x0A, (byte)body.Length }.Concat(body).ToArray();
        var content = new byte[] { 0x0A, (byte)dataMessage.Length }.Concat(dataMessage).ToArray();
        var json = new Dictionary<string, string> { ["data"] = Convert.ToBase64String(content), ["signature"] = Convert.ToBase64String(Sign(content)) };
        return JsonSerializer.SerializeToUtf8Bytes(json);
    }

    private byte[] Sign(byte[] message)
    {
        var signer = new Ed25519Signer();
        signer.Init(true, _user);
        signer.BlockUpdate(message, 0, message.Length);
        return signer.GenerateSignature();
    }

    /// <summary>
    /// X-SOGS-* headers (pysogs routes/auth.py): Ed25519 over server X25519 key ‖ nonce ‖ timestamp ‖ method ‖ path ‖
    /// BLAKE2b-512(body); the key is sent unblinded (00-prefixed).
    /// </summary>
    private Dictionary<string, string> Auth(string method, string path, byte[] body, bool forge = false)
    {
        var nonce = RandomNumberGenerator.GetBytes(16);
        var ts = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var hash = new byte[64];
        var blake = new Blake2bDigest(512);
        blake.BlockUpdate(body, 0, body.Length);
        blake.DoFinal(hash, 0);
        var signed = ServerPublic.Concat(nonce).Concat(Encoding.UTF8.GetBytes(ts + method + path)).Concat(body.Length > 0 ? hash : []).ToArray();
        var sig = Sign(signed);
        if (forge)
        {
            sig[0] ^= 1;
        }

        return new Dictionary<string, string>
        {
            ["X-SOGS-Pubkey"] = "00" + Convert.ToHexStringLower(_user.GeneratePublicKey().GetEncoded()),
            ["X-SOGS-Nonce"] = Convert.ToBase64String(nonce),
            ["X-SOGS-Timestamp"] = ts,
            ["X-SOGS-Signature"] = Convert.ToBase64String(sig),
            ["Content-Type"] = "application/json",
        };
    }

    private static async Task<HttpResponseMessage> SendAsync(GatewayHost gw, string path, byte[] body, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return await gw.Client.SendAsync(request);
    }

    private byte[] OnionPost(OnionClient client, string text, bool forge = false)
    {
        var body = PostBody(text);
        return client.V4("POST", "/room/lobby/message", Auth("POST", "/room/lobby/message", body, forge), body);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("xchacha20")]
    public async Task CleanOnionPost_ReachesSogsByteIdentical(string? encType)
    {
        await using var gw = await GatewayHost.StartAsync(Config, modules: Modules);
        var client = new OnionClient(ServerPublic, encType);
        var request = OnionPost(client, "hello everyone");

        var response = await SendAsync(gw, "/oxen/v4/lsrpc", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(request, Assert.Single(_sogs.Received).Body);
        Assert.Contains("\"code\": 201", client.OpenV4(await response.Content.ReadAsByteArrayAsync()).Meta, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("aes-gcm")]
    [InlineData("xchacha20")]
    public async Task DroppedOnionPost_NeverReachesSogs_TheClientDecryptsSogsStyle201(string encType)
    {
        await using var gw = await GatewayHost.StartAsync(Config, modules: Modules);
        var client = new OnionClient(ServerPublic, encType);

        var response = await SendAsync(gw, "/oxen/v4/lsrpc", OnionPost(client, "what a badword day"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(_sogs.Received);
        var (meta, body) = client.OpenV4(await response.Content.ReadAsByteArrayAsync());
        Assert.Contains("\"code\": 201", meta, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(body);
        Assert.True(json.RootElement.TryGetProperty("id", out _));
        Assert.True(json.RootElement.TryGetProperty("seqno", out _));
        Assert.StartsWith("05", json.RootElement.GetProperty("session_id").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForgedSignatureInsideOnion_AnswersSogs401Inside_NothingForwarded()
    {
        await using var gw = await GatewayHost.StartAsync(Config, modules: Modules);
        var client = new OnionClient(ServerPublic, "xchacha20");

        var response = await SendAsync(gw, "/oxen/v4/lsrpc", OnionPost(client, "hello", forge: true));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(_sogs.Received);
        var (meta, body) = client.OpenV4(await response.Content.ReadAsByteArrayAsync());
        Assert.Contains("\"code\": 401", meta, StringComparison.Ordinal);
        Assert.Contains("X-SOGS-Signature verification failed", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnlyTheServerPubkeyConfigured_OnionRequestsPassAndAreCountedOpaque()
    {
        var config = Config.Replace(
            $"x25519_key_file = \"{Path.Combine(_dir, "key_x25519").Replace("\\", "/", StringComparison.Ordinal)}\"",
            $"server_pubkey = \"{Convert.ToHexStringLower(ServerPublic)}\"", StringComparison.Ordinal);
        Assert.DoesNotContain("x25519_key_file", config, StringComparison.Ordinal);
        await using var gw = await GatewayHost.StartAsync(config, modules: Modules);
        var request = OnionPost(new OnionClient(ServerPublic, null), "badword");

        var response = await SendAsync(gw, "/oxen/v4/lsrpc", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(request, Assert.Single(_sogs.Received).Body);
        Assert.Equal(1, gw.Service<OpaqueTraffic>().Get(SogsInspector.ProtocolName, OpaqueKind.Onion, "unknown"));
    }

    [Fact]
    public async Task DirectPosts_StillGoThroughTheSogsAdapter()
    {
        await using var gw = await GatewayHost.StartAsync(Config, modules: Modules);
        var clean = PostBody("hello");
        var dirty = PostBody("badword");

        var forwarded = await SendAsync(gw, "/room/lobby/message", clean, Auth("POST", "/room/lobby/message", clean));
        var dropped = await SendAsync(gw, "/room/lobby/message", dirty, Auth("POST", "/room/lobby/message", dirty));

        Assert.Equal(HttpStatusCode.Created, forwarded.StatusCode);
        Assert.Equal(HttpStatusCode.Created, dropped.StatusCode);
        Assert.Equal(clean, Assert.Single(_sogs.Received).Body);
    }
}
