// Over 400 lines because the fake follows Lemmy's client API on two versions (v3 and v4 shapes, auth, errors, reports, PM lists) and its signed ActivityPub inbox in one place, so tests read one backend.
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Lemmy;

/// <summary>
/// A Lemmy backend on 127.0.0.1:0 that follows the real client API closely enough for the gateway and
/// lemmy-js-client: 0.19's <c>/api/v3</c> and 1.0's <c>/api/v4</c> paths, login answering a HS256 JWT whose
/// <c>sub</c> is the local user id, auth by <c>Authorization: Bearer</c> first and the <c>jwt</c> cookie second,
/// <c>{"error":"snake_case"}</c> with status 400, and the response shapes the js client reads (post_view,
/// comment_view, private_message_view, my_user.local_user_view). Records every write it receives.
/// </summary>
internal sealed class FakeLemmy : IAsyncDisposable
{
    public const long Alice = 2, Bob = 3, Mod = 4, Admin = 5;
    public const long Cats = 10, Politics = 11;
    public const long CatsPost = 100, PoliticsPost = 101, CatsComment = 200;

    /// <summary>The communities the lemmy-automoderator wiki's example rules name, each with one post; mod moderates them.</summary>
    public const long Memes = 12, General = 13, Starwars = 14;
    public const long MemesPost = 102, GeneralPost = 103, StarwarsPost = 104;

    private static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<long, JsonObject> _posts = new();
    private readonly ConcurrentDictionary<long, (long Post, string Content)> _comments = new();
    private readonly ConcurrentDictionary<long, HashSet<long>> _moderators = new();
    private readonly ConcurrentDictionary<long, (long Creator, long Recipient, string Content)> _privateMessages = new();
    private long _nextId = 1000;

    private static readonly Dictionary<string, (long Id, string Password, bool Admin)> Users = new()
    {
        ["alice"] = (Alice, "alice-pw", false),
        ["bob"] = (Bob, "bob-pw", false),
        ["mod"] = (Mod, "mod-pw", false),
        ["admin"] = (Admin, "admin-pw", true),
    };

    private static readonly Dictionary<long, string> Communities = new()
    {
        [Cats] = "cats",
        [Politics] = "politics",
        [Memes] = "memes",
        [General] = "general",
        [Starwars] = "starwars",
    };

    private FakeLemmy(WebApplication app)
    {
        _app = app;
        _moderators[Cats] = new HashSet<long> { Mod };
        _moderators[Politics] = new HashSet<long>();
        _posts[CatsPost] = new JsonObject { ["id"] = CatsPost, ["name"] = "Cat pictures", ["community_id"] = Cats, ["creator_id"] = Mod };
        _posts[PoliticsPost] = new JsonObject { ["id"] = PoliticsPost, ["name"] = "Elections", ["community_id"] = Politics, ["creator_id"] = Mod };
        _comments[CatsComment] = (CatsPost, "first");
        foreach (var (community, post) in new[] { (Memes, MemesPost), (General, GeneralPost), (Starwars, StarwarsPost) })
        {
            _moderators[community] = new HashSet<long> { Mod };
            _posts[post] = new JsonObject { ["id"] = post, ["name"] = "Welcome", ["community_id"] = community, ["creator_id"] = Mod };
        }
    }

    public string Url { get; private set; } = "";

    /// <summary>Writes that reached the backend: method, path and body text.</summary>
    public ConcurrentQueue<(string Method, string Path, string Body)> Writes { get; } = new();

    /// <summary>How many GETs each path received (the gateway's look-ups), e.g. "/api/v3/site".</summary>
    public ConcurrentDictionary<string, int> Reads { get; } = new();

    /// <summary>Remote actors' public keys by keyId, as the fake would fetch them from the actor (shared by all fakes).</summary>
    public static ConcurrentDictionary<string, RSA> RemoteKeys { get; } = new();

    /// <summary>Activities that reached an inbox with a valid HTTP Signature and digest: path, Host, body bytes.</summary>
    public ConcurrentQueue<(string Path, string Host, byte[] Body)> Inbox { get; } = new();

    /// <summary>Inbox requests refused because the signature did not verify.</summary>
    public int BadSignatures;

    /// <summary>The headers of the last inbox request whose signature failed, for test messages.</summary>
    public string? LastRefused { get; private set; }

    public static async Task<FakeLemmy> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeLemmy(app);
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        fake.Url = app.Urls.First();
        return fake;
    }

    public static string Jwt(long localUserId)
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var head = B64("""{"alg":"HS256","typ":"JWT"}"""u8.ToArray());
        var payload = B64(Encoding.UTF8.GetBytes($$"""{"sub":{{localUserId}},"iss":"lemmy.test","iat":1700000000}"""));
        var sig = B64(HMACSHA256.HashData(Secret, Encoding.ASCII.GetBytes(head + "." + payload)));
        return head + "." + payload + "." + sig;
    }

    public Task SetModeratorAsync(long community, long person, bool added)
    {
        lock (_moderators)
        {
            if (added)
            {
                _moderators[community].Add(person);
            }
            else
            {
                _moderators[community].Remove(person);
            }
        }

        return Task.CompletedTask;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "";
        if (ctx.Request.Method == "POST" && (path is "/inbox" or "/site_inbox" || (path.StartsWith("/c/", StringComparison.Ordinal) || path.StartsWith("/u/", StringComparison.Ordinal)) && path.EndsWith("/inbox", StringComparison.Ordinal)))
        {
            await InboxAsync(ctx, path);
            return;
        }

        var version = path.StartsWith("/api/v4/", StringComparison.Ordinal) ? 4 : path.StartsWith("/api/v3/", StringComparison.Ordinal) ? 3 : 0;
        if (version == 0)
        {
            await Error(ctx, "not_found", 404);
            return;
        }

        var route = path[8..].TrimEnd('/');
        var method = ctx.Request.Method;
        JsonObject? body = null;
        if (method is "POST" or "PUT")
        {
            using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
            var text = await reader.ReadToEndAsync();
            Writes.Enqueue((method, path, text));
            try
            {
                body = JsonNode.Parse(text) as JsonObject;
            }
            catch (JsonException)
            {
            }

            if (body is null)
            {
                await Error(ctx, "couldnt_parse_json"); // Lemmy: actix's Json extractor refuses it with a 400
                return;
            }
        }
        else
        {
            Reads.AddOrUpdate(path, 1, (_, n) => n + 1);
        }

        if ((method, route) is ("POST", "user/login") or ("POST", "account/auth/login"))
        {
            var name = body!["username_or_email"]?.GetValue<string>() ?? "";
            if (!Users.TryGetValue(name, out var u) || u.Password != body["password"]?.GetValue<string>())
            {
                await Error(ctx, "incorrect_login", 401);
                return;
            }

            await Json(ctx, new JsonObject { ["jwt"] = Jwt(u.Id), ["registration_created"] = false, ["verify_email_sent"] = false });
            return;
        }

        var me = Authenticate(ctx.Request);
        var stamp = version == 4 ? "published_at" : "published";
        switch (method, route)
        {
            case ("GET", "site"):
                var site = new JsonObject
                {
                    ["site_view"] = new JsonObject { ["site"] = new JsonObject { ["id"] = 1, ["name"] = "Fake Lemmy" } },
                    ["admins"] = new JsonArray(),
                    ["version"] = version == 4 ? "1.0.0" : "0.19.9",
                    ["all_languages"] = new JsonArray(),
                    ["discussion_languages"] = new JsonArray(),
                    ["taglines"] = new JsonArray(),
                    ["custom_emojis"] = new JsonArray(),
                    ["blocked_urls"] = new JsonArray(),
                };
                if (me is { } m && version == 3)
                {
                    site["my_user"] = MyUser(m);
                }

                await Json(ctx, site);
                return;
            case ("GET", "account") when version == 4:
                if (me is null)
                {
                    await Error(ctx, "not_logged_in");
                    return;
                }

                await Json(ctx, MyUser(me.Value));
                return;
            case ("GET", "community"):
                var cid = QueryId(ctx, "id");
                if (cid is null || !Communities.ContainsKey(cid.Value))
                {
                    await Error(ctx, "not_found");
                    return;
                }

                var mods = new JsonArray();
                lock (_moderators)
                {
                    foreach (var p in _moderators[cid.Value])
                    {
                        mods.Add(new JsonObject { ["community"] = Community(cid.Value, stamp), ["moderator"] = Person(p, stamp) });
                    }
                }

                await Json(ctx, new JsonObject
                {
                    ["community_view"] = new JsonObject { ["community"] = Community(cid.Value, stamp), ["subscribed"] = "NotSubscribed" },
                    ["moderators"] = mods,
                    ["discussion_languages"] = new JsonArray(),
                });
                return;
            case ("GET", "post"):
                if (QueryId(ctx, "id") is not { } pid || !_posts.TryGetValue(pid, out var post))
                {
                    await Error(ctx, "not_found");
                    return;
                }

                await Json(ctx, new JsonObject { ["post_view"] = PostView(post, stamp), ["moderators"] = new JsonArray(), ["cross_posts"] = new JsonArray() });
                return;
            case ("GET", "comment"):
                if (QueryId(ctx, "id") is not { } commentId || !_comments.TryGetValue(commentId, out var c))
                {
                    await Error(ctx, "not_found");
                    return;
                }

                await Json(ctx, new JsonObject { ["comment_view"] = CommentView(commentId, c.Post, c.Content, Mod, stamp), ["recipient_ids"] = new JsonArray() });
                return;
            case ("GET", "user") when version == 3:
            case ("GET", "person") when version == 4:
                if (QueryId(ctx, "person_id") is not { } personId || Name(personId) is null)
                {
                    await Error(ctx, "not_found");
                    return;
                }

                await Json(ctx, new JsonObject { ["person_view"] = new JsonObject { ["person"] = Person(personId, stamp) } });
                return;
        }

        if (me is not { } sender)
        {
            await Error(ctx, "not_logged_in");
            return;
        }

        switch (method, route)
        {
            case ("POST", "post") or ("PUT", "post"):
                {
                    var id = method == "POST" ? Interlocked.Increment(ref _nextId) : body!["post_id"]!.GetValue<long>();
                    var title = body!["name"]?.GetValue<string>();
                    if (method == "POST" && (title is null || title.Length < 3 || title.Length > 200 || title.Contains('\n', StringComparison.Ordinal)))
                    {
                        await Error(ctx, "invalid_post_title");
                        return;
                    }

                    var existing = method == "PUT" && _posts.TryGetValue(id, out var old) ? old : null;
                    var post = new JsonObject
                    {
                        ["id"] = id,
                        ["name"] = title ?? existing?["name"]?.GetValue<string>(),
                        ["body"] = body["body"]?.GetValue<string>(),
                        ["url"] = body["url"]?.GetValue<string>(),
                        ["creator_id"] = sender,
                        ["community_id"] = body["community_id"]?.GetValue<long>() ?? existing?["community_id"]?.GetValue<long>() ?? 0,
                    };
                    _posts[id] = post;
                    await Json(ctx, new JsonObject { ["post_view"] = PostView(post, stamp) });
                    return;
                }

            case ("POST", "comment") or ("PUT", "comment"):
                {
                    var id = method == "POST" ? Interlocked.Increment(ref _nextId) : body!["comment_id"]!.GetValue<long>();
                    var postId = body!["post_id"]?.GetValue<long>() ?? (_comments.TryGetValue(id, out var old) ? old.Post : 0);
                    var content = body["content"]?.GetValue<string>() ?? "";
                    _comments[id] = (postId, content);
                    await Json(ctx, new JsonObject { ["comment_view"] = CommentView(id, postId, content, sender, stamp), ["recipient_ids"] = new JsonArray() });
                    return;
                }

            case ("POST", "private_message") or ("PUT", "private_message"):
                {
                    var id = method == "POST" ? Interlocked.Increment(ref _nextId) : body!["private_message_id"]!.GetValue<long>();
                    var existingPm = _privateMessages.TryGetValue(id, out var oldPm) ? oldPm : (Creator: sender, Recipient: Bob, Content: "");
                    var recipient = body!["recipient_id"]?.GetValue<long>() ?? existingPm.Recipient;
                    _privateMessages[id] = (sender, recipient, body["content"]?.GetValue<string>() ?? "");
                    await Json(ctx, new JsonObject
                    {
                        ["private_message_view"] = new JsonObject
                        {
                            ["private_message"] = new JsonObject
                            {
                                ["id"] = id,
                                ["creator_id"] = sender,
                                ["recipient_id"] = recipient,
                                ["content"] = body["content"]?.GetValue<string>(),
                                ["deleted"] = false,
                                ["read"] = false,
                                [stamp] = "2026-01-01T00:00:00Z",
                                ["local"] = true,
                            },
                            ["creator"] = Person(sender, stamp),
                            ["recipient"] = Person(recipient, stamp),
                        },
                    });
                    return;
                }

            case ("GET", "private_message/list") when version == 3:
            case ("GET", "account/notification/list") when version == 4:
                {
                    // 0.19: {private_messages:[PrivateMessageView]}; 1.0: a page of notifications, each {notification, data:{type_,…}}.
                    var list = new JsonArray();
                    foreach (var (pmId, pm) in _privateMessages.OrderByDescending(p => p.Key))
                    {
                        if (pm.Creator != sender && pm.Recipient != sender)
                        {
                            continue;
                        }

                        var view = new JsonObject
                        {
                            ["private_message"] = new JsonObject { ["id"] = pmId, ["creator_id"] = pm.Creator, ["recipient_id"] = pm.Recipient, ["content"] = pm.Content },
                            ["creator"] = Person(pm.Creator, stamp),
                            ["recipient"] = Person(pm.Recipient, stamp),
                        };
                        if (version == 4)
                        {
                            view["type_"] = "private_message";
                            list.Add(new JsonObject { ["notification"] = new JsonObject { ["id"] = pmId, ["read"] = false }, ["data"] = view });
                        }
                        else
                        {
                            list.Add(view);
                        }
                    }

                    await Json(ctx, version == 4 ? new JsonObject { ["items"] = list } : new JsonObject { ["private_messages"] = list });
                    return;
                }

            case ("POST", "private_message/report"):
                {
                    var pmId = body!["private_message_id"]?.GetValue<long>() ?? 0;
                    // create_pm_report: only the recipient may report a private message.
                    if (!_privateMessages.TryGetValue(pmId, out var pm) || pm.Recipient != sender)
                    {
                        await Error(ctx, "couldnt_create_report");
                        return;
                    }

                    await Json(ctx, new JsonObject { ["private_message_report_view"] = Report(body, sender, stamp) });
                    return;
                }

            case ("POST", "comment/report"):
                await Json(ctx, new JsonObject { ["comment_report_view"] = Report(body!, sender, stamp) });
                return;
            case ("POST", "post/report"):
                await Json(ctx, new JsonObject { ["post_report_view"] = Report(body!, sender, stamp) });
                return;
            case ("POST", "community/report") when version == 4:
                await Json(ctx, new JsonObject { ["community_report_view"] = Report(body!, sender, stamp) });
                return;
            case ("POST", "community") or ("PUT", "community"):
                await Json(ctx, new JsonObject
                {
                    ["community_view"] = new JsonObject { ["community"] = Community(body!["community_id"]?.GetValue<long>() ?? Cats, stamp) },
                    ["discussion_languages"] = new JsonArray(),
                });
                return;
            case ("PUT", "user/save_user_settings") or ("PUT", "account/settings/save"):
                await Json(ctx, new JsonObject { ["success"] = true });
                return;
            case ("POST", "community/mod"):
                await SetModeratorAsync(body!["community_id"]!.GetValue<long>(), body["person_id"]!.GetValue<long>(), body["added"]!.GetValue<bool>());
                await Json(ctx, new JsonObject { ["moderators"] = new JsonArray() });
                return;
            default:
                await Error(ctx, "not_found", 404);
                return;
        }
    }

    private static long? Authenticate(HttpRequest request)
    {
        var auth = request.Headers.Authorization.ToString();
        var token = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : request.Cookies["jwt"];
        foreach (var (_, u) in Users)
        {
            if (token is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(token), Encoding.ASCII.GetBytes(Jwt(u.Id))))
            {
                return u.Id;
            }
        }

        return null;
    }

    private static JsonObject MyUser(long id) => new()
    {
        ["local_user_view"] = new JsonObject
        {
            ["local_user"] = new JsonObject { ["id"] = id, ["person_id"] = id, ["admin"] = Users.Values.Any(u => u.Id == id && u.Admin) },
            ["person"] = Person(id, "published"),
            ["counts"] = new JsonObject { ["person_id"] = id, ["post_count"] = 0, ["comment_count"] = 0 },
        },
        ["follows"] = new JsonArray(),
        ["moderates"] = new JsonArray(),
        ["community_blocks"] = new JsonArray(),
        ["instance_blocks"] = new JsonArray(),
        ["person_blocks"] = new JsonArray(),
        ["discussion_languages"] = new JsonArray(),
    };

    private static string? Name(long id) => Users.FirstOrDefault(u => u.Value.Id == id).Key;

    private static JsonObject Person(long id, string stamp) => new()
    {
        ["id"] = id,
        ["name"] = Name(id) ?? "unknown",
        ["banned"] = false,
        [stamp] = "2026-01-01T00:00:00Z",
        ["local"] = true,
        ["deleted"] = false,
        ["bot_account"] = false,
        ["instance_id"] = 1,
        ["actor_id"] = $"http://lemmy.test/u/{Name(id)}",
    };

    private static JsonObject Community(long id, string stamp) => new()
    {
        ["id"] = id,
        ["name"] = Communities.GetValueOrDefault(id, "unknown"),
        ["title"] = Communities.GetValueOrDefault(id, "unknown"),
        ["removed"] = false,
        ["deleted"] = false,
        ["nsfw"] = false,
        [stamp] = "2026-01-01T00:00:00Z",
        ["local"] = true,
        ["instance_id"] = 1,
    };

    private static JsonObject PostView(JsonObject post, string stamp)
    {
        var communityId = post["community_id"]!.GetValue<long>();
        return new JsonObject
        {
            ["post"] = post.DeepClone(),
            ["creator"] = Person(post["creator_id"]!.GetValue<long>(), stamp),
            ["community"] = Community(communityId, stamp),
            ["counts"] = new JsonObject { ["post_id"] = post["id"]!.DeepClone(), ["comments"] = 0, ["score"] = 1 },
            ["subscribed"] = "NotSubscribed",
            ["saved"] = false,
            ["read"] = false,
            ["my_vote"] = 1,
        };
    }

    private JsonObject CommentView(long id, long postId, string content, long creator, string stamp)
    {
        var post = _posts.TryGetValue(postId, out var p) ? p : new JsonObject { ["id"] = postId, ["community_id"] = 0, ["creator_id"] = creator };
        var communityId = post["community_id"]!.GetValue<long>();
        return new JsonObject
        {
            ["comment"] = new JsonObject { ["id"] = id, ["creator_id"] = creator, ["post_id"] = postId, ["content"] = content, ["path"] = $"0.{id}" },
            ["creator"] = Person(creator, stamp),
            ["post"] = post.DeepClone(),
            ["community"] = Community(communityId, stamp),
            ["counts"] = new JsonObject { ["comment_id"] = id, ["score"] = 1, ["child_count"] = 0 },
        };
    }

    private JsonObject Report(JsonObject body, long creator, string stamp) => new()
    {
        ["report"] = new JsonObject { ["id"] = Interlocked.Increment(ref _nextId), ["creator_id"] = creator, ["reason"] = body["reason"]?.DeepClone(), ["resolved"] = false, [stamp] = "2026-01-01T00:00:00Z" },
        ["creator"] = Person(creator, stamp),
    };

    /// <summary>
    /// Lemmy's inbox (activitypub-federation's receive_activity): the Digest must match the body and the Signature
    /// verify with the actor's key over the headers as received (Host included); accepted → 200 with an empty body.
    /// </summary>
    private async Task InboxAsync(HttpContext ctx, string path)
    {
        using var ms = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(ms);
        var body = ms.ToArray();
        var headers = ctx.Request.Headers;
        var ok = HttpSignature.Verify("POST", path + ctx.Request.QueryString, name => headers.TryGetValue(name, out var v) ? v.ToString() : null, body,
            keyId => RemoteKeys.TryGetValue(keyId, out var key) ? key : null);
        if (!ok)
        {
            Interlocked.Increment(ref BadSignatures);
            LastRefused = $"host={headers.Host} date={headers["Date"]} digest-ok={headers["Digest"] == HttpSignature.Digest(body)} sig={headers["Signature"]}";
            await Error(ctx, "unknown", 400);
            return;
        }

        Inbox.Enqueue((path, headers.Host.ToString(), body));
        ctx.Response.StatusCode = 200;
    }

    private static long? QueryId(HttpContext ctx, string key) => long.TryParse(ctx.Request.Query[key].ToString(), out var id) ? id : null;

    private static Task Json(HttpContext ctx, JsonNode node, int status = 200)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(node.ToJsonString());
    }

    private static Task Error(HttpContext ctx, string error, int status = 400) => Json(ctx, new JsonObject { ["error"] = error }, status);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
