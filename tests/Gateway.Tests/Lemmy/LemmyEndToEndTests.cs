using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Lemmy;

/// <summary>
/// The gateway in front of <see cref="FakeLemmy"/> with <c>protocol = "lemmy"</c>: posts, comments, private messages,
/// communities and profiles on 0.19's /api/v3 and 1.0's /api/v4, each verdict answered in Lemmy's own shapes.
/// </summary>
public sealed class LemmyEndToEndTests
{
    public static TheoryData<int> Versions => new() { 3, 4 };

    private static string Config(string lemmyUrl) => $$"""
        [[backends]]
        name = "lemmy"
        protocol = "lemmy"
        upstreams = ["{{lemmyUrl}}"]
          [backends.lemmy]
          token_cache_seconds = 60
          community_cache_seconds = 300

        [[filters]]
        name = "profanity"
        keywords = ["darn", "heck"]
        fields = ["body", "title", "display_name"]

        [[filters]]
        name = "spam-links"
        action = "drop"
        keywords = ["*spamshop.example*", "buy followers"]
        fields = ["body", "link"]

        [[filters]]
        name = "scams"
        action = "reject"
        notice = "Scams are not allowed here."
        keywords = ["free crypto"]

        [[filters]]
        name = "no-elections"
        action = "reject"
        notice = "Election talk belongs in c/politics only on Fridays."
        keywords = ["ballot"]
        rooms = ["pol*"]
        """;

    private static async Task<(FakeLemmy Lemmy, GatewayHost Gateway)> StartAsync(TimeProvider? time = null)
    {
        var lemmy = await FakeLemmy.StartAsync();
        var gw = await GatewayHost.StartAsync(Config(lemmy.Url),
            configure: time is null ? null : (Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>)(b => b.Services.AddSingleton(time)));
        return (lemmy, gw);
    }

    private static HttpRequestMessage Request(HttpMethod method, int version, string route, long user, object body, bool cookie = false)
    {
        var request = new HttpRequestMessage(method, $"/api/v{version}/{route}")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        if (cookie)
        {
            request.Headers.Add("Cookie", "jwt=" + FakeLemmy.Jwt(user));
        }
        else
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FakeLemmy.Jwt(user));
        }

        return request;
    }

    private static JsonObject LastWrite(FakeLemmy lemmy) => (JsonObject)JsonNode.Parse(lemmy.Writes.Last().Body)!;

    private static async Task<JsonObject> Json(HttpResponseMessage response) => (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task CreatePost_CensoredTitleAndBody_OnlyThoseStringsAreRewritten(int version)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var response = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "post", FakeLemmy.Alice,
            new { name = "What the heck", community_id = FakeLemmy.Cats, body = "darn cats", url = "https://example.org/cat", nsfw = false }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = Assert.Single(lemmy.Writes);
        Assert.Equal(
            """{"name":"What the ****","community_id":10,"body":"**** cats","url":"https://example.org/cat","nsfw":false}""",
            sent.Body);
        Assert.Equal("What the ****", (await Json(response))["post_view"]!["post"]!["name"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task CreateComment_Dropped_AnswersACommentViewAndNothingReachesLemmy(int version)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var response = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "comment", FakeLemmy.Alice,
            new { content = "visit spamshop.example today", post_id = FakeLemmy.CatsPost }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(lemmy.Writes);
        var json = await Json(response);
        var comment = json["comment_view"]!["comment"]!;
        Assert.Equal("visit spamshop.example today", comment["content"]!.GetValue<string>());
        Assert.Equal(FakeLemmy.CatsPost, comment["post_id"]!.GetValue<long>());
        Assert.Equal("0." + comment["id"]!.GetValue<long>(), comment["path"]!.GetValue<string>());
        Assert.Equal("alice", json["comment_view"]!["creator"]!["name"]!.GetValue<string>());
        Assert.Equal("cats", json["comment_view"]!["community"]!["name"]!.GetValue<string>());
        Assert.NotNull(json["recipient_ids"]);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task PrivateMessage_Rejected_400WithTheNoticeInError(int version)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var response = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "private_message", FakeLemmy.Alice,
            new { content = "want some FREE crypto?", recipient_id = FakeLemmy.Bob }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(lemmy.Writes);
        var json = await Json(response);
        Assert.Equal("Scams are not allowed here.", json["error"]!.GetValue<string>()); // what lemmy-js-client throws
        Assert.Equal("Scams are not allowed here.", json["message"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task PrivateMessage_Dropped_AnswersAPrivateMessageViewNamingTheRecipient(int version)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var response = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "private_message", FakeLemmy.Alice,
            new { content = "buy followers here", recipient_id = FakeLemmy.Bob }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(lemmy.Writes);
        var view = (await Json(response))["private_message_view"]!;
        Assert.Equal("buy followers here", view["private_message"]!["content"]!.GetValue<string>());
        Assert.Equal("bob", view["recipient"]!["name"]!.GetValue<string>());
        Assert.Equal(FakeLemmy.Alice, view["creator"]!["id"]!.GetValue<long>());
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task EditPost_IntroducingAKeyword_IsCensoredAndTheCommunityIsFoundFromThePost(int version)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var edit = await gw.Client.SendAsync(Request(HttpMethod.Put, version, "post", FakeLemmy.Alice,
            new { post_id = FakeLemmy.PoliticsPost, body = "what the heck, here is my ballot" }));

        // The edit is in c/politics (looked up from the post): the room-scoped reject wins over the censor.
        Assert.Equal(HttpStatusCode.BadRequest, edit.StatusCode);
        Assert.Equal("Election talk belongs in c/politics only on Fridays.", (await Json(edit))["error"]!.GetValue<string>());

        var clean = await gw.Client.SendAsync(Request(HttpMethod.Put, version, "post", FakeLemmy.Alice,
            new { post_id = FakeLemmy.CatsPost, body = "what the heck, here is my ballot" }));
        Assert.Equal(HttpStatusCode.OK, clean.StatusCode);
        Assert.Equal("what the ****, here is my ballot", LastWrite(lemmy)["body"]!.GetValue<string>());
        await gw.Client.SendAsync(Request(HttpMethod.Put, version, "post", FakeLemmy.Alice, new { post_id = FakeLemmy.CatsPost, body = "again" }));
        Assert.Equal(2, lemmy.Reads.GetValueOrDefault($"/api/v{version}/post")); // one look-up per post, then cached
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task EditComment_IntroducingAKeyword_IsCensored(int version)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var response = await gw.Client.SendAsync(Request(HttpMethod.Put, version, "comment", FakeLemmy.Alice,
            new { comment_id = FakeLemmy.CatsComment, content = "darn it" }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"comment_id":200,"content":"**** it"}""", lemmy.Writes.Last().Body);
        Assert.Equal(1, lemmy.Reads.GetValueOrDefault($"/api/v{version}/comment"));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task CommunityScope_ByName_CommentInPoliticsRejectedSameTextInCatsForwarded(int version)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var politics = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "comment", FakeLemmy.Alice,
            new { content = "my ballot is in", post_id = FakeLemmy.PoliticsPost }));
        var cats = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "comment", FakeLemmy.Alice,
            new { content = "my ballot is in", post_id = FakeLemmy.CatsPost }));

        Assert.Equal(HttpStatusCode.BadRequest, politics.StatusCode);
        Assert.Equal(HttpStatusCode.OK, cats.StatusCode);
        Assert.Contains("my ballot is in", Assert.Single(lemmy.Writes).Body, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Moderator_ExemptInTheirCommunityOnly_AdminExemptEverywhere(int version)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var inCats = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "post", FakeLemmy.Mod,
            new { name = "heck of a cat", community_id = FakeLemmy.Cats }));
        Assert.Equal(HttpStatusCode.OK, inCats.StatusCode);
        Assert.Equal("heck of a cat", LastWrite(lemmy)["name"]!.GetValue<string>());

        var inPolitics = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "post", FakeLemmy.Mod,
            new { name = "heck of a vote", community_id = FakeLemmy.Politics }));
        Assert.Equal(HttpStatusCode.OK, inPolitics.StatusCode);
        Assert.Equal("**** of a vote", LastWrite(lemmy)["name"]!.GetValue<string>());

        var admin = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "post", FakeLemmy.Admin,
            new { name = "heck of a ballot", community_id = FakeLemmy.Politics }));
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
        Assert.Equal("heck of a ballot", LastWrite(lemmy)["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task ModeratorAddedThroughTheGateway_CachedModeratorsAreForgotten()
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        await gw.Client.SendAsync(Request(HttpMethod.Post, 3, "post", FakeLemmy.Alice, new { name = "heck yes", community_id = FakeLemmy.Cats }));
        Assert.Equal("**** yes", LastWrite(lemmy)["name"]!.GetValue<string>());

        var added = await gw.Client.SendAsync(Request(HttpMethod.Post, 3, "community/mod", FakeLemmy.Mod,
            new { community_id = FakeLemmy.Cats, person_id = FakeLemmy.Alice, added = true }));
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);

        await gw.Client.SendAsync(Request(HttpMethod.Post, 3, "post", FakeLemmy.Alice, new { name = "heck yes", community_id = FakeLemmy.Cats }));
        Assert.Equal("heck yes", LastWrite(lemmy)["name"]!.GetValue<string>());
        Assert.Equal(2, lemmy.Reads.GetValueOrDefault("/api/v3/community"));
    }

    [Fact]
    public async Task Sender_ResolvedOncePerToken_UntilTheCacheExpiresOnTheInjectedClock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (lemmy, gw) = await StartAsync(time);
        await using var _ = lemmy;
        await using var __ = gw;

        for (var i = 0; i < 3; i++)
        {
            await gw.Client.SendAsync(Request(HttpMethod.Post, 3, "comment", FakeLemmy.Alice, new { content = "hello", post_id = FakeLemmy.CatsPost }, cookie: i == 1));
        }

        Assert.Equal(1, lemmy.Reads.GetValueOrDefault("/api/v3/site"));
        time.Advance(TimeSpan.FromSeconds(61));
        await gw.Client.SendAsync(Request(HttpMethod.Post, 3, "comment", FakeLemmy.Alice, new { content = "hello", post_id = FakeLemmy.CatsPost }));
        Assert.Equal(2, lemmy.Reads.GetValueOrDefault("/api/v3/site"));
        Assert.Equal(4, lemmy.Writes.Count);
    }

    [Fact]
    public async Task JwtCookie_IdentifiesTheSenderLikeTheHeader()
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        // The moderator, by cookie, is exempt in c/cats: the sender was resolved from the cookie's JWT.
        var response = await gw.Client.SendAsync(Request(HttpMethod.Post, 3, "post", FakeLemmy.Mod,
            new { name = "heck of a cat", community_id = FakeLemmy.Cats }, cookie: true));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("heck of a cat", LastWrite(lemmy)["name"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(3, "user/save_user_settings")]
    [InlineData(4, "account/settings/save")]
    public async Task SaveUserSettings_DisplayNameAndBioCensored(int version, string route)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var response = await gw.Client.SendAsync(Request(HttpMethod.Put, version, route, FakeLemmy.Alice,
            new { display_name = "Heck Alice", bio = "I say darn a lot", show_nsfw = false }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"display_name":"**** Alice","bio":"I say **** a lot","show_nsfw":false}""", lemmy.Writes.Last().Body);
    }

    [Theory]
    [InlineData(3, "description")]
    [InlineData(4, "sidebar")]
    [InlineData(4, "summary")]
    public async Task Community_CreateTitleAndDescriptionCensored_EditInScopeRejected(int version, string descriptionKey)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var create = await gw.Client.SendAsync(Request(HttpMethod.Post, version, "community", FakeLemmy.Alice,
            new Dictionary<string, object> { ["name"] = "dogs", ["title"] = "Heck dogs", [descriptionKey] = "darn good dogs" }));
        Assert.Equal(HttpStatusCode.OK, create.StatusCode);
        var sent = LastWrite(lemmy);
        Assert.Equal("**** dogs", sent["title"]!.GetValue<string>());
        Assert.Equal("**** good dogs", sent[descriptionKey]!.GetValue<string>());

        var edit = await gw.Client.SendAsync(Request(HttpMethod.Put, version, "community", FakeLemmy.Alice,
            new Dictionary<string, object> { ["community_id"] = FakeLemmy.Politics, [descriptionKey] = "ballot box" }));
        Assert.Equal(HttpStatusCode.BadRequest, edit.StatusCode);
    }

    [Fact]
    public async Task MalformedJson_Answers400WithLemmyErrorShape_AndNothingIsForwarded()
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v3/comment") { Content = new StringContent("{\"content\":", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FakeLemmy.Jwt(FakeLemmy.Alice));
        var response = await gw.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("couldnt_parse_json", (await Json(response))["error"]!.GetValue<string>());
        Assert.Empty(lemmy.Writes);
    }

    [Fact]
    public async Task ReadsAndLogin_PassThroughUntouched()
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var login = await gw.Client.PostAsync("/api/v3/user/login",
            new StringContent("""{"username_or_email":"alice","password":"alice-pw"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Equal(FakeLemmy.Jwt(FakeLemmy.Alice), (await Json(login))["jwt"]!.GetValue<string>());

        var unauth = await gw.Client.PostAsync("/api/v3/comment",
            new StringContent("""{"content":"darn","post_id":100}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, unauth.StatusCode);
        Assert.Equal("not_logged_in", (await Json(unauth))["error"]!.GetValue<string>());
    }
}
