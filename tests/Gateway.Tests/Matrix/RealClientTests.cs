using System.Text.Json;
using Xunit.Abstractions;

namespace Gateway.Tests.Matrix;

/// <summary>
/// matrix-nio and matrix-js-sdk, run as real processes, against <see cref="FakeHomeserver"/> directly: proves the
/// harness and the fake before the gateway sits between them. A client that cannot run fails these tests
/// (tests/clients/install.sh installs both). One class, so the client processes run one at a time on 2 cores.
/// </summary>
public sealed class RealClientTests(ITestOutputHelper output)
{
    public static TheoryData<string> Clients => new() { nameof(MatrixClientKind.Nio), nameof(MatrixClientKind.JsSdk) };

    private static MatrixClientKind Kind(string name) => Enum.Parse<MatrixClientKind>(name);

    private ClientRun Log(FakeHomeserver hs, ClientRun run)
    {
        output.WriteLine(run.ToString());
        output.WriteLine("--- endpoints");
        foreach (var r in hs.Requests)
        {
            output.WriteLine($"{r.Status} {r.Endpoint} [{r.ApiVersion}] token={r.TokenSource} {r.Method} {r.Path}");
        }

        return run;
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Client_LoginSendEditDisplayNameReadBack_HomeserverStoresItAndClientReadsItBack(string client)
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice", "secret-a");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Name: "lobby"));

        var run = Log(hs, await ClientHarness.RunAsync(Kind(client), new ClientLogin(hs.Url, "alice", Password: "secret-a", RoomId: room),
            "send", "hello world",
            "send-html", "bold move", "<b>bold</b> move",
            "edit", "-", "bold moves",
            "displayname", "Alice Liddell",
            "messages", "20"));

        Assert.True(run.ExitCode == 0, run.ToString());
        var login = Assert.Single(run.Steps("login"));
        Assert.Equal(alice.UserId, login.GetProperty("user_id").GetString());

        var messages = hs.Messages(room);
        Assert.Equal(3, messages.Count);
        Assert.Equal(run.EventIds, messages.Select(m => m.EventId));
        Assert.Equal("hello world", messages[0].Body);
        Assert.Equal("m.text", messages[0].Text("msgtype"));
        Assert.Equal("<b>bold</b> move", messages[1].Text("formatted_body"));
        Assert.Equal("org.matrix.custom.html", messages[1].Text("format"));
        var edit = messages[2];
        Assert.Equal("* bold moves", edit.Body);
        Assert.Equal("bold moves", edit.NewContentBody);
        Assert.Equal("m.replace", edit.Content.GetProperty("m.relates_to").GetProperty("rel_type").GetString());
        Assert.Equal(messages[1].EventId, edit.Content.GetProperty("m.relates_to").GetProperty("event_id").GetString());
        Assert.All(messages, m => Assert.Equal(alice.UserId, m.Sender));

        // The profile change reached the profile and, as Synapse does, the member event of every joined room.
        Assert.Equal("Alice Liddell", hs.DisplayName(alice.UserId));
        Assert.Equal("Alice Liddell", hs.StateEvent(room, "m.room.member", alice.UserId)!.Text("displayname"));

        // Read back through the client: the three messages in order (plus the member event of the rename, last).
        var read = run.Steps("message");
        Assert.Equal(run.EventIds, read.Where(m => m.GetProperty("type").GetString() == "m.room.message").Select(m => m.GetProperty("event_id").GetString()));
        Assert.Equal("bold moves", read.Single(m => m.GetProperty("event_id").GetString() == edit.EventId)
            .GetProperty("content").GetProperty("m.new_content").GetProperty("body").GetString());
        Assert.Equal("m.room.member", read[^1].GetProperty("type").GetString());

        // Token style and path version each library really uses.
        var authed = hs.Requests.Where(r => r.UserId is not null).ToList();
        Assert.NotEmpty(authed);
        var (expectedSource, expectedVersion) = Kind(client) == MatrixClientKind.Nio
            ? (TokenSource.QueryParameter, "r0")
            : (TokenSource.Header, "v3");
        Assert.All(authed, r => Assert.Equal(expectedSource, r.TokenSource));
        Assert.All(hs.Requests, r => Assert.Equal(expectedVersion, r.ApiVersion));
        Assert.All(hs.Requests, r => Assert.DoesNotContain(alice.AccessToken, r.Path, StringComparison.Ordinal));
        Assert.Equal(3, hs.RequestCount("PUT /rooms/{roomId}/send/{eventType}/{txnId}"));
        Assert.Equal(1, hs.RequestCount("PUT /profile/{userId}/displayname"));
        Assert.Equal(1, hs.RequestCount("GET /rooms/{roomId}/messages"));
    }

    [Theory]
    [InlineData("Nio", null, "QueryParameter")]
    [InlineData("JsSdk", "header", "Header")]
    [InlineData("JsSdk", "query", "QueryParameter")]
    public async Task Client_ExistingToken_AuthenticatesWithItsTokenStyle(string client, string? tokenStyle, string expectedSource)
    {
        var expected = Enum.Parse<TokenSource>(expectedSource);
        await using var hs = await FakeHomeserver.StartAsync();
        var bob = hs.CreateUser("bob");
        var room = hs.CreateRoom(bob.UserId);

        var run = Log(hs, await ClientHarness.RunAsync(Kind(client),
            new ClientLogin(hs.Url, bob.UserId, Token: bob.AccessToken, RoomId: room, TokenStyle: tokenStyle),
            "whoami", "send", "token only"));

        Assert.True(run.ExitCode == 0, run.ToString());
        var who = run.Steps("whoami")[^1];
        Assert.Equal(bob.UserId, who.GetProperty("user_id").GetString());
        Assert.Equal(bob.DeviceId, who.GetProperty("device_id").GetString());
        Assert.Equal("token only", Assert.Single(hs.Messages(room)).Body);
        Assert.Equal(bob.DeviceId, hs.Messages(room)[0].SenderDevice);
        Assert.All(hs.Requests, r => Assert.Equal(expected, r.TokenSource));
        Assert.DoesNotContain(hs.Requests, r => r.Endpoint == "POST /login");
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Client_NonMemberSends_Gets403ForbiddenAndExitsNonZero(string client)
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        hs.CreateUser("mallory", "pw-m");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat"));

        var run = Log(hs, await ClientHarness.RunAsync(Kind(client), new ClientLogin(hs.Url, "mallory", Password: "pw-m", RoomId: room),
            "send", "let me in"));

        Assert.Equal(1, run.ExitCode);
        var error = run.Error ?? throw new InvalidOperationException(run.ToString());
        Assert.Equal(403, error.GetProperty("status").GetInt32());
        Assert.Equal("M_FORBIDDEN", error.GetProperty("errcode").GetString());
        Assert.Contains("M_FORBIDDEN", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(hs.Messages(room));
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Client_RevokedToken_Gets401UnknownToken(string client)
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var carol = hs.CreateUser("carol");
        var room = hs.CreateRoom(carol.UserId);
        hs.RevokeToken(carol.AccessToken);

        var run = Log(hs, await ClientHarness.RunAsync(Kind(client), new ClientLogin(hs.Url, carol.UserId, Token: carol.AccessToken, RoomId: room),
            "send", "ghost"));

        Assert.Equal(1, run.ExitCode);
        var error = run.Error ?? throw new InvalidOperationException(run.ToString());
        Assert.Equal(401, error.GetProperty("status").GetInt32());
        Assert.Equal("M_UNKNOWN_TOKEN", error.GetProperty("errcode").GetString());
        Assert.Empty(hs.Messages(room));
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Client_WrongPassword_Gets403AndSendsNothing(string client)
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var dave = hs.CreateUser("dave", "right");
        var room = hs.CreateRoom(dave.UserId);

        var run = Log(hs, await ClientHarness.RunAsync(Kind(client), new ClientLogin(hs.Url, "dave", Password: "wrong", RoomId: room), "send", "x"));

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("M_FORBIDDEN", run.Error!.Value.GetProperty("errcode").GetString());
        Assert.Equal("login", run.Json[^1].GetProperty("step").GetString());
        Assert.Equal(0, hs.RequestCount("PUT /rooms/{roomId}/send/{eventType}/{txnId}"));
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Client_JoinsPublicRoomByIdThenSends(string client)
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var alice = hs.CreateUser("alice");
        hs.CreateUser("erin", "pw-e");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat"));

        var run = Log(hs, await ClientHarness.RunAsync(Kind(client), new ClientLogin(hs.Url, "erin", Password: "pw-e", RoomId: room),
            "join", "send", "hi all"));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(room, run.Steps("join")[0].GetProperty("room_id").GetString());
        Assert.Equal("join", hs.Membership(room, "@erin:hs.test"));
        Assert.Equal("hi all", Assert.Single(hs.Messages(room)).Body);
        Assert.Equal(1, hs.RequestCount("POST /join/{roomIdOrAlias}"));
    }

    [Fact]
    public void ClientRun_ParsesJsonLines()
    {
        var run = new ClientRun(0, ["{\"step\":\"send\",\"event_id\":\"$a\"}", "{\"step\":\"edit\",\"event_id\":\"$b\"}", "noise"], "", false);
        Assert.Equal(["$a", "$b"], run.EventIds);
        Assert.Null(run.Error);
        Assert.Equal(JsonValueKind.Object, run.Json[0].ValueKind);
    }
}
