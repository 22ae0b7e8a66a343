using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Configuration;
using Gateway.Policy.Rules;
using Gateway.Protocols.Lemmy;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Lemmy;

/// <summary>
/// lemmy-automoderator rule files (<c>automod_rules</c>): every example rule of the bot's Moderation wiki page loaded
/// verbatim, and submissions through the gateway refused with the rule's message before Lemmy sees them.
/// </summary>
public sealed class LemmyAutomodTests
{
    // The wiki's comment examples, verbatim (pizza; Bad words; Prequel posting), as one array.
    internal const string WikiComments = """
        [
        {
            "rule": "comment",
            "community": "memes",
            "match": "pizza",
            "type": "exact",
            "whitelist_exempt": false,
            "mod_exempt": false,
            "message": "Your comment has been removed because discussions about pizza are prohibited in this community",
            "removal_reason": "Said the word 'pizza'"
        },
        {
            "rule": "comment",
            "community": "general",
            "match": "/stink|fudge/",
            "type": "regex",
            "whitelist_exempt": true,
            "mod_exempt": false,
            "message": "Watch your language!",
            "removal_reason": null
        },
        {
            "rule": "comment",
            "community": "starwars",
            "match": "/high ground/i",
            "type": "regex",
            "whitelist_exempt": false,
            "mod_exempt": true,
            "message": null,
            "removal_reason": null
        }
        ]
        """;

    // The wiki's post examples, verbatim (pizza title; multiple fields; Discord link; Bad word), as one array.
    internal const string WikiPosts = """
        [
        {
            "rule": "post",
            "community": "memes",
            "field": "title",
            "type": "exact",
            "match": "pizza",
            "whitelist_exempt": false,
            "mod_exempt": false,
            "message": "Your post has been removed because discussions about pizza are prohibited in this community",
            "removal_reason": "Said the word 'pizza'"
        },
        {
            "rule": "post",
            "community": "general",
            "field": "body+title+link",
            "type": "exact",
            "match": "cat",
            "whitelist_exempt": false,
            "mod_exempt": false,
            "message": null,
            "removal_reason": null
        },
        {
            "rule": "post",
            "community": "general",
            "field": "link",
            "type": "exact",
            "match": "discord",
            "whitelist_exempt": true,
            "mod_exempt": true,
            "message": "To avoid spam, Discord links are automatically removed",
            "removal_reason": "Contained a Discord link"
        },
        {
            "rule": "post",
            "community": "general",
            "field": "title+body",
            "type": "regex",
            "match": "/frick/i",
            "whitelist_exempt": false,
            "mod_exempt": false,
            "message": "Watch your language!",
            "removal_reason": null
        }
        ]
        """;

    // The bot's exception schema (src/schemas/exception.json): bob is whitelisted in c/general; $schema is ignored.
    internal const string Exceptions = """
        {
            "$schema": "https://raw.githubusercontent.com/basedcount/lemmy-automoderator/main/schemas/exception.json",
            "rule": "exception",
            "community": "general",
            "user_actor_id": "http://lemmy.test/u/bob"
        }
        """;

    private static string Config(string lemmyUrl, string action = "reject") => $$"""
        [[backends]]
        name = "lemmy"
        protocol = "lemmy"
        upstreams = ["{{lemmyUrl}}"]
          [backends.lemmy]
          instance = "lemmy.test"
          automod_rules = ["automod/comment.json", "automod/post.json", "automod/exception.json"]
          automod_action = "{{action}}"
        """;

    private static Dictionary<string, string> Files() => new()
    {
        ["automod/comment.json"] = WikiComments,
        ["automod/post.json"] = WikiPosts,
        ["automod/exception.json"] = Exceptions,
    };

    private static ConfigLoadResult Load(string toml, Dictionary<string, string> files)
    {
        var dir = Path.Combine(Path.GetTempPath(), "lemmy-automod-" + Guid.NewGuid().ToString("N"));
        foreach (var (name, text) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, name))!);
            File.WriteAllText(Path.Combine(dir, name), text);
        }

        File.WriteAllText(Path.Combine(dir, "gateway.toml"), toml);
        try
        {
            return ConfigLoader.LoadFile(Path.Combine(dir, "gateway.toml"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void WikiExamples_LoadVerbatim_IntoScopedFilters()
    {
        var result = Load(Config("http://127.0.0.1:8536"), Files());

        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var automod = result.Config!.Filters.Where(f => f.Name.StartsWith("lemmy/automod:", StringComparison.Ordinal)).ToArray();
        Assert.Equal(7, automod.Length);
        Assert.All(automod, f => Assert.Equal(new[] { "lemmy" }, f.Backends));
        Assert.All(automod, f => Assert.Equal(FilterAction.Reject, f.Action));

        var pizza = automod[0];
        Assert.Equal("lemmy/automod:automod/comment.json#1 (Said the word 'pizza')", pizza.Name);
        Assert.Equal(new[] { "memes" }, pizza.Rooms);
        Assert.True(pizza.CaseSensitive);
        Assert.False(pizza.Normalize);
        Assert.False(pizza.ExemptModerators);

        var badWords = automod[1];
        Assert.Equal(new[] { "stink|fudge" }, badWords.Regexes);
        Assert.Equal(new[] { "http://lemmy.test/u/bob", "bob" }, badWords.ExemptUsers);
        Assert.Equal("Watch your language!", badWords.Notice);

        var prequel = automod[2];
        Assert.False(prequel.CaseSensitive);
        Assert.True(prequel.ExemptModerators);
        Assert.Null(prequel.Notice);

        Assert.Equal(FieldSet.Title, automod[3].Fields);
        Assert.Equal(FieldSet.Title | FieldSet.Body | FieldSet.Link, automod[4].Fields);
        Assert.Equal(FieldSet.Link, automod[5].Fields);
        Assert.Equal(new[] { "http://lemmy.test/u/bob", "bob" }, automod[5].ExemptUsers);
        Assert.Equal(FieldSet.Title | FieldSet.Body, automod[6].Fields);
        Assert.Empty(automod[6].ExemptUsers); // whitelist_exempt = false: bob's exception does not lift it
    }

    [Theory]
    [InlineData("/high ground/i", "high ground", false)]
    [InlineData("/stink|fudge/", "stink|fudge", true)]
    [InlineData("stink|fudge", "stink|fudge", true)]
    [InlineData("/^rule$/mi", "(?m)^rule$", false)]
    [InlineData("/a.b/su", "(?s)a.b", true)]
    public void TryJsRegex_BareAndSlashForms_BecomeDotNetPatterns(string match, string pattern, bool caseSensitive)
    {
        Assert.True(LemmyAutomod.TryJsRegex(match, out var p, out var cs, out _));
        Assert.Equal(pattern, p);
        Assert.Equal(caseSensitive, cs);
    }

    [Theory]
    [InlineData("title", FieldSet.Title)]
    [InlineData("link+body", FieldSet.Link | FieldSet.Body)]
    [InlineData("body+link+title", FieldSet.All & ~FieldSet.DisplayName)]
    public void TryFields_Combinations_AreEveryNamedField(string field, FieldSet expected)
    {
        Assert.True(LemmyAutomod.TryFields(field, out var fields));
        Assert.Equal(expected, fields);
    }

    [Theory]
    [InlineData("""{"rule":"mention","command":"!pin","action":"pin","community":"memes","message":null}""", "mention rules are bot commands")]
    [InlineData("""{"rule":"comment","community":"memes","match":"/(a)\\1/","type":"regex","whitelist_exempt":false,"mod_exempt":false,"message":null,"removal_reason":null}""", "/(a)\\1/")]
    [InlineData("""{"rule":"comment","community":"memes","match":"/x/q","type":"regex","whitelist_exempt":false,"mod_exempt":false,"message":null,"removal_reason":null}""", "flag 'q'")]
    [InlineData("""{"rule":"post","community":"memes","match":"x","type":"exact","whitelist_exempt":false,"mod_exempt":false,"message":null,"removal_reason":null}""", "missing field")]
    [InlineData("""{"rule":"post","community":"memes","field":"title+title","match":"x","type":"exact","whitelist_exempt":false,"mod_exempt":false,"message":null,"removal_reason":null}""", "field must be")]
    [InlineData("""{"rule":"comment","community":"memes","match":"","type":"exact","whitelist_exempt":false,"mod_exempt":false,"message":null,"removal_reason":null}""", "match is empty")]
    [InlineData("""{"rule":"comment","community":"memes","match":"x","type":"fuzzy","whitelist_exempt":false,"mod_exempt":false,"message":null,"removal_reason":null}""", "type must be")]
    [InlineData("[{\"rule\":\"comment\"", "not valid JSON")]
    public void BadRule_IsAConfigError_NamingFileAndRule(string json, string expected)
    {
        var result = Load("""
            [[backends]]
            name = "lemmy"
            protocol = "lemmy"
            upstreams = ["http://127.0.0.1:8536"]
              [backends.lemmy]
              automod_rules = ["rules.json"]
            """, new Dictionary<string, string> { ["rules.json"] = json });

        Assert.False(result.Ok);
        var error = Assert.Single(result.Errors).ToString();
        Assert.Contains("backends[0].lemmy.automod_rules", error, StringComparison.Ordinal);
        Assert.Contains("rules.json", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    private static HttpRequestMessage Request(int version, string route, long user, object body) => new(HttpMethod.Post, $"/api/v{version}/{route}")
    {
        Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", FakeLemmy.Jwt(user)) },
    };

    private static async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(GatewayHost gw, int version, string route, long user, object body)
    {
        using var response = await gw.Client.SendAsync(Request(version, route, user, body));
        return (response.StatusCode, (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Comment_MatchingWikiRule_RejectedWithTheRulesMessage(int version)
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(lemmy.Url), Files());

        var (status, body) = await SendAsync(gw, version, "comment", FakeLemmy.Alice, new { content = "who wants pizza tonight", post_id = FakeLemmy.MemesPost });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Your comment has been removed because discussions about pizza are prohibited in this community", body["error"]!.GetValue<string>());
        Assert.DoesNotContain(lemmy.Writes, w => w.Path.EndsWith("/comment", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Comment_ExactRule_IsACaseSensitiveSubstringOfTheRawText()
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(lemmy.Url), Files());

        // "Pizza" is not "pizza" (the wiki: exact is case-sensitive); "pizzas" contains "pizza" (a substring, not a word).
        var (capital, _) = await SendAsync(gw, 3, "comment", FakeLemmy.Alice, new { content = "Pizza is fine", post_id = FakeLemmy.MemesPost });
        var (plural, _) = await SendAsync(gw, 3, "comment", FakeLemmy.Alice, new { content = "two pizzas", post_id = FakeLemmy.MemesPost });
        var (elsewhere, _) = await SendAsync(gw, 3, "comment", FakeLemmy.Alice, new { content = "pizza", post_id = FakeLemmy.CatsPost });

        Assert.Equal(HttpStatusCode.OK, capital);
        Assert.Equal(HttpStatusCode.BadRequest, plural);
        Assert.Equal(HttpStatusCode.OK, elsewhere); // the rule names c/memes only
    }

    [Fact]
    public async Task Rules_ModExemptAndWhitelist_FollowTheBotsSemantics()
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(lemmy.Url), Files());

        // Prequel posting: case-insensitive, moderators exempt, no message (the default notice).
        var (alice, aliceBody) = await SendAsync(gw, 3, "comment", FakeLemmy.Alice, new { content = "I have the HIGH GROUND", post_id = FakeLemmy.StarwarsPost });
        var (mod, _) = await SendAsync(gw, 3, "comment", FakeLemmy.Mod, new { content = "I have the high ground", post_id = FakeLemmy.StarwarsPost });
        // Bad words: moderators are not exempt, whitelisted users (bob, by the exception rule) are.
        var (modSwears, _) = await SendAsync(gw, 3, "comment", FakeLemmy.Mod, new { content = "what a stink", post_id = FakeLemmy.GeneralPost });
        var (bobSwears, _) = await SendAsync(gw, 3, "comment", FakeLemmy.Bob, new { content = "what a stink", post_id = FakeLemmy.GeneralPost });

        Assert.Equal(HttpStatusCode.BadRequest, alice);
        Assert.Equal(LemmyAdapter.DefaultRejectMessage, aliceBody["error"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, mod);
        Assert.Equal(HttpStatusCode.BadRequest, modSwears);
        Assert.Equal(HttpStatusCode.OK, bobSwears);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Post_TitlePlusBodyRule_MatchesEitherField(int version)
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(lemmy.Url), Files());

        var (inTitle, titleBody) = await SendAsync(gw, version, "post", FakeLemmy.Alice, new { name = "Frick this", community_id = FakeLemmy.General });
        var (inBody, _) = await SendAsync(gw, version, "post", FakeLemmy.Alice, new { name = "A question", body = "what the FRICK", community_id = FakeLemmy.General });
        var (clean, _) = await SendAsync(gw, version, "post", FakeLemmy.Alice, new { name = "A question", body = "how are you", community_id = FakeLemmy.General });

        Assert.Equal(HttpStatusCode.BadRequest, inTitle);
        Assert.Equal("Watch your language!", titleBody["error"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, inBody);
        Assert.Equal(HttpStatusCode.OK, clean);
        Assert.Single(lemmy.Writes, w => w.Path.EndsWith("/post", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PostAndCommentRules_DoNotCrossOver()
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(lemmy.Url), Files());

        // c/memes: "pizza" is banned in comments and in post titles, not in post bodies.
        var (postBody, _) = await SendAsync(gw, 3, "post", FakeLemmy.Alice, new { name = "Dinner", body = "pizza again", community_id = FakeLemmy.Memes });
        var (postTitle, titleBody) = await SendAsync(gw, 3, "post", FakeLemmy.Alice, new { name = "pizza again", community_id = FakeLemmy.Memes });
        // c/general: "cat" is banned in posts (every field), not in comments.
        var (comment, _) = await SendAsync(gw, 3, "comment", FakeLemmy.Alice, new { content = "my cat agrees", post_id = FakeLemmy.GeneralPost });
        var (link, _) = await SendAsync(gw, 3, "post", FakeLemmy.Alice, new { name = "Look", url = "https://catpics.example/1", community_id = FakeLemmy.General });

        Assert.Equal(HttpStatusCode.OK, postBody);
        Assert.Equal(HttpStatusCode.BadRequest, postTitle);
        Assert.Equal("Your post has been removed because discussions about pizza are prohibited in this community", titleBody["error"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, comment);
        Assert.Equal(HttpStatusCode.BadRequest, link);
    }

    [Fact]
    public async Task Edit_IntroducingAMatch_IsRefusedToo()
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(lemmy.Url), Files());

        using var response = await gw.Client.SendAsync(new HttpRequestMessage(HttpMethod.Put, "/api/v3/post")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { post_id = FakeLemmy.GeneralPost, url = "https://discord.gg/xyz" }), Encoding.UTF8, "application/json"),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", FakeLemmy.Jwt(FakeLemmy.Alice)) },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        // The multi-field "cat" rule comes first in the file and does not match; the Discord rule decides.
        Assert.Contains("Discord links are automatically removed", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ActionDrop_AnswersAPlausibleCommentAndForwardsNothing()
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(lemmy.Url, action: "drop"), Files());

        var (status, body) = await SendAsync(gw, 3, "comment", FakeLemmy.Alice, new { content = "pizza time", post_id = FakeLemmy.MemesPost });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("pizza time", body["comment_view"]!["comment"]!["content"]!.GetValue<string>());
        Assert.DoesNotContain(lemmy.Writes, w => w.Path.EndsWith("/comment", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RuleFile_Edited_IsReloaded()
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(lemmy.Url), Files(), watch: true);
        var state = gw.Service<Gateway.Runtime.GatewayState>();
        var before = state.Current.Version;

        await File.WriteAllTextAsync(Path.Combine(gw.Directory, "automod/comment.json"),
            WikiComments.Replace("\"match\": \"pizza\"", "\"match\": \"pineapple\"", StringComparison.Ordinal));
        for (var i = 0; i < 100 && state.Current.Version == before; i++)
        {
            await Task.Delay(100); // the file watcher has no event to await from outside the gateway
        }

        Assert.NotEqual(before, state.Current.Version);
        var (pizza, _) = await SendAsync(gw, 3, "comment", FakeLemmy.Alice, new { content = "pizza", post_id = FakeLemmy.MemesPost });
        var (pineapple, _) = await SendAsync(gw, 3, "comment", FakeLemmy.Alice, new { content = "pineapple", post_id = FakeLemmy.MemesPost });
        Assert.Equal(HttpStatusCode.OK, pizza);
        Assert.Equal(HttpStatusCode.BadRequest, pineapple);
    }
}
