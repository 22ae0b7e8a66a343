using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.DemoChat;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// Issue 9, defect 4a, end to end: the gateway in front of the bundled demo backend (real Kestrel on loopback), which
/// binds JSON with System.Text.Json's web defaults: property names case-insensitive, the last duplicate wins.
/// Whatever key spelling a client picks, the backend must never store the filtered word.
/// </summary>
public sealed class JsonKeyBypassTests
{
    private static string Config(string backendUrl, string keys = "") => $$"""
        [[backends]]
        name = "demo"
        protocol = "json"
        upstreams = ["{{backendUrl}}"]

          [[backends.routes]]
          path = "/api/messages"
          methods = ["POST"]
          on_error = "forward"   # the refusal of an ambiguous sender must not depend on it
            [backends.routes.json]
            body = "/text"
            sender = "/sender"
            room = "/room"
            direct = "/direct"
            {{keys}}

          [[backends.routes]]
          path = "/"
          inspect = false

        [[filters]]
        name = "profanity"
        keywords = ["damn"]

        [[filters]]
        name = "scams"
        priority = 10
        action = "reject"
        keywords = ["free crypto"]
        """;

    private static async Task<(WebApplication App, string Url)> StartDemoAsync()
    {
        var app = DemoChatApp.Build("http://127.0.0.1:0");
        await app.StartAsync();
        return (app, app.Urls.First());
    }

    private static async Task<string[]> StoredTextsAsync(string backendUrl, string room)
    {
        using var client = new HttpClient();
        using var doc = JsonDocument.Parse(await client.GetStringAsync($"{backendUrl}/api/messages?room={room}"));
        return doc.RootElement.EnumerateArray().Select(m => m.GetProperty("text").GetString()!).ToArray();
    }

    [Theory]
    [InlineData("""{"room":"r","sender":"s","TEXT":"damn it"}""", HttpStatusCode.Created, "**** it")]
    [InlineData("""{"room":"r","sender":"s","text":"hello","Text":"damn it"}""", HttpStatusCode.Created, "**** it")]
    [InlineData("""{"room":"r","sender":"s","text":"hello","text":"damn it"}""", HttpStatusCode.Created, "**** it")]
    [InlineData("""{"room":"r","sender":"s","tExT":"oh damn","text":"fine"}""", HttpStatusCode.Created, "fine")]
    [InlineData("""{"room":"r","sender":"s","T\u0045XT":"damn"}""", HttpStatusCode.Created, "****")]
    [InlineData("""{"Room":"r","SENDER":"s","Text":"da\u0001mn!!"}""", HttpStatusCode.Created, "****!!")]
    [InlineData("""{"room":"r","sender":"s","text":"hello","TEXT":"free crypto"}""", HttpStatusCode.Forbidden, null)]
    [InlineData("""{"room":"r","sender":"alice","Sender":"mallory","text":"damn"}""", HttpStatusCode.BadRequest, null)]
    [InlineData("""{"room":"r","ROOM":"elsewhere","sender":"s","text":"hi"}""", HttpStatusCode.BadRequest, null)]
    public async Task Post_CaseVariantsAndDuplicates_BackendNeverStoresFilteredText(string body, HttpStatusCode status, string? stored)
    {
        var (demo, url) = await StartDemoAsync();
        await using var _ = demo;
        await using var gw = await GatewayHost.StartAsync(Config(url));

        var response = await gw.Client.PostAsync("/api/messages", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, response.StatusCode);
        var texts = await StoredTextsAsync(url, "r");
        Assert.Equal(stored is null ? Array.Empty<string>() : new[] { stored }, texts);
        Assert.DoesNotContain(texts, t => t.Contains("damn", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Post_ExactKeys_ForwardsCaseVariantsUninspectedButStillChecksDuplicates()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url, keys: "keys = \"exact\""));

        var variant = """{"room":"r","sender":"s","text":"hi","TEXT":"damn"}""";
        Assert.Equal(HttpStatusCode.Created, (await gw.Client.PostAsync("/api/messages", new StringContent(variant, Encoding.UTF8, "application/json"))).StatusCode);
        var duplicate = """{"room":"r","sender":"s","text":"hi","text":"damn"}""";
        Assert.Equal(HttpStatusCode.Created, (await gw.Client.PostAsync("/api/messages", new StringContent(duplicate, Encoding.UTF8, "application/json"))).StatusCode);

        var received = backend.Received.Select(r => Encoding.UTF8.GetString(r.Body)).ToArray();
        Assert.Equal(new[] { variant, """{"room":"r","sender":"s","text":"hi","text":"****"}""" }, received);
    }
}
