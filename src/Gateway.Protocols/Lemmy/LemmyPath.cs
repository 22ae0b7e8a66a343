namespace Gateway.Protocols.Lemmy;

/// <summary>What a Lemmy client API request does, as far as the filters care.</summary>
internal enum LemmyRequestKind
{
    Other = 0,
    Post,
    Comment,
    PrivateMessage,
    Community,
    UserSettings,

    /// <summary>A moderator added or removed: the community's cached moderators are forgotten.</summary>
    CommunityMod,

    /// <summary>A user's report (<c>{comment_id|post_id|private_message_id|community_id, reason}</c>).</summary>
    CommentReport,
    PostReport,
    PrivateMessageReport,
    CommunityReport,
}

/// <summary>
/// The Lemmy routes that carry text, on the 0.19 API (<c>/api/v3</c>) and Lemmy 1.0's (<c>/api/v4</c>), from
/// LemmyNet/lemmy <c>crates/api/routes/src/lib.rs</c> and <c>crates/api/routes_v3/src/lib.rs</c>.
/// </summary>
internal readonly record struct LemmyPath(LemmyRequestKind Kind, int Version, bool IsEdit)
{
    public static readonly LemmyPath None = new(LemmyRequestKind.Other, 0, false);

    /// <summary>The API prefix this request used, for look-ups made on the sender's behalf.</summary>
    public string Prefix => Version == 4 ? "api/v4/" : "api/v3/";

    public bool IsReport => Kind is LemmyRequestKind.CommentReport or LemmyRequestKind.PostReport
        or LemmyRequestKind.PrivateMessageReport or LemmyRequestKind.CommunityReport;

    public static LemmyPath Parse(string method, string path)
    {
        var post = HttpMethodIs(method, "POST");
        var put = HttpMethodIs(method, "PUT");
        if (!post && !put)
        {
            return None;
        }

        int version;
        ReadOnlySpan<char> rest;
        if (path.StartsWith("/api/v3/", StringComparison.Ordinal))
        {
            version = 3;
            rest = path.AsSpan(8);
        }
        else if (path.StartsWith("/api/v4/", StringComparison.Ordinal))
        {
            version = 4;
            rest = path.AsSpan(8);
        }
        else
        {
            return None;
        }

        rest = rest.TrimEnd('/');
        var kind = rest switch
        {
            "post" => LemmyRequestKind.Post,
            "comment" => LemmyRequestKind.Comment,
            "private_message" => LemmyRequestKind.PrivateMessage,
            "community" => LemmyRequestKind.Community,
            "user/save_user_settings" when version == 3 && put => LemmyRequestKind.UserSettings,
            "account/settings/save" when version == 4 && put => LemmyRequestKind.UserSettings,
            "community/mod" when post => LemmyRequestKind.CommunityMod,
            "comment/report" when post => LemmyRequestKind.CommentReport,
            "post/report" when post => LemmyRequestKind.PostReport,
            "private_message/report" when post => LemmyRequestKind.PrivateMessageReport,
            "community/report" when post && version == 4 => LemmyRequestKind.CommunityReport,
            _ => LemmyRequestKind.Other,
        };
        return kind == LemmyRequestKind.Other ? None : new LemmyPath(kind, version, put);
    }

    private static bool HttpMethodIs(string method, string expected) => string.Equals(method, expected, StringComparison.OrdinalIgnoreCase);
}
