using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Admin;
using Gateway.Configuration;
using Gateway.Protocols.Security;
using Secret = Gateway.Protocols.Configuration.Secret;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Operations;

public sealed class AdminApiTests
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonObject> ReadAsync(HttpResponseMessage response) =>
        (JsonNode.Parse(await response.Content.ReadAsStringAsync()) as JsonObject)!;

    private static async Task<(RecordingBackend Backend, OpsGateway Gateway)> StartAsync(string extra = "", string adminExtra = "")
    {
        var backend = await RecordingBackend.StartAsync();
        var gw = await OpsGateway.StartAsync(JsonRouteTests.Config(backend.Url, extra) + OpsGateway.AdminTable(adminExtra));
        return (backend, gw);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token-0123456789abcdef")]
    [InlineData("test-admin-token-0123456789abcdeF")]
    public async Task Api_WithoutTheRightToken_Is401AndLoggedWithoutTheToken(string? token)
    {
        var (backend, gw) = await StartAsync();
        await using var _ = backend;
        await using var __ = gw;
        using var client = new HttpClient { BaseAddress = new Uri(gw.AdminUrl!) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        foreach (var (method, path) in new[] { ("GET", "/status"), ("POST", "/reload"), ("POST", "/check"), ("GET", "/verdicts"), ("POST", "/ip-blocks"), ("DELETE", "/acl?server=x") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? Json("{}") : null };
            var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }

        Assert.Contains(gw.Logs.Lines, l => l.Contains("[4001]", StringComparison.Ordinal));
        if (token is not null)
        {
            Assert.DoesNotContain(gw.Logs.Lines, l => l.Contains(token, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(gw.Logs.Lines, l => l.Contains(OpsGateway.Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AdminEndpoints_AreNotOnTheProxyListener()
    {
        var (backend, gw) = await StartAsync();
        await using var _ = backend;
        await using var __ = gw;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/status");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OpsGateway.Token);
        request.Headers.Host = new Uri(gw.AdminUrl!).Authority; // even a forged Host header reaches the backend
        var response = await gw.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode); // the "/" passthrough route: the backend answered
        Assert.Contains(backend.Received, r => r.Path == "/status");
        Assert.NotEqual(new Uri(gw.AdminUrl!).Port, new Uri(gw.Client.BaseAddress!.ToString()).Port);
    }

    [Fact]
    public async Task PublicPaths_ServeTheConsoleAndProbesWithSecurityHeaders()
    {
        var (backend, gw) = await StartAsync();
        await using var _ = backend;
        await using var __ = gw;
        using var anonymous = new HttpClient { BaseAddress = new Uri(gw.AdminUrl!) };
        var page = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("Rule test console", await page.Content.ReadAsStringAsync());
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/console.js")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/console.css")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task Status_ReportsVersionConfigAndCounters()
    {
        var (backend, gw) = await StartAsync();
        await using var _ = backend;
        await using var __ = gw;
        await gw.Client.PostAsync("/api/messages", Json("""{"msg":{"text":"oh darn"},"room":"lobby"}"""));
        var status = await ReadAsync(await gw.Admin!.GetAsync("/status"));
        Assert.False(string.IsNullOrEmpty((string?)status["version"]));
        Assert.True((double)status["uptime_seconds"]! >= 0);
        Assert.Equal(1, (long)status["config"]!["version"]!);
        Assert.Equal(gw.ConfigPath, (string?)status["config"]!["path"]);
        Assert.Equal(3, (int)status["config"]!["filters"]!);
        Assert.Equal(1, (long)status["counters"]!["messages_inspected"]!);
        Assert.Equal(1, (long)status["counters"]!["verdicts"]!["censor"]!);
        Assert.NotNull(status["reports"]!["dropped"]);
        Assert.NotNull(status["context"]!["bytes"]);
    }

    [Fact]
    public async Task Check_IsTheCliVerdictAgainstTheLivePolicy_AndTheTextIsNotLogged()
    {
        var (backend, gw) = await StartAsync();
        await using var _ = backend;
        await using var __ = gw;
        var text = "what the d4rn " + Guid.NewGuid().ToString("N");
        var response = await gw.Admin!.PostAsync("/check", Json(JsonSerializer.Serialize(new { text, room = "lobby" })));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var v = await ReadAsync(response);
        Assert.Equal("censor", (string?)v["action"]);
        Assert.Equal("profanity", (string?)v["deciding_filter"]);
        Assert.StartsWith("what the darn ", (string?)v["normalized"]);
        Assert.StartsWith("what the **** ", (string?)v["text"]);
        var match = v["matches"]!.AsArray().Single()!;
        Assert.Equal("darn", (string?)match["term"]);
        Assert.Equal(9, (int)match["start"]!);
        Assert.Equal(1, (long)v["config_version"]!);
        Assert.DoesNotContain(gw.Logs.Lines, l => l.Contains(text, StringComparison.Ordinal));
        Assert.Empty(backend.Received); // a check is not a message

        var drop = await ReadAsync(await gw.Admin.PostAsync("/check", Json("""{"text":"Buy  followers","field":"body"}""")));
        Assert.Equal("drop", (string?)drop["action"]);
        Assert.Null(drop["text"]);
    }

    [Theory]
    [InlineData("not json", HttpStatusCode.BadRequest, "invalid_json")]
    [InlineData("[1]", HttpStatusCode.BadRequest, "invalid_request")]
    [InlineData("{}", HttpStatusCode.BadRequest, "invalid_request")]
    [InlineData("""{"text":"x","field":"subject"}""", HttpStatusCode.BadRequest, "invalid_request")]
    public async Task Check_BadRequest_IsAValueNotA500(string body, HttpStatusCode status, string code)
    {
        var (backend, gw) = await StartAsync();
        await using var _ = backend;
        await using var __ = gw;
        var response = await gw.Admin!.PostAsync("/check", Json(body));
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(code, (string?)(await ReadAsync(response))["error"]);
    }

    [Fact]
    public async Task Check_OversizedBody_Is413()
    {
        var (backend, gw) = await StartAsync();
        await using var _ = backend;
        await using var __ = gw;
        var response = await gw.Admin!.PostAsync("/check", Json(JsonSerializer.Serialize(new { text = new string('a', AdminEndpoints.MaxBodyBytes + 10) })));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Reload_GoodThenBad_SwapsThenReturnsErrorsWithKeyPathsAndPositions()
    {
        var (backend, gw) = await StartAsync();
        await using var _ = backend;
        await using var __ = gw;
        var original = await File.ReadAllTextAsync(gw.ConfigPath);
        // Beside the other [[filters]] (before [admin]): appended after [admin], Tomlyn would drop the earlier filters,
        // and the loader refuses that file (ConfigTypingTests).
        var at = original.IndexOf("[admin]", StringComparison.Ordinal);
        await File.WriteAllTextAsync(gw.ConfigPath, original[..at] + "[[filters]]\nname = \"zoo\"\nkeywords = [\"zebra\"]\n\n" + original[at..]);
        var good = await gw.Admin!.PostAsync("/reload", null);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Equal(2, (long)(await ReadAsync(good))["version"]!);
        Assert.Equal("censor", (string?)(await ReadAsync(await gw.Admin.PostAsync("/check", Json("""{"text":"a zebra"}"""))))["action"]);

        await File.WriteAllTextAsync(gw.ConfigPath, original[..at] + "[[filters]]\nname = \"bad\"\nregex = ['(?<=a)b']\n[ip_blocks]\ndeny = [\"10.0.0.1/8\"]\n\n" + original[at..]);
        var bad = await gw.Admin.PostAsync("/reload", null);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        var body = await ReadAsync(bad);
        Assert.False((bool)body["ok"]!);
        Assert.Equal(2, (long)body["version"]!);
        var errors = body["errors"]!.AsArray();
        Assert.Contains(errors, e => (string?)e!["key"] == "ip_blocks.deny" && (int)e["line"]! > 0 && (int)e["column"]! > 0
            && ((string?)e["message"])!.Contains("did you mean 10.0.0.0/8", StringComparison.Ordinal));
        Assert.Contains(errors, e => ((string?)e!["key"])!.StartsWith("filters[", StringComparison.Ordinal));
        Assert.Equal(2, gw.Service<GatewayState>().Current.Version);
        Assert.Contains(gw.Logs.Lines, l => l.Contains("[4005]", StringComparison.Ordinal) && l.Contains("refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task IpBlocks_AddBlocksAtOnce_SurvivesReloadAndRestart_RemoveUnblocks()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var toml = JsonRouteTests.Config(backend.Url) + OpsGateway.AdminTable();
        var dir = Path.Combine(Path.GetTempPath(), "gateway-ops-" + Guid.NewGuid().ToString("N"));
        try
        {
            var gw = await OpsGateway.StartAsync(toml, dir);
            await using (gw)
            {
                Assert.Equal(HttpStatusCode.Created, (await gw.Client.GetAsync("/x")).StatusCode);
                var add = await gw.Admin!.PostAsync("/ip-blocks", Json("""{"cidr":"127.0.0.0/8","ttl_seconds":3600,"reason":"test"}"""));
                Assert.Equal(HttpStatusCode.Created, add.StatusCode);
                Assert.Equal(HttpStatusCode.Forbidden, (await gw.Client.GetAsync("/x")).StatusCode);
                Assert.Equal(1, gw.Service<Telemetry.GatewayTelemetry>().IpDenialTotal);

                // a reload keeps the overlay
                Assert.Equal(HttpStatusCode.OK, (await gw.Admin.PostAsync("/reload", null)).StatusCode);
                Assert.Equal(HttpStatusCode.Forbidden, (await gw.Client.GetAsync("/x")).StatusCode);

                var list = await ReadAsync(await gw.Admin.GetAsync("/ip-blocks"));
                var entry = list["overlay"]!.AsArray().Single()!;
                Assert.Equal("127.0.0.0/8", (string?)entry["cidr"]);
                Assert.Equal("test", (string?)entry["reason"]);
                Assert.True((bool)entry["active"]!);
                Assert.Contains(gw.Logs.Lines, l => l.Contains("[4002]", StringComparison.Ordinal) && l.Contains("admin", StringComparison.Ordinal)
                    && l.Contains("ip_block.add", StringComparison.Ordinal) && l.Contains("127.0.0.0/8", StringComparison.Ordinal));
            }

            Assert.True(File.Exists(Path.Combine(dir, AdminSettings.DefaultOverlayFileName)));

            // a restart loads the overlay file before the first request
            var again = await OpsGateway.StartAsync(toml, dir);
            await using (again)
            {
                Assert.Equal(HttpStatusCode.Forbidden, (await again.Client.GetAsync("/x")).StatusCode);
                var remove = await again.Admin!.DeleteAsync("/ip-blocks?cidr=127.0.0.0/8");
                Assert.Equal(HttpStatusCode.OK, remove.StatusCode);
                Assert.Equal(HttpStatusCode.Created, (await again.Client.GetAsync("/x")).StatusCode);
                Assert.Equal(HttpStatusCode.NotFound, (await again.Admin.DeleteAsync("/ip-blocks?cidr=127.0.0.0/8")).StatusCode);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("""{"cidr":"10.0.0.1/8"}""", "host bits")]
    [InlineData("""{"cidr":"nonsense"}""", "")]
    [InlineData("""{"cidr":"10.0.0.0/8","expires":"2001-01-01T00:00:00Z"}""", "in the past")]
    [InlineData("""{"cidr":"10.0.0.0/8","expires":"tomorrow"}""", "date-time")]
    [InlineData("""{"cidr":"10.0.0.0/8","ttl_seconds":-5}""", "ttl_seconds")]
    [InlineData("""{"cidr":"10.0.0.0/8","ttl_seconds":5,"expires":"2099-01-01T00:00:00Z"}""", "not both")]
    public async Task IpBlocks_InvalidEntry_Is400AndChangesNothing(string body, string message)
    {
        var (backend, gw) = await StartAsync();
        await using var _ = backend;
        await using var __ = gw;
        var response = await gw.Admin!.PostAsync("/ip-blocks", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, (string?)(await ReadAsync(response))["message"]);
        Assert.Empty(gw.Service<GatewayState>().Current.Overlay.IpBlocks);
        Assert.False(File.Exists(Path.Combine(gw.Directory, AdminSettings.DefaultOverlayFileName)));
    }

    [Fact]
    public async Task Acl_AddDeniesTheServer_AllowsOthers_RemoveRestores()
    {
        var (backend, gw) = await StartAsync("\n[server_acl]\nallow = [\"*\"]\ndeny = [\"bad.example\"]\n");
        await using var _ = backend;
        await using var __ = gw;
        var state = gw.Service<GatewayState>();
        Assert.True(state.Current.Acl.IsAllowed("evil.example:8448"));
        var add = await gw.Admin!.PostAsync("/acl", Json("""{"server":"*.evil.example","reason":"spam"}"""));
        Assert.Equal(HttpStatusCode.Created, add.StatusCode);
        Assert.True(state.Current.Acl.IsAllowed("evil.example"));
        Assert.False(state.Current.Acl.IsAllowed("a.evil.example:8448"));
        Assert.False(state.Current.Acl.IsAllowed("bad.example")); // gateway.toml's deny still holds
        Assert.True(state.Current.Acl.IsAllowed("good.example"));

        var list = await ReadAsync(await gw.Admin.GetAsync("/acl"));
        Assert.Equal("*.evil.example", (string?)list["overlay"]![0]!["server"]);
        Assert.Equal("bad.example", (string?)list["config_deny"]![0]);

        Assert.Equal(HttpStatusCode.OK, (await gw.Admin.PostAsync("/acl", Json("""{"server":"*.evil.example","reason":"again"}"""))).StatusCode); // replaced
        Assert.Equal(HttpStatusCode.OK, (await gw.Admin.DeleteAsync("/acl?server=*.evil.example")).StatusCode);
        Assert.True(state.Current.Acl.IsAllowed("a.evil.example"));
        Assert.Equal(HttpStatusCode.BadRequest, (await gw.Admin.PostAsync("/acl", Json("""{"server":"bad name"}"""))).StatusCode);
    }

    [Fact]
    public async Task Verdicts_ShowMetadataOfRecentMatches_NeverText()
    {
        var (backend, gw) = await StartAsync();
        await using var _ = backend;
        await using var __ = gw;
        var secret = "darn " + Guid.NewGuid().ToString("N");
        await gw.Client.PostAsync("/api/messages", Json($$"""{"msg":{"text":"{{secret}}"},"room":"lobby","sender":"alice"}"""));
        await gw.Client.PostAsync("/api/messages", Json("""{"msg":{"text":"hello there"},"room":"lobby"}"""));
        await gw.Client.PostAsync("/api/messages", Json("""{"msg":{"text":"free crypto"},"room":"dm-1","direct":true}"""));
        var response = await gw.Admin!.GetAsync("/verdicts");
        var raw = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(secret, raw, StringComparison.Ordinal);
        Assert.DoesNotContain("free crypto", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("alice", raw, StringComparison.Ordinal);
        var verdicts = (await ReadAsync(response))["verdicts"]!.AsArray();
        Assert.Equal(2, verdicts.Count); // the clean message is not listed
        Assert.Equal("reject", (string?)verdicts[0]!["action"]);
        Assert.Equal("scams", (string?)verdicts[0]!["filter"]);
        Assert.True((bool)verdicts[0]!["direct"]!);
        Assert.Equal("censor", (string?)verdicts[1]!["action"]);
        Assert.Equal("lobby", (string?)verdicts[1]!["room"]);
        Assert.Equal("json", (string?)verdicts[1]!["protocol"]);
        Assert.Equal("chat#0", (string?)verdicts[1]!["route"]);
    }

    [Fact]
    public void RecentVerdicts_Ring_KeepsTheNewestCapacityEntries()
    {
        var ring = new RecentVerdicts(3, TimeProvider.System);
        for (var i = 0; i < 5; i++)
        {
            var message = new Policy.Model.ChatMessage { Protocol = "json", Room = "r" + i, Fields = Array.Empty<Policy.Model.MessageField>() };
            var verdict = new Policy.Rules.Verdict
            {
                Action = Policy.Rules.VerdictAction.Drop,
                DecidingFilter = "f",
                Matches = new[] { new Policy.Rules.FilterMatch("f", Policy.Rules.FilterAction.Drop, Policy.Model.FieldKind.Body, "x", 0, 1, false) },
            };
            ring.Record(message, verdict, "route");
        }

        ring.Record(new Policy.Model.ChatMessage { Protocol = "json", Room = "clean", Fields = [] }, Policy.Rules.Verdict.Clean, "route");

        Assert.Equal(new[] { "r4", "r3", "r2" }, ring.Snapshot().Select(v => v.Room));
    }

    [Fact]
    public void BearerToken_ComparesWholeTokens()
    {
        var secret = new Secret(Encoding.UTF8.GetBytes(OpsGateway.Token));
        Assert.True(BearerToken.Matches("Bearer " + OpsGateway.Token, secret));
        Assert.True(BearerToken.Matches("bearer  " + OpsGateway.Token + " ", secret));
        Assert.False(BearerToken.Matches("Bearer " + OpsGateway.Token[..^1], secret));
        Assert.False(BearerToken.Matches("Bearer " + OpsGateway.Token + "x", secret));
        Assert.False(BearerToken.Matches("Basic " + OpsGateway.Token, secret));
        Assert.False(BearerToken.Matches("Bearer ", secret));
        Assert.False(BearerToken.Matches(null, secret));
    }

    [Theory]
    [InlineData("[admin]\nenabled = true", "admin.enabled: the admin API needs a bearer token")]
    [InlineData("[admin]\ntoken = \"abcdefabcdefabcdefabcdef\"", "admin.token: the admin token is never written in gateway.toml")]
    [InlineData("[admin]\ntoken_file = \"short-token\"", "is shorter than 16 characters")]
    [InlineData("[admin]\ntoken_file = \"missing-token\"", "admin.token_file: token file \"missing-token\" does not exist")]
    [InlineData("[admin]\ntoken_env = \"GATEWAY_TEST_UNSET_ADMIN_TOKEN\"", "admin.token_env: environment variable GATEWAY_TEST_UNSET_ADMIN_TOKEN is empty or not set")]
    [InlineData("[admin]\nlisten = \"127.0.0.1:9090\"\ntoken_file = \"good-token\"", "admin.listen: \"127.0.0.1:9090\" is not a listen URL")]
    [InlineData("[admin]\ntoken_file = \"good-token\"\ntoken_env = \"X\"", "admin.token_file: give token_env or token_file, not both")]
    public void Config_BadAdminTable_IsRefused(string toml, string expected)
    {
        var dir = Path.Combine(Path.GetTempPath(), "gateway-admincfg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "short-token"), "abc\n");
            File.WriteAllText(Path.Combine(dir, "good-token"), OpsGateway.Token);
            var result = ConfigLoader.Load(toml, Path.Combine(dir, "gateway.toml"));
            Assert.False(result.Ok);
            Assert.Contains(result.Errors, e => e.ToString().Contains(expected, StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Config_AdminDefaults_OffWithoutATokenSource_OnWithOne_OverlayNextToTheConfig()
    {
        var dir = Path.Combine(Path.GetTempPath(), "gateway-admincfg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "token"), OpsGateway.Token + "\n");
            var off = ConfigLoader.Load("", Path.Combine(dir, "gateway.toml")).Config!.Admin;
            Assert.False(off.Enabled);
            Assert.Equal(AdminSettings.DefaultListen, off.Listen);
            Assert.Equal(Path.Combine(dir, "gateway.overlay.json"), off.OverlayFile);

            var on = ConfigLoader.Load("[admin]\ntoken_file = \"token\"", Path.Combine(dir, "gateway.toml")).Config!.Admin;
            Assert.True(on.Enabled);
            Assert.Equal(OpsGateway.Token, Encoding.UTF8.GetString(on.Token!.Value));
            Assert.Equal("***", on.Token.ToString());
            Assert.DoesNotContain(OpsGateway.Token, on.ToString(), StringComparison.Ordinal);

            var offAnyway = ConfigLoader.Load("[admin]\nenabled = false\ntoken_file = \"token\"", Path.Combine(dir, "gateway.toml")).Config!.Admin;
            Assert.False(offAnyway.Enabled);

            File.WriteAllText(Path.Combine(dir, "gateway.overlay.json"), "{ not json");
            var broken = ConfigLoader.Load("", Path.Combine(dir, "gateway.toml"));
            Assert.False(broken.Ok);
            Assert.Contains(broken.Errors, e => e.KeyPath == "admin" && e.Message.Contains("not a valid overlay file", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
