using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Matrix;

namespace Gateway.Tests.MatrixAdapter;

/// <summary>
/// Issue 16 part 3: every text a user can make others see, end to end through the gateway in front of the fake
/// homeserver — aliases (title), directory publishing (the room's name/topic/alias as title/body/title),
/// m.room.canonical_alias (title), invite/kick/ban and join/leave reasons (body), report reasons (body), m.room.avatar info.alt (body),
/// and m.room.pinned_events left untouched.
/// </summary>
public sealed class MatrixVisibleTextTests
{
    private const string Filters = """
        [[filters]]
        name = "profanity"
        keywords = ["darn", "heck"]
        fields = ["body", "title", "display_name"]
        exempt_moderators = false

        [[filters]]
        name = "scams"
        action = "reject"
        notice = "Scams are not allowed here."
        keywords = ["free crypto", "cryptoscam"]
        fields = ["body", "title"]
        exempt_moderators = false

        [[filters]]
        name = "spam"
        action = "drop"
        keywords = ["spamshop"]
        fields = ["body", "title"]
        exempt_moderators = false
        """;

    private static async Task<(FakeHomeserver Hs, GatewayHost Gw)> StartAsync()
    {
        var hs = await FakeHomeserver.StartAsync();
        var gw = await GatewayHost.StartAsync($$"""
            [[backends]]
            name = "synapse"
            protocol = "matrix"
            upstreams = ["{{hs.Url}}"]
              [[backends.routes]]
              path = "/_matrix"
              [backends.matrix]
              token_cache_seconds = 1
            {{Filters}}
            """);
        return (hs, gw);
    }

    private static HttpRequestMessage Req(HttpMethod method, string path, string token, object? body)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private static string E(string s) => Uri.EscapeDataString(s);

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Call(GatewayHost gw, HttpMethod method, string path, string token, object? body)
    {
        using var response = await gw.Client.SendAsync(Req(method, path, token, body));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text.Length == 0 ? "{}" : text).RootElement.Clone());
    }

    private static void AssertForbidden((HttpStatusCode Status, JsonElement Body) r, string? text = null)
    {
        Assert.Equal(HttpStatusCode.Forbidden, r.Status);
        Assert.Equal("M_FORBIDDEN", r.Body.GetProperty("errcode").GetString());
        if (text is not null)
        {
            Assert.Equal(text, r.Body.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task Alias_IsATitle_BlockedWordRefused_DroppedOneNeverCreated_CleanOneCreated()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var owner = hs.CreateUser("owner");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));

        // censor on an alias cannot rewrite (an alias must exist as written): refused
        AssertForbidden(await Call(gw, HttpMethod.Put, $"/_matrix/client/v3/directory/room/{E("#darn-lounge:hs.test")}", owner.AccessToken, new { room_id = room }),
            "This room address was blocked by the server's content filter.");
        AssertForbidden(await Call(gw, HttpMethod.Put, $"/_matrix/client/v3/directory/room/{E("#cryptoscam:hs.test")}", owner.AccessToken, new { room_id = room }),
            "Scams are not allowed here.");
        var dropped = await Call(gw, HttpMethod.Put, $"/_matrix/client/r0/directory/room/{E("#spamshop:hs.test")}", owner.AccessToken, new { room_id = room });
        Assert.Equal(HttpStatusCode.OK, dropped.Status);
        Assert.Equal("{}", dropped.Body.GetRawText());
        var clean = await Call(gw, HttpMethod.Put, $"/_matrix/client/v3/directory/room/{E("#lounge:hs.test")}", owner.AccessToken, new { room_id = room });
        Assert.Equal(HttpStatusCode.OK, clean.Status);

        Assert.Null(hs.ResolveAlias("#darn-lounge:hs.test"));
        Assert.Null(hs.ResolveAlias("#cryptoscam:hs.test"));
        Assert.Null(hs.ResolveAlias("#spamshop:hs.test"));
        Assert.Equal(room, hs.ResolveAlias("#lounge:hs.test"));
        // the homeserver's own answers still come through unchanged (409 for a taken alias)
        var taken = await Call(gw, HttpMethod.Put, $"/_matrix/client/v3/directory/room/{E("#lounge:hs.test")}", owner.AccessToken, new { room_id = room });
        Assert.Equal(HttpStatusCode.Conflict, taken.Status);
    }

    [Fact]
    public async Task Publish_RoomWhoseNameTopicOrAliasFails_IsNotListed_HidingIsNeverChecked()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var owner = hs.CreateUser("owner");
        var badName = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat", Name: "heck lounge"));
        var badTopic = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat", Name: "Lounge", Topic: "get free crypto"));
        var badAlias = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat", Name: "Shop", RoomAliasName: "spamshop"));
        var good = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat", Name: "Book club", Topic: "novels"));

        AssertForbidden(await Call(gw, HttpMethod.Put, $"/_matrix/client/v3/directory/list/room/{E(badName)}", owner.AccessToken, new { visibility = "public" }),
            "This room's name, topic or address was blocked by the server's content filter, so it cannot be published.");
        AssertForbidden(await Call(gw, HttpMethod.Put, $"/_matrix/client/v3/directory/list/room/{E(badTopic)}", owner.AccessToken, new { visibility = "public" }),
            "Scams are not allowed here.");
        var dropped = await Call(gw, HttpMethod.Put, $"/_matrix/client/v3/directory/list/room/{E(badAlias)}", owner.AccessToken, new { visibility = "public" });
        Assert.Equal(HttpStatusCode.OK, dropped.Status);
        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Put, $"/_matrix/client/v3/directory/list/room/{E(good)}", owner.AccessToken, new { visibility = "public" })).Status);
        Assert.Equal(new[] { good }, hs.PublishedRooms());

        // hiding a room is forwarded whatever its name
        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Put, $"/_matrix/client/v3/directory/list/room/{E(badName)}", owner.AccessToken, new { visibility = "private" })).Status);
        Assert.Equal(2, hs.RequestCount("PUT /directory/list/room/{roomId}")); // good (public) and badName (private) only
    }

    [Fact]
    public async Task CanonicalAlias_AliasAndAltAliasesAreTitles_RefusedWhenBlocked()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var owner = hs.CreateUser("owner");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        hs.AddAlias("#darn:hs.test", room);
        hs.AddAlias("#club:hs.test", room);
        hs.AddAlias("#spamshop:hs.test", room);
        var path = $"/_matrix/client/v3/rooms/{E(room)}/state/m.room.canonical_alias";

        AssertForbidden(await Call(gw, HttpMethod.Put, path, owner.AccessToken, new { alias = "#darn:hs.test" }));
        AssertForbidden(await Call(gw, HttpMethod.Put, path, owner.AccessToken, new { alias = "#club:hs.test", alt_aliases = new[] { "#darn:hs.test" } }));
        var dropped = await Call(gw, HttpMethod.Put, path, owner.AccessToken, new { alias = "#spamshop:hs.test" });
        Assert.Equal(HttpStatusCode.OK, dropped.Status);
        Assert.StartsWith("$", dropped.Body.GetProperty("event_id").GetString());
        Assert.Null(hs.StateEvent(room, "m.room.canonical_alias")); // none of them reached the homeserver

        var ok = await Call(gw, HttpMethod.Put, path, owner.AccessToken, new { alias = "#club:hs.test" });
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.Equal("#club:hs.test", hs.StateEvent(room, "m.room.canonical_alias")!.Text("alias"));
    }

    [Fact]
    public async Task InviteKickBanReasons_AreBodies_CensoredInPlace_RejectedWithNotice()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var owner = hs.CreateUser("owner");
        var bob = hs.CreateUser("bob");
        var carol = hs.CreateUser("carol");
        var dave = hs.CreateUser("dave");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        hs.Join(room, bob.UserId);
        hs.Join(room, dave.UserId);
        var r = $"/_matrix/client/v3/rooms/{E(room)}";

        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Post, r + "/invite", owner.AccessToken, new { user_id = carol.UserId, reason = "join us, darn it" })).Status);
        Assert.Equal("join us, **** it", hs.StateEvent(room, "m.room.member", carol.UserId)!.Text("reason"));

        AssertForbidden(await Call(gw, HttpMethod.Post, r + "/kick", owner.AccessToken, new { user_id = bob.UserId, reason = "free crypto at spamsite" }),
            "Scams are not allowed here.");
        Assert.Equal("join", hs.Membership(room, bob.UserId));

        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Post, r + "/kick", owner.AccessToken, new { user_id = bob.UserId, reason = "heck no" })).Status);
        Assert.Equal("leave", hs.Membership(room, bob.UserId));
        Assert.Equal("**** no", hs.StateEvent(room, "m.room.member", bob.UserId)!.Text("reason"));

        // a silently dropped ban answers as the homeserver does ({}) and never happens
        var dropped = await Call(gw, HttpMethod.Post, r + "/ban", owner.AccessToken, new { user_id = dave.UserId, reason = "buy at spamshop" });
        Assert.Equal(HttpStatusCode.OK, dropped.Status);
        Assert.Equal("{}", dropped.Body.GetRawText());
        Assert.Equal("join", hs.Membership(room, dave.UserId));

        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Post, r + "/ban", owner.AccessToken, new { user_id = dave.UserId, reason = "darn spammer" })).Status);
        Assert.Equal("ban", hs.Membership(room, dave.UserId));
        Assert.Equal("**** spammer", hs.StateEvent(room, "m.room.member", dave.UserId)!.Text("reason"));

        // a reason-less kick carries no text: forwarded as sent
        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Post, r + "/unban", owner.AccessToken, new { user_id = dave.UserId })).Status);
    }

    [Fact]
    public async Task JoinAndLeaveReasons_AreBodies_CensoredInPlace_DroppedReasonsRemoved_TheChangeStillHappens()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var owner = hs.CreateUser("owner");
        var bob = hs.CreateUser("bob");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        var r = $"/_matrix/client/v3/rooms/{E(room)}";

        // censored in place: the join happens with the censored reason
        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Post, r + "/join", bob.AccessToken, new { reason = "here, darn it" })).Status);
        Assert.Equal("join", hs.Membership(room, bob.UserId));
        Assert.Equal("here, **** it", hs.StateEvent(room, "m.room.member", bob.UserId)!.Text("reason"));

        // rejected: M_FORBIDDEN with the notice, and the user stays where they were
        AssertForbidden(await Call(gw, HttpMethod.Post, r + "/leave", bob.AccessToken, new { reason = "free crypto at spamsite" }),
            "Scams are not allowed here.");
        Assert.Equal("join", hs.Membership(room, bob.UserId));

        // dropped: the reason is emptied and the leave goes ahead (a faked "you left" would strand the user)
        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Post, r + "/leave", bob.AccessToken, new { reason = "buy at spamshop" })).Status);
        Assert.Equal("leave", hs.Membership(room, bob.UserId));
        Assert.Equal(string.Empty, hs.StateEvent(room, "m.room.member", bob.UserId)!.Text("reason"));

        // the other join path, by alias or id, censors too; a reason-less join is forwarded as sent
        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Post, $"/_matrix/client/v3/join/{E(room)}", bob.AccessToken, new { reason = "heck yes" })).Status);
        Assert.Equal("**** yes", hs.StateEvent(room, "m.room.member", bob.UserId)!.Text("reason"));
        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Post, r + "/leave", bob.AccessToken, new { })).Status);
        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Post, r + "/join", bob.AccessToken, new { })).Status);
        Assert.Equal("join", hs.Membership(room, bob.UserId));
    }

    [Fact]
    public async Task ReportReason_IsABody_CensoredBeforeTheHomeserverGetsIt_RejectedReportsNotFiled()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var owner = hs.CreateUser("owner");
        var bob = hs.CreateUser("bob");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        hs.Join(room, bob.UserId);
        var eventId = hs.SendText(room, owner.UserId, "hello");

        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Post, $"/_matrix/client/v3/rooms/{E(room)}/report/{E(eventId)}", bob.AccessToken, new { reason = "darn rude" })).Status);
        AssertForbidden(await Call(gw, HttpMethod.Post, $"/_matrix/client/v3/users/{E(owner.UserId)}/report", bob.AccessToken, new { reason = "free crypto here" }),
            "Scams are not allowed here.");
        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Post, $"/_matrix/client/v3/rooms/{E(room)}/report", bob.AccessToken, new { reason = "fine room" })).Status);

        Assert.Equal(new[] { "**** rude", "fine room" }, hs.Reports.Select(x => x.Reason).ToArray());
    }

    [Fact]
    public async Task AvatarAltText_IsABody_CensoredInPlace_UrlUntouched()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var owner = hs.CreateUser("owner");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        var path = $"/_matrix/client/v3/rooms/{E(room)}/state/m.room.avatar";

        var r = await Call(gw, HttpMethod.Put, path, owner.AccessToken, new { url = "mxc://hs.test/darn", info = new { mimetype = "image/png", alt = "a darn cat" } });
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var stored = hs.StateEvent(room, "m.room.avatar")!.Content;
        Assert.Equal("mxc://hs.test/darn", stored.GetProperty("url").GetString());
        Assert.Equal("a **** cat", stored.GetProperty("info").GetProperty("alt").GetString());

        AssertForbidden(await Call(gw, HttpMethod.Put, path, owner.AccessToken, new { url = "mxc://hs.test/x", info = new { alt = "free crypto" } }));
        // no alt: nothing to read, forwarded as sent
        Assert.Equal(HttpStatusCode.OK, (await Call(gw, HttpMethod.Put, path, owner.AccessToken, new { url = "mxc://hs.test/plain" })).Status);
        Assert.Equal("mxc://hs.test/plain", hs.StateEvent(room, "m.room.avatar")!.Content.GetProperty("url").GetString());
    }

    [Fact]
    public async Task PinnedEvents_AreForwardedByteForByte()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var owner = hs.CreateUser("owner");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        var pinned = hs.SendText(room, owner.UserId, "darn pinned"); // stored directly: the text itself is not the pin's
        var body = $$"""{"note":"darn","pinned":["{{pinned}}"]}""";

        var r = await Call(gw, HttpMethod.Put, $"/_matrix/client/v3/rooms/{E(room)}/state/m.room.pinned_events", owner.AccessToken, body);
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(body, hs.StateEvent(room, "m.room.pinned_events")!.Content.GetRawText());
    }

    [Fact]
    public async Task MemberStateReason_IsABody()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var owner = hs.CreateUser("owner");
        var bob = hs.CreateUser("bob");
        var room = hs.CreateRoom(owner.UserId, new CreateRoomOptions(Preset: "public_chat"));
        hs.Join(room, bob.UserId);

        var s = await Call(gw, HttpMethod.Put, $"/_matrix/client/v3/rooms/{E(room)}/state/m.room.member/{E(bob.UserId)}", bob.AccessToken,
            new { membership = "join", displayname = "Bob", reason = "darn rename" });
        Assert.Equal(HttpStatusCode.OK, s.Status);
        Assert.Equal("**** rename", hs.StateEvent(room, "m.room.member", bob.UserId)!.Text("reason"));
    }
}
