using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Tests.Matrix;

/// <summary>
/// Matrix, both faces of a homeserver. Client-server: <c>PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}</c>
/// with a bearer token; the gateway asks the fake homeserver <c>/account/whoami</c>, <c>joined_members</c>,
/// <c>m.room.power_levels</c> and <c>m.direct</c> as Synapse answers them. Federation: <c>PUT /_matrix/federation/v1/send/{txn}</c>
/// signed X-Matrix with ed25519 by <c>good.example</c> (accepted; the homeserver checks the signature) or by
/// <c>banned.example</c>, which <c>[server_acl]</c> denies (403 from the gateway). Federation bodies are signed, so the
/// gateway never reads their text: only clean texts are sent there and the check is accept/refuse.
/// The gateway's own Matrix endpoints, which have no upstream: the policy server (<c>POST /_matrix/policy/v1/sign</c>
/// with a room version 10 PDU, as a homeserver asks it; 200 with the gateway's ed25519 signature, which the rig checks
/// over the redacted event as a homeserver would, or 400 <c>M_FORBIDDEN</c>), and synapse-http-antispam's
/// <c>check_event_for_spam</c> (Synapse's client-format event, bearer token; 200 allowed, 403 <c>M_FORBIDDEN</c>;
/// <c>refuse_censored</c>, since a signed event cannot be censored). What they allow is what a homeserver would store,
/// so those texts are counted (and checked for filtered terms) as an upstream's would be.
/// </summary>
internal sealed class MatrixLoad : ILoad
{
    private const string ServerName = "soak.test";
    private const string PolicyServerName = "policy.soak.test";
    private const string AntispamToken = "soak-antispam-token-0123456789";
    private readonly string _dir;
    private readonly FederationSigner _policyServer;
    private long _badPolicySignatures;
    private readonly HttpClient _client;
    private readonly FederationSigner _good;
    private readonly FederationSigner _banned;
    private long _eventIds;
    private long _badSignatures;

    public MatrixLoad(int port, HttpClient client, string dir)
    {
        _client = client;
        _dir = dir;
        var seed = RandomNumberGenerator.GetBytes(32);
        _policyServer = new FederationSigner(PolicyServerName, "ed25519:policy_server", seed);
        File.WriteAllText(Path.Combine(dir, "policy_server.key"), "ed25519 policy_server " + Convert.ToBase64String(seed).TrimEnd('=') + "\n");
        File.WriteAllText(Path.Combine(dir, "antispam.token"), AntispamToken + "\n");
        Upstream = new FakeUpstream(port, Map);
        _good = new FederationSigner("good.example", "ed25519:soak1", GoodSeed);
        _banned = new FederationSigner("banned.example", "ed25519:soak1", BannedSeed);
    }

    /// <summary>The signing keys' seeds, handed to Artillery (serve mode) so its processor signs as these servers.</summary>
    public byte[] GoodSeed { get; } = RandomNumberGenerator.GetBytes(32);

    public byte[] BannedSeed { get; } = RandomNumberGenerator.GetBytes(32);

    public IReadOnlyList<string> Rows { get; } = ["matrix-cs", "matrix-federation", "matrix-policy-server", "matrix-antispam"];

    /// <summary>Of every 20 messages: 12 client-server, 3 federation, 3 to the policy server, 2 antispam callbacks.</summary>
    public string RowFor(long id) => (id % 20) switch { < 12 => Rows[0], < 15 => Rows[1], < 18 => Rows[2], _ => Rows[3] };

    public Tally PolicyServer { get; } = new();

    public Tally Antispam { get; } = new();

    /// <summary>Policy server signatures that did not verify over the redacted event (must stay 0).</summary>
    public long BadPolicySignatures => Interlocked.Read(ref _badPolicySignatures);

    public Tally Client { get; } = new();

    public Tally Federation { get; } = new();

    /// <summary>Federation requests whose X-Matrix signature the fake homeserver refused (must stay 0).</summary>
    public long BadSignatures => Interlocked.Read(ref _badSignatures);

    public FakeUpstream Upstream { get; }

    public string Config() => $$"""
        [[backends]]
        name = "synapse"
        protocol = "matrix"
        upstreams = ["{{Upstream.Url}}"]
          [[backends.routes]]
          path = "/_matrix"
          [backends.matrix]
          token_cache_seconds = 30
          room_cache_seconds = 30
        """;

    /// <summary>
    /// Top-level (after every <c>[[backends]]</c>): the gateway-wide server ACL that refuses <c>banned.example</c>, the
    /// policy server's name and key, and the antispam callbacks' token.
    /// </summary>
    public string GlobalConfig() => $$"""
        [server_acl]
        allow = ["*"]
        deny = ["banned.example"]

        [matrix]
        # Small enough that the table of dropped ids is full (and forgetting its oldest) before the 5-minute RSS
        # sample: the RSS check then measures a bounded table at its bound, not one still filling toward 50,000.
        dropped_ids = 2000

        [matrix.policy_server]
        server_name = "{{PolicyServerName}}"
        key_file = "{{Path.Combine(_dir, "policy_server.key")}}"
        room_version = "10"

        [matrix.antispam]
        enabled = true
        token_file = "{{Path.Combine(_dir, "antispam.token")}}"
        refuse_censored = true
        """;

    public Task<(string Row, string Kind, string Outcome)> SendAsync(long id, Random random, CancellationToken ct) => RowFor(id) switch
    {
        "matrix-cs" => ClientSendAsync(id, random, ct),
        "matrix-federation" => FederationSendAsync(id, random, ct),
        "matrix-policy-server" => PolicyServerSendAsync(id, random, ct),
        _ => AntispamSendAsync(id, random, ct),
    };

    /// <summary>A room version 10 PDU as a homeserver hands it to the policy server: hashes, its signature, unsigned.</summary>
    private static JsonObject Pdu(long id, string text, Random random) => new()
    {
        ["type"] = "m.room.message",
        ["room_id"] = $"!room{random.Next(5)}:{ServerName}",
        ["sender"] = $"@user{random.Next(50)}:{ServerName}",
        ["origin"] = ServerName,
        ["origin_server_ts"] = 1_800_000_000_000 + id,
        ["depth"] = 12 + id,
        ["prev_events"] = new JsonArray($"$prev{id}"),
        ["auth_events"] = new JsonArray("$create", "$member", "$pl"),
        ["content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = text },
        ["hashes"] = new JsonObject { ["sha256"] = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text))).TrimEnd('=') },
        ["signatures"] = new JsonObject { [ServerName] = new JsonObject { ["ed25519:a_key"] = "c2lnbmF0dXJl" } },
        ["unsigned"] = new JsonObject { ["age_ts"] = 1_800_000_000_000 + id },
    };

    private async Task<(string, string, string)> PolicyServerSendAsync(long id, Random random, CancellationToken ct)
    {
        var kind = Outcomes.Kind(random);
        var text = Texts.Text(id, kind, random);
        var pdu = Pdu(id, text, random);
        using var response = await _client.PostAsync("/_matrix/policy/v1/sign", new StringContent(pdu.ToJsonString(), Encoding.UTF8, "application/json"), ct);
        var answer = await response.Content.ReadAsStringAsync(ct);
        var status = (int)response.StatusCode;
        string outcome;
        if (status == 200 && (string?)JsonNode.Parse(answer)?[PolicyServerName]?["ed25519:policy_server"] is { } signature)
        {
            // What a homeserver checks: the signature over the event redacted by room version 10's rules (an
            // m.room.message keeps no content), without signatures and unsigned, as canonical JSON.
            var redacted = (JsonObject)pdu.DeepClone();
            redacted.Remove("signatures");
            redacted.Remove("unsigned");
            redacted["content"] = new JsonObject();
            if (!FederationSigner.Verify(_policyServer.PublicKey, CanonicalJson.Encode(System.Text.Json.JsonSerializer.SerializeToElement(redacted)), signature))
            {
                Interlocked.Increment(ref _badPolicySignatures);
            }

            PolicyServer.Saw(text);
            outcome = Outcomes.Delivered;
        }
        else
        {
            outcome = status == 400 && answer.Contains("M_FORBIDDEN", StringComparison.Ordinal) ? Outcomes.Rejected : Outcomes.Unexpected("matrix-policy-server", status, answer);
        }

        return ("matrix-policy-server", kind, outcome);
    }

    private async Task<(string, string, string)> AntispamSendAsync(long id, Random random, CancellationToken ct)
    {
        var kind = Outcomes.Kind(random);
        var text = Texts.Text(id, kind, random);
        var ev = new JsonObject
        {
            ["event"] = new JsonObject
            {
                ["type"] = "m.room.message",
                ["sender"] = $"@remote{random.Next(20)}:good.example",
                ["room_id"] = $"!room{random.Next(5)}:{ServerName}",
                ["event_id"] = $"$ev{id}",
                ["origin_server_ts"] = 1_800_000_000_000 + id,
                ["content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = text },
            },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/_gateway/antispam/check_event_for_spam")
        {
            Content = new StringContent(ev.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AntispamToken);
        using var response = await _client.SendAsync(request, ct);
        var answer = await response.Content.ReadAsStringAsync(ct);
        var outcome = (int)response.StatusCode switch
        {
            200 => Outcomes.Delivered,
            403 when answer.Contains("M_FORBIDDEN", StringComparison.Ordinal) => Outcomes.Rejected,
            _ => Outcomes.Unexpected("matrix-antispam", (int)response.StatusCode, answer),
        };
        if (outcome == Outcomes.Delivered)
        {
            Antispam.Saw(text); // Synapse stores what the callback allowed
        }

        return ("matrix-antispam", kind, outcome);
    }

    private async Task<(string, string, string)> ClientSendAsync(long id, Random random, CancellationToken ct)
    {
        var kind = Outcomes.Kind(random);
        var room = Uri.EscapeDataString($"!room{random.Next(5)}:{ServerName}");
        var body = new JsonObject { ["msgtype"] = "m.text", ["body"] = Texts.Text(id, kind, random) };
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/_matrix/client/v3/rooms/{room}/send/m.room.message/txn{id}")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", $"syt_user{random.Next(50)}_soak");
        using var response = await _client.SendAsync(request, ct);
        var answer = await response.Content.ReadAsStringAsync(ct);
        var status = (int)response.StatusCode;
        var upstream = HttpAnswers.FromUpstream(response);
        var outcome = status switch
        {
            200 when upstream && answer.Contains("\"$srv", StringComparison.Ordinal) => Outcomes.Delivered,
            200 when !upstream && answer.Contains("\"event_id\":\"$", StringComparison.Ordinal) => Outcomes.Dropped,
            403 when !upstream && answer.Contains("M_FORBIDDEN", StringComparison.Ordinal) => Outcomes.Rejected,
            _ when Texts.IsRefusal(status) => Outcomes.Refused,
            _ => Outcomes.Unexpected("matrix-cs", status, answer),
        };
        return ("matrix-cs", kind, outcome);
    }

    private async Task<(string, string, string)> FederationSendAsync(long id, Random random, CancellationToken ct)
    {
        var banned = random.Next(100) < 15;
        var signer = banned ? _banned : _good;
        var txn = new JsonObject
        {
            ["origin"] = signer.ServerName,
            ["origin_server_ts"] = 1_800_000_000_000 + id,
            ["pdus"] = new JsonArray(new JsonObject
            {
                ["type"] = "m.room.message",
                ["room_id"] = $"!room{random.Next(5)}:{ServerName}",
                ["sender"] = $"@remote{random.Next(20)}:{signer.ServerName}",
                ["origin_server_ts"] = 1_800_000_000_000 + id,
                ["content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = Texts.Text(id, "clean", random) },
            }),
        };
        var json = txn.ToJsonString();
        using var request = signer.CreateRequest(HttpMethod.Put, $"/_matrix/federation/v1/send/t{id}", ServerName, json);
        using var response = await _client.SendAsync(request, ct);
        var answer = await response.Content.ReadAsStringAsync(ct);
        var status = (int)response.StatusCode;
        var upstream = HttpAnswers.FromUpstream(response);
        var outcome = status switch
        {
            200 when upstream && answer.Contains("\"pdus\"", StringComparison.Ordinal) => Outcomes.Delivered,
            403 when !upstream && answer.Contains("M_FORBIDDEN", StringComparison.Ordinal) => Outcomes.Rejected,
            _ when Texts.IsRefusal(status) => Outcomes.Refused,
            _ => Outcomes.Unexpected("matrix-federation", status, answer),
        };
        return ("matrix-federation", banned ? "banned" : "clean", outcome);
    }

    private static string? UserOf(HttpContext context)
    {
        var auth = context.Request.Headers.Authorization.ToString();
        if (!auth.StartsWith("Bearer syt_", StringComparison.Ordinal) || !auth.EndsWith("_soak", StringComparison.Ordinal))
        {
            return null;
        }

        return "@" + auth["Bearer syt_".Length..^"_soak".Length] + ":" + ServerName;
    }

    private static Task Error(HttpContext context, int status, string code, string error)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new JsonObject { ["errcode"] = code, ["error"] = error });
    }

    private void Map(WebApplication app)
    {
        // Synapse answers 401 M_UNKNOWN_TOKEN (or M_MISSING_TOKEN) before anything else on the client API.
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? "";
            if (path.StartsWith("/_matrix/client/", StringComparison.Ordinal) && UserOf(context) is null)
            {
                await Error(context, 401, "M_UNKNOWN_TOKEN", "Invalid access token passed.");
                return;
            }

            await next(context);
        });
        app.MapGet("/_matrix/client/v3/account/whoami", (HttpContext c) => Results.Json(new { user_id = UserOf(c), device_id = "SOAKDEVICE", is_guest = false }));
        app.MapGet("/_matrix/client/v3/rooms/{room}/joined_members", (string room) => Results.Json(new JsonObject
        {
            ["joined"] = new JsonObject
            {
                [$"@owner:{ServerName}"] = new JsonObject { ["display_name"] = "owner", ["avatar_url"] = null },
                [$"@user1:{ServerName}"] = new JsonObject { ["display_name"] = "user1", ["avatar_url"] = null },
                [$"@user2:{ServerName}"] = new JsonObject { ["display_name"] = "user2", ["avatar_url"] = null },
            },
        }));
        app.MapGet("/_matrix/client/v3/rooms/{room}/state/m.room.power_levels", () => Results.Json(new JsonObject
        {
            ["users"] = new JsonObject { [$"@owner:{ServerName}"] = 100 },
            ["users_default"] = 0,
            ["events_default"] = 0,
            ["state_default"] = 50,
            ["kick"] = 50,
            ["ban"] = 50,
            ["redact"] = 50,
        }));
        // No m.direct account data: Synapse answers 404 M_NOT_FOUND.
        app.MapGet("/_matrix/client/v3/user/{user}/account_data/{type}", (HttpContext c) => Error(c, 404, "M_NOT_FOUND", "Account data not found"));
        app.MapPut("/_matrix/client/v3/rooms/{room}/send/{type}/{txn}", async (HttpContext c) =>
        {
            var body = JsonNode.Parse(await c.Request.ReadBodyAsync());
            Client.Saw((string?)body?["body"]);
            return Results.Json(new { event_id = $"$srv{Interlocked.Increment(ref _eventIds)}" });
        });
        app.MapPut("/_matrix/federation/v1/send/{txn}", async (HttpContext c) =>
        {
            var bytes = await c.Request.ReadBodyAsync();
            var json = Encoding.UTF8.GetString(bytes);
            if (!XMatrixAuthorization.TryParse(c.Request.Headers.Authorization.ToString(), out var auth) || auth is null
                || KeyOf(auth.Origin, auth.Key) is not { } key
                || !FederationSigner.Verify(key, XMatrixAuthorization.SigningPayload("PUT", c.Request.Path + c.Request.QueryString, auth.Origin, auth.Destination, json), auth.Signature))
            {
                Interlocked.Increment(ref _badSignatures);
                await Error(c, 401, "M_UNAUTHORIZED", "Invalid signature");
                return;
            }

            var pdus = JsonNode.Parse(json)?["pdus"]?.AsArray() ?? [];
            var results = new JsonObject();
            foreach (var pdu in pdus)
            {
                Federation.Saw((string?)pdu?["content"]?["body"], inspected: false);
                results[$"$fed{Interlocked.Increment(ref _eventIds)}"] = new JsonObject();
            }

            await c.Response.WriteAsJsonAsync(new JsonObject { ["pdus"] = results });
        });
    }

    /// <summary>The homeserver's key store: the keys it fetched from each origin's /_matrix/key/v2/server.</summary>
    private byte[]? KeyOf(string origin, string keyId) =>
        keyId == "ed25519:soak1" ? origin switch { "good.example" => _good.PublicKey, "banned.example" => _banned.PublicKey, _ => null } : null;
}
