using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Configuration;
using Gateway.Policy.Acl;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Sogs;
using Gateway.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Sogs;

/// <summary>Config reading, the onion layer's entry point, and moderators read from SOGS's SQLite database.</summary>
public sealed class SogsModuleTests
{
    private const string Pubkey = "6a32c7b491f4199dd1260a4cc60ae51c6bd71dad939cc521e738409f53f943be";

    [Fact]
    public void Config_DocumentedKeys_ReadWithCensorWarning()
    {
        var mod = SogsClient.Random().SessionId;
        var result = ConfigLoader.Load($$"""
            [[backends]]
            name = "community"
            protocol = "sogs"
            upstreams = ["http://127.0.0.1:8080"]
              [backends.sogs]
              server_pubkey = "{{Pubkey}}"
              moderators = ["{{mod}}"]
              uploads = "trusted"
              message_requests = "trusted"
              require_blind_keys = false
              [[backends.sogs.rooms]]
              token = "lobby"
              uploads = "everyone"
            """, "gateway.toml");

        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var s = Assert.IsType<SogsBackendSettings>(Assert.Single(result.Config!.Backends).Module);
        Assert.Equal(Convert.FromHexString(Pubkey), s.ServerPubkey);
        Assert.Equal(SogsAllowance.Trusted, s.Uploads);
        Assert.Equal(SogsAllowance.Everyone, s.Rooms["lobby"].Uploads);
        Assert.False(s.RequireBlindKeys);
        Assert.Contains(result.Config.Warnings, w => w.Message.Contains("censor_fallback", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("server_pubkey = \"abcd\"", "server_pubkey")]
    [InlineData("server_pubkey = \"" + Pubkey + "\"\nmoderators = [\"05nothex\"]", "is not a Session ID")]
    [InlineData("uploads = \"admins\"", "uploads")]
    [InlineData("x25519_key_file = \"missing.key\"", "x25519_key_file")]
    [InlineData("server_pubkey = \"" + Pubkey + "\"\nconfig = \"missing.ini\"", "config")]
    [InlineData("moderators = []", "server_pubkey")]
    public void Config_BadValues_NameTheKey(string keys, string expected)
    {
        var result = ConfigLoader.Load($"""
            [[backends]]
            name = "community"
            protocol = "sogs"
            upstreams = ["http://127.0.0.1:8080"]
              [backends.sogs]
              {keys}
            """, Path.Combine(Path.GetTempPath(), "gateway.toml"));

        Assert.False(result.Ok);
        Assert.Contains(result.Errors, e => e.ToString().Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Config_KeyFile_DerivesThePublicKey()
    {
        var dir = Directory.CreateTempSubdirectory("sogs-key").FullName;
        var key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        File.WriteAllBytes(Path.Combine(dir, "key_x25519"), key);
        var expected = new byte[32];
        Org.BouncyCastle.Math.EC.Rfc7748.X25519.GeneratePublicKey(key, 0, expected, 0);

        var result = ConfigLoader.Load("""
            [[backends]]
            name = "community"
            protocol = "sogs"
            upstreams = ["http://127.0.0.1:8080"]
              [backends.sogs]
              x25519_key_file = "key_x25519"
            """, Path.Combine(dir, "gateway.toml"));

        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var s = Assert.IsType<SogsBackendSettings>(result.Config!.Backends[0].Module);
        Assert.Equal(expected, s.ServerPubkey);
        Assert.Equal(key, s.ServerPrivateKey!.Value);
        Assert.Equal("***", s.ServerPrivateKey.ToString());
    }

    /// <summary>The onion layer hands over a decrypted inner request: same auth, same verdicts, same answers.</summary>
    [Fact]
    public async Task InspectAsync_InnerRequest_SameAnswersAsDirect()
    {
        var server = Convert.FromHexString(Pubkey);
        var host = new StubHost();
        var settings = new SogsBackendSettings { ServerPubkey = server, Backend = "community" };
        var inspector = new SogsInspector(settings, new SogsAuth(server, true, new SogsNonces(TimeProvider.System, 1000), TimeProvider.System),
            new SogsDirectory(settings), new SogsDrops(TimeProvider.System), host.Opaque, host, "community", SogsCensorFallback.Reject, 64);
        var alice = SogsClient.Random();

        SogsRequest Request(string text)
        {
            var body = Encoding.UTF8.GetBytes(alice.Post(text).ToJsonString());
            var headers = alice.Sign(server, "POST", "/room/lobby/message", body, true, TimeProvider.System.GetUtcNow().ToUnixTimeSeconds());
            return new SogsRequest("POST", "/room/lobby/message", headers, body);
        }

        var clean = await inspector.InspectAsync(Request("hello"), CancellationToken.None);
        var dropped = await inspector.InspectAsync(Request("spam spam"), CancellationToken.None);
        var censored = await inspector.InspectAsync(Request("rude words"), CancellationToken.None);
        var forged = Request("hello");
        var tampered = forged with { Body = Encoding.UTF8.GetBytes(alice.Post("other").ToJsonString()) };
        var refused = await inspector.InspectAsync(tampered, CancellationToken.None);
        var passthrough = await inspector.InspectAsync(new SogsRequest("GET", "/capabilities", new Dictionary<string, string>(), default), CancellationToken.None);

        Assert.Equal(SogsDecisionKind.Forward, clean.Kind);
        Assert.Equal(201, dropped.Status);
        Assert.True((bool)JsonNode.Parse(dropped.Body.ToArray())!["filtered"]!);
        Assert.Equal(429, censored.Status);
        Assert.Equal(401, refused.Status);
        Assert.Equal(SogsDecisionKind.Forward, passthrough.Kind);
        Assert.Equal(3, host.Evaluated); // the tampered request never reached evaluation
        Assert.Equal("community", host.Source);
    }

    [Fact]
    public async Task Database_ModeratorsReadOnly_RefreshedOnTheClock()
    {
        await using var sogs = await FakeSogs.StartAsync();
        var dir = Directory.CreateTempSubdirectory("sogs-db").FullName;
        var dbPath = Path.Combine(dir, "sogs.db");
        var roomMod = SogsClient.Random();
        var later = SogsClient.Random();
        using (var db = new SqliteConnection($"Data Source={dbPath}"))
        {
            db.Open();
            Exec(db, """
                CREATE TABLE rooms (id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE COLLATE NOCASE, upload BOOLEAN NOT NULL DEFAULT TRUE);
                CREATE TABLE users (id INTEGER PRIMARY KEY, session_id TEXT NOT NULL UNIQUE, banned BOOLEAN NOT NULL DEFAULT FALSE,
                    moderator BOOLEAN NOT NULL DEFAULT FALSE, admin BOOLEAN NOT NULL DEFAULT FALSE, visible_mod BOOLEAN NOT NULL DEFAULT FALSE);
                CREATE TABLE user_permission_overrides (room INTEGER NOT NULL, "user" INTEGER NOT NULL, banned BOOLEAN NOT NULL DEFAULT FALSE,
                    upload BOOLEAN, moderator BOOLEAN NOT NULL DEFAULT FALSE, admin BOOLEAN NOT NULL DEFAULT FALSE, visible_mod BOOLEAN NOT NULL DEFAULT TRUE,
                    PRIMARY KEY(room, "user"));
                INSERT INTO rooms (id, token) VALUES (1, 'lobby');
                """);
            // SOGS stores a blinded user under the 15 id it signed with; a hidden room moderator.
            Exec(db, $"INSERT INTO users (id, session_id) VALUES (1, '{roomMod.BlindedId(sogs.Pubkey)}'), (2, '{later.BlindedId(sogs.Pubkey)}')");
            Exec(db, "INSERT INTO user_permission_overrides (room, \"user\", moderator, visible_mod) VALUES (1, 1, TRUE, FALSE)");
        }

        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var gw = await GatewayHost.StartAsync($$"""
            [[backends]]
            name = "sogs"
            protocol = "sogs"
            upstreams = ["{{sogs.Url}}"]
              [backends.sogs]
              server_pubkey = "{{sogs.PubkeyHex}}"
              database = "{{dbPath}}"
              database_refresh_seconds = 30

            [[filters]]
            name = "spam"
            action = "drop"
            keywords = ["buy followers"]
            """, configure: b => b.Services.AddSingleton<TimeProvider>(time));

        async Task<HttpStatusCode> Post(SogsClient who)
        {
            var body = Encoding.UTF8.GetBytes(who.Post("buy followers").ToJsonString());
            var request = new HttpRequestMessage(HttpMethod.Post, "/room/lobby/message") { Content = new ByteArrayContent(body) };
            foreach (var (k, v) in who.Sign(sogs.Pubkey, "POST", "/room/lobby/message", body, true, time.GetUtcNow().ToUnixTimeSeconds()))
            {
                request.Headers.TryAddWithoutValidation(k, v);
            }

            using var response = await gw.Client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Created, await Post(roomMod));
        Assert.Single(sogs.Posts); // the database's moderator was forwarded
        Assert.Equal(HttpStatusCode.Created, await Post(later));
        Assert.Single(sogs.Posts); // not (yet) a moderator: dropped

        using (var db = new SqliteConnection($"Data Source={dbPath}"))
        {
            db.Open();
            Exec(db, "UPDATE users SET moderator = TRUE WHERE id = 2");
        }

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(HttpStatusCode.Created, await Post(later));
        Assert.Equal(2, sogs.Posts.Count);
        SqliteConnection.ClearAllPools();
    }

    private static void Exec(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private sealed class StubHost : IModuleHost
    {
        public int Evaluated { get; private set; }

        public string? Source { get; private set; }

        public long Version => 1;

        public ServerAcl GatewayAcl => throw new NotSupportedException();

        public PolicySnapshot Policy => throw new NotSupportedException();

        public OpaqueTraffic Opaque { get; } = new();

        public TimeProvider Time => TimeProvider.System;

        public object? GlobalSettings(string module) => null;

        public Verdict Evaluate(ChatMessage message, string source)
        {
            Evaluated++;
            Source = source;
            var body = message.Fields[0].Text;
            return body.Contains("spam", StringComparison.Ordinal) ? new Verdict { Action = VerdictAction.Drop }
                : body.Contains("rude", StringComparison.Ordinal) ? new Verdict { Action = VerdictAction.Censor }
                : Verdict.Clean;
        }

        public void CountRefusal(string protocol, string reason)
        {
        }
    }
}
