using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Lemmy;

/// <summary>
/// Lemmy's ActivityPub inboxes through the gateway: activities signed with real HTTP Signatures (rsa-sha256, as
/// Lemmy and Mastodon sign them) from allowed, silenced and suspended instances; the fake Lemmy verifies every
/// signature and digest, so what it accepts reached it byte for byte with its headers (Host included).
/// </summary>
public sealed class LemmyFederationTests
{
    private const string Public = "https://www.w3.org/ns/activitystreams#Public";

    private static readonly RSA GoodKey = Key("https://good.example/u/carol#main-key");
    private static readonly RSA QuietKey = Key("https://a.quiet.example/u/dan#main-key");
    private static readonly RSA EvilKey = Key("https://evil.example/u/eve#main-key");
    private static readonly RSA BannedKey = Key("https://banned.example/u/mal#main-key");

    private static RSA Key(string keyId) => FakeLemmy.RemoteKeys.GetOrAdd(keyId, _ => RSA.Create(2048));

    private static string Config(string lemmyUrl) => $$"""
        [[backends]]
        name = "lemmy"
        protocol = "lemmy"
        upstreams = ["{{lemmyUrl}}"]
          [backends.lemmy]
          instance = "lemmy.test"
            [backends.lemmy.federation]
            deny = ["evil.example"]
            silence = ["*.quiet.example"]

        [server_acl]
        allow = ["*"]
        deny = ["banned.example"]

        [[filters]]
        name = "scams"
        action = "reject"
        notice = "Scams are not allowed here."
        keywords = ["free crypto"]
        fields = ["body", "title"]

        [[filters]]
        name = "profanity"
        keywords = ["darn"]
        fields = ["body", "title"]

        [[filters]]
        name = "memes-only"
        action = "drop"
        keywords = ["pineapple"]
        rooms = ["memes"]
        """;

    private static string Note(string actorHost, string user, string text, string community = "memes") => $$$"""
        {"@context":["https://join-lemmy.org/context.json","https://www.w3.org/ns/activitystreams"],
         "id":"https://{{{actorHost}}}/activities/create/1","type":"Create","actor":"https://{{{actorHost}}}/u/{{{user}}}",
         "to":["{{{Public}}}"],"cc":["https://lemmy.test/c/{{{community}}}"],"audience":"https://lemmy.test/c/{{{community}}}",
         "object":{"id":"https://{{{actorHost}}}/comment/1","type":"Note","attributedTo":"https://{{{actorHost}}}/u/{{{user}}}",
           "to":["{{{Public}}}"],"cc":["https://lemmy.test/c/{{{community}}}"],"content":"<p>{{{text}}}</p>",
           "mediaType":"text/html","source":{"content":"{{{text}}}","mediaType":"text/markdown"},
           "inReplyTo":"https://lemmy.test/post/102","audience":"https://lemmy.test/c/{{{community}}}"}}
        """;

    private static string Follow(string actorHost, string user) => $$"""
        {"@context":"https://www.w3.org/ns/activitystreams","id":"https://{{actorHost}}/activities/follow/1","type":"Follow",
         "actor":"https://{{actorHost}}/u/{{user}}","object":"https://lemmy.test/c/memes","to":["https://lemmy.test/c/memes"]}
        """;

    private static async Task<(HttpStatusCode Status, string Body)> DeliverAsync(GatewayHost gw, string path, string json, string keyId, RSA key)
    {
        var body = Encoding.UTF8.GetBytes(json);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/activity+json");
        HttpSignature.Sign(request, body, "lemmy.test", keyId, key);
        using var response = await gw.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<(FakeLemmy, GatewayHost)> StartAsync()
    {
        var lemmy = await FakeLemmy.StartAsync();
        return (lemmy, await GatewayHost.StartAsync(Config(lemmy.Url)));
    }

    [Theory]
    [InlineData("/inbox")]
    [InlineData("/c/memes/inbox")]
    [InlineData("/u/alice/inbox")]
    public async Task AllowedInstance_SignedActivity_ReachesLemmyByteForByte(string path)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;
        var json = Note("good.example", "carol", "hello from afar");

        var (status, body) = await DeliverAsync(gw, path, json, "https://good.example/u/carol#main-key", GoodKey);

        Assert.True(status == HttpStatusCode.OK, $"{status} {body} bad signatures: {lemmy.BadSignatures} {lemmy.LastRefused} gw={gw.Client.BaseAddress} lemmy={lemmy.Url}");
        Assert.Equal("", body);
        var delivered = Assert.Single(lemmy.Inbox); // the fake verified signature and digest over what it received
        Assert.Equal(path, delivered.Path);
        Assert.Equal("lemmy.test", delivered.Host);
        Assert.Equal(Encoding.UTF8.GetBytes(json), delivered.Body);
        Assert.Equal(0, lemmy.BadSignatures);
    }

    [Fact]
    public async Task SuspendedInstance_IsRefusedAsLemmyRefusesABlockedDomain()
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var (status, body) = await DeliverAsync(gw, "/inbox", Note("evil.example", "eve", "hi"), "https://evil.example/u/eve#main-key", EvilKey);
        var (followStatus, _) = await DeliverAsync(gw, "/inbox", Follow("evil.example", "eve"), "https://evil.example/u/eve#main-key", EvilKey);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("""{"error":"domain_blocked","message":"evil.example"}""", body);
        Assert.Equal(HttpStatusCode.BadRequest, followStatus); // suspend refuses everything, follows included
        Assert.Empty(lemmy.Inbox);
    }

    [Fact]
    public async Task GatewayServerAcl_IsASuspensionToo()
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var (status, body) = await DeliverAsync(gw, "/inbox", Follow("banned.example", "mal"), "https://banned.example/u/mal#main-key", BannedKey);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("domain_blocked", body, StringComparison.Ordinal);
        Assert.Empty(lemmy.Inbox);
    }

    [Fact]
    public async Task SilencedInstance_ContentDroppedAsAccepted_FollowsStillDelivered()
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var (status, body) = await DeliverAsync(gw, "/inbox", Note("a.quiet.example", "dan", "hi all"), "https://a.quiet.example/u/dan#main-key", QuietKey);
        var (followStatus, _) = await DeliverAsync(gw, "/c/memes/inbox", Follow("a.quiet.example", "dan"), "https://a.quiet.example/u/dan#main-key", QuietKey);

        Assert.Equal(HttpStatusCode.OK, status); // what Lemmy answers an accepted activity: the sender does not retry
        Assert.Equal("", body);
        Assert.Equal(HttpStatusCode.OK, followStatus);
        var delivered = Assert.Single(lemmy.Inbox);
        Assert.Contains("\"Follow\"", Encoding.UTF8.GetString(delivered.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyIdOnAnotherInstanceThanTheActor_IsRefused()
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        // good.example signs an activity whose actor is on a.quiet.example: one instance vouching for another.
        var (status, body) = await DeliverAsync(gw, "/inbox", Note("a.quiet.example", "dan", "hi"), "https://good.example/u/carol#main-key", GoodKey);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not on the instance of the actor", body, StringComparison.Ordinal);
        Assert.Empty(lemmy.Inbox);
    }

    [Theory]
    [InlineData("get free crypto now", "Scams are not allowed here.")]
    [InlineData("well darn", null)] // censor cannot rewrite a signed body: the route's censor_fallback (reject)
    public async Task FederatedComment_HittingAFilter_IsRefusedNeverRewritten(string text, string? notice)
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var (status, body) = await DeliverAsync(gw, "/inbox", Note("good.example", "carol", text), "https://good.example/u/carol#main-key", GoodKey);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = JsonNode.Parse(body)!;
        Assert.Equal("unknown", error["error"]!.GetValue<string>());
        if (notice is not null)
        {
            Assert.Equal(notice, error["message"]!.GetValue<string>());
        }

        Assert.Empty(lemmy.Inbox);
    }

    [Fact]
    public async Task FederatedContent_CommunityScopedFilter_AppliesToTheAddressedLocalCommunity()
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;

        var (memes, memesBody) = await DeliverAsync(gw, "/inbox", Note("good.example", "carol", "pineapple pizza", "memes"), "https://good.example/u/carol#main-key", GoodKey);
        var (cats, _) = await DeliverAsync(gw, "/inbox", Note("good.example", "carol", "pineapple pizza", "cats"), "https://good.example/u/carol#main-key", GoodKey);

        Assert.Equal(HttpStatusCode.OK, memes); // dropped: answered as accepted
        Assert.Equal("", memesBody);
        Assert.Equal(HttpStatusCode.OK, cats);
        var delivered = Assert.Single(lemmy.Inbox);
        Assert.Contains("/c/cats", Encoding.UTF8.GetString(delivered.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnnouncedPageAndChatMessage_AreReadToo()
    {
        var (lemmy, gw) = await StartAsync();
        await using var _ = lemmy;
        await using var __ = gw;
        var announce = $$$"""
            {"id":"https://good.example/activities/announce/1","type":"Announce","actor":"https://good.example/c/news",
             "to":["{{{Public}}}"],"object":{"id":"https://good.example/activities/create/2","type":"Create",
               "actor":"https://good.example/u/carol","object":{"id":"https://good.example/post/1","type":"Page",
               "attributedTo":"https://good.example/u/carol","name":"Free crypto inside","content":"<p>see link</p>",
               "attachment":[{"type":"Link","href":"https://example.com/x"}]} } }
            """;
        var chat = """
            {"id":"https://good.example/activities/create/3","type":"Create","actor":"https://good.example/u/carol",
             "to":["https://lemmy.test/u/alice"],"object":{"id":"https://good.example/private_message/1","type":"ChatMessage",
               "attributedTo":"https://good.example/u/carol","to":["https://lemmy.test/u/alice"],"content":"<p>free <b>crypto</b> for you</p>"}}
            """;

        var (page, _) = await DeliverAsync(gw, "/inbox", announce, "https://good.example/c/news#main-key", GoodKey);
        var (pm, pmBody) = await DeliverAsync(gw, "/u/alice/inbox", chat, "https://good.example/u/carol#main-key", GoodKey);

        Assert.Equal(HttpStatusCode.BadRequest, page);
        Assert.Equal(HttpStatusCode.BadRequest, pm);
        Assert.Contains("Scams are not allowed here.", pmBody, StringComparison.Ordinal);
        Assert.Empty(lemmy.Inbox);
    }

    [Fact]
    public void FederationTable_BadGlobAndUnknownKey_AreConfigErrors()
    {
        var result = Gateway.Configuration.ConfigLoader.Load("""
            [[backends]]
            name = "lemmy"
            protocol = "lemmy"
            upstreams = ["http://127.0.0.1:8536"]
              [backends.lemmy.federation]
              silence = [""]
              limit = ["x"]
            """, "gateway.toml");

        Assert.False(result.Ok);
        Assert.Contains(result.Errors, e => e.ToString().Contains("lemmy.federation.silence", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.ToString().Contains("lemmy.federation.limit", StringComparison.Ordinal));
    }
}
