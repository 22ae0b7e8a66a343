using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Lemmy;

/// <summary>
/// Lemmy's report endpoints (<c>…/private_message/report</c>, <c>…/comment/report</c>, <c>…/post/report</c>, 1.0's
/// <c>…/community/report</c>): forwarded as sent, and sent to the report webhook with the private-message
/// conversation when the reporter took part in it.
/// </summary>
public sealed class LemmyReportTests
{
    private const string Secret = "lemmy-webhook-secret-0123456789";

    private static (string Toml, Dictionary<string, string> Files) Config(string lemmyUrl, string hookUrl, string extra = "") => ($$"""
        [[backends]]
        name = "lemmy"
        protocol = "lemmy"
        upstreams = ["{{lemmyUrl}}"]
          [backends.lemmy]
          {{extra}}

        [[filters]]
        name = "slurs"
        keywords = ["grot"]
        fields = ["body", "title"]

        [reports]
        url = "{{hookUrl}}"
        secret_file = "secrets/webhook"
        drain_seconds = 5
        """, new Dictionary<string, string> { ["secrets/webhook"] = Secret + "\n" });

    private static async Task<JsonObject> SendAsync(GatewayHost gw, int version, string route, long user, object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v{version}/{route}")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FakeLemmy.Jwt(user));
        using var response = await gw.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{route}: {(int)response.StatusCode} {text}");
        return (JsonObject)JsonNode.Parse(text)!;
    }

    private static async Task<long> PmAsync(GatewayHost gw, int version, long from, long to, string text) =>
        (await SendAsync(gw, version, "private_message", from, new { content = text, recipient_id = to }))["private_message_view"]!["private_message"]!["id"]!.GetValue<long>();

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task PrivateMessageReport_ByParticipant_CarriesTheConversation(int version)
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        var (toml, files) = Config(lemmy.Url, hook.Url);
        await using var gw = await GatewayHost.StartAsync(toml, files);

        await PmAsync(gw, version, FakeLemmy.Alice, FakeLemmy.Bob, "hi bob");
        await PmAsync(gw, version, FakeLemmy.Bob, FakeLemmy.Alice, "hello alice");
        var nasty = await PmAsync(gw, version, FakeLemmy.Alice, FakeLemmy.Bob, "send me your password");
        await SendAsync(gw, version, "private_message/report", FakeLemmy.Bob, new { private_message_id = nasty, reason = "phishing" });

        Assert.Contains(lemmy.Writes, w => w.Path == $"/api/v{version}/private_message/report" && w.Body.Contains("phishing", StringComparison.Ordinal));
        var d = Assert.Single(await hook.WaitForAsync(1));
        Assert.True(d.SignatureValid);
        var r = d.Json;
        Assert.Equal("user_report", r.GetProperty("kind").GetString());
        Assert.Equal("lemmy", r.GetProperty("protocol").GetString());
        Assert.Equal("bob", r.GetProperty("reporter").GetString());
        Assert.Equal("phishing", r.GetProperty("reason").GetString());
        Assert.True(r.GetProperty("direct").GetBoolean());
        Assert.Equal("alice", r.GetProperty("recipients")[0].GetString());
        var context = r.GetProperty("context").EnumerateArray().Select(c => (c.GetProperty("sender").GetString()!, c.GetProperty("text").GetString()!)).ToArray();
        Assert.Equal(new[] { ("alice", "hi bob"), ("bob", "hello alice"), ("alice", "send me your password") }, context);
    }

    [Fact]
    public async Task PrivateMessageReport_ByNonParticipant_HasNoContext()
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        var (toml, files) = Config(lemmy.Url, hook.Url);
        await using var gw = await GatewayHost.StartAsync(toml, files);

        // mod only received: never wrote in the conversation, so nothing of it goes out with the report.
        var pm = await PmAsync(gw, 3, FakeLemmy.Alice, FakeLemmy.Mod, "private words");
        await SendAsync(gw, 3, "private_message/report", FakeLemmy.Mod, new { private_message_id = pm, reason = "spam" });

        var r = Assert.Single(await hook.WaitForAsync(1)).Json;
        Assert.Equal("mod", r.GetProperty("reporter").GetString());
        Assert.Equal("alice", r.GetProperty("recipients")[0].GetString());
        Assert.Empty(r.GetProperty("context").EnumerateArray());
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task CommentReport_NamesCommunityAndCreator(int version)
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        var (toml, files) = Config(lemmy.Url, hook.Url);
        await using var gw = await GatewayHost.StartAsync(toml, files);

        await SendAsync(gw, version, "comment/report", FakeLemmy.Alice, new { comment_id = FakeLemmy.CatsComment, reason = "off topic" });

        var r = Assert.Single(await hook.WaitForAsync(1)).Json;
        Assert.Equal("alice", r.GetProperty("reporter").GetString());
        Assert.Equal("cats", r.GetProperty("room").GetString());
        Assert.False(r.GetProperty("direct").GetBoolean());
        Assert.Equal("mod", r.GetProperty("recipients")[0].GetString());
        Assert.Equal("off topic", r.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task ReportReason_WithoutSlurSemantics_IsNotFiltered()
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        var (toml, files) = Config(lemmy.Url, hook.Url);
        await using var gw = await GatewayHost.StartAsync(toml, files);

        // A reporter quoting the abuse must still be able to report it.
        await SendAsync(gw, 3, "post/report", FakeLemmy.Alice, new { post_id = FakeLemmy.CatsPost, reason = "he called me a grot" });

        Assert.Contains(lemmy.Writes, w => w.Path == "/api/v3/post/report" && w.Body.Contains("grot", StringComparison.Ordinal));
        Assert.Single(await hook.WaitForAsync(1));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task ReportReason_WithSlurSemantics_RefusedAsLemmyDoes(int version)
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        var (toml, files) = Config(lemmy.Url, hook.Url, "slur_semantics = true");
        await using var gw = await GatewayHost.StartAsync(toml, files);

        var refused = await SendAsync(gw, version, "post/report", FakeLemmy.Alice, new { post_id = FakeLemmy.CatsPost, reason = "you grot" }, HttpStatusCode.BadRequest);
        await SendAsync(gw, version, "post/report", FakeLemmy.Alice, new { post_id = FakeLemmy.CatsPost, reason = "spam" });

        Assert.Equal("""{"error":"slurs"}""", refused.ToJsonString());
        Assert.DoesNotContain(lemmy.Writes, w => w.Body.Contains("grot", StringComparison.Ordinal));
        var r = Assert.Single(await hook.WaitForAsync(1)).Json; // only the report that reached Lemmy
        Assert.Equal("spam", r.GetProperty("reason").GetString());
    }
}
