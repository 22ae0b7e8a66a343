using Gateway.Protocols.Lemmy;

namespace Gateway.Tests.Lemmy;

/// <summary>The route table the adapter inspects, from LemmyNet/lemmy's v3 and v4 route definitions.</summary>
public sealed class LemmyPathTests
{
    [Theory]
    [InlineData("POST", "/api/v3/post", "Post", 3, false)]
    [InlineData("PUT", "/api/v3/post", "Post", 3, true)]
    [InlineData("PUT", "/api/v4/post/", "Post", 4, true)]
    [InlineData("POST", "/api/v4/comment", "Comment", 4, false)]
    [InlineData("PUT", "/api/v3/private_message", "PrivateMessage", 3, true)]
    [InlineData("POST", "/api/v4/community", "Community", 4, false)]
    [InlineData("PUT", "/api/v3/user/save_user_settings", "UserSettings", 3, true)]
    [InlineData("PUT", "/api/v4/account/settings/save", "UserSettings", 4, true)]
    [InlineData("POST", "/api/v3/community/mod", "CommunityMod", 3, false)]
    [InlineData("GET", "/api/v3/post", "Other", 0, false)]
    [InlineData("POST", "/api/v3/post/like", "Other", 0, false)]
    [InlineData("PUT", "/api/v4/user/save_user_settings", "Other", 0, false)] // 0.19's path is gone in 1.0
    [InlineData("PUT", "/api/v3/account/settings/save", "Other", 0, false)]
    [InlineData("POST", "/api/v3/user/login", "Other", 0, false)]
    [InlineData("POST", "/inbox", "Other", 0, false)]
    [InlineData("POST", "/api/v2/post", "Other", 0, false)]
    public void Parse_RealRoutes_KindVersionAndEdit(string method, string path, string kind, int version, bool edit)
    {
        var parsed = LemmyPath.Parse(method, path);

        Assert.Equal(kind, parsed.Kind.ToString());
        Assert.Equal(version, parsed.Version);
        Assert.Equal(edit, parsed.IsEdit);
    }
}
