using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Matrix;
using Gateway.Tests.Operations;

namespace Gateway.Tests.MatrixAdapter;

/// <summary>
/// Gateway-wide server bans ([server_acl], runtime ACL entries from the admin API, policy-list server bans) refuse the
/// X-Matrix origin on every federation endpoint, not only the room endpoints the spec lists for room ACLs (issue 9,
/// defects 1 and 2). Signed requests against the fake homeserver: a refused request never arrives there.
/// </summary>
public sealed class FederationBanTests
{
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

        [[filters]]
        name = "profanity"
        keywords = ["darn"]
        {{extra}}
        """;

    /// <summary>Federation endpoints outside the room-ACL list, each a read a banned server must not get.</summary>
    public static TheoryData<string> ReadEndpoints => new()
    {
        "/_matrix/federation/v1/event/{event}",
        "/_matrix/federation/v1/hierarchy/{room}",
        "/_matrix/federation/v1/query/profile?user_id={user}",
        "/_matrix/federation/v1/query/directory?room_alias=%23lobby:hs.test",
        "/_matrix/federation/v1/user/devices/{user}",
        "/_matrix/federation/unstable/org.matrix.msc9999/anything",
        "/_matrix/federation/v1/media/download/abc",
    };

    private static (string Room, string Event, string User) Seed(FakeHomeserver hs)
    {
        var alice = hs.CreateUser("alice");
        var room = hs.CreateRoom(alice.UserId, new CreateRoomOptions(Preset: "public_chat"));
        var ev = hs.SendText(room, alice.UserId, "hello federation");
        return (room, ev, alice.UserId);
    }

    private static string Fill(string template, (string Room, string Event, string User) seed) => template
        .Replace("{room}", Uri.EscapeDataString(seed.Room), StringComparison.Ordinal)
        .Replace("{event}", Uri.EscapeDataString(seed.Event), StringComparison.Ordinal)
        .Replace("{user}", Uri.EscapeDataString(seed.User), StringComparison.Ordinal);

    private static async Task AssertForbiddenAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("M_FORBIDDEN", body.GetProperty("errcode").GetString());
    }

    [Theory]
    [MemberData(nameof(ReadEndpoints))]
    public async Task ServerAclDeny_AnyFederationEndpoint_Gets403AndNothingArrives(string template)
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var seed = Seed(hs);
        await using var gw = await GatewayHost.StartAsync(Config(hs.Url, "[server_acl]\nallow = [\"*\"]\ndeny = [\"evil.test\"]\n"));
        var evil = FederationSigner.Generate("evil.test:8448");
        var good = FederationSigner.Generate("good.test");
        hs.TrustServer(evil);
        hs.TrustServer(good);
        var path = Fill(template, seed);

        await AssertForbiddenAsync(await gw.Client.SendAsync(evil.CreateRequest(HttpMethod.Get, path, hs.ServerName)));
        Assert.Empty(hs.FederationRequests);
        Assert.Contains(gw.Logs.Lines, l => l.Contains("[4100]", StringComparison.Ordinal) && l.Contains("evil.test", StringComparison.Ordinal));

        // An allowed server reaches the same endpoint (whatever the homeserver then answers).
        using var allowed = await gw.Client.SendAsync(good.CreateRequest(HttpMethod.Get, path, hs.ServerName));
        Assert.NotEqual(HttpStatusCode.Forbidden, allowed.StatusCode);
        Assert.Single(hs.FederationRequests);
    }

    [Fact]
    public async Task ServerAclDeny_EventAndHierarchyAndProfile_AllowedServerGetsThem()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var seed = Seed(hs);
        await using var gw = await GatewayHost.StartAsync(Config(hs.Url, "[server_acl]\nallow = [\"*\"]\ndeny = [\"*.evil.test\"]\n"));
        var good = FederationSigner.Generate("good.test");
        var evil = FederationSigner.Generate("node.evil.test");
        hs.TrustServer(good);
        hs.TrustServer(evil);
        foreach (var template in new[] { "/_matrix/federation/v1/event/{event}", "/_matrix/federation/v1/hierarchy/{room}", "/_matrix/federation/v1/query/profile?user_id={user}" })
        {
            var path = Fill(template, seed);
            using var ok = await gw.Client.SendAsync(good.CreateRequest(HttpMethod.Get, path, hs.ServerName));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            await AssertForbiddenAsync(await gw.Client.SendAsync(evil.CreateRequest(HttpMethod.Get, path, hs.ServerName)));
        }

        Assert.Equal(3, hs.FederationRequests.Count);
        Assert.All(hs.FederationRequests, r => Assert.Equal("good.test", r.Origin));
    }

    [Fact]
    public async Task PolicyListServerBan_EventEndpoint_Gets403AndNothingArrives()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var seed = Seed(hs);
        var files = new Dictionary<string, string>
        {
            ["bans.json"] = """[{"type":"m.policy.rule.server","state_key":"r1","content":{"entity":"*.evil.test","recommendation":"m.ban"}}]""",
        };
        await using var gw = await GatewayHost.StartAsync(Config(hs.Url, "[matrix]\npolicy_lists = [\"bans.json\"]\n"), files);
        var evil = FederationSigner.Generate("node.evil.test");
        hs.TrustServer(evil);
        await AssertForbiddenAsync(await gw.Client.SendAsync(evil.CreateRequest(HttpMethod.Get, Fill("/_matrix/federation/v1/event/{event}", seed), hs.ServerName)));
        await AssertForbiddenAsync(await gw.Client.SendAsync(evil.CreateRequest(HttpMethod.Get, Fill("/_matrix/federation/v1/hierarchy/{room}", seed), hs.ServerName)));
        Assert.Empty(hs.FederationRequests);
    }

    [Fact]
    public async Task ServerAclDeny_SecondAuthorizationHeaderOrDuplicateOrigin_StillRefused()
    {
        // Synapse authenticates the last X-Matrix header it reads, and a repeated parameter's last value: a banned
        // server must not hide behind an allowed origin placed first.
        await using var hs = await FakeHomeserver.StartAsync();
        var seed = Seed(hs);
        await using var gw = await GatewayHost.StartAsync(Config(hs.Url, "[server_acl]\nallow = [\"*\"]\ndeny = [\"evil.test\"]\n"));
        var evil = FederationSigner.Generate("evil.test");
        hs.TrustServer(evil);
        var path = Fill("/_matrix/federation/v1/event/{event}", seed);

        using var twoHeaders = evil.CreateRequest(HttpMethod.Get, path, hs.ServerName);
        var real = twoHeaders.Headers.Authorization!.ToString();
        twoHeaders.Headers.Remove("Authorization");
        twoHeaders.Headers.TryAddWithoutValidation("Authorization", new[] { "X-Matrix origin=\"good.test\",destination=\"hs.test\",key=\"ed25519:x\",sig=\"AAAA\"", real });
        await AssertForbiddenAsync(await gw.Client.SendAsync(twoHeaders));

        using var duplicate = evil.CreateRequest(HttpMethod.Get, path, hs.ServerName);
        var value = duplicate.Headers.Authorization!.ToString().Replace("X-Matrix ", "X-Matrix origin=\"good.test\",", StringComparison.Ordinal);
        duplicate.Headers.Remove("Authorization");
        duplicate.Headers.TryAddWithoutValidation("Authorization", value);
        await AssertForbiddenAsync(await gw.Client.SendAsync(duplicate));
        Assert.Empty(hs.FederationRequests);
    }

    [Theory]
    [InlineData("X-Matrix origin=\"evil.test\",destination=\"hs.test\",key=\"ed25519:1\",sig=\"s\"", "evil.test")]
    [InlineData("X-Matrix origin=good.test,origin=evil.test,key=\"k\",sig=\"s\"", "good.test|evil.test")]
    [InlineData("X-Matrix key=\"x,origin=evil.test,\",origin=\"good.test\",sig=\"s\"", "good.test|evil.test")]
    [InlineData("X-Matrix origin=\"good.test\",sig=\"a\", X-Matrix origin=\"evil.test\",sig=\"b\"", "good.test|evil.test")]
    [InlineData("Bearer syt_token", "")]
    public void Origins_EveryReadingAnyParserCouldMake_AreAllReturned(string header, string expected)
    {
        var origins = Gateway.Protocols.Matrix.XMatrix.Origins(new Microsoft.Extensions.Primitives.StringValues(header));
        Assert.Equal(expected.Split('|', StringSplitOptions.RemoveEmptyEntries).Order(), origins.Order());
    }

    [Fact]
    public async Task RuntimeAclDeny_Federation_RefusedAtOnceAfterReloadAndAfterRestart()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var seed = Seed(hs);
        var evil = FederationSigner.Generate("evil.test");
        hs.TrustServer(evil);
        var dir = Path.Combine(Path.GetTempPath(), "gateway-fedacl-" + Guid.NewGuid().ToString("N"));
        var toml = Config(hs.Url) + OpsGateway.AdminTable();
        var paths = new[]
        {
            Fill("/_matrix/federation/v1/state_ids/{room}?event_id=x", seed),
            "/_matrix/federation/v1/send/txn-" + Guid.NewGuid().ToString("N"),
            Fill("/_matrix/federation/v1/event/{event}", seed),
        };
        async Task AllRefusedAsync(HttpClient client)
        {
            foreach (var p in paths)
            {
                var method = p.Contains("/send/", StringComparison.Ordinal) ? HttpMethod.Put : HttpMethod.Get;
                var body = method == HttpMethod.Put ? "{\"pdus\":[],\"edus\":[]}" : null;
                await AssertForbiddenAsync(await client.SendAsync(evil.CreateRequest(method, p, hs.ServerName, body)));
            }
        }

        try
        {
            var gw = await OpsGateway.StartAsync(toml, dir);
            await using (gw)
            {
                using (var before = await gw.Client.SendAsync(evil.CreateRequest(HttpMethod.Get, paths[2], hs.ServerName)))
                {
                    Assert.Equal(HttpStatusCode.OK, before.StatusCode);
                }

                var add = await gw.Admin!.PostAsync("/acl", new StringContent("""{"server":"evil.test","reason":"spam"}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.Created, add.StatusCode);
                var arrived = hs.FederationRequests.Count;
                await AllRefusedAsync(gw.Client);

                Assert.Equal(HttpStatusCode.OK, (await gw.Admin.PostAsync("/reload", null)).StatusCode);
                await AllRefusedAsync(gw.Client);
                Assert.Equal(arrived, hs.FederationRequests.Count);
            }

            var again = await OpsGateway.StartAsync(toml, dir);
            await using (again)
            {
                await AllRefusedAsync(again.Client);
                Assert.Single(hs.FederationRequests);

                // Removing the entry lets the server back in at once.
                Assert.Equal(HttpStatusCode.OK, (await again.Admin!.DeleteAsync("/acl?server=evil.test")).StatusCode);
                using var after = await again.Client.SendAsync(evil.CreateRequest(HttpMethod.Get, paths[2], hs.ServerName));
                Assert.Equal(HttpStatusCode.OK, after.StatusCode);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
