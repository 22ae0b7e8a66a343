using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Matrix;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Gateway.Tests.MatrixModule;

/// <summary>
/// The policy server endpoint (spec v1.18 "Policy Servers", MSC4284) through the real gateway, in front of the fake
/// homeserver (so /_matrix/policy/v1/sign must be answered by the module, not proxied). Signatures are checked with
/// Debian's python3-signedjson (tests/clients/policy_verify.py, installed by tests/clients/install.sh) and in C#.
/// </summary>
public sealed class PolicyServerTests
{
    private const string ServerName = "policy.gateway.test";

    private static readonly byte[] Seed = Enumerable.Range(1, 32).Select(i => (byte)(i * 7)).ToArray();

    private static string KeyFile => "ed25519 policy_server " + Convert.ToBase64String(Seed).TrimEnd('=') + "\n";

    private static string PublicKey =>
        Convert.ToBase64String(new Ed25519PrivateKeyParameters(Seed, 0).GeneratePublicKey().GetEncoded()).TrimEnd('=');

    private static async Task<(FakeHomeserver Hs, GatewayHost Gw)> StartAsync(string roomVersion = "10", bool policyServer = true)
    {
        var hs = await FakeHomeserver.StartAsync();
        var section = policyServer ? $$"""
            [matrix.policy_server]
            server_name = "{{ServerName}}"
            key_file = "policy.key"
            room_version = "{{roomVersion}}"
            """ : "";
        var gw = await GatewayHost.StartAsync($$"""
            [[backends]]
            name = "synapse"
            protocol = "matrix"
            upstreams = ["{{hs.Url}}"]
              [[backends.routes]]
              path = "/_matrix"
              [[backends.routes]]
              path = "/"
              inspect = false

            [[filters]]
            name = "scams"
            action = "reject"
            notice = "Scams are not allowed here."
            keywords = ["free crypto"]

            [[filters]]
            name = "profanity"
            keywords = ["darn"]
            fields = ["body", "title", "display_name"]

            [matrix]
            policy_lists = ["bans.json"]
            {{section}}
            """, new Dictionary<string, string>
        {
            ["policy.key"] = KeyFile,
            ["bans.json"] = """[{"type":"m.policy.rule.user","content":{"entity":"@spammer:*","recommendation":"m.ban"}}]""",
        });
        return (hs, gw);
    }

    /// <summary>A PDU as a room version 10 homeserver sends it: hashes, its own signature, unsigned, origin.</summary>
    private static JsonObject Message(string body, string sender = "@alice:hs.test") => new()
    {
        ["type"] = "m.room.message",
        ["room_id"] = "!room:hs.test",
        ["sender"] = sender,
        ["origin"] = "hs.test",
        ["origin_server_ts"] = 1764630000000,
        ["depth"] = 12,
        ["prev_events"] = new JsonArray("$prev"),
        ["auth_events"] = new JsonArray("$create", "$member", "$pl"),
        ["content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = body, ["ünïcode"] = "é\u0001" },
        ["hashes"] = new JsonObject { ["sha256"] = "abcdefABCDEF0123" },
        ["signatures"] = new JsonObject { ["hs.test"] = new JsonObject { ["ed25519:a_key"] = "c2lnbmF0dXJl" } },
        ["unsigned"] = new JsonObject { ["age_ts"] = 1764630000000 },
    };

    private static async Task<(HttpStatusCode Status, string Body)> SignAsync(GatewayHost gw, string body)
    {
        using var response = await gw.Client.PostAsync("/_matrix/policy/v1/sign", new StringContent(body, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<string> VerifyWithSignedjsonAsync(JsonObject ev, string roomVersion, string response)
    {
        var input = new JsonObject
        {
            ["event"] = ev.DeepClone(),
            ["room_version"] = roomVersion,
            ["server_name"] = ServerName,
            ["public_key"] = PublicKey,
            ["response"] = JsonNode.Parse(response),
        };
        var psi = new ProcessStartInfo(ClientHarness.SystemPython)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        psi.ArgumentList.Add(Path.Combine(ClientHarness.ClientsDirectory, "policy_verify.py"));
        using var process = Process.Start(psi)!;
        await process.StandardInput.WriteAsync(input.ToJsonString());
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return ((await stdout) + (await stderr)).Trim();
    }

    private static bool VerifyInCSharp(JsonObject redacted, string signature)
    {
        var copy = redacted.DeepClone().AsObject();
        copy.Remove("signatures");
        copy.Remove("unsigned");
        var message = CanonicalJson.Encode(copy);
        var verifier = new Ed25519Signer();
        verifier.Init(false, new Ed25519PublicKeyParameters(Convert.FromBase64String(PublicKey + new string('=', (4 - (PublicKey.Length % 4)) % 4)), 0));
        verifier.BlockUpdate(message, 0, message.Length);
        var sig = Convert.FromBase64String(signature + new string('=', (4 - (signature.Length % 4)) % 4));
        return verifier.VerifySignature(sig);
    }

    [Fact]
    public async Task Sign_AllowedMessage_SignatureVerifiesWithSignedjsonAndInCSharp()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var ev = Message("hello there");

        var (status, body) = await SignAsync(gw, ev.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, status);
        var answer = JsonNode.Parse(body)!.AsObject();
        var mine = Assert.Single(answer);
        Assert.Equal(ServerName, mine.Key);
        var sig = Assert.Single(mine.Value!.AsObject());
        Assert.Equal("ed25519:policy_server", sig.Key);
        var signature = sig.Value!.GetValue<string>();
        Assert.DoesNotContain("=", signature);
        Assert.Equal("ok", await VerifyWithSignedjsonAsync(ev, "10", body));
        // The room version 10 redaction of a message, written out by hand: content emptied, origin kept.
        var redacted = new JsonObject
        {
            ["type"] = "m.room.message",
            ["room_id"] = "!room:hs.test",
            ["sender"] = "@alice:hs.test",
            ["origin"] = "hs.test",
            ["origin_server_ts"] = 1764630000000,
            ["depth"] = 12,
            ["prev_events"] = new JsonArray("$prev"),
            ["auth_events"] = new JsonArray("$create", "$member", "$pl"),
            ["content"] = new JsonObject(),
            ["hashes"] = new JsonObject { ["sha256"] = "abcdefABCDEF0123" },
        };
        Assert.True(VerifyInCSharp(redacted, signature));
        // The verifiers can fail: a changed sender or the wrong room version's rules do not verify.
        var tampered = Message("hello there", sender: "@mallory:hs.test");
        Assert.StartsWith("invalid", await VerifyWithSignedjsonAsync(tampered, "10", body));
        Assert.StartsWith("invalid", await VerifyWithSignedjsonAsync(ev, "11", body));
        redacted["origin"] = "other.test";
        Assert.False(VerifyInCSharp(redacted, signature));
        // The homeserver behind the gateway never saw the request: the module answered it.
        Assert.DoesNotContain(hs.Requests, r => r.Path.Contains("/policy/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sign_RoomVersion11AndCreateEvents_UseThatVersionsRedaction()
    {
        var (hs, gw) = await StartAsync(roomVersion: "11");
        await using var _ = hs;
        await using var __ = gw;
        var member = new JsonObject
        {
            ["type"] = "m.room.member",
            ["state_key"] = "@bob:hs.test",
            ["room_id"] = "!room:hs.test",
            ["sender"] = "@bob:hs.test",
            ["origin_server_ts"] = 5,
            ["depth"] = 3,
            ["prev_events"] = new JsonArray("$p"),
            ["auth_events"] = new JsonArray(),
            ["origin"] = "hs.test",
            ["membership"] = "join",
            ["content"] = new JsonObject
            {
                ["membership"] = "join",
                ["displayname"] = "Bob",
                ["join_authorised_via_users_server"] = "@admin:hs.test",
                ["third_party_invite"] = new JsonObject { ["display_name"] = "b", ["signed"] = new JsonObject { ["token"] = "t" } },
            },
            ["hashes"] = new JsonObject { ["sha256"] = "x" },
        };
        var (status, body) = await SignAsync(gw, member.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ok", await VerifyWithSignedjsonAsync(member, "11", body));
        Assert.StartsWith("invalid", await VerifyWithSignedjsonAsync(member, "10", body));

        // A create event names its own version: 9 here, whatever room_version says.
        var create = new JsonObject
        {
            ["type"] = "m.room.create",
            ["state_key"] = "",
            ["room_id"] = "!new:hs.test",
            ["sender"] = "@bob:hs.test",
            ["origin_server_ts"] = 5,
            ["depth"] = 1,
            ["prev_events"] = new JsonArray(),
            ["auth_events"] = new JsonArray(),
            ["content"] = new JsonObject { ["creator"] = "@bob:hs.test", ["room_version"] = "9", ["m.federate"] = true },
            ["hashes"] = new JsonObject { ["sha256"] = "x" },
        };
        (status, body) = await SignAsync(gw, create.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ok", await VerifyWithSignedjsonAsync(create, "9", body));
        Assert.StartsWith("invalid", await VerifyWithSignedjsonAsync(create, "11", body));
    }

    [Fact]
    public async Task Sign_ExistingSignaturesOfTheSameServer_AreKeptInTheAnswer()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var ev = Message("hi");
        ev["signatures"]![ServerName] = new JsonObject { ["ed25519:other"] = "b3RoZXI" };
        var (status, body) = await SignAsync(gw, ev.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, status);
        var mine = JsonNode.Parse(body)![ServerName]!.AsObject();
        Assert.Equal("b3RoZXI", mine["ed25519:other"]!.GetValue<string>());
        Assert.NotNull(mine["ed25519:policy_server"]);
    }

    [Fact]
    public async Task Sign_RefusedByFilterOrBan_Is400Forbidden_AndTextNeverLogged()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;

        var (status, body) = await SignAsync(gw, Message("get FREE CRYPTO now").ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("M_FORBIDDEN", JsonNode.Parse(body)!["errcode"]!.GetValue<string>());
        Assert.Equal("Scams are not allowed here.", JsonNode.Parse(body)!["error"]!.GetValue<string>());

        // The unstable MSC4284 path (homeservers from before the spec) answers a refusal with 200 {}, as Meowlnir does.
        using (var legacy = await gw.Client.PostAsync("/_matrix/policy/unstable/org.matrix.msc4284/sign",
            new StringContent(Message("get FREE CRYPTO now").ToJsonString(), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, legacy.StatusCode);
            Assert.Equal("{}", await legacy.Content.ReadAsStringAsync());
        }

        using (var legacyAllowed = await gw.Client.PostAsync("/_matrix/policy/unstable/org.matrix.msc4284/sign",
            new StringContent(Message("hello").ToJsonString(), Encoding.UTF8, "application/json")))
        {
            Assert.NotNull(JsonNode.Parse(await legacyAllowed.Content.ReadAsStringAsync())![ServerName]!["ed25519:policy_server"]);
        }

        // A censor filter cannot rewrite a signed event: the policy server refuses it.
        (status, body) = await SignAsync(gw, Message("darn it").ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("M_FORBIDDEN", JsonNode.Parse(body)!["errcode"]!.GetValue<string>());

        (status, body) = await SignAsync(gw, Message("perfectly fine", sender: "@spammer:evil.test").ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("M_FORBIDDEN", JsonNode.Parse(body)!["errcode"]!.GetValue<string>());

        // Names and topics are judged as the client-server path judges them.
        var name = new JsonObject
        {
            ["type"] = "m.room.name",
            ["state_key"] = "",
            ["room_id"] = "!room:hs.test",
            ["sender"] = "@alice:hs.test",
            ["content"] = new JsonObject { ["name"] = "darn lounge" },
        };
        var refusedName = await SignAsync(gw, name.ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, refusedName.Status);

        Assert.DoesNotContain(gw.Logs.Lines, l => l.Contains("crypto", StringComparison.OrdinalIgnoreCase) || l.Contains("darn", StringComparison.Ordinal)
            || l.Contains("perfectly fine", StringComparison.Ordinal));
        Assert.DoesNotContain(gw.Logs.Lines, l => l.Contains(Convert.ToBase64String(Seed).TrimEnd('='), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{not json", "M_NOT_JSON")]
    [InlineData("[1,2]", "M_BAD_JSON")]
    [InlineData("""{"type":"m.room.message","room_id":"!r:x","content":{}}""", "M_BAD_JSON")]
    [InlineData("""{"type":"m.room.message","room_id":"!r:x","sender":"@a:x","content":"text"}""", "M_BAD_JSON")]
    [InlineData("""{"type":"m.room.message","room_id":"!r:x","sender":"@a:x","content":{"body":"x","n":1.5}}""", "M_BAD_JSON")]
    [InlineData("""{"type":"m.room.message","room_id":"!r:x","sender":"@a:x","content":{"body":"x"},"depth":9007199254740993}""", "M_BAD_JSON")]
    [InlineData("""{"type":"m.room.message","room_id":"!r:x","sender":"@a:x","content":{"body":"x","body":"y"}}""", "M_BAD_JSON")]
    [InlineData("""{"type":"m.room.message","room_id":"!r:x","sender":"@a:x","content":{"body":"\ud800"}}""", "M_BAD_JSON")]
    [InlineData("""{"type":"m.room.message","room_id":"!r:x","sender":"@a:x","content":{"\udc00":"x"}}""", "M_BAD_JSON")]
    public async Task Sign_BadInput_IsClear400(string body, string errcode)
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var (status, answer) = await SignAsync(gw, body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(errcode, JsonNode.Parse(answer)!["errcode"]!.GetValue<string>());
    }

    [Fact]
    public async Task Sign_OversizedEvent_Is400TooLarge()
    {
        var (hs, gw) = await StartAsync();
        await using var _ = hs;
        await using var __ = gw;
        var (status, answer) = await SignAsync(gw, Message(new string('a', 70_000)).ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("M_TOO_LARGE", JsonNode.Parse(answer)!["errcode"]!.GetValue<string>());
    }

    [Fact]
    public async Task WellKnown_PublishesThePublicKey_AndNotConfigured_Is404()
    {
        var (hs, gw) = await StartAsync();
        await using (hs)
        await using (gw)
        {
            var json = await gw.Client.GetStringAsync("/.well-known/matrix/policy_server");
            Assert.Equal(PublicKey, JsonNode.Parse(json)!["public_key"]!.GetValue<string>());
        }

        var (hs2, gw2) = await StartAsync(policyServer: false);
        await using var _ = hs2;
        await using var __ = gw2;
        var (status, body) = await SignAsync(gw2, Message("hi").ToJsonString());
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("M_UNRECOGNIZED", JsonNode.Parse(body)!["errcode"]!.GetValue<string>());
    }
}
