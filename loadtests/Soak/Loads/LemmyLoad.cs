using System.Net.Http.Headers;
using System.Security.Cryptography;
using Gateway.Tests.Lemmy;
using System.Text;
using System.Text.Json.Nodes;

/// <summary>
/// Lemmy 0.19's client API: <c>POST /api/v3/comment</c> with a JWT. The gateway asks the fake instance who the token
/// is (<c>GET /api/v3/site</c>, <c>my_user.local_user_view</c>), which community the post is in (<c>GET /api/v3/post</c>)
/// and the community's name and moderators (<c>GET /api/v3/community</c>), in Lemmy's shapes.
/// A quarter of the messages arrive federated instead: a <c>Create</c> of a <c>Note</c> from <c>remote.example</c> to
/// the shared <c>/inbox</c>, HTTP-signed (rsa-sha256 over <c>(request-target) host date digest</c>) as Lemmy signs;
/// the fake instance verifies the signature and digest as activitypub-federation does (a bad one is counted and must
/// stay 0). Signed bodies are never rewritten: the gateway refuses a reject or censor verdict (400) and answers a
/// drop as accepted (200, empty), which the rig tells from Lemmy's own 200 by the upstream's marker.
/// </summary>
internal sealed class LemmyLoad : ILoad
{
    private readonly HttpClient _client;
    public const string KeyId = "https://remote.example/u/carol#main-key";
    private readonly RSA _remoteKey = RSA.Create(2048);

    /// <summary>The remote actor's private key (PKCS#8 PEM), for <c>serve</c> mode's load clients (Artillery) to sign
    /// inbox deliveries the fake instance accepts.</summary>
    public string RemoteKeyPem => _remoteKey.ExportPkcs8PrivateKeyPem();
    private long _commentIds;
    private long _badSignatures;

    public LemmyLoad(int port, HttpClient client)
    {
        _client = client;
        Upstream = new FakeUpstream(port, Map);
    }

    public IReadOnlyList<string> Rows { get; } = ["lemmy", "lemmy-inbox"];

    public string RowFor(long id) => id % 4 == 0 ? Rows[1] : Rows[0];

    public Tally Tally { get; } = new();

    public Tally InboxTally { get; } = new();

    /// <summary>Inbox requests whose HTTP Signature the fake instance refused (must stay 0).</summary>
    public long BadSignatures => Interlocked.Read(ref _badSignatures);

    public FakeUpstream Upstream { get; }

    public string Config() => $$"""
        [[backends]]
        name = "lemmy"
        protocol = "lemmy"
        upstreams = ["{{Upstream.Url}}"]
          [[backends.routes]]
          path = "/api/v3"
          [[backends.routes]]
          path = "/inbox"
          [backends.lemmy]
          instance = "lemmy.soak"
          token_cache_seconds = 30
          community_cache_seconds = 30
        """;

    public async Task<(string Row, string Kind, string Outcome)> SendAsync(long id, Random random, CancellationToken ct)
    {
        if (RowFor(id) == Rows[1])
        {
            return await InboxSendAsync(id, random, ct);
        }

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
            _ => Outcomes.Unexpected("lemmy", status, answer),
        };
        return ("lemmy", kind, outcome);
    }

    private async Task<(string Row, string Kind, string Outcome)> InboxSendAsync(long id, Random random, CancellationToken ct)
    {
        const string Public = "https://www.w3.org/ns/activitystreams#Public";
        var kind = Outcomes.Kind(random);
        var text = Texts.Text(id, kind, random);
        var community = $"https://lemmy.soak/c/community{1 + random.Next(3)}";
        var activity = new JsonObject
        {
            ["@context"] = new JsonArray("https://join-lemmy.org/context.json", "https://www.w3.org/ns/activitystreams"),
            ["id"] = $"https://remote.example/activities/create/{id}",
            ["type"] = "Create",
            ["actor"] = "https://remote.example/u/carol",
            ["to"] = new JsonArray(Public),
            ["cc"] = new JsonArray(community),
            ["audience"] = community,
            ["object"] = new JsonObject
            {
                ["id"] = $"https://remote.example/comment/{id}",
                ["type"] = "Note",
                ["attributedTo"] = "https://remote.example/u/carol",
                ["to"] = new JsonArray(Public),
                ["cc"] = new JsonArray(community),
                ["content"] = "<p>" + text + "</p>",
                ["mediaType"] = "text/html",
                ["source"] = new JsonObject { ["content"] = text, ["mediaType"] = "text/markdown" },
                ["inReplyTo"] = $"https://lemmy.soak/post/{1 + random.Next(10)}",
                ["audience"] = community,
            },
        };
        var body = Encoding.UTF8.GetBytes(activity.ToJsonString());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/inbox") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/activity+json");
        HttpSignature.Sign(request, body, "lemmy.soak", KeyId, _remoteKey, TimeProvider.System.GetUtcNow().ToString("r", System.Globalization.CultureInfo.InvariantCulture));
        using var response = await _client.SendAsync(request, ct);
        var answer = await response.Content.ReadAsStringAsync(ct);
        var status = (int)response.StatusCode;
        var upstream = HttpAnswers.FromUpstream(response);
        var outcome = status switch
        {
            200 when upstream => Outcomes.Delivered,
            200 when !upstream && answer.Length == 0 => Outcomes.Dropped,
            400 when !upstream && answer.Contains("This message breaks the rules.", StringComparison.Ordinal) => Outcomes.Rejected,
            400 when !upstream && kind == "censor" => Outcomes.Rejected, // a signed body cannot be censored: refused
            _ when Texts.IsRefusal(status) => Outcomes.Refused,
            _ => Outcomes.Unexpected("lemmy-inbox", status, answer),
        };
        return (Rows[1], kind, outcome);
    }

    private static long? PersonOf(HttpContext context)
    {
        var auth = context.Request.Headers.Authorization.ToString();
        return auth.StartsWith("Bearer jwt.user", StringComparison.Ordinal) && auth.EndsWith(".soak", StringComparison.Ordinal)
            && long.TryParse(auth["Bearer jwt.user".Length..^".soak".Length], out var n) ? 100 + n : null;
    }

    private void Map(WebApplication app)
    {
        // Lemmy's inbox (activitypub-federation's receive_activity): the digest must match the body and the signature
        // verify with the actor's key over the headers as received (Host included); accepted: 200, empty body.
        app.MapPost("/inbox", async (HttpContext c) =>
        {
            var body = await c.Request.ReadBodyAsync();
            var headers = c.Request.Headers;
            if (!HttpSignature.Verify("POST", c.Request.Path + c.Request.QueryString, name => headers.TryGetValue(name, out var v) ? v.ToString() : null, body,
                keyId => keyId == KeyId ? _remoteKey : null))
            {
                Interlocked.Increment(ref _badSignatures);
                return Results.Json(new { error = "incorrect_signature" }, statusCode: 401);
            }

            var note = JsonNode.Parse(body)?["object"];
            InboxTally.Saw((string?)note?["source"]?["content"] + " " + (string?)note?["content"]);
            return Results.Text("", statusCode: 200);
        });
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
