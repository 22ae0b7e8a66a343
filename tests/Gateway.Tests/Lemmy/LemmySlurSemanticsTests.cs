using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Protocols.Lemmy;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Lemmy;

/// <summary><c>slur_semantics = true</c>: censor verdicts answered as Lemmy's own slur filter answers them.</summary>
public sealed class LemmySlurSemanticsTests
{
    private static string Config(string lemmyUrl) => $$"""
        [[backends]]
        name = "lemmy"
        protocol = "lemmy"
        upstreams = ["{{lemmyUrl}}"]
          [backends.lemmy]
          slur_semantics = true

        [[filters]]
        name = "slurs"
        keywords = ["darn", "heck"]
        fields = ["body", "title", "display_name"]

        [[filters]]
        name = "scams"
        action = "reject"
        notice = "Scams are not allowed here."
        keywords = ["free crypto"]
        """;

    private static HttpRequestMessage Request(HttpMethod method, int version, string route, object body)
    {
        var request = new HttpRequestMessage(method, $"/api/v{version}/{route}")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FakeLemmy.Jwt(FakeLemmy.Alice));
        return request;
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Bodies_MatchesBecomeRemoved_TitlesAndDisplayNamesRefusedWithSlurs(int version)
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(lemmy.Url));

        var comment = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "comment", new { content = "you darn fool, DARN", post_id = FakeLemmy.CatsPost }));
        Assert.Equal(HttpStatusCode.OK, comment.StatusCode);
        Assert.Equal("""{"content":"you *removed* fool, *removed*","post_id":100}""", Assert.Single(lemmy.Writes).Body);

        var post = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "post", new { name = "what the heck", community_id = FakeLemmy.Cats, body = "fine" }));
        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        Assert.Equal("""{"error":"slurs"}""", await post.Content.ReadAsStringAsync()); // the words stay secret

        var settings = await gw.Client.SendAsync(Request(HttpMethod.Put, version, version == 4 ? "account/settings/save" : "user/save_user_settings",
            new { display_name = "Heck Alice" }));
        Assert.Equal(HttpStatusCode.BadRequest, settings.StatusCode);

        var scam = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "comment", new { content = "free crypto", post_id = FakeLemmy.CatsPost }));
        Assert.Equal("Scams are not allowed here.", JsonDocument.Parse(await scam.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        Assert.Single(lemmy.Writes);
    }

    [Theory]
    [InlineData("darn it", 0, 4, "*removed* it")]
    [InlineData("a b c", 0, 1, "*removed* b c")]
    [InlineData("overlap here", 0, 4, "*removed*lap here")]
    public void Remove_MergesOverlappingRanges(string text, int start, int end, string expected)
    {
        var ranges = new List<(int, int)> { (start, end) };
        if (text == "overlap here")
        {
            ranges.Add((2, 4)); // inside the first: replaced once
        }

        Assert.Equal(expected, LemmySlurs.Remove(text, ranges));
    }
}
