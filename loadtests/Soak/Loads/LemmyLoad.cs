using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

/// <summary>
/// Lemmy 0.19's client API: <c>POST /api/v3/comment</c> with a JWT. The gateway asks the fake instance who the token
/// is (<c>GET /api/v3/site</c>, <c>my_user.local_user_view</c>), which community the post is in (<c>GET /api/v3/post</c>)
/// and the community's name and moderators (<c>GET /api/v3/community</c>), in Lemmy's shapes.
/// </summary>
internal sealed class LemmyLoad : ILoad
{
    private readonly HttpClient _client;
    private long _commentIds;

    public LemmyLoad(int port, HttpClient client)
    {
        _client = client;
        Upstream = new FakeUpstream(port, Map);
    }

    public IReadOnlyList<string> Rows { get; } = ["lemmy"];

    public Tally Tally { get; } = new();

    public FakeUpstream Upstream { get; }

    public string Config() => $$"""
        [[backends]]
        name = "lemmy"
        protocol = "lemmy"
        upstreams = ["{{Upstream.Url}}"]
          [[backends.routes]]
          path = "/api/v3"
          [backends.lemmy]
          token_cache_seconds = 30
          community_cache_seconds = 30
        """;

    public async Task<(string Row, string Kind, string Outcome)> SendAsync(long id, Random random, CancellationToken ct)
    {
        var kind = Outcomes.Kind(random);
        var body = new JsonObject { ["content"] = Texts.Text(id, kind, random), ["post_id"] = 1 + random.Next(10) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v3/comment")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", $"jwt.user{random.Next(50)}.soak");
        using var response = await _client.SendAsync(request, ct);
        var answer = await response.Content.ReadAsStringAsync(ct);
        var status = (int)response.StatusCode;
        var upstream = HttpAnswers.FromUpstream(response);
        var outcome = status switch
        {
            200 when upstream && answer.Contains("\"comment_view\"", StringComparison.Ordinal) => Outcomes.Delivered,
            200 when !upstream && answer.Contains("\"comment_view\"", StringComparison.Ordinal) => Outcomes.Dropped,
            400 when !upstream && answer.Contains("This message breaks the rules.", StringComparison.Ordinal) => Outcomes.Rejected,
            _ when Texts.IsRefusal(status) => Outcomes.Refused,
            _ => Outcomes.Other,
        };
        return ("lemmy", kind, outcome);
    }

    private static long? PersonOf(HttpContext context)
    {
        var auth = context.Request.Headers.Authorization.ToString();
        return auth.StartsWith("Bearer jwt.user", StringComparison.Ordinal) && auth.EndsWith(".soak", StringComparison.Ordinal)
            && long.TryParse(auth["Bearer jwt.user".Length..^".soak".Length], out var n) ? 100 + n : null;
    }

    private void Map(WebApplication app)
    {
        app.MapGet("/api/v3/site", (HttpContext c) =>
        {
            var person = PersonOf(c);
            var site = new JsonObject { ["site_view"] = new JsonObject { ["site"] = new JsonObject { ["id"] = 1, ["name"] = "soak" } }, ["admins"] = new JsonArray() };
            if (person is { } p)
            {
                site["my_user"] = new JsonObject
                {
                    ["local_user_view"] = new JsonObject
                    {
                        ["local_user"] = new JsonObject { ["id"] = p, ["person_id"] = p, ["admin"] = false },
                        ["person"] = new JsonObject { ["id"] = p, ["name"] = $"user{p - 100}", ["local"] = true, ["banned"] = false },
                    },
                    ["follows"] = new JsonArray(),
                    ["moderates"] = new JsonArray(),
                };
            }

            return Results.Json(site);
        });
        app.MapGet("/api/v3/post", (long id) => Results.Json(new JsonObject
        {
            ["post_view"] = new JsonObject
            {
                ["post"] = new JsonObject { ["id"] = id, ["name"] = $"post {id}", ["community_id"] = 1 + (id % 3) },
                ["community"] = new JsonObject { ["id"] = 1 + (id % 3), ["name"] = $"community{1 + (id % 3)}" },
            },
        }));
        app.MapGet("/api/v3/community", (long id) => Results.Json(new JsonObject
        {
            ["community_view"] = new JsonObject { ["community"] = new JsonObject { ["id"] = id, ["name"] = $"community{id}", ["title"] = $"Community {id}" } },
            ["moderators"] = new JsonArray(new JsonObject
            {
                ["community"] = new JsonObject { ["id"] = id },
                ["moderator"] = new JsonObject { ["id"] = 1, ["name"] = "mod" },
            }),
            ["discussion_languages"] = new JsonArray(),
        }));
        app.MapPost("/api/v3/comment", async (HttpContext c) =>
        {
            if (PersonOf(c) is not { } person)
            {
                return Results.Json(new { error = "not_logged_in" }, statusCode: 400);
            }

            var body = JsonNode.Parse(await c.Request.ReadBodyAsync());
            var content = (string?)body?["content"];
            Tally.Saw(content);
            var id = Interlocked.Increment(ref _commentIds);
            return Results.Json(new JsonObject
            {
                ["comment_view"] = new JsonObject
                {
                    ["comment"] = new JsonObject { ["id"] = id, ["creator_id"] = person, ["post_id"] = (long?)body?["post_id"], ["content"] = content, ["ap_id"] = $"http://lemmy.soak/comment/{id}" },
                },
                ["recipient_ids"] = new JsonArray(),
            });
        });
    }
}
