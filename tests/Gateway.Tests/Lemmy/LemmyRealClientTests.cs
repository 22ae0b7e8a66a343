using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Lemmy;

/// <summary>
/// lemmy-js-client 0.19.9 — the library lemmy-ui and most apps are built on — through the gateway to
/// <see cref="FakeLemmy"/>: what a user of those clients sees for each verdict.
/// </summary>
public sealed class LemmyRealClientTests
{
    private static string Config(string lemmyUrl) => $$"""
        [[backends]]
        name = "lemmy"
        protocol = "lemmy"
        upstreams = ["{{lemmyUrl}}"]

        [[filters]]
        name = "profanity"
        keywords = ["darn", "heck"]
        fields = ["body", "title", "display_name"] # filters read bodies only unless told

        [[filters]]
        name = "spam-links"
        action = "drop"
        keywords = ["*spamshop.example*"]

        [[filters]]
        name = "scams"
        action = "reject"
        notice = "Scams are not allowed here."
        keywords = ["free crypto"]
        """;

    [Theory]
    [InlineData("header")]
    [InlineData("cookie")]
    public async Task JsClient_LoginPostCommentPmEdit_EachVerdictAsTheUserSeesIt(string auth)
    {
        await using var lemmy = await FakeLemmy.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(lemmy.Url));
        var api = gw.Client.BaseAddress!.AbsoluteUri.TrimEnd('/');

        var run = await LemmyClient.RunAsync(api, "alice", "alice-pw", auth,
            "login",
            "post", FakeLemmy.Cats.ToString(), "What the heck", "darn cats",
            "comment", FakeLemmy.CatsPost.ToString(), "visit spamshop.example",
            "edit-comment", FakeLemmy.CatsComment.ToString(), "oh heck",
            "settings", "Heck Alice", "bio",
            "pm", FakeLemmy.Bob.ToString(), "FREE crypto for you");

        Assert.Equal(1, run.ExitCode); // the last step, the PM, is refused
        var post = Assert.Single(run.Steps("post"));
        Assert.Equal("What the ****", post.GetProperty("name").GetString()); // the censored text comes back from Lemmy
        Assert.Equal("**** cats", post.GetProperty("body").GetString());
        var comment = Assert.Single(run.Steps("comment"));
        Assert.Equal("visit spamshop.example", comment.GetProperty("content").GetString()); // dropped: looks posted
        Assert.Equal("oh ****", Assert.Single(run.Steps("edit-comment")).GetProperty("content").GetString());
        Assert.True(Assert.Single(run.Steps("settings")).GetProperty("success").GetBoolean());
        var pm = Assert.Single(run.Steps("pm"));
        Assert.Equal("Scams are not allowed here.", pm.GetProperty("error").GetString()); // the Error's message
        Assert.Contains(lemmy.Writes, w => w.Path == "/api/v3/user/save_user_settings" && w.Body.Contains("\"display_name\":\"**** Alice\"", StringComparison.Ordinal));
        Assert.DoesNotContain(lemmy.Writes, w => w.Body.Contains("spamshop", StringComparison.Ordinal) || w.Body.Contains("crypto", StringComparison.Ordinal));
    }
}
