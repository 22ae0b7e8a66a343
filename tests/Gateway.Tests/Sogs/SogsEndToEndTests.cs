// Over 400 lines because each verdict, auth failure, batch shape and handbook rule is a real round trip through
// Kestrel, the gateway and FakeSogs, and they share one config and one set of helpers.
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Protocols.Abstractions;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Sogs;

/// <summary>
/// The gateway in front of <see cref="FakeSogs"/> with <c>protocol = "sogs"</c>: signed posts from blinded and
/// unblinded keys, each verdict answered as SOGS answers, auth failures refused before anything is forwarded.
/// </summary>
public sealed class SogsEndToEndTests
{
    private static readonly SogsClient Moderator = SogsClient.Random();
    private static readonly SogsClient TrustedUser = SogsClient.Random();

    private static string Config(FakeSogs sogs, string extra = "") => $$"""
        [[backends]]
        name = "sogs"
        protocol = "sogs"
        upstreams = ["{{sogs.Url}}"]
          [backends.sogs]
          server_pubkey = "{{sogs.PubkeyHex}}"
          moderators = ["{{Moderator.SessionId}}"]
          trusted = ["{{TrustedUser.SessionId}}"]
          uploads = "trusted"
          message_requests = "trusted"
          {{extra}}

        [[filters]]
        name = "spam"
        action = "drop"
        keywords = ["buy followers"]
        fields = ["body", "display_name"]

        [[filters]]
        name = "scam"
        action = "reject"
        keywords = ["free crypto"]

        [[filters]]
        name = "whisper-words"
        action = "reject"
        scope = "direct"
        exempt_moderators = false
        keywords = ["secretword"]

        [[filters]]
        name = "rude"
        keywords = ["darn"]
        """;

    private static long Now() => TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();

    private static HttpRequestMessage Signed(FakeSogs sogs, SogsClient client, string method, string target, JsonNode? json,
        bool blinded = true, long? timestamp = null, byte[]? nonce = null, Action<byte[]>? tamper = null)
    {
        var body = json is null ? Array.Empty<byte>() : Encoding.UTF8.GetBytes(json.ToJsonString());
        var headers = client.Sign(sogs.Pubkey, method, target, body, blinded, timestamp ?? Now(), nonce);
        tamper?.Invoke(body);
        var request = new HttpRequestMessage(new HttpMethod(method), target);
        if (json is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new("application/json");
        }

        foreach (var (k, v) in headers)
        {
            request.Headers.TryAddWithoutValidation(k, v);
        }

        return request;
    }

    private static async Task<(HttpStatusCode Status, string Type, string Body)> SendAsync(GatewayHost gw, HttpRequestMessage request)
    {
        using var response = await gw.Client.SendAsync(request);
        return (response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? "", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CleanPost_BlindedOrUnblinded_ForwardedAndAcceptedBySogs(bool blinded)
    {
        await using var sogs = await FakeSogs.StartAsync();
        sogs.RequireBlindKeys = blinded;
        await using var gw = await GatewayHost.StartAsync(Config(sogs, blinded ? "" : "require_blind_keys = false"));
        var alice = SogsClient.Random();

        var (status, _, body) = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("hello everyone"), blinded));

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Single(sogs.Posts);
        Assert.Equal(1, (long)JsonNode.Parse(body)!["id"]!);
    }

    [Fact]
    public async Task DroppedPost_201WithSogsKeys_IncreasingIds_NothingForwarded()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();
        var post = alice.Post("want to buy followers?");

        var (status, type, body) = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", post));
        var (_, _, body2) = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("buy followers now")));

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.StartsWith("application/json", type, StringComparison.Ordinal);
        var m = JsonNode.Parse(body)!.AsObject();
        Assert.Equal(new[] { "id", "session_id", "posted", "seqno", "data", "signature", "reactions", "filtered" }, m.Select(p => p.Key));
        Assert.Equal(alice.BlindedId(sogs.Pubkey), (string)m["session_id"]!);
        Assert.Equal((string)post["data"]!, (string)m["data"]!);
        Assert.Equal((string)post["signature"]!, (string)m["signature"]!);
        Assert.True(Math.Abs((double)m["posted"]! - (TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0)) < 5);
        var m2 = JsonNode.Parse(body2)!;
        Assert.True((long)m2["id"]! > (long)m["id"]!);
        Assert.True((long)m2["seqno"]! > (long)m["seqno"]!);
        Assert.Empty(sogs.Requests);
    }

    [Fact]
    public async Task RejectedPost_429FiltrationText_NothingForwarded()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();

        var (status, type, body) = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("free crypto here")));

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("text/html; charset=utf-8", type);
        Assert.Equal("filtration rejected message (profanity)", body);
        Assert.Empty(sogs.Requests);
    }

    [Fact]
    public async Task CensorVerdict_SignedBody_BecomesCensorFallbackReject()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();

        var (status, _, _) = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("darn it")));

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Empty(sogs.Requests);
    }

    [Fact]
    public async Task DisplayName_Matched_Dropped()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();

        var (status, _, body) = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("hi", "buy followers shop")));

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.True((bool)JsonNode.Parse(body)!["filtered"]!);
        Assert.Empty(sogs.Posts);
    }

    [Fact]
    public async Task Moderator_05Entry_ExemptWhenPostingWithBlindedKey()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));

        var (status, _, body) = await SendAsync(gw, Signed(sogs, Moderator, "POST", "/room/lobby/message", Moderator.Post("buy followers is spam, do not")));

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Null(JsonNode.Parse(body)!["filtered"]);
        Assert.Single(sogs.Posts);
    }

    [Fact]
    public async Task ForgedPubkey_ModeratorKeyWithAnotherSignature_401NothingForwarded()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var mallory = SogsClient.Random();
        var request = Signed(sogs, mallory, "POST", "/room/lobby/message", mallory.Post("buy followers"));
        request.Headers.Remove("X-SOGS-Pubkey");
        request.Headers.TryAddWithoutValidation("X-SOGS-Pubkey", Moderator.BlindedId(sogs.Pubkey));

        var (status, type, body) = await SendAsync(gw, request);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.StartsWith("text/plain", type, StringComparison.Ordinal);
        Assert.Equal("Invalid authentication: X-SOGS-Signature verification failed", body);
        Assert.Empty(sogs.Requests);
    }

    [Fact]
    public async Task TamperedBody_SignatureNoLongerCovers_401()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();

        var (status, _, _) = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("hello"), tamper: b => b[^2] ^= 1));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Empty(sogs.Requests);
    }

    [Fact]
    public async Task ReplayedNonce_Second425_OnlyFirstForwarded()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();
        var nonce = System.Security.Cryptography.RandomNumberGenerator.GetBytes(16);
        var post = alice.Post("hello");

        var first = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", post, nonce: nonce));
        var second = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", post, nonce: nonce));

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal((HttpStatusCode)425, second.Status);
        Assert.Equal("Invalid authentication: X-SOGS-Nonce cannot be reused", second.Body);
        Assert.Single(sogs.Requests);
    }

    [Fact]
    public async Task StaleTimestamp_425NothingForwarded()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();

        var (status, _, body) = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("hello"), timestamp: Now() - 90_000));

        Assert.Equal((HttpStatusCode)425, status);
        Assert.Equal("Invalid authentication: X-SOGS-Timestamp is too far from current time", body);
        Assert.Empty(sogs.Requests);
    }

    [Fact]
    public async Task UnblindedKey_WhenBlindKeysRequired_400AsSogs()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();

        var (status, _, body) = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("hello"), blinded: false));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Invalid authentication: this server requires the use of blinded ids", body);
        Assert.Empty(sogs.Requests);
    }

    [Fact]
    public async Task MissingHeaders_PartialOrNone_RefusedAsSogs()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();
        var partial = Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("hello"));
        partial.Headers.Remove("X-SOGS-Nonce");
        var none = new HttpRequestMessage(HttpMethod.Post, "/room/lobby/message") { Content = new StringContent(alice.Post("hello").ToJsonString()) };

        var p = await SendAsync(gw, partial);
        var n = await SendAsync(gw, none);

        Assert.Equal(HttpStatusCode.BadRequest, p.Status);
        Assert.Equal("Invalid authentication headers: missing 1/4 required X-SOGS-* headers", p.Body);
        Assert.Equal(HttpStatusCode.Unauthorized, n.Status);
        Assert.Empty(sogs.Requests);
    }

    [Theory]
    [InlineData("""{"data":"!!!not base64!!!","signature":"AAAA"}""")]
    [InlineData("""{"data":"CgX/////","signature":"AAAA"}""")]
    [InlineData("""{"signature":"AAAA"}""")]
    [InlineData("""[1,2,3]""")]
    [InlineData("""not json""")]
    public async Task BadBody_400NothingForwarded(string json)
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();
        var body = Encoding.UTF8.GetBytes(json);
        var request = new HttpRequestMessage(HttpMethod.Post, "/room/lobby/message") { Content = new ByteArrayContent(body) };
        foreach (var (k, v) in alice.Sign(sogs.Pubkey, "POST", "/room/lobby/message", body, true, Now()))
        {
            request.Headers.TryAddWithoutValidation(k, v);
        }

        var (status, _, _) = await SendAsync(gw, request);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Empty(sogs.Requests);
    }

    [Fact]
    public async Task Edit_Dropped_200EmptyObject_CleanEditForwarded()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();

        var dropped = await SendAsync(gw, Signed(sogs, alice, "PUT", "/room/lobby/message/7", alice.Post("buy followers")));
        var clean = await SendAsync(gw, Signed(sogs, alice, "PUT", "/room/lobby/message/7", alice.Post("fixed typo")));

        Assert.Equal(HttpStatusCode.OK, dropped.Status);
        Assert.Equal("{}", dropped.Body);
        Assert.Equal(HttpStatusCode.OK, clean.Status);
        Assert.Single(sogs.Requests);
    }

    [Fact]
    public async Task Batch_AllClean_ForwardedWhole()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();
        var batch = new JsonArray
        {
            new JsonObject { ["method"] = "GET", ["path"] = "/room/lobby" },
            new JsonObject { ["method"] = "POST", ["path"] = "/room/lobby/message", ["json"] = alice.Post("hello") },
        };

        var (status, _, body) = await SendAsync(gw, Signed(sogs, alice, "POST", "/batch", batch));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(201, (int)JsonNode.Parse(body)![1]!["code"]!);
        Assert.Single(sogs.Posts);
    }

    [Fact]
    public async Task Batch_OneDroppedOneRejected_AnsweredWholeInSogsBatchShape_NothingForwarded()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();
        var batch = new JsonArray
        {
            new JsonObject { ["method"] = "GET", ["path"] = "/room/lobby" },
            new JsonObject { ["method"] = "POST", ["path"] = "/room/lobby/message", ["json"] = alice.Post("buy followers") },
            new JsonObject { ["method"] = "POST", ["path"] = "/room/lobby/message", ["b64"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(alice.Post("free crypto").ToJsonString())) },
        };

        var (status, _, body) = await SendAsync(gw, Signed(sogs, alice, "POST", "/batch", batch));
        var seq = await SendAsync(gw, Signed(sogs, alice, "POST", "/sequence", batch));

        Assert.Equal(HttpStatusCode.OK, status);
        var list = JsonNode.Parse(body)!.AsArray();
        Assert.Equal(3, list.Count);
        Assert.Equal(500, (int)list[0]!["code"]!); // not run: pysogs' shape for a sub-request that failed
        Assert.Equal(201, (int)list[1]!["code"]!);
        Assert.True((bool)list[1]!["body"]!["filtered"]!);
        Assert.Equal(429, (int)list[2]!["code"]!);
        Assert.Equal("filtration rejected message (profanity)", Encoding.UTF8.GetString(Convert.FromBase64String((string)list[2]!["body"]!)));
        Assert.Single(JsonNode.Parse(seq.Body)!.AsArray()); // /sequence stops at the first non-2xx
        Assert.Empty(sogs.Requests);
    }

    [Fact]
    public async Task Batch_Malformed_400AsSogs()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();
        var batch = new JsonArray { new JsonObject { ["method"] = "POST", ["path"] = "/room/lobby/message" } }; // POST without a body

        var (status, type, _) = await SendAsync(gw, Signed(sogs, alice, "POST", "/batch", batch));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("text/html", type, StringComparison.Ordinal);
        Assert.Empty(sogs.Requests);
    }

    [Fact]
    public async Task Whisper_IsDirect_ScopedFilterApplies()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var target = SogsClient.Random().BlindedId(sogs.Pubkey);

        var whisper = await SendAsync(gw, Signed(sogs, Moderator, "POST", "/room/lobby/message", Moderator.Post("the secretword", whisperTo: target)));
        var open = await SendAsync(gw, Signed(sogs, Moderator, "POST", "/room/lobby/message", Moderator.Post("the secretword")));

        Assert.Equal(HttpStatusCode.TooManyRequests, whisper.Status);
        Assert.Equal(HttpStatusCode.Created, open.Status);
    }

    [Fact]
    public async Task Inbox_UntrustedToUntrusted_403_TrustedSideForwarded_CountedOpaque()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();
        var bob = SogsClient.Random().BlindedId(sogs.Pubkey);
        var blob = new JsonObject { ["message"] = Convert.ToBase64String(new byte[64]) };

        var refused = await SendAsync(gw, Signed(sogs, alice, "POST", "/inbox/" + bob, blob));
        var toTrusted = await SendAsync(gw, Signed(sogs, alice, "POST", "/inbox/" + TrustedUser.BlindedId(sogs.Pubkey), blob));
        var fromMod = await SendAsync(gw, Signed(sogs, Moderator, "POST", "/inbox/" + bob, blob));

        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal(HttpStatusCode.Created, toTrusted.Status);
        Assert.Equal(HttpStatusCode.Created, fromMod.Status);
        Assert.Equal(2, sogs.Requests.Count);
        Assert.Equal(3, gw.Service<OpaqueTraffic>().Get("sogs", OpaqueKind.Encrypted, "direct"));
    }

    [Fact]
    public async Task Upload_UntrustedRefused403_TrustedForwarded_RoomOverride()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs, """
            [[backends.sogs.rooms]]
            token = "media"
            uploads = "everyone"
            """));
        var alice = SogsClient.Random();

        var refused = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/file", null));
        var trusted = await SendAsync(gw, Signed(sogs, TrustedUser, "POST", "/room/lobby/file", null));
        var open = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/media/file", null));

        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Contains("403 Forbidden", refused.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, trusted.Status);
        Assert.Equal(HttpStatusCode.Created, open.Status);
        Assert.Equal(2, sogs.Requests.Count);
    }

    [Fact]
    public async Task LegacyWrites_RefusedByDefault_ReadsPass()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();
        var request = new HttpRequestMessage(HttpMethod.Post, "/legacy/messages") { Content = new StringContent(alice.Post("buy followers").ToJsonString()) };
        request.Headers.TryAddWithoutValidation("Room", "lobby");
        request.Headers.TryAddWithoutValidation("Authorization", new string('a', 192));

        var (status, _, _) = await SendAsync(gw, request);
        using var read = await gw.Client.GetAsync("/legacy/messages");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Single(sogs.Requests);
    }

    [Fact]
    public async Task UninspectedRoutes_PassUntouched()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));

        using var response = await gw.Client.GetAsync("/capabilities");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(sogs.Requests);
    }

    [Fact]
    public async Task SogsIni_ImportsSogsRateLimit_TheSixthPostIn16sIsRefusedAsSogsRefusesIt()
    {
        await using var sogs = await FakeSogs.StartAsync();
        var files = new Dictionary<string, string> { ["sogs/sogs.ini"] = "[messages]\nprofanity_filter = no\n" };
        await using var gw = await GatewayHost.StartAsync(Config(sogs, "config = \"sogs/sogs.ini\""), files);
        var alice = SogsClient.Random();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            statuses.Add((await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("post " + i)))).Status);
        }

        var other = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/quiet/message", alice.Post("elsewhere")));
        var last = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("one more")));

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Created, 5).Append(HttpStatusCode.TooManyRequests), statuses);
        Assert.Equal(HttpStatusCode.Created, other.Status); // per room, as SOGS counts
        Assert.Equal("Rate limited", last.Body);
    }

    [Fact]
    public async Task SogsIni_ProfanityFileAndAlphabet_ImportedAsSogsFilters()
    {
        await using var sogs = await FakeSogs.StartAsync();
        var files = new Dictionary<string, string>
        {
            ["sogs/sogs.ini"] = """
                [messages]
                profanity_filter = yes
                profanity_silent = no
                profanity_custom = profanity-block-list.txt
                alphabet_filters = cyrillic

                [room:quiet]
                profanity_silent = yes
                """,
            ["sogs/profanity-block-list.txt"] = "frack\nsmeg\n\n",
        };
        await using var gw = await GatewayHost.StartAsync(Config(sogs, "config = \"sogs/sogs.ini\""), files);
        var alice = SogsClient.Random();

        var rejected = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("oh frack")));
        var byName = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("hello", "smeg head")));
        var quiet = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/quiet/message", alice.Post("oh frack")));
        var cyrillic = await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("привет")));
        var modPost = await SendAsync(gw, Signed(sogs, Moderator, "POST", "/room/lobby/message", Moderator.Post("oh frack")));

        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.Status);
        Assert.Equal("filtration rejected message (profanity)", rejected.Body);
        Assert.Equal(HttpStatusCode.TooManyRequests, byName.Status);
        Assert.Equal(HttpStatusCode.Created, quiet.Status);
        Assert.True((bool)JsonNode.Parse(quiet.Body)!["filtered"]!);
        Assert.Equal(HttpStatusCode.Created, cyrillic.Status);
        Assert.True((bool)JsonNode.Parse(cyrillic.Body)!["filtered"]!);
        Assert.Equal(HttpStatusCode.Created, modPost.Status); // filter_mods defaults to no
        Assert.Single(sogs.Posts);
    }

    [Fact]
    public async Task Privacy_TraceLogs_NeverCarryTextOrSignatures()
    {
        await using var sogs = await FakeSogs.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(sogs));
        var alice = SogsClient.Random();
        var post = alice.Post("buy followers zebracorn", "Zorblax the Name");

        var request = Signed(sogs, alice, "POST", "/room/lobby/message", post);
        var signature = request.Headers.GetValues("X-SOGS-Signature").First();
        await SendAsync(gw, request);
        await SendAsync(gw, Signed(sogs, alice, "POST", "/room/lobby/message", alice.Post("zebracorn clean")));

        var logs = string.Join("\n", gw.Logs.Lines);
        Assert.DoesNotContain("zebracorn", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("Zorblax", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(signature, logs, StringComparison.Ordinal);
        Assert.DoesNotContain((string)post["data"]!, logs, StringComparison.Ordinal);
    }
}
