using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Gateway.Tests.Matrix;

/// <summary>The fake homeserver's own contract over raw HTTP: status codes, errcodes and shapes from the spec and Synapse.</summary>
public sealed class FakeHomeserverTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Body)> Send(FakeHomeserver hs, HttpMethod method, string path,
        string? token = null, string? json = null, bool tokenInQuery = false)
    {
        using var http = new HttpClient { BaseAddress = new Uri(hs.Url) };
        if (token is not null && tokenInQuery)
        {
            path += (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "access_token=" + Uri.EscapeDataString(token);
        }

        using var request = new HttpRequestMessage(method, path);
        if (token is not null && !tokenInQuery)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string E(string id) => Uri.EscapeDataString(id);

    private static void AssertError(HttpStatusCode expectedStatus, string errcode, (HttpStatusCode Status, JsonElement Body) reply)
    {
        Assert.Equal(expectedStatus, reply.Status);
        Assert.Equal(errcode, reply.Body.GetProperty("errcode").GetString());
        Assert.Equal(JsonValueKind.String, reply.Body.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task Versions_AndLoginFlows_AreUnauthenticatedAndSpecShaped()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var versions = await Send(hs, HttpMethod.Get, "/_matrix/client/versions");
        Assert.Equal(HttpStatusCode.OK, versions.Status);
        Assert.Contains("r0.6.1", versions.Body.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Contains("v1.12", versions.Body.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));

        var flows = await Send(hs, HttpMethod.Get, "/_matrix/client/v3/login");
        Assert.Equal("m.login.password", flows.Body.GetProperty("flows")[0].GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("r0")]
    [InlineData("v3")]
    public async Task Login_PasswordWithUserIdentifier_ReturnsTokenThatWorksInHeaderAndQuery(string version)
    {
        await using var hs = await FakeHomeserver.StartAsync();
        hs.CreateUser("alice", "pw");
        var login = await Send(hs, HttpMethod.Post, $"/_matrix/client/{version}/login", json:
            """{"type":"m.login.password","identifier":{"type":"m.id.user","user":"alice"},"password":"pw","device_id":"DEV1"}""");
        Assert.Equal(HttpStatusCode.OK, login.Status);
        Assert.Equal("@alice:hs.test", login.Body.GetProperty("user_id").GetString());
        Assert.Equal("DEV1", login.Body.GetProperty("device_id").GetString());
        Assert.Equal("hs.test", login.Body.GetProperty("home_server").GetString());
        var token = login.Body.GetProperty("access_token").GetString()!;

        foreach (var inQuery in new[] { false, true })
        {
            var who = await Send(hs, HttpMethod.Get, $"/_matrix/client/{version}/account/whoami", token, tokenInQuery: inQuery);
            Assert.Equal(HttpStatusCode.OK, who.Status);
            Assert.Equal("@alice:hs.test", who.Body.GetProperty("user_id").GetString());
            Assert.Equal("DEV1", who.Body.GetProperty("device_id").GetString());
            Assert.False(who.Body.GetProperty("is_guest").GetBoolean());
        }

        Assert.Equal([TokenSource.Header, TokenSource.QueryParameter],
            hs.Requests.Where(r => r.Endpoint == "GET /account/whoami").Select(r => r.TokenSource));
        Assert.All(hs.Requests, r => Assert.DoesNotContain(token, r.Path, StringComparison.Ordinal));

        AssertError(HttpStatusCode.Forbidden, "M_FORBIDDEN", await Send(hs, HttpMethod.Post, $"/_matrix/client/{version}/login",
            json: """{"type":"m.login.password","identifier":{"type":"m.id.user","user":"@alice:hs.test"},"password":"nope"}"""));
        AssertError(HttpStatusCode.BadRequest, "M_UNKNOWN", await Send(hs, HttpMethod.Post, $"/_matrix/client/{version}/login",
            json: """{"type":"m.login.magic"}"""));

        Assert.Equal(HttpStatusCode.OK, (await Send(hs, HttpMethod.Post, $"/_matrix/client/{version}/logout", token)).Status);
        AssertError(HttpStatusCode.Unauthorized, "M_UNKNOWN_TOKEN", await Send(hs, HttpMethod.Get, $"/_matrix/client/{version}/account/whoami", token));
    }

    [Fact]
    public async Task Auth_MissingUnknownMixedOrMalformed_Gets401WithSynapseErrcodes()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        AssertError(HttpStatusCode.Unauthorized, "M_MISSING_TOKEN", await Send(hs, HttpMethod.Get, "/_matrix/client/v3/account/whoami"));

        var unknown = await Send(hs, HttpMethod.Get, "/_matrix/client/v3/account/whoami", "syt_bogus");
        AssertError(HttpStatusCode.Unauthorized, "M_UNKNOWN_TOKEN", unknown);
        Assert.False(unknown.Body.GetProperty("soft_logout").GetBoolean());

        // Synapse refuses a request that carries the token both ways.
        AssertError(HttpStatusCode.Unauthorized, "M_MISSING_TOKEN",
            await Send(hs, HttpMethod.Get, "/_matrix/client/v3/account/whoami?access_token=" + alice.AccessToken, alice.AccessToken));

        using var http = new HttpClient { BaseAddress = new Uri(hs.Url) };
        using var basic = new HttpRequestMessage(HttpMethod.Get, "/_matrix/client/v3/account/whoami");
        basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", "YTpi");
        using var response = await http.SendAsync(basic);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("M_MISSING_TOKEN", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        hs.RevokeToken(alice.AccessToken);
        AssertError(HttpStatusCode.Unauthorized, "M_UNKNOWN_TOKEN", await Send(hs, HttpMethod.Get, "/_matrix/client/r0/account/whoami", alice.AccessToken, tokenInQuery: true));
        Assert.Equal(5, hs.RequestCount("GET /account/whoami"));
    }

    [Fact]
    public async Task UnknownEndpointOrMethod_GetsUnrecognized()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        AssertError(HttpStatusCode.NotFound, "M_UNRECOGNIZED", await Send(hs, HttpMethod.Get, "/_matrix/client/v3/no/such/thing"));
        AssertError(HttpStatusCode.MethodNotAllowed, "M_UNRECOGNIZED", await Send(hs, HttpMethod.Delete, "/_matrix/client/v3/login"));
        Assert.Equal(1, hs.RequestCount("GET ?"));
    }

    [Fact]
    public async Task CreateRoom_PrivateDirectWithInvite_HasSynapseStateAndDefaults()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var bob = hs.CreateUser("bob");
        var created = await Send(hs, HttpMethod.Post, "/_matrix/client/v3/createRoom", alice.AccessToken,
            $$"""{"preset":"trusted_private_chat","is_direct":true,"invite":["{{bob.UserId}}"],"name":"dm","topic":"t"}""");
        Assert.Equal(HttpStatusCode.OK, created.Status);
        var room = created.Body.GetProperty("room_id").GetString()!;
        Assert.Matches("^![A-Za-z]{18}:hs.test$", room);

        Assert.Equal(
            ["m.room.create", "m.room.member", "m.room.power_levels", "m.room.join_rules", "m.room.history_visibility", "m.room.guest_access",
                "m.room.name", "m.room.topic", "m.room.member"],
            hs.Timeline(room).Select(e => e.Type));
        var pl = hs.StateEvent(room, "m.room.power_levels")!.Content;
        Assert.Equal(100, pl.GetProperty("users").GetProperty(alice.UserId).GetInt32());
        Assert.Equal(100, pl.GetProperty("users").GetProperty(bob.UserId).GetInt32()); // trusted_private_chat
        foreach (var (key, level) in new[] { ("users_default", 0), ("events_default", 0), ("state_default", 50), ("ban", 50), ("kick", 50), ("redact", 50), ("invite", 0) })
        {
            Assert.Equal(level, pl.GetProperty(key).GetInt32());
        }

        Assert.Equal("invite", hs.StateEvent(room, "m.room.join_rules")!.Text("join_rule"));
        Assert.Equal("invite", hs.Membership(room, bob.UserId));
        Assert.True(hs.StateEvent(room, "m.room.member", bob.UserId)!.Content.GetProperty("is_direct").GetBoolean());
        Assert.Equal(alice.UserId, hs.StateEvent(room, "m.room.create")!.Text("creator"));

        // The invitee sees the invite in /sync, joins, and both are members.
        var sync = await Send(hs, HttpMethod.Get, "/_matrix/client/v3/sync", bob.AccessToken);
        Assert.True(sync.Body.GetProperty("rooms").GetProperty("invite").TryGetProperty(room, out _));
        Assert.Equal(HttpStatusCode.OK, (await Send(hs, HttpMethod.Post, $"/_matrix/client/v3/join/{E(room)}", bob.AccessToken, "{}")).Status);
        var joined = await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/rooms/{E(room)}/joined_members", bob.AccessToken);
        Assert.Equal("alice", joined.Body.GetProperty("joined").GetProperty(alice.UserId).GetProperty("display_name").GetString());
        Assert.Equal("bob", joined.Body.GetProperty("joined").GetProperty(bob.UserId).GetProperty("display_name").GetString());
    }

    [Fact]
    public async Task CreateRoom_PublicPreset_InviteNeedsModeratorAndAnyoneJoins()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var bob = hs.CreateUser("bob");
        var carol = hs.CreateUser("carol");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat", RoomAliasName: "lobby"));
        Assert.Equal(50, hs.StateEvent(room, "m.room.power_levels")!.Content.GetProperty("invite").GetInt32());
        Assert.Equal("public", hs.StateEvent(room, "m.room.join_rules")!.Text("join_rule"));

        var join = await Send(hs, HttpMethod.Post, $"/_matrix/client/r0/join/{E("#lobby:hs.test")}", bob.AccessToken);
        Assert.Equal(room, join.Body.GetProperty("room_id").GetString());
        AssertError(HttpStatusCode.Forbidden, "M_FORBIDDEN",
            await Send(hs, HttpMethod.Post, $"/_matrix/client/v3/rooms/{E(room)}/invite", bob.AccessToken, $$"""{"user_id":"{{carol.UserId}}"}"""));
        AssertError(HttpStatusCode.NotFound, "M_NOT_FOUND", await Send(hs, HttpMethod.Post, $"/_matrix/client/v3/join/{E("!nope:hs.test")}", bob.AccessToken));
        Assert.Equal(HttpStatusCode.OK, (await Send(hs, HttpMethod.Post, $"/_matrix/client/v3/rooms/{E(room)}/leave", bob.AccessToken)).Status);
        Assert.Equal("leave", hs.Membership(room, bob.UserId));
    }

    [Fact]
    public async Task Send_SameTxnIdSameDevice_IsIdempotent_OtherDeviceIsNew()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var room = hs.CreateRoom(alice.UserId);
        var path = $"/_matrix/client/v3/rooms/{E(room)}/send/m.room.message/txn1";
        const string body = """{"msgtype":"m.text","body":"once"}""";
        var first = await Send(hs, HttpMethod.Put, path, alice.AccessToken, body);
        var again = await Send(hs, HttpMethod.Put, path.Replace("/v3/", "/r0/", StringComparison.Ordinal), alice.AccessToken, body);
        Assert.Equal(HttpStatusCode.OK, first.Status);
        var eventId = first.Body.GetProperty("event_id").GetString()!;
        Assert.StartsWith("$", eventId);
        Assert.Equal(eventId, again.Body.GetProperty("event_id").GetString());
        Assert.Single(hs.Messages(room));

        var otherDevice = hs.IssueToken(alice.UserId);
        var third = await Send(hs, HttpMethod.Put, path, otherDevice.AccessToken, body);
        Assert.NotEqual(eventId, third.Body.GetProperty("event_id").GetString());
        Assert.Equal(2, hs.Messages(room).Count);

        // The sending device sees its transaction id in unsigned; another device does not.
        var mine = await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/rooms/{E(room)}/event/{E(eventId)}", alice.AccessToken);
        Assert.Equal("txn1", mine.Body.GetProperty("unsigned").GetProperty("transaction_id").GetString());
        var theirs = await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/rooms/{E(room)}/event/{E(eventId)}", otherDevice.AccessToken);
        Assert.False(theirs.Body.GetProperty("unsigned").TryGetProperty("transaction_id", out _));
        Assert.Equal("once", theirs.Body.GetProperty("content").GetProperty("body").GetString());
    }

    [Fact]
    public async Task Send_PowerLevelsAndContent_AreEnforced()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var bob = hs.CreateUser("bob");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat",
            PowerLevelContentOverride: new System.Text.Json.Nodes.JsonObject { ["events_default"] = 10 }));
        hs.Join(room, bob.UserId);
        var send = $"/_matrix/client/v3/rooms/{E(room)}/send/m.room.message/";
        AssertError(HttpStatusCode.Forbidden, "M_FORBIDDEN", await Send(hs, HttpMethod.Put, send + "a", bob.AccessToken, """{"body":"muted"}"""));
        hs.SetPowerLevel(room, bob.UserId, 10);
        Assert.Equal(HttpStatusCode.OK, (await Send(hs, HttpMethod.Put, send + "b", bob.AccessToken, """{"body":"now ok"}""")).Status);

        AssertError(HttpStatusCode.BadRequest, "M_NOT_JSON", await Send(hs, HttpMethod.Put, send + "c", bob.AccessToken, "{not json"));
        AssertError(HttpStatusCode.BadRequest, "M_BAD_JSON", await Send(hs, HttpMethod.Put, send + "d", bob.AccessToken, "[1]"));
        AssertError(HttpStatusCode.BadRequest, "M_BAD_JSON", await Send(hs, HttpMethod.Put, send + "e", bob.AccessToken, """{"body":"x","n":1.5}"""));
        AssertError(HttpStatusCode.RequestEntityTooLarge, "M_TOO_LARGE",
            await Send(hs, HttpMethod.Put, send + "f", bob.AccessToken, JsonSerializer.Serialize(new { body = new string('x', 70_000) })));
        Assert.Equal(["now ok"], hs.Messages(room).Select(m => m.Body));
    }

    [Fact]
    public async Task State_EmptyStateKeyBothForms_PowerChecked_AndReadBack()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var bob = hs.CreateUser("bob");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat"));
        hs.Join(room, bob.UserId);
        var withSlash = $"/_matrix/client/v3/rooms/{E(room)}/state/m.room.name/";
        var without = $"/_matrix/client/r0/rooms/{E(room)}/state/m.room.name";

        var first = await Send(hs, HttpMethod.Put, withSlash, alice.AccessToken, """{"name":"One"}""");
        var second = await Send(hs, HttpMethod.Put, without, alice.AccessToken, """{"name":"Two"}""");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.NotEqual(first.Body.GetProperty("event_id").GetString(), second.Body.GetProperty("event_id").GetString());
        Assert.Equal("Two", (await Send(hs, HttpMethod.Get, withSlash, bob.AccessToken)).Body.GetProperty("name").GetString());
        Assert.Equal("Two", (await Send(hs, HttpMethod.Get, without, bob.AccessToken)).Body.GetProperty("name").GetString());
        var asEvent = await Send(hs, HttpMethod.Get, without + "?format=event", bob.AccessToken);
        Assert.Equal("One", asEvent.Body.GetProperty("unsigned").GetProperty("prev_content").GetProperty("name").GetString());

        // Synapse deduplicates an identical state event from the same sender.
        var same = await Send(hs, HttpMethod.Put, without, alice.AccessToken, """{"name":"Two"}""");
        Assert.Equal(second.Body.GetProperty("event_id").GetString(), same.Body.GetProperty("event_id").GetString());

        AssertError(HttpStatusCode.Forbidden, "M_FORBIDDEN", await Send(hs, HttpMethod.Put, without, bob.AccessToken, """{"name":"Bob's"}"""));
        AssertError(HttpStatusCode.NotFound, "M_NOT_FOUND", await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/rooms/{E(room)}/state/m.room.topic", bob.AccessToken));

        // A member re-sends their own join with a per-room display name.
        var member = await Send(hs, HttpMethod.Put, $"/_matrix/client/v3/rooms/{E(room)}/state/m.room.member/{E(bob.UserId)}", bob.AccessToken,
            """{"membership":"join","displayname":"Bobby"}""");
        Assert.Equal(HttpStatusCode.OK, member.Status);
        Assert.Equal("Bobby", hs.StateEvent(room, "m.room.member", bob.UserId)!.Text("displayname"));
        Assert.Equal("bob", hs.DisplayName(bob.UserId));
        AssertError(HttpStatusCode.Forbidden, "M_FORBIDDEN", await Send(hs, HttpMethod.Put,
            $"/_matrix/client/v3/rooms/{E(room)}/state/m.room.member/{E(alice.UserId)}", bob.AccessToken, """{"membership":"join","displayname":"x"}"""));
        var all = await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/rooms/{E(room)}/state", bob.AccessToken);
        Assert.Contains(all.Body.EnumerateArray(), e => e.GetProperty("type").GetString() == "m.room.name");
    }

    [Fact]
    public async Task Messages_PaginateBackwardAndForward_WithSpecTokens()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var room = hs.CreateRoom(alice.UserId);
        var ids = Enumerable.Range(1, 5).Select(i => hs.SendText(room, alice.UserId, "m" + i)).ToList();
        var basePath = $"/_matrix/client/v3/rooms/{E(room)}/messages";

        var page1 = await Send(hs, HttpMethod.Get, basePath + "?dir=b&limit=3", alice.AccessToken);
        Assert.Equal(["m5", "m4", "m3"], page1.Body.GetProperty("chunk").EnumerateArray().Select(e => e.GetProperty("content").GetProperty("body").GetString()));
        var end = page1.Body.GetProperty("end").GetString()!;
        var page2 = await Send(hs, HttpMethod.Get, basePath + "?dir=b&limit=3&from=" + end, alice.AccessToken);
        Assert.Equal(["m2", "m1", null], page2.Body.GetProperty("chunk").EnumerateArray().Select(e => e.GetProperty("content").TryGetProperty("body", out var b) ? b.GetString() : null));

        // Paging back to the room's creation and beyond: "end" is omitted when nothing is left.
        var all = await Send(hs, HttpMethod.Get, basePath + "?dir=b&limit=100", alice.AccessToken);
        Assert.False(all.Body.TryGetProperty("end", out _));
        Assert.Equal("m.room.create", all.Body.GetProperty("chunk").EnumerateArray().Last().GetProperty("type").GetString());

        var forward = await Send(hs, HttpMethod.Get, basePath + "?dir=f&limit=2&from=" + end, alice.AccessToken);
        Assert.Equal(["m3", "m4"], forward.Body.GetProperty("chunk").EnumerateArray().Select(e => e.GetProperty("content").GetProperty("body").GetString()));
        Assert.Equal(end, forward.Body.GetProperty("start").GetString());
        Assert.Equal(ids[3], forward.Body.GetProperty("chunk")[1].GetProperty("event_id").GetString());

        AssertError(HttpStatusCode.BadRequest, "M_INVALID_PARAM", await Send(hs, HttpMethod.Get, basePath + "?dir=x", alice.AccessToken));
        var stranger = hs.CreateUser("eve");
        AssertError(HttpStatusCode.Forbidden, "M_FORBIDDEN", await Send(hs, HttpMethod.Get, basePath + "?dir=b", stranger.AccessToken));
    }

    [Fact]
    public async Task Sync_InitialThenIncremental_CarriesNewEventsAndAccountData()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var room = hs.CreateRoom(alice.UserId);
        hs.SendText(room, alice.UserId, "before");
        var initial = await Send(hs, HttpMethod.Get, "/_matrix/client/v3/sync?filter=" + E("""{"room":{"timeline":{"limit":2}}}"""), alice.AccessToken);
        var joined = initial.Body.GetProperty("rooms").GetProperty("join").GetProperty(room);
        Assert.Equal(2, joined.GetProperty("timeline").GetProperty("events").GetArrayLength());
        Assert.True(joined.GetProperty("timeline").GetProperty("limited").GetBoolean());
        Assert.Contains(joined.GetProperty("state").GetProperty("events").EnumerateArray(), e => e.GetProperty("type").GetString() == "m.room.create");
        var since = initial.Body.GetProperty("next_batch").GetString()!;

        var direct = await Send(hs, HttpMethod.Put, $"/_matrix/client/v3/user/{E(alice.UserId)}/account_data/m.direct", alice.AccessToken,
            $$"""{"@bob:hs.test":["{{room}}"]}""");
        Assert.Equal(HttpStatusCode.OK, direct.Status);
        Assert.Equal(room, hs.AccountData(alice.UserId, "m.direct")!.Value.GetProperty("@bob:hs.test")[0].GetString());
        var back = await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/user/{E(alice.UserId)}/account_data/m.direct", alice.AccessToken);
        Assert.Equal(room, back.Body.GetProperty("@bob:hs.test")[0].GetString());
        AssertError(HttpStatusCode.NotFound, "M_NOT_FOUND", await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/user/{E(alice.UserId)}/account_data/x.none", alice.AccessToken));
        AssertError(HttpStatusCode.Forbidden, "M_FORBIDDEN", await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/user/{E("@bob:hs.test")}/account_data/m.direct", alice.AccessToken));

        var withAccountData = await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/sync?timeout=0&since={since}", alice.AccessToken);
        Assert.Contains(withAccountData.Body.GetProperty("account_data").GetProperty("events").EnumerateArray(), e => e.GetProperty("type").GetString() == "m.direct");
        Assert.Empty(withAccountData.Body.GetProperty("rooms").GetProperty("join").EnumerateObject());

        // A long poll returns as soon as something happens.
        var poll = Send(hs, HttpMethod.Get, $"/_matrix/client/v3/sync?timeout=20000&since={withAccountData.Body.GetProperty("next_batch").GetString()}", alice.AccessToken);
        await Task.Delay(100);
        hs.SendText(room, alice.UserId, "after");
        var incremental = await poll.WaitAsync(TimeSpan.FromSeconds(10));
        var events = incremental.Body.GetProperty("rooms").GetProperty("join").GetProperty(room).GetProperty("timeline").GetProperty("events");
        Assert.Equal(["after"], events.EnumerateArray().Select(e => e.GetProperty("content").GetProperty("body").GetString()));
        Assert.Empty(incremental.Body.GetProperty("account_data").GetProperty("events").EnumerateArray());

        var quiet = await Send(hs, HttpMethod.Get, "/_matrix/client/v3/sync?timeout=0&since=" + incremental.Body.GetProperty("next_batch").GetString(), alice.AccessToken);
        Assert.Empty(quiet.Body.GetProperty("rooms").GetProperty("join").EnumerateObject());
    }

    [Fact]
    public async Task ProfileAndReports_AreSpecShaped()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var bob = hs.CreateUser("bob");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat"));
        hs.Join(room, bob.UserId);
        var ev = hs.SendText(room, bob.UserId, "rude");

        Assert.Equal(HttpStatusCode.OK, (await Send(hs, HttpMethod.Put, $"/_matrix/client/v3/profile/{E(bob.UserId)}/displayname", bob.AccessToken, """{"displayname":"B0b"}""")).Status);
        Assert.Equal("B0b", (await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/profile/{E(bob.UserId)}")).Body.GetProperty("displayname").GetString());
        Assert.Equal("B0b", (await Send(hs, HttpMethod.Get, $"/_matrix/client/r0/profile/{E(bob.UserId)}/displayname")).Body.GetProperty("displayname").GetString());
        AssertError(HttpStatusCode.Forbidden, "M_FORBIDDEN", await Send(hs, HttpMethod.Put, $"/_matrix/client/v3/profile/{E(bob.UserId)}/displayname", alice.AccessToken, """{"displayname":"x"}"""));
        AssertError(HttpStatusCode.NotFound, "M_NOT_FOUND", await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/profile/{E("@nobody:hs.test")}"));
        Assert.Equal("B0b", hs.StateEvent(room, "m.room.member", bob.UserId)!.Text("displayname"));

        var report = await Send(hs, HttpMethod.Post, $"/_matrix/client/v3/rooms/{E(room)}/report/{E(ev)}", alice.AccessToken, """{"reason":"abuse","score":-100}""");
        Assert.Equal(HttpStatusCode.OK, report.Status);
        Assert.Empty(report.Body.EnumerateObject());
        Assert.Equal(new ContentReport("event", alice.UserId, room, ev, bob.UserId, "abuse", -100), Assert.Single(hs.Reports));
        AssertError(HttpStatusCode.BadRequest, "M_INVALID_PARAM", await Send(hs, HttpMethod.Post, $"/_matrix/client/v3/rooms/{E(room)}/report/{E(ev)}", alice.AccessToken, """{"score":5}"""));
        AssertError(HttpStatusCode.NotFound, "M_NOT_FOUND", await Send(hs, HttpMethod.Post, $"/_matrix/client/v3/rooms/{E(room)}/report/{E("$nope")}", alice.AccessToken, """{"reason":"x"}"""));
        Assert.Equal(HttpStatusCode.OK, (await Send(hs, HttpMethod.Post, $"/_matrix/client/v3/users/{E(bob.UserId)}/report", alice.AccessToken, """{"reason":"spammer"}""")).Status);
        Assert.Equal("user", hs.Reports[^1].Kind);
    }

    [Fact]
    public async Task Redact_OwnEventOrModerator_StripsContent()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var bob = hs.CreateUser("bob");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat"));
        hs.Join(room, bob.UserId);
        var aliceEvent = hs.SendText(room, alice.UserId, "mine");
        AssertError(HttpStatusCode.Forbidden, "M_FORBIDDEN",
            await Send(hs, HttpMethod.Put, $"/_matrix/client/v3/rooms/{E(room)}/redact/{E(aliceEvent)}/r1", bob.AccessToken, "{}"));
        var bobEvent = hs.SendText(room, bob.UserId, "oops");
        var redaction = await Send(hs, HttpMethod.Put, $"/_matrix/client/v3/rooms/{E(room)}/redact/{E(bobEvent)}/r2", alice.AccessToken, """{"reason":"spam"}""");
        Assert.Equal(HttpStatusCode.OK, redaction.Status);
        var seen = await Send(hs, HttpMethod.Get, $"/_matrix/client/v3/rooms/{E(room)}/event/{E(bobEvent)}", bob.AccessToken);
        Assert.Empty(seen.Body.GetProperty("content").EnumerateObject());
        Assert.Equal(redaction.Body.GetProperty("event_id").GetString(), seen.Body.GetProperty("unsigned").GetProperty("redacted_because").GetProperty("event_id").GetString());
    }

    // ---------------------------------------------------------------- federation

    private static async Task<HttpResponseMessage> Federation(FakeHomeserver hs, FederationSigner? signer, HttpMethod method, string pathAndQuery,
        string? body = null, string? destination = null)
    {
        using var http = new HttpClient { BaseAddress = new Uri(hs.Url) };
        using var request = signer is null
            ? new HttpRequestMessage(method, pathAndQuery) { Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json") }
            : signer.CreateRequest(method, pathAndQuery, destination ?? hs.ServerName, body);
        return await http.SendAsync(request);
    }

    [Fact]
    public async Task Federation_SignedRequests_AreVerifiedAndRecordedWithTheirOrigin()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat"));
        var good = FederationSigner.Generate("good.test");
        var stranger = FederationSigner.Generate("stranger.test");
        hs.TrustServer(good);
        // Room ids in federation paths are percent-encoded as Synapse sends them; the signature covers that spelling.
        var state = $"/_matrix/federation/v1/state/{E(room)}?event_id={E("$x")}";

        using (var ok = await Federation(hs, good, HttpMethod.Get, state))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            var pdus = JsonDocument.Parse(await ok.Content.ReadAsStringAsync()).RootElement.GetProperty("pdus");
            Assert.Contains(pdus.EnumerateArray(), p => p.GetProperty("type").GetString() == "m.room.create");
            Assert.True(pdus[0].GetProperty("signatures").TryGetProperty("hs.test", out _));
        }

        using (var unsigned = await Federation(hs, null, HttpMethod.Get, state))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
            Assert.Contains("M_UNAUTHORIZED", await unsigned.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var unknownKey = await Federation(hs, stranger, HttpMethod.Get, state))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unknownKey.StatusCode);
        }

        using (var wrongDestination = await Federation(hs, good, HttpMethod.Get, state, destination: "elsewhere.test"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrongDestination.StatusCode);
        }

        // A proxy that re-spells the target (decoding %21/%3A) breaks the signature, as it would on Synapse.
        using (var http = new HttpClient { BaseAddress = new Uri(hs.Url) })
        using (var respelled = new HttpRequestMessage(HttpMethod.Get, $"/_matrix/federation/v1/state/{room}?event_id=%24x"))
        {
            respelled.Headers.TryAddWithoutValidation("Authorization", good.Authorization("GET", state, hs.ServerName, null));
            using var response = await http.SendAsync(respelled);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        var recorded = hs.FederationRequests;
        Assert.Equal(
            [FederationAuth.Valid, FederationAuth.Missing, FederationAuth.UnknownKey, FederationAuth.WrongDestination, FederationAuth.BadSignature],
            recorded.Select(r => r.Auth));
        Assert.Equal(["good.test", null, "stranger.test", "good.test", "good.test"], recorded.Select(r => r.Origin));
        Assert.All(recorded, r => Assert.Equal("GET /_matrix/federation/v1/state/{roomId}", r.Endpoint));
        Assert.Equal(state, recorded[0].Path);
        Assert.Equal(5, hs.RequestCount("GET /_matrix/federation/v1/state/{roomId}"));
        Assert.Empty(hs.Requests);
    }

    [Fact]
    public async Task Federation_JoinThenTransaction_AcceptsPdusPerEvent()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat"));
        var remote = FederationSigner.Generate("remote.test:8448");
        hs.TrustServer(remote);
        const string user = "@zed:remote.test:8448";

        using var makeJoin = await Federation(hs, remote, HttpMethod.Get, $"/_matrix/federation/v1/make_join/{E(room)}/{E(user)}?ver=10");
        Assert.Equal(HttpStatusCode.OK, makeJoin.StatusCode);
        var template = JsonDocument.Parse(await makeJoin.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("10", template.GetProperty("room_version").GetString());
        var join = template.GetProperty("event").GetRawText();

        using var sendJoin = await Federation(hs, remote, HttpMethod.Put, $"/_matrix/federation/v2/send_join/{E(room)}/{E("$join")}", join);
        Assert.Equal(HttpStatusCode.OK, sendJoin.StatusCode);
        Assert.Equal("join", hs.Membership(room, user));

        var txn = JsonSerializer.Serialize(new
        {
            origin = "remote.test:8448",
            origin_server_ts = 1,
            pdus = new object[]
            {
                new { room_id = room, sender = user, type = "m.room.message", content = new { msgtype = "m.text", body = "hi from afar" }, origin_server_ts = 2 },
                new { room_id = room, sender = "@spoof:other.test", type = "m.room.message", content = new { body = "spoofed" }, origin_server_ts = 3 },
            },
            edus = Array.Empty<object>(),
        });
        using var send = await Federation(hs, remote, HttpMethod.Put, "/_matrix/federation/v1/send/t1", txn);
        Assert.Equal(HttpStatusCode.OK, send.StatusCode);
        var results = JsonDocument.Parse(await send.Content.ReadAsStringAsync()).RootElement.GetProperty("pdus").EnumerateObject().ToList();
        Assert.Equal(2, results.Count);
        Assert.Single(results, r => r.Value.TryGetProperty("error", out _));
        Assert.Equal(["hi from afar"], hs.Messages(room).Select(m => m.Body));

        // A room ACL that denies the origin: the fake enforces it too (403), and still records the request.
        hs.SetState(room, alice.UserId, "m.room.server_acl", "", """{"allow":["*"],"deny":["remote.test"]}""");
        using var denied = await Federation(hs, remote, HttpMethod.Get, $"/_matrix/federation/v1/state_ids/{E(room)}");
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal("remote.test:8448", hs.FederationRequests[^1].Origin);
        Assert.Equal(FederationAuth.Valid, hs.FederationRequests[^1].Auth);
    }

    [Fact]
    public async Task Federation_VersionAndServerKeys_NeedNoSignature()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        using var version = await Federation(hs, null, HttpMethod.Get, "/_matrix/federation/v1/version");
        Assert.Equal(HttpStatusCode.OK, version.StatusCode);
        using var keys = await Federation(hs, null, HttpMethod.Get, "/_matrix/key/v2/server");
        var body = JsonDocument.Parse(await keys.Content.ReadAsStringAsync()).RootElement;
        var key = body.GetProperty("verify_keys").GetProperty(hs.SigningKey.KeyId).GetProperty("key").GetString()!;
        var sig = body.GetProperty("signatures").GetProperty("hs.test").GetProperty(hs.SigningKey.KeyId).GetString()!;
        var unsignedBody = System.Text.Json.Nodes.JsonNode.Parse(body.GetRawText())!.AsObject();
        unsignedBody.Remove("signatures");
        Assert.True(FederationSigner.Verify(UnpaddedBase64.Decode(key), CanonicalJson.Encode(unsignedBody), sig));
        Assert.All(hs.FederationRequests, r => Assert.Equal(FederationAuth.NotRequired, r.Auth));
    }
}
