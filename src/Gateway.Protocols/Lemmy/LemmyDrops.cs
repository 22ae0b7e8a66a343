using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Policy.Model;

namespace Gateway.Protocols.Lemmy;

/// <summary>
/// The success bodies a dropped submission is answered with: the shapes lemmy-js-client and lemmy-ui read after a
/// create or edit (<c>PostResponse{post_view}</c>, <c>CommentResponse{comment_view, recipient_ids}</c>,
/// <c>PrivateMessageResponse{private_message_view}</c>, <c>CommunityResponse{community_view}</c>,
/// <c>SuccessResponse</c>), built from the request so the poster's client shows the item as they wrote it. Nothing is
/// stored anywhere: a reload shows it gone, and nobody else ever sees it.
/// </summary>
internal static class LemmyDrops
{
    public static byte[] Body(LemmyPath path, LemmyContent content, LemmySubmission who, DateTimeOffset now)
    {
        var published = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        var stamp = path.Version == 4 ? "published_at" : "published";
        var creator = Person(who.SenderId, who.SenderName, stamp, published);
        JsonObject root;
        switch (path.Kind)
        {
            case LemmyRequestKind.Post:
                {
                    var id = content.PostId ?? FakeId();
                    var post = new JsonObject
                    {
                        ["id"] = id,
                        ["name"] = content.Text(FieldKind.Title) ?? "",
                        ["url"] = content.Text(FieldKind.Link),
                        ["body"] = content.Text(FieldKind.Body),
                        ["creator_id"] = who.SenderId,
                        ["community_id"] = who.CommunityId,
                        ["removed"] = false,
                        ["locked"] = false,
                        ["deleted"] = false,
                        ["nsfw"] = false,
                        [stamp] = published,
                        ["ap_id"] = $"https://lemmy.invalid/post/{id}",
                        ["local"] = true,
                        ["language_id"] = 0,
                        ["featured_community"] = false,
                        ["featured_local"] = false,
                    };
                    root = new JsonObject
                    {
                        ["post_view"] = new JsonObject
                        {
                            ["post"] = post,
                            ["creator"] = creator,
                            ["community"] = Community(who, stamp, published),
                            ["creator_banned_from_community"] = false,
                            ["creator_is_moderator"] = false,
                            ["creator_is_admin"] = false,
                            ["counts"] = Counts("post_id", id, published),
                            ["subscribed"] = "NotSubscribed",
                            ["saved"] = false,
                            ["read"] = true,
                            ["hidden"] = false,
                            ["creator_blocked"] = false,
                            ["my_vote"] = 1,
                            ["unread_comments"] = 0,
                            ["banned_from_community"] = false,
                        },
                    };
                    break;
                }

            case LemmyRequestKind.Comment:
                {
                    var id = content.CommentId ?? FakeId();
                    var comment = new JsonObject
                    {
                        ["id"] = id,
                        ["creator_id"] = who.SenderId,
                        ["post_id"] = content.PostId ?? 0,
                        ["content"] = content.Text(FieldKind.Body) ?? "",
                        ["removed"] = false,
                        ["deleted"] = false,
                        [stamp] = published,
                        ["ap_id"] = $"https://lemmy.invalid/comment/{id}",
                        ["local"] = true,
                        ["path"] = "0." + id.ToString(CultureInfo.InvariantCulture),
                        ["distinguished"] = false,
                        ["language_id"] = 0,
                    };
                    root = new JsonObject
                    {
                        ["comment_view"] = new JsonObject
                        {
                            ["comment"] = comment,
                            ["creator"] = creator,
                            ["community"] = Community(who, stamp, published),
                            ["post"] = new JsonObject { ["id"] = content.PostId ?? 0, ["name"] = "", ["creator_id"] = 0, ["community_id"] = who.CommunityId },
                            ["counts"] = Counts("comment_id", id, published),
                            ["creator_banned_from_community"] = false,
                            ["creator_is_moderator"] = false,
                            ["creator_is_admin"] = false,
                            ["subscribed"] = "NotSubscribed",
                            ["saved"] = false,
                            ["creator_blocked"] = false,
                            ["my_vote"] = 1,
                            ["banned_from_community"] = false,
                        },
                        ["recipient_ids"] = new JsonArray(),
                    };
                    break;
                }

            case LemmyRequestKind.PrivateMessage:
                {
                    var id = content.PrivateMessageId ?? FakeId();
                    var recipientId = content.RecipientId ?? 0;
                    root = new JsonObject
                    {
                        ["private_message_view"] = new JsonObject
                        {
                            ["private_message"] = new JsonObject
                            {
                                ["id"] = id,
                                ["creator_id"] = who.SenderId,
                                ["recipient_id"] = recipientId,
                                ["content"] = content.Text(FieldKind.Body) ?? "",
                                ["deleted"] = false,
                                ["read"] = false,
                                [stamp] = published,
                                ["ap_id"] = $"https://lemmy.invalid/private_message/{id}",
                                ["local"] = true,
                            },
                            ["creator"] = creator,
                            ["recipient"] = Person(recipientId, who.RecipientName ?? "", stamp, published),
                        },
                    };
                    break;
                }

            case LemmyRequestKind.Community:
                root = new JsonObject
                {
                    ["community_view"] = new JsonObject
                    {
                        ["community"] = Community(who with { CommunityId = content.CommunityId ?? who.CommunityId ?? FakeId() }, stamp, published, content),
                        ["subscribed"] = "Subscribed",
                        ["blocked"] = false,
                        ["banned_from_community"] = false,
                        ["counts"] = new JsonObject { ["subscribers"] = 1, ["posts"] = 0, ["comments"] = 0, [stamp] = published },
                    },
                    ["discussion_languages"] = new JsonArray(),
                };
                break;

            default:
                root = new JsonObject { ["success"] = true };
                break;
        }

        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private static JsonObject Person(long id, string name, string stamp, string published) => new()
    {
        ["id"] = id,
        ["name"] = name,
        ["banned"] = false,
        [stamp] = published,
        ["actor_id"] = $"https://lemmy.invalid/u/{name}",
        ["ap_id"] = $"https://lemmy.invalid/u/{name}",
        ["local"] = true,
        ["deleted"] = false,
        ["bot_account"] = false,
        ["instance_id"] = 1,
    };

    private static JsonObject Community(LemmySubmission who, string stamp, string published, LemmyContent? edited = null) => new()
    {
        ["id"] = who.CommunityId ?? 0,
        ["name"] = who.CommunityName ?? "",
        ["title"] = edited?.Text(FieldKind.Title) ?? who.CommunityName ?? "",
        ["removed"] = false,
        [stamp] = published,
        ["deleted"] = false,
        ["nsfw"] = false,
        ["actor_id"] = $"https://lemmy.invalid/c/{who.CommunityName}",
        ["local"] = true,
        ["hidden"] = false,
        ["posting_restricted_to_mods"] = false,
        ["instance_id"] = 1,
        ["visibility"] = "Public",
    };

    private static JsonObject Counts(string idName, long id, string published) => new()
    {
        [idName] = id,
        ["comments"] = 0,
        ["score"] = 1,
        ["upvotes"] = 1,
        ["downvotes"] = 0,
        ["published"] = published,
        ["child_count"] = 0,
    };

    /// <summary>An id no real item has soon: Lemmy's ids are sequential from 1.</summary>
    private static long FakeId() => RandomNumberGenerator.GetInt32(1_000_000_000, int.MaxValue);
}

/// <summary>Who submitted, and where, as resolved for one request (ids 0 and names empty when unknown).</summary>
internal sealed record LemmySubmission(long SenderId, string SenderName, long? CommunityId, string? CommunityName, string? RecipientName);
