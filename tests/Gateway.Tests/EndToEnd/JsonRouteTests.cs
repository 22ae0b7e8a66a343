using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.EndToEnd;

/// <summary>The gateway in front of a real Kestrel backend, both on loopback, driven over real HTTP.</summary>
public sealed class JsonRouteTests
{
    internal static string Config(string backendUrl, string extra = "", string onError = "reject", long maxBody = 1048576) => $$"""
        [limits]
        max_body_bytes = {{maxBody}}
        max_json_depth = 32

        [[backends]]
        name = "chat"
        protocol = "json"
        upstreams = ["{{backendUrl}}"]

          [[backends.routes]]
          path = "/api/messages"
          methods = ["POST", "PUT"]
          on_error = "{{onError}}"
            [backends.routes.json]
            body = "/msg/text"
            title = "/msg/title"
            sender = "/sender"
            room = "/room"
            direct = "/direct"
            recipient = "/recipient"
            drop_status = 201
            drop_body = '{"status":"accepted"}'

          [[backends.routes]]
          path = "/"
          inspect = false

        [[filters]]
        name = "profanity"
        keywords = ["darn", "heck*"]
        allow = ["heckelphone"]
        fields = ["body", "title"]

        [[filters]]
        name = "shops"
        priority = 5
        action = "drop"
        notice = "No shops."
        regex = ['buy\s+followers']

        [[filters]]
        name = "scams"
        priority = 10
        action = "reject"
        notice = "Scams are not welcome."
        keywords = ["free crypto"]
        {{extra}}
        """;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Post_CleanMessage_ArrivesByteIdentical()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var body = "{\"room\":\"lobby\",\"sender\":\"alice\",\"msg\":{\"text\":\"hello   world\",\"extra\":[1,2.50,{\"x\":null}]}}";
        var response = await gw.Client.PostAsync("/api/messages", Json(body));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var got = Assert.Single(backend.Received);
        Assert.Equal(body, Encoding.UTF8.GetString(got.Body));
    }

    [Fact]
    public async Task Post_CensoredMessage_ArrivesCensoredWithOtherBytesUnchanged()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var body = "{\"room\":\"lobby\", \"msg\":{\"title\":\"HECKIN title\",\"text\":\"well d4rn, the heckelphone\"},\"sender\":\"alice\"}";
        var response = await gw.Client.PostAsync("/api/messages", Json(body));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var got = Assert.Single(backend.Received);
        Assert.Equal("{\"room\":\"lobby\", \"msg\":{\"title\":\"****** title\",\"text\":\"well ****, the heckelphone\"},\"sender\":\"alice\"}",
            Encoding.UTF8.GetString(got.Body));
        Assert.Equal(got.Body.Length.ToString(), got.Headers["Content-Length"]);
    }

    [Fact]
    public async Task Post_DroppedMessage_NeverArrivesAndSenderGetsNotice()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var response = await gw.Client.PostAsync("/api/messages", Json("{\"room\":\"lobby\",\"msg\":{\"text\":\"Buy  followers now\"}}"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("{\"status\":\"accepted\",\"notice\":\"No shops.\"}", await response.Content.ReadAsStringAsync());
        Assert.Empty(backend.Received);
    }

    [Fact]
    public async Task Post_RejectedMessage_Gets403JsonErrorAndNeverArrives()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var response = await gw.Client.PostAsync("/api/messages", Json("{\"msg\":{\"text\":\"get FREE  CRYPTO and buy followers\"}}"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{\"error\":\"rejected\",\"message\":\"Scams are not welcome.\"}", await response.Content.ReadAsStringAsync());
        Assert.Empty(backend.Received);
    }

    [Theory]
    [InlineData("{\"msg\":{\"text\":\"unterminated", "invalid_json")]
    [InlineData("[1,2,3]", "not_an_object")]
    [InlineData("{\"msg\":{\"text\":42}}", "invalid_field")]
    [InlineData("", "invalid_json")]
    public async Task Post_BadJson_Gets400AndBackendSeesNothing(string body, string code)
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var response = await gw.Client.PostAsync("/api/messages", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, doc.RootElement.GetProperty("error").GetString());
        Assert.Empty(backend.Received);
    }

    [Fact]
    public async Task Post_InvalidUtf8_Gets400()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var bytes = new byte[] { (byte)'{', (byte)'"', (byte)'m', (byte)'"', (byte)':', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}' };
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await gw.Client.PostAsync("/api/messages", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid_utf8", await response.Content.ReadAsStringAsync());
        Assert.Empty(backend.Received);
    }

    [Fact]
    public async Task Post_AbsurdNesting_Gets400NotACrash()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var body = "{\"a\":" + new string('[', 100_000) + new string(']', 100_000) + "}";
        var response = await gw.Client.PostAsync("/api/messages", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("too_deep", await response.Content.ReadAsStringAsync());
        Assert.Empty(backend.Received);
    }

    [Fact]
    public async Task Post_BadJsonWithOnErrorForward_IsForwardedUnchanged()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url, onError: "forward"));
        var response = await gw.Client.PostAsync("/api/messages", Json("{not json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("{not json", Encoding.UTF8.GetString(Assert.Single(backend.Received).Body));
    }

    [Fact]
    public async Task Post_OverLimitWithContentLength_Gets413AndBackendSeesNothing()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url, maxBody: 1000));
        var body = "{\"msg\":{\"text\":\"" + new string('a', 2000) + "\"}}";
        var response = await gw.Client.PostAsync("/api/messages", Json(body));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("body_too_large", await response.Content.ReadAsStringAsync());
        Assert.Empty(backend.Received);
    }

    [Fact]
    public async Task Post_OverLimitChunked_Gets413AndBackendSeesNothing()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url, maxBody: 1000));
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"msg\":{\"text\":\"" + new string('a', 5000) + "\"}}")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        var response = await gw.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(backend.Received);
    }

    [Fact]
    public async Task Post_ChunkedCensoredMessage_ArrivesWithContentLength()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"msg\":{\"text\":\"darn it\"}}")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        var response = await gw.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var got = Assert.Single(backend.Received);
        Assert.Equal("{\"msg\":{\"text\":\"**** it\"}}", Encoding.UTF8.GetString(got.Body));
        Assert.False(got.Headers.ContainsKey("Transfer-Encoding"));
    }

    [Fact]
    public async Task Passthrough_LargeStreamedBody_IsByteIdentical()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url, maxBody: 1000));
        var data = new byte[24 * 1024 * 1024 + 7];
        new Random(42).NextBytes(data);
        var content = new StreamContent(new MemoryStream(data));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/_matrix/media/v3/upload?filename=x.bin") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        var response = await gw.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var got = Assert.Single(backend.Received);
        Assert.Equal(data.Length, got.Length);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), got.Sha256);
        Assert.Equal("/_matrix/media/v3/upload?filename=x.bin", got.Path);
    }

    [Fact]
    public async Task Get_OnMessageRoute_PassesThroughUninspected()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var response = await gw.Client.GetAsync("/api/messages?room=lobby");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("GET", Assert.Single(backend.Received).Method);
    }

    [Fact]
    public async Task Post_DirectMessage_UsesDirectScope()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var extra = """
            [[filters]]
            name = "dm-only"
            scope = "direct"
            action = "reject"
            keywords = ["meetup"]
            """;
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url, extra));
        var pub = await gw.Client.PostAsync("/api/messages", Json("{\"direct\":false,\"msg\":{\"text\":\"meetup later\"}}"));
        var dm = await gw.Client.PostAsync("/api/messages", Json("{\"direct\":true,\"msg\":{\"text\":\"meetup later\"}}"));
        Assert.Equal(HttpStatusCode.Created, pub.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, dm.StatusCode);
        Assert.Single(backend.Received);
    }

    [Fact]
    public async Task Post_DeadBackend_GetsBadGatewayNotACrash()
    {
        int port;
        using (var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }

        await using var gw = await GatewayHost.StartAsync(Config($"http://127.0.0.1:{port}"));
        var response = await gw.Client.PostAsync("/api/messages", Json("{\"msg\":{\"text\":\"hello\"}}"));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var again = await gw.Client.GetAsync("/_gateway/health");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task Traffic_AtMostVerboseLogging_NeverLogsMessageText()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url));
        var secrets = new[] { "s3cretDMtextALPHA", "darn s3cretDMtextBETA", "buy followers s3cretDMtextGAMMA", "free crypto s3cretDMtextDELTA" };
        foreach (var s in secrets)
        {
            await gw.Client.PostAsync("/api/messages", Json($"{{\"direct\":true,\"sender\":\"@a:x\",\"msg\":{{\"text\":\"{s}\"}}}}"));
        }

        await gw.Client.PostAsync("/api/messages", Json("{\"direct\":true,\"msg\":{\"text\":\"s3cretDMtextEPSILON"));
        Assert.NotEmpty(gw.Logs.Lines);
        Assert.Contains(gw.Logs.Lines, l => l.Contains("Verdict", StringComparison.Ordinal));
        foreach (var line in gw.Logs.Lines)
        {
            Assert.DoesNotContain("s3cretDMtext", line, StringComparison.Ordinal);
        }
    }
}
