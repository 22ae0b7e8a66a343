using System.Text;
using Gateway.Policy.Acl;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Gateway.Protocols.Matrix;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Tests.MatrixModule;

/// <summary>The federation origin gate as an <see cref="IRequestGate"/>: a DefaultHttpContext and a fake host, no server.</summary>
public sealed class FederationGateTests
{
    private static readonly string Bans = """
        [{"type":"m.policy.rule.user","content":{"entity":"@bad:*","recommendation":"m.ban"}},
         {"type":"m.policy.rule.server","content":{"entity":"listed.test","recommendation":"m.ban"}},
         {"type":"m.policy.rule.room","content":{"entity":"!banned:hs.test","recommendation":"m.ban"}}]
        """;

    private readonly FederationStats _stats = new();

    private FederationGate Gate(MatrixBackendSettings? backend = null, long maxBody = 1 << 20)
    {
        var policy = MatrixPolicyList.Parse(new[] { ("bans.json", Bans) }, new List<string>());
        return FederationGate.Build(backend, policy, maxBody, _stats, NullLogger.Instance);
    }

    private static DefaultHttpContext Request(string method, string path, string? body = null, params string[] origins)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Request.Headers.Authorization = origins.Select(o => $"X-Matrix origin=\"{o}\",destination=\"hs.test\",key=\"ed25519:k\",sig=\"s\"").ToArray();
        if (body is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
        }

        return context;
    }

    /// <summary>The refusal's body, with JSON escapes undone (the serializer writes ' as \u0027).</summary>
    private static string Text(GateRefusal r)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(r.Body);
        return $"{{\"errcode\":\"{doc.RootElement.GetProperty("errcode").GetString()}\",\"error\":\"{doc.RootElement.GetProperty("error").GetString()}\"}}";
    }

    [Theory]
    [InlineData("/_matrix/federation/v1/query/profile?user_id=@a:hs.test")]
    [InlineData("/_matrix/media/v3/download/hs.test/abc")]
    [InlineData("/_matrix/federation/unstable/org.matrix.msc0000/thing")]
    [InlineData("/_matrix/federation/v1/send/txn1")]
    public async Task CheckAsync_OriginBannedGatewayWide_RefusedOnEveryEndpoint(string path)
    {
        var host = new FakeModuleHost(acl: ServerAcl.Create(new[] { "*" }, new[] { "evil.test" }));
        var refusal = await Gate().CheckAsync(Request("GET", path, origins: "evil.test"), host);
        Assert.NotNull(refusal);
        Assert.Equal(403, refusal.Status);
        Assert.Equal("{\"errcode\":\"M_FORBIDDEN\",\"error\":\"This server is banned by this gateway.\"}", Text(refusal));
        Assert.Equal(("matrix", "server_acl"), Assert.Single(host.Refusals));
        Assert.Equal(1, _stats.AclDenied);
    }

    [Fact]
    public async Task CheckAsync_PolicyListServerBan_IsGatewayWide()
    {
        var host = new FakeModuleHost();
        var refusal = await Gate().CheckAsync(Request("GET", "/_matrix/federation/v1/query/directory", origins: "listed.test:8448"), host);
        Assert.Equal(403, refusal!.Status);
        Assert.Equal(("matrix", "server_acl"), Assert.Single(host.Refusals));
    }

    [Fact]
    public async Task CheckAsync_BannedOriginBehindAnAllowedOne_Refused()
    {
        var host = new FakeModuleHost(acl: ServerAcl.Create(new[] { "*" }, new[] { "evil.test" }));
        var refusal = await Gate().CheckAsync(Request("GET", "/_matrix/federation/v1/version", origins: new[] { "good.test", "evil.test" }), host);
        Assert.Equal(403, refusal!.Status);
    }

    [Fact]
    public async Task CheckAsync_RuntimeEntryInTheHostAcl_TakesEffectOnTheNextRequest()
    {
        var host = new FakeModuleHost();
        var gate = Gate();
        Assert.Null(await gate.CheckAsync(Request("GET", "/_matrix/federation/v1/version", origins: "late.test"), host));
        host.GatewayAcl = ServerAcl.AllowAll.WithExtraDeny(new[] { "late.test" });
        Assert.NotNull(await gate.CheckAsync(Request("GET", "/_matrix/federation/v1/version", origins: "late.test"), host));
    }

    [Fact]
    public async Task CheckAsync_RoomAcl_RefusesOnRoomEndpointsOnly()
    {
        var backend = new MatrixBackendSettings
        {
            RoomAcls = new[] { new RoomAclSettings("!guarded:hs.test", new ServerAclConfig(new[] { "*" }, new[] { "rival.test" }, true)) },
        };
        var host = new FakeModuleHost();
        var gate = Gate(backend);
        var guarded = Uri.EscapeDataString("!guarded:hs.test");
        var refusal = await gate.CheckAsync(Request("GET", $"/_matrix/federation/v1/state_ids/{guarded}", origins: "rival.test"), host);
        Assert.Equal("{\"errcode\":\"M_FORBIDDEN\",\"error\":\"Server is banned from this room.\"}", Text(refusal!));
        Assert.Equal(("matrix", "room_acl"), Assert.Single(host.Refusals));
        Assert.Null(await gate.CheckAsync(Request("GET", $"/_matrix/federation/v1/state_ids/{Uri.EscapeDataString("!open:hs.test")}", origins: "rival.test"), host));
    }

    [Fact]
    public async Task CheckAsync_PolicyRoomAndUserBans_Refused()
    {
        var host = new FakeModuleHost();
        var gate = Gate();
        var banned = Uri.EscapeDataString("!banned:hs.test");
        var room = Uri.EscapeDataString("!r:hs.test");
        Assert.Equal("{\"errcode\":\"M_FORBIDDEN\",\"error\":\"This room is banned by this server's policy list.\"}",
            Text((await gate.CheckAsync(Request("GET", $"/_matrix/federation/v1/make_join/{banned}/@a:o.test", origins: "o.test"), host))!));
        Assert.Equal("{\"errcode\":\"M_FORBIDDEN\",\"error\":\"This user is banned by this server's policy list.\"}",
            Text((await gate.CheckAsync(Request("GET", $"/_matrix/federation/v1/make_join/{room}/{Uri.EscapeDataString("@bad:o.test")}", origins: "o.test"), host))!));
        Assert.Equal(new[] { ("matrix", "policy_room"), ("matrix", "policy_user") }, host.Refusals);
    }

    [Fact]
    public async Task CheckAsync_MembershipBodyNamesBannedUser_Refused_OtherwiseBodyPassesIntact()
    {
        var host = new FakeModuleHost();
        var gate = Gate();
        var path = $"/_matrix/federation/v2/send_join/{Uri.EscapeDataString("!r:hs.test")}/$ev";
        var bad = """{"type":"m.room.member","sender":"@bad:o.test","state_key":"@bad:o.test","content":{"membership":"join"}}""";
        Assert.Equal(403, (await gate.CheckAsync(Request("PUT", path, bad, "o.test"), host))!.Status);

        var good = """{"type":"m.room.member","sender":"@fine:o.test","state_key":"@fine:o.test","content":{"membership":"join"}}""";
        var context = Request("PUT", path, good, "o.test");
        Assert.Null(await gate.CheckAsync(context, host));
        Assert.Equal(good.Length, context.Request.ContentLength);
        Assert.Equal(good, await new StreamReader(context.Request.Body).ReadToEndAsync());
        Assert.Equal(2, host.Opaque.Get("matrix", OpaqueKind.Signed, "send_join")); // both: signed, whatever the outcome
    }

    [Fact]
    public async Task CheckAsync_MembershipBodyOverTheLimit_413()
    {
        var path = $"/_matrix/federation/v1/invite/{Uri.EscapeDataString("!r:hs.test")}/$ev";
        var refusal = await Gate(maxBody: 16).CheckAsync(Request("PUT", path, new string('x', 64), "o.test"), new FakeModuleHost());
        Assert.Equal(413, refusal!.Status);
    }

    [Fact]
    public async Task CheckAsync_NoXMatrixOrClientRequest_Passes()
    {
        var host = new FakeModuleHost(acl: ServerAcl.Create(Array.Empty<string>(), Array.Empty<string>()));
        Assert.Null(await Gate().CheckAsync(Request("GET", "/_matrix/federation/v1/version"), host));
        var bearer = new DefaultHttpContext();
        bearer.Request.Path = "/_matrix/client/v3/sync";
        bearer.Request.Headers.Authorization = "Bearer abc";
        Assert.Null(await Gate().CheckAsync(bearer, host));
        Assert.Empty(host.Refusals);
    }

    [Fact]
    public async Task CheckAsync_FederatedDisplayNameAndInviteRoomState_JudgedByTheFilters_SignedBodyNeverChanged()
    {
        var host = new FakeModuleHost(filters: new[]
        {
            new Gateway.Policy.Rules.FilterDefinition { Name = "scam", Action = Gateway.Policy.Rules.FilterAction.Reject, Keywords = new[] { "scamword" },
                Fields = Gateway.Policy.Rules.FieldSet.All, Notice = "Not here." },
            new Gateway.Policy.Rules.FilterDefinition { Name = "mild", Keywords = new[] { "darn" }, Fields = Gateway.Policy.Rules.FieldSet.All },
        });
        var gate = Gate();
        var join = $"/_matrix/federation/v2/send_join/{Uri.EscapeDataString("!r:hs.test")}/$ev";
        var badName = """{"type":"m.room.member","sender":"@a:o.test","state_key":"@a:o.test","content":{"membership":"join","displayname":"scamword king"}}""";
        var refusal = await gate.CheckAsync(Request("PUT", join, badName, "o.test"), host);
        Assert.Equal(403, refusal!.Status);
        Assert.Equal("{\"errcode\":\"M_FORBIDDEN\",\"error\":\"Not here.\"}", Text(refusal));

        var invite = $"/_matrix/federation/v2/invite/{Uri.EscapeDataString("!r:hs.test")}/$ev";
        var badRoom = """{"room_version":"10","event":{"type":"m.room.member","sender":"@a:o.test","state_key":"@b:hs.test","content":{"membership":"invite"}},"invite_room_state":[{"type":"m.room.name","state_key":"","sender":"@a:o.test","content":{"name":"scamword hub"}}]}""";
        Assert.Equal(403, (await gate.CheckAsync(Request("PUT", invite, badRoom, "o.test"), host))!.Status);

        // censor verdicts cannot be applied to a signed body: the request goes on unchanged
        var mild = """{"type":"m.room.member","sender":"@a:o.test","state_key":"@a:o.test","content":{"membership":"join","displayname":"darn it"}}""";
        var context = Request("PUT", join, mild, "o.test");
        Assert.Null(await gate.CheckAsync(context, host));
        Assert.Equal(mild, await new StreamReader(context.Request.Body).ReadToEndAsync());
        Assert.Equal(new[] { ("matrix", "content"), ("matrix", "content") }, host.Refusals);
    }
}
