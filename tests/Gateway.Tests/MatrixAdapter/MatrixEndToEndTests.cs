using Microsoft.Extensions.DependencyInjection;
using Gateway.Runtime;
using Gateway.Protocols.Matrix;
using Gateway.Protocols.Abstractions;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Matrix;
using Xunit.Abstractions;

namespace Gateway.Tests.MatrixAdapter;

/// <summary>
/// The gateway in front of the spec-faithful fake homeserver, driven by real clients (matrix-nio: ?access_token= and
/// /r0/; matrix-js-sdk: Bearer and /v3/) and by signed federation requests. One class: client processes run one at a time.
/// </summary>
public sealed class MatrixEndToEndTests(ITestOutputHelper output)
{
    public static TheoryData<string> Clients => new() { nameof(MatrixClientKind.Nio), nameof(MatrixClientKind.JsSdk) };

    private static string Config(string homeserverUrl, string extra = "") => $$"""
        [[backends]]
        name = "synapse"
        protocol = "matrix"
        upstreams = ["{{homeserverUrl}}"]
          [[backends.routes]]
          path = "/_matrix"
          [[backends.routes]]
          path = "/"
          inspect = false
          [backends.matrix]
          token_cache_seconds = 1
          public_rooms = ["!*:hs.test"]
          reject_encrypted_in_public_rooms = true

        [[filters]]
        name = "profanity"
        keywords = ["darn", "heck"]
        fields = ["body", "title", "display_name"]

        [[filters]]
        name = "scams"
        action = "reject"
        notice = "Scams are not allowed here."
        keywords = ["free crypto"]

        [[filters]]
        name = "spam-links"
        action = "drop"
        keywords = ["*spamshop.example*"]

        [[filters]]
        name = "dm-only"
        scope = "direct"
        action = "reject"
        notice = "Not in DMs."
        keywords = ["meetup"]
        {{extra}}
        """;

    private async Task<(FakeHomeserver Hs, GatewayHost Gw)> StartAsync(string extra = "", Dictionary<string, string>? files = null,
        TimeProvider? time = null)
    {
        var hs = await FakeHomeserver.StartAsync();
        var gw = await GatewayHost.StartAsync(Config(hs.Url, extra), files,
            configure: time is null ? null : (Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>)(b => b.Services.AddSingleton<TimeProvider>(time)));
        return (hs, gw);
    }

    /// <summary>A room owned by "owner" (power 100) that the given users join: they are ordinary members.</summary>
    private static string Room(FakeHomeserver hs, params string[] members)
    {
        var owner = hs.CreateUser("owner" + Guid.NewGuid().ToString("N")[..6]);
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        foreach (var m in members)
        {
            hs.Join(room, m);
        }

        return room;
    }

    private ClientRun Log(ClientRun run)
    {
        output.WriteLine(run.ToString());
        return run;
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task RealClient_ThroughGateway_CensorsSendsHtmlEditsAndDisplayNames(string client)
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice", "secret-a");
        var room = Room(hs, alice.UserId, hs.CreateUser("bob").UserId); // three members with the owner: not a DM

        var run = Log(await ClientHarness.RunAsync(Enum.Parse<MatrixClientKind>(client),
            new ClientLogin(gw.Client.BaseAddress!.ToString().TrimEnd('/'), "alice", Password: "secret-a", RoomId: room),
            "send", "hello world",
            "send", "well darn it",
            "send-html", "darn bold move", "<b>darn</b> <i>bold</i> move &amp; more",
            "edit", "-", "oh heck edit",
            "displayname", "Darn Alice",
            "messages", "20"));
        Assert.True(run.ExitCode == 0, run.ToString());

        var messages = hs.Messages(room);
        Assert.Equal(4, messages.Count);
        Assert.Equal("hello world", messages[0].Body);
        Assert.Equal("well **** it", messages[1].Body);
        Assert.Equal("**** bold move", messages[2].Body);
        Assert.Equal("<b>****</b> <i>bold</i> move &amp; more", messages[2].Text("formatted_body"));
        Assert.Equal("oh **** edit", messages[3].NewContentBody);
        Assert.Equal("* oh **** edit", messages[3].Body);
        Assert.Equal("**** Alice", hs.DisplayName(alice.UserId));
        // The client reads back what the homeserver stored: the censored text.
        var readBack = run.Steps("message").Select(m => m.GetProperty("content").TryGetProperty("body", out var b) ? b.GetString() : null).ToArray();
        Assert.Contains("well **** it", readBack);
        Assert.DoesNotContain("well darn it", readBack);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task RealClient_RejectedMessage_GetsForbiddenWithNoticeAndIsNotStored(string client)
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice", "secret-a");
        var room = Room(hs, alice.UserId, hs.CreateUser("bob").UserId);

        var run = Log(await ClientHarness.RunAsync(Enum.Parse<MatrixClientKind>(client),
            new ClientLogin(gw.Client.BaseAddress!.ToString().TrimEnd('/'), "alice", Password: "secret-a", RoomId: room),
            "send", "get FREE crypto now"));
        Assert.NotEqual(0, run.ExitCode);
        var error = run.Error!.Value;
        Assert.Equal("M_FORBIDDEN", error.GetProperty("errcode").GetString());
        Assert.Equal("Scams are not allowed here.", error.GetProperty("error").GetString());
        Assert.Empty(hs.Messages(room));
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task RealClient_SilentDrop_ClientSeesSuccessButNothingIsStored(string client)
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice", "secret-a");
        var room = Room(hs, alice.UserId, hs.CreateUser("bob").UserId);
        var run = Log(await ClientHarness.RunAsync(Enum.Parse<MatrixClientKind>(client),
            new ClientLogin(gw.Client.BaseAddress!.ToString().TrimEnd('/'), "alice", Password: "secret-a", RoomId: room),
            "send", "visit https://spamshop.example/deal", "send", "a normal message"));
        Assert.True(run.ExitCode == 0, run.ToString());
        var ids = run.EventIds;
        Assert.Equal(2, ids.Count);
        Assert.StartsWith("$", ids[0]);
        var stored = Assert.Single(hs.Messages(room));
        Assert.Equal("a normal message", stored.Body);
        Assert.Null(hs.Event(ids[0]));
    }

    private static HttpRequestMessage Put(string path, string token, object content, bool queryToken = false)
    {
        var uri = queryToken ? path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "access_token=" + Uri.EscapeDataString(token) : path;
        var request = new HttpRequestMessage(HttpMethod.Put, uri) { Content = new StringContent(JsonSerializer.Serialize(content), Encoding.UTF8, "application/json") };
        if (!queryToken)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    private static string SendPath(string room, string type = "m.room.message") =>
        $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/send/{type}/{Guid.NewGuid():N}";

    [Fact]
    public async Task Send_DirectRoomOfTwo_AppliesDirectScopedFilter()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice");
        var bob = hs.CreateUser("bob");
        // A DM bob started: alice is an ordinary member (the creator holds power 100 and moderators are exempt).
        var dm = hs.CreateRoom(bob.UserId, new CreateRoomOptions(IsDirect: true, Invite: new[] { alice.UserId }));
        hs.Join(dm, alice.UserId);
        var group = Room(hs, alice.UserId, bob.UserId);

        var inDm = await gw.Client.SendAsync(Put(SendPath(dm), alice.AccessToken, new { msgtype = "m.text", body = "meetup tonight?" }));
        var inGroup = await gw.Client.SendAsync(Put(SendPath(group), alice.AccessToken, new { msgtype = "m.text", body = "meetup tonight?" }));
        Assert.Equal(HttpStatusCode.Forbidden, inDm.StatusCode);
        Assert.Contains("Not in DMs.", await inDm.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, inGroup.StatusCode);
    }

    [Fact]
    public async Task Send_DirectRoomBothAtPower100_BothAreFilteredNotExempt()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice");
        var bob = hs.CreateUser("bob");
        // A DM as clients make it (trusted_private_chat): the creator and the invitee both hold power 100.
        var dm = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "trusted_private_chat", IsDirect: true, Invite: new[] { bob.UserId }));
        hs.Join(dm, bob.UserId);
        Assert.Equal(100, hs.PowerLevel(dm, alice.UserId));
        Assert.Equal(100, hs.PowerLevel(dm, bob.UserId));

        var fromCreator = await gw.Client.SendAsync(Put(SendPath(dm), alice.AccessToken, new { msgtype = "m.text", body = "darn you" }));
        var fromInvitee = await gw.Client.SendAsync(Put(SendPath(dm), bob.AccessToken, new { msgtype = "m.text", body = "heck no" }));
        Assert.Equal(HttpStatusCode.OK, fromCreator.StatusCode);
        Assert.Equal(HttpStatusCode.OK, fromInvitee.StatusCode);
        Assert.Equal(new[] { "**** you", "**** no" }, hs.Messages(dm).Select(m => m.Body).ToArray());

        // In a group room the creator is still a moderator and exempt.
        var group = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat"));
        hs.Join(group, bob.UserId);
        hs.Join(group, hs.CreateUser("carol").UserId);
        await gw.Client.SendAsync(Put(SendPath(group), alice.AccessToken, new { msgtype = "m.text", body = "darn fine" }));
        Assert.Equal("darn fine", hs.Messages(group).Single().Body);
    }

    [Fact]
    public async Task Report_DirectRoomMessage_NamesTheOtherMemberAsRecipient()
    {
        const string secret = "matrix-webhook-secret-0123456789";
        await using var hook = await WebhookReceiver.StartAsync(secret);
        var (hs, gw) = await StartAsync($$"""
            [[filters]]
            name = "reported"
            report = true
            action = "forward"
            keywords = ["snitch"]

            [reports]
            url = "{{hook.Url}}"
            secret_file = "webhook.secret"
            """, new Dictionary<string, string> { ["webhook.secret"] = secret });
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice");
        var bob = hs.CreateUser("bob");
        var dm = hs.CreateRoom(bob.UserId, new CreateRoomOptions(IsDirect: true, Invite: new[] { alice.UserId }));
        hs.Join(dm, alice.UserId);

        var sent = await gw.Client.SendAsync(Put(SendPath(dm), alice.AccessToken, new { msgtype = "m.text", body = "I will snitch" }));
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        var report = Assert.Single(await hook.WaitForAsync(1, seconds: 10)).Json;
        Assert.True(report.GetProperty("direct").GetBoolean());
        Assert.Equal(alice.UserId, report.GetProperty("sender").GetString());
        Assert.Equal(new[] { bob.UserId }, report.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()).ToArray());

        // A user's report of an event in the DM names the other member too.
        var eventId = hs.SendText(dm, bob.UserId, "something nasty");
        var request = new HttpRequestMessage(HttpMethod.Post, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(dm)}/report/{Uri.EscapeDataString(eventId)}")
        {
            Content = new StringContent("{\"reason\":\"abuse\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", alice.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await gw.Client.SendAsync(request)).StatusCode);
        var userReport = (await hook.WaitForAsync(2, seconds: 10))[1].Json;
        Assert.Equal("user_report", userReport.GetProperty("kind").GetString());
        Assert.Equal(new[] { bob.UserId }, userReport.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()).ToArray());
    }

    [Fact]
    public async Task Send_Moderator_IsExemptAndPowerLevelChangeIsSeen()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice");
        var mod = hs.CreateUser("mod");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat"));
        hs.Join(room, mod.UserId);
        hs.Join(room, hs.CreateUser("carol").UserId); // alice owns the room (100) and promotes mod below

        await gw.Client.SendAsync(Put(SendPath(room), mod.AccessToken, new { msgtype = "m.text", body = "darn before" }));
        // alice (100) raises mod to 50 (= kick) through the gateway: the cached power levels must be dropped.
        var levels = JsonNode.Parse(hs.StateEvent(room, "m.room.power_levels")!.Content.GetRawText())!.AsObject();
        levels["users"]![mod.UserId] = 50;
        var pl = await gw.Client.SendAsync(Put($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/state/m.room.power_levels/", alice.AccessToken, levels));
        Assert.Equal(HttpStatusCode.OK, pl.StatusCode);
        await gw.Client.SendAsync(Put(SendPath(room), mod.AccessToken, new { msgtype = "m.text", body = "darn after" }));

        var bodies = hs.Messages(room).Select(m => m.Body).ToArray();
        Assert.Equal(new[] { "**** before", "darn after" }, bodies);
    }

    [Fact]
    public async Task Send_RoomNameAndTopic_AreCensored()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice");
        var room = Room(hs, alice.UserId);
        var owner = hs.JoinedMembers(room).First(m => m != alice.UserId);
        var levels = JsonNode.Parse(hs.StateEvent(room, "m.room.power_levels")!.Content.GetRawText())!.AsObject();
        hs.SetPowerLevel(room, alice.UserId, 20);
        var pl = levels["state_default"]!.GetValue<int>();
        hs.SetState(room, owner, "m.room.power_levels", "", JsonSerializer.Serialize(new { users = new Dictionary<string, int> { [owner] = 100, [alice.UserId] = 20 }, state_default = 10, kick = 50, redact = 50, ban = 50, events_default = 0, users_default = 0 }));
        Assert.True(pl > 0);
        var r1 = await gw.Client.SendAsync(Put($"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/state/m.room.name", alice.AccessToken, new { name = "Darn Room" }));
        var r2 = await gw.Client.SendAsync(Put($"/_matrix/client/r0/rooms/{Uri.EscapeDataString(room)}/state/m.room.topic/", alice.AccessToken, new { topic = "what the heck" }, queryToken: true));
        Assert.Equal(HttpStatusCode.OK, r1.StatusCode);
        Assert.Equal(HttpStatusCode.OK, r2.StatusCode);
        Assert.Equal("**** Room", hs.StateEvent(room, "m.room.name")!.Text("name"));
        Assert.Equal("what the ****", hs.StateEvent(room, "m.room.topic")!.Text("topic"));
    }

    [Fact]
    public async Task Send_Encrypted_CountedAndRejectedOnlyInPublicRooms()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice");
        var room = hs.CreateRoom(alice.UserId);
        var payload = new { algorithm = "m.megolm.v1.aes-sha2", ciphertext = "AwgAEnAC…", device_id = "DEV", sender_key = "key", session_id = "sess" };
        var response = await gw.Client.SendAsync(Put(SendPath(room, "m.room.encrypted"), alice.AccessToken, payload));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("M_FORBIDDEN", await response.Content.ReadAsStringAsync());
        var opaque = gw.Service<OpaqueTraffic>();
        Assert.Equal(1, opaque.Get("matrix", "encrypted", "public"));
    }

    [Fact]
    public async Task Send_RevokedToken_IsNotTrustedAndHomeserverAnswers()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var (hs, gw) = await StartAsync(time: time);
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice");
        var room = hs.CreateRoom(alice.UserId);
        var ok = await gw.Client.SendAsync(Put(SendPath(room), alice.AccessToken, new { msgtype = "m.text", body = "darn" }));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        hs.RevokeToken(alice.AccessToken);
        time.Advance(TimeSpan.FromSeconds(1.2)); // token_cache_seconds = 1: the cached whoami expires
        var revoked = await gw.Client.SendAsync(Put(SendPath(room), alice.AccessToken, new { msgtype = "m.text", body = "darn" }));
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        Assert.Contains("M_UNKNOWN_TOKEN", await revoked.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Send_BadJson_GetsMatrixShapedError()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice");
        var room = hs.CreateRoom(alice.UserId);
        var request = new HttpRequestMessage(HttpMethod.Put, SendPath(room)) { Content = new StringContent("{\"body\":", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", alice.AccessToken);
        var response = await gw.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("M_NOT_JSON", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errcode").GetString());
        Assert.Empty(hs.Messages(room));
    }

    [Fact]
    public async Task PolicyList_BannedUser_CannotSendAndCannotJoinOverFederation()
    {
        var files = new Dictionary<string, string>
        {
            ["policy/bans.json"] = """
                [{"type":"m.policy.rule.user","state_key":"r1","content":{"entity":"@spammer*:*","recommendation":"m.ban","reason":"spam"}},
                 {"type":"m.policy.rule.server","state_key":"r2","content":{"entity":"*.evil.test","recommendation":"m.ban"}}]
                """,
        };
        var (hs, gw) = await StartAsync("[matrix]\npolicy_lists = [\"policy/bans.json\"]\n", files);
        await using var _ = hs;
        await using var __ = gw;
        var spammer = hs.CreateUser("spammer1");
        var room = hs.CreateRoom(spammer.UserId);
        var send = await gw.Client.SendAsync(Put(SendPath(room), spammer.AccessToken, new { msgtype = "m.text", body = "hello" }));
        Assert.Equal(HttpStatusCode.Forbidden, send.StatusCode);

        var remote = FederationSigner.Generate("good.test");
        hs.TrustServer(remote);
        var join = await gw.Client.SendAsync(remote.CreateRequest(HttpMethod.Get,
            $"/_matrix/federation/v1/make_join/{Uri.EscapeDataString(room)}/{Uri.EscapeDataString("@spammer2:good.test")}?ver=10", hs.ServerName));
        Assert.Equal(HttpStatusCode.Forbidden, join.StatusCode);
        var evil = FederationSigner.Generate("node.evil.test");
        var fromEvil = await gw.Client.SendAsync(evil.CreateRequest(HttpMethod.Get, $"/_matrix/federation/v1/state_ids/{Uri.EscapeDataString(room)}?event_id=x", hs.ServerName));
        Assert.Equal(HttpStatusCode.Forbidden, fromEvil.StatusCode);
        Assert.DoesNotContain(hs.FederationRequests, r => r.Origin is "node.evil.test" || r.Path.Contains("spammer2", StringComparison.Ordinal));
    }

    public static TheoryData<string, string> FederationEndpoints => new()
    {
        { "GET", "/_matrix/federation/v1/make_join/{room}/@u:{origin}?ver=10" },
        { "PUT", "/_matrix/federation/v2/send_join/{room}/$event" },
        { "GET", "/_matrix/federation/v1/make_leave/{room}/@u:{origin}" },
        { "PUT", "/_matrix/federation/v2/send_leave/{room}/$event" },
        { "PUT", "/_matrix/federation/v2/invite/{room}/$event" },
        { "GET", "/_matrix/federation/v1/make_knock/{room}/@u:{origin}?ver=10" },
        { "PUT", "/_matrix/federation/v1/send_knock/{room}/$event" },
        { "GET", "/_matrix/federation/v1/state/{room}?event_id=$e" },
        { "GET", "/_matrix/federation/v1/state_ids/{room}?event_id=$e" },
        { "GET", "/_matrix/federation/v1/backfill/{room}?v=$e&limit=10" },
        { "GET", "/_matrix/federation/v1/event_auth/{room}/$event" },
        { "POST", "/_matrix/federation/v1/get_missing_events/{room}" },
        { "PUT", "/_matrix/federation/v1/send/txn1" },
    };

    [Theory]
    [MemberData(nameof(FederationEndpoints))]
    public async Task Federation_DeniedOrigin_Gets403OnEverySpecEndpointAndNothingArrives(string method, string template)
    {
        var (hs, gw) = await StartAsync("[server_acl]\nallow = [\"*\"]\ndeny = [\"evil.test\", \"*.evil.test\"]\nallow_ip_literals = false\n");
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice");
        var room = hs.CreateRoom(alice.UserId);
        foreach (var (origin, denied) in new[] { ("evil.test", true), ("sub.evil.test", true), ("good.test", false) })
        {
            var signer = FederationSigner.Generate(origin);
            hs.TrustServer(signer);
            var path = template.Replace("{room}", Uri.EscapeDataString(room), StringComparison.Ordinal).Replace("{origin}", origin, StringComparison.Ordinal)
                .Replace("$", "%24", StringComparison.Ordinal);
            var body = method == "GET" ? null : path.Contains("/send/", StringComparison.Ordinal) ? "{\"pdus\":[],\"edus\":[]}" : "{}";
            var response = await gw.Client.SendAsync(signer.CreateRequest(new HttpMethod(method), path, hs.ServerName, body));
            if (denied)
            {
                Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
                Assert.Equal("M_FORBIDDEN", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errcode").GetString());
            }
        }

        Assert.DoesNotContain(hs.FederationRequests, r => r.Origin is "evil.test" or "sub.evil.test");
        // The allowed request arrives with a signature that still verifies: the gateway forwarded the request target
        // (path and query, percent-encoding included) exactly as signed.
        var good = Assert.Single(hs.FederationRequests, r => r.Origin == "good.test");
        Assert.Equal(FederationAuth.Valid, good.Auth);
        Assert.True(((MatrixRuntime)gw.Service<ModuleRuntimes>().Get("matrix")!).Federation.AclDenied >= 2);
    }

    [Fact]
    public async Task Federation_RoomAcl_AppliesToThatRoomOnly()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var guarded = hs.CreateRoom(alice.UserId);
        var open = hs.CreateRoom(alice.UserId);
        var config = Config(hs.Url).Replace("reject_encrypted_in_public_rooms = true", $$"""
            reject_encrypted_in_public_rooms = true
              [[backends.matrix.room_acls]]
              room = "{{guarded}}"
              allow = ["*"]
              deny = ["rival.test"]
            """, StringComparison.Ordinal);
        await using var gw2 = await GatewayHost.StartAsync(config);
        var rival = FederationSigner.Generate("rival.test");
        hs.TrustServer(rival);
        var denied = await gw2.Client.SendAsync(rival.CreateRequest(HttpMethod.Get, $"/_matrix/federation/v1/state_ids/{Uri.EscapeDataString(guarded)}?event_id=x", hs.ServerName));
        var allowed = await gw2.Client.SendAsync(rival.CreateRequest(HttpMethod.Get, $"/_matrix/federation/v1/state_ids/{Uri.EscapeDataString(open)}?event_id=x", hs.ServerName));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.NotEqual(HttpStatusCode.Forbidden, allowed.StatusCode);
        Assert.Single(hs.FederationRequests, r => r.Origin == "rival.test");
    }

    [Fact]
    public async Task Antispam_CallbacksFollowPolicyAndToken()
    {
        var token = "antispam-" + Guid.NewGuid().ToString("N");
        var files = new Dictionary<string, string>
        {
            ["antispam.token"] = token,
            ["bans.json"] = """[{"type":"m.policy.rule.user","content":{"entity":"@bad:*","recommendation":"m.ban"}}]""",
        };
        var (hs, gw) = await StartAsync("""
            [matrix]
            policy_lists = ["bans.json"]
              [matrix.antispam]
              enabled = true
              token_file = "antispam.token"
              fail_open = ["user_may_join_room"]
            """, files);
        await using var _ = hs;
        await using var __ = gw;

        async Task<(HttpStatusCode, string)> Call(string callback, string json, string? bearer = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/_gateway/antispam/{callback}") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer ?? token);
            var r = await gw.Client.SendAsync(request);
            return (r.StatusCode, await r.Content.ReadAsStringAsync());
        }

        static string Event(string body, string sender = "@remote:other.test") =>
            JsonSerializer.Serialize(new { @event = new { type = "m.room.message", sender, room_id = "!r:hs.test", event_id = "$e", content = new { msgtype = "m.text", body } } });

        Assert.Equal(HttpStatusCode.OK, (await Call("check_event_for_spam", Event("hello there"))).Item1);
        var scam = await Call("check_event_for_spam", Event("FREE crypto for all"));
        Assert.Equal(HttpStatusCode.Forbidden, scam.Item1);
        Assert.Equal("{\"errcode\":\"M_FORBIDDEN\",\"error\":\"Scams are not allowed here.\"}", scam.Item2);
        Assert.Equal(HttpStatusCode.OK, (await Call("check_event_for_spam", Event("darn"))).Item1); // censor: can't rewrite, allowed
        Assert.Equal(HttpStatusCode.Forbidden, (await Call("check_event_for_spam", Event("hi", sender: "@bad:x.test"))).Item1);
        Assert.Equal(HttpStatusCode.Forbidden, (await Call("user_may_join_room", "{\"user_id\":\"@bad:x.test\",\"room_id\":\"!r:hs.test\",\"is_invited\":false}")).Item1);
        // What synapse-http-antispam 0.2.0+ really sends (synapse_http_antispam.py: {"user", "room", "is_invited"}).
        Assert.Equal(HttpStatusCode.Forbidden, (await Call("user_may_join_room", "{\"user\":\"@bad:x.test\",\"room\":\"!r:hs.test\",\"is_invited\":false}")).Item1);
        Assert.Equal(HttpStatusCode.OK, (await Call("user_may_join_room", "{\"user\":\"@fine:x.test\",\"room\":\"!r:hs.test\",\"is_invited\":false}")).Item1);
        // The module's do_ping expects its id back with status "ok".
        var ping = await Call("ping", "{\"id\":\"AbCdEfGh\"}");
        Assert.Equal(HttpStatusCode.OK, ping.Item1);
        Assert.Equal("{\"id\":\"AbCdEfGh\",\"status\":\"ok\"}", ping.Item2);
        // synapse-http-antispam sends user_may_invite's values shifted: user_id=inviter, room_id=invitee, inviter_user_id=room.
        Assert.Equal(HttpStatusCode.Forbidden, (await Call("user_may_invite", "{\"user_id\":\"@ok:x.test\",\"room_id\":\"@bad:x.test\",\"inviter_user_id\":\"!r:hs.test\"}")).Item1);
        Assert.Equal(HttpStatusCode.OK, (await Call("user_may_invite", "{\"user_id\":\"@ok:x.test\",\"room_id\":\"@fine:x.test\",\"inviter_user_id\":\"!r:hs.test\"}")).Item1);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Call("check_event_for_spam", Event("hello"), bearer: "wrong")).Item1);
        // Fail open / closed on input the gateway cannot judge.
        Assert.Equal(HttpStatusCode.OK, (await Call("user_may_join_room", "{not json")).Item1);
        Assert.Equal(HttpStatusCode.InternalServerError, (await Call("check_event_for_spam", "{not json")).Item1);
    }

    [Fact]
    public async Task Antispam_HotAddedWithTokenEnv_WorksAfterReloadWithoutRestart()
    {
        var variable = "GATEWAY_TEST_ANTISPAM_" + Guid.NewGuid().ToString("N");
        var token = "antispam-" + Guid.NewGuid().ToString("N");
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        try
        {
            Environment.SetEnvironmentVariable(variable, token);
            async Task<HttpResponseMessage> CallAsync()
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/_gateway/antispam/check_event_for_spam")
                {
                    Content = new StringContent("""{"event":{"type":"m.room.message","sender":"@a:other.test","room_id":"!r:hs.test","content":{"msgtype":"m.text","body":"hello"}}}""",
                        Encoding.UTF8, "application/json"),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                return await gw.Client.SendAsync(request);
            }

            Assert.Equal(HttpStatusCode.NotFound, (await CallAsync()).StatusCode);
            await File.AppendAllTextAsync(gw.ConfigPath, $$"""

                [matrix.antispam]
                enabled = true
                token_env = "{{variable}}"
                """);
            var reload = gw.Service<Gateway.Hosting.ConfigReloader>().Reload(gw.ConfigPath);
            Assert.True(reload.Ok, string.Join("\n", reload.Errors));
            var response = await CallAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("{}", await response.Content.ReadAsStringAsync());
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task Antispam_HotAddedWithTokenEnvNotInTheProcess_ReloadRefusedSayingWhyAndTokenFileWorks()
    {
        var variable = "GATEWAY_TEST_ANTISPAM_UNSET_" + Guid.NewGuid().ToString("N");
        var token = "antispam-" + Guid.NewGuid().ToString("N");
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var original = await File.ReadAllTextAsync(gw.ConfigPath);
        await File.WriteAllTextAsync(gw.ConfigPath, original + $$"""

            [matrix.antispam]
            enabled = true
            token_env = "{{variable}}"
            """);
        var reloader = gw.Service<Gateway.Hosting.ConfigReloader>();
        var refused = reloader.Reload(gw.ConfigPath);
        Assert.False(refused.Ok);
        var error = Assert.Single(refused.Errors).ToString();
        Assert.Contains($"matrix.antispam.token_env: environment variable {variable} is not set", error, StringComparison.Ordinal);
        Assert.Contains("needs a restart", error, StringComparison.Ordinal);
        Assert.Contains("token_file", error, StringComparison.Ordinal);

        // The file route works on a reload, no restart.
        await File.WriteAllTextAsync(Path.Combine(gw.Directory, "antispam.token"), token + "\n");
        await File.WriteAllTextAsync(gw.ConfigPath, original + """

            [matrix.antispam]
            enabled = true
            token_file = "antispam.token"
            """);
        Assert.True(reloader.Reload(gw.ConfigPath).Ok);
        var request = new HttpRequestMessage(HttpMethod.Post, "/_gateway/antispam/user_may_join_room")
        {
            Content = new StringContent("""{"user":"@a:hs.test","room":"!r:hs.test","is_invited":false}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await gw.Client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Report_EventReport_ForwardedToHomeserver()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var alice = hs.CreateUser("alice");
        var bob = hs.CreateUser("bob");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(IsDirect: true, Invite: new[] { bob.UserId }));
        hs.Join(room, bob.UserId);
        var eventId = hs.SendText(room, bob.UserId, "something nasty");
        var request = new HttpRequestMessage(HttpMethod.Post, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/report/{Uri.EscapeDataString(eventId)}")
        {
            Content = new StringContent("{\"reason\":\"abuse\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", alice.AccessToken);
        var response = await gw.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = Assert.Single(hs.Reports);
        Assert.Equal("abuse", report.Reason);
        Assert.Equal(alice.UserId, report.ReporterUserId);
    }
}
