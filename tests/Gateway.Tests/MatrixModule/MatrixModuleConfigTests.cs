using ConfigFileReader = Gateway.Configuration.ConfigFileReader;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Gateway.Protocols.Matrix;
using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace Gateway.Tests.MatrixModule;

/// <summary>The Matrix module reads [matrix] and [backends.matrix] itself, with file:line:column: key.path errors.</summary>
public sealed class MatrixModuleConfigTests : IDisposable
{
    private const string Backend = "[[backends]]\nname = \"m\"\nprotocol = \"matrix\"\nupstreams = [\"http://127.0.0.1:1\"]\n";

    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-mxcfg-").FullName;
    private readonly Protocols.Matrix.MatrixModule _module = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (object? Settings, List<string> Errors) ReadGlobal(string toml)
    {
        var (root, ctx) = Parse(toml);
        var settings = _module.ReadGlobal(Context(), new Dictionary<string, TomlTableReader?> { ["matrix"] = root.Table("matrix") });
        return (settings, ctx.Errors.Select(e => e.ToString()).ToList());
    }

    private (MatrixBackendSettings Settings, List<string> Errors) ReadBackend(string toml)
    {
        var (root, ctx) = Parse(toml);
        var backend = root.TableArray("backends")[0];
        var draft = new BackendDraft("m", "matrix", new[] { "http://127.0.0.1:1" });
        var settings = (MatrixBackendSettings)_module.ReadBackend(Context(), draft, backend.Table("matrix"))!;
        return (settings, ctx.Errors.Select(e => e.ToString()).ToList());
    }

    private ModuleConfigContext Context() => new(_dir, new ConfigLimits(), new ConfigFileReader(_dir, 1 << 20));

    private static (TomlTableReader Root, TomlReadContext Context) Parse(string toml)
    {
        var metadata = new TomlMetadataStore();
        var table = TomlSerializer.Deserialize<TomlTable>(toml, new TomlSerializerOptions { MetadataStore = metadata, SourceName = "gateway.toml" })!;
        var ctx = new TomlReadContext("gateway.toml", metadata);
        return (new TomlTableReader(table, "", ctx, (1, 1)), ctx);
    }

    [Theory]
    [InlineData(Backend + "[backends.matrix]\nhomeserver = \"ftp://x\"\n", "gateway.toml:6:1: backends[0].matrix.homeserver: \"ftp://x\" is not an http(s) URL")]
    [InlineData(Backend + "[backends.matrix]\nmoderator_level = \"boss\"\n",
        "gateway.toml:6:1: backends[0].matrix.moderator_level: must be \"kick\", \"redact\", \"ban\" or a power level number, found the string \"boss\"")]
    [InlineData(Backend + "[backends.matrix]\ntoken_cache_seconds = 100000\n", "gateway.toml:6:1: backends[0].matrix.token_cache_seconds: ")]
    [InlineData(Backend + "[backends.matrix]\npublic_rooms = \"!a:x\"\n", "gateway.toml:6:1: backends[0].matrix.public_rooms: expected an array of strings, found the string")]
    [InlineData(Backend + "[backends.matrix]\nbogus = 1\n", "gateway.toml:6:1: backends[0].matrix.bogus: unknown key")]
    [InlineData(Backend + "[[backends.matrix.room_acls]]\nallow = [\"*\"]\n", "backends[0].matrix.room_acls[0].room: ")]
    [InlineData(Backend + "[[backends.matrix.room_acls]]\nroom = \"!r:x\"\ndeny = [\"\"]\n", "gateway.toml:7:1: backends[0].matrix.room_acls[0].deny: server name glob is empty")]
    public void ReadBackend_BadTable_NamesKeyAndPosition(string toml, string expected)
    {
        var (_, errors) = ReadBackend(toml);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void ReadBackend_FullTable_ReadsEveryKey()
    {
        var (settings, errors) = ReadBackend(Backend + """
            [backends.matrix]
            homeserver = "http://hs.test:8008"
            moderator_level = 75
            token_cache_seconds = 5
            room_cache_seconds = 6
            public_rooms = ["!pub:*"]
            reject_encrypted_in_public_rooms = true
              [[backends.matrix.room_acls]]
              room = "!r:hs.test"
              deny = ["evil.test"]
              allow_ip_literals = false
            """);
        Assert.Empty(errors);
        Assert.Equal(new Uri("http://hs.test:8008"), settings.Homeserver);
        Assert.Equal("75", settings.ModeratorLevel);
        Assert.Equal((5, 6), (settings.TokenCacheSeconds, settings.RoomCacheSeconds));
        Assert.Equal(new[] { "!pub:*" }, settings.PublicRooms);
        Assert.True(settings.RejectEncryptedInPublicRooms);
        var acl = Assert.Single(settings.RoomAcls);
        Assert.Equal("!r:hs.test", acl.Room);
        Assert.False(acl.Acl.Compile().IsAllowed("evil.test"));
        Assert.False(acl.Acl.AllowIpLiterals);
    }

    [Fact]
    public void ReadBackend_Absent_Defaults()
    {
        var (settings, errors) = ReadBackend(Backend);
        Assert.Empty(errors);
        Assert.Same(MatrixBackendSettings.Default, settings);
        Assert.True(_module.InspectsByDefault);
        Assert.Equal(new RouteDefaults("/", Inspect: true), Assert.Single(_module.DefaultRoutes(settings)));
    }

    [Theory]
    [InlineData("[matrix]\npolicy_lists = [\"nope.json\"]\n", "gateway.toml:2:1: matrix.policy_lists: policy list \"nope.json\" does not exist")]
    [InlineData("[matrix]\npolicy_lists = \"p.json\"\n", "gateway.toml:2:1: matrix.policy_lists: expected an array of strings, found the string")]
    [InlineData("[matrix.antispam]\nfail_open = [\"user_may_fly\"]\n",
        "gateway.toml:2:1: matrix.antispam.fail_open: unknown callback \"user_may_fly\"; known: check_event_for_spam, user_may_invite, user_may_join_room, should_drop_federated_event")]
    [InlineData("[matrix.antispam]\nenabled = true\n",
        "matrix.antispam: set token_env (an environment variable name) or token_file: the bearer token Synapse's synapse-http-antispam module sends")]
    [InlineData("[matrix.antispam]\nenabled = true\ntoken_env = \"GATEWAY_TEST_MXMOD_UNSET\"\n",
        "gateway.toml:3:1: matrix.antispam.token_env: environment variable GATEWAY_TEST_MXMOD_UNSET is not set (it holds the bearer token")]
    [InlineData("[matrix.antispam]\nenabled = true\ntoken_env = \"X\"\ntoken_file = \"t\"\n", "gateway.toml:4:1: matrix.antispam.token_file: give token_env or token_file, not both")]
    [InlineData("[matrix.antispam]\nenabled = true\ntoken_file = \"missing\"\n", "gateway.toml:3:1: matrix.antispam.token_file: secret file \"missing\" does not exist")]
    [InlineData("[matrix.antispam]\nbogus = 1\n", "gateway.toml:2:1: matrix.antispam.bogus: unknown key")]
    [InlineData("[matrix]\ndropped_ids = 5\n", "gateway.toml:2:1: matrix.dropped_ids: ")]
    [InlineData("[matrix]\ndropped_ids = \"many\"\n", "gateway.toml:2:1: matrix.dropped_ids: ")]
    public void ReadGlobal_BadTable_NamesKeyAndPosition(string toml, string expected)
    {
        var (_, errors) = ReadGlobal(toml);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void ReadGlobal_PolicyListsAndAntispam_Read()
    {
        File.WriteAllText(Path.Combine(_dir, "bans.json"), """
            [{"type":"m.policy.rule.user","content":{"entity":"@bad:*","recommendation":"m.ban"}},
             {"type":"m.policy.rule.server","content":{"entity":"evil.test","recommendation":"m.ban"}}]
            """);
        File.WriteAllText(Path.Combine(_dir, "antispam.token"), "tok-123\n");
        var (settings, errors) = ReadGlobal("""
            [matrix]
            policy_lists = ["bans.json"]
              [matrix.antispam]
              enabled = true
              token_file = "antispam.token"
              refuse_censored = true
              fail_open = ["user_may_join_room"]
            """);
        Assert.Empty(errors);
        var matrix = Assert.IsType<MatrixSettings>(settings);
        Assert.True(matrix.PolicyList.IsUserBanned("@bad:x.test"));
        Assert.Equal(new[] { "evil.test" }, matrix.PolicyList.ServerBans);
        Assert.True(matrix.Antispam.Enabled);
        Assert.True(matrix.Antispam.RefuseCensored);
        Assert.Equal("tok-123"u8.ToArray(), matrix.Antispam.Token!.Value);
        Assert.Contains("user_may_join_room", matrix.Antispam.FailOpen);
    }

    [Fact]
    public void ReadGlobal_Absent_Defaults()
    {
        var (settings, errors) = ReadGlobal("");
        Assert.Empty(errors);
        Assert.Same(MatrixSettings.Default, settings);
        Assert.Equal(new[] { "matrix" }, _module.GlobalTables);
        Assert.Equal(50_000, MatrixSettings.Default.DroppedIds);
        Assert.Equal(2_000, Assert.IsType<MatrixSettings>(ReadGlobal("[matrix]\ndropped_ids = 2000\n").Settings).DroppedIds);
    }

    [Theory]
    [InlineData("[[matrix.appservices]]\nname = \"a\"\n", "matrix.appservices[0].registration: give exactly one of `registration` (the registration file) or `as_token_sha256`")]
    [InlineData("[[matrix.appservices]]\nname = \"a\"\nas_token_sha256 = \"abc\"\n", "gateway.toml:3:1: matrix.appservices[0].as_token_sha256: must be the 64 hex digits")]
    [InlineData("[[matrix.appservices]]\nname = \"a\"\nregistration = \"none.yaml\"\n", "matrix.appservices[0].registration: appservice registration \"none.yaml\" does not exist")]
    [InlineData("[[matrix.appservices]]\nname = \"a\"\nregistration = \"notoken.yaml\"\n", "matrix.appservices[0].registration: appservice registration \"notoken.yaml\" has no as_token")]
    [InlineData("[[matrix.appservices]]\nname = \"a\"\nregistration = \"notoken.yaml\"\ntreatment = \"ignore\"\n", "matrix.appservices[0].treatment: must be one of \"per_user\", \"as_one\", \"exempt\"")]
    [InlineData("[[matrix.appservices]]\nname = \"a\"\nas_token_sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\nusers = [\"(\"]\n", "matrix.appservices[0].users: namespace regex \"(\" is not valid")]
    public void ReadGlobal_BadAppservice_NamesKeyAndPosition(string toml, string expected)
    {
        File.WriteAllText(Path.Combine(_dir, "notoken.yaml"), "id: x\nsender_localpart: bot\n");
        var (_, errors) = ReadGlobal(toml);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void ReadGlobal_AppserviceRegistration_TokenHashedNamespaceRead()
    {
        File.WriteAllText(Path.Combine(_dir, "bridge.yaml"), """
            # a mautrix-style registration
            id: whatsapp
            url: http://localhost:29318
            as_token: 'tok''en'
            hs_token: other
            sender_localpart: "whatsappbot"
            namespaces:
              users:
              - regex: ^@whatsapp_.*:example\.org$
                exclusive: true
              - exclusive: true
                regex: "@wa2_.*:example\\.org"
              aliases:
              - regex: "#nope_.*"
            """);
        var (settings, errors) = ReadGlobal("[[matrix.appservices]]\nname = \"wa\"\nregistration = \"bridge.yaml\"\n");
        Assert.Empty(errors);
        var service = Assert.Single(Assert.IsType<MatrixSettings>(settings).Appservices.Services);
        Assert.Same(service, Assert.IsType<MatrixSettings>(settings).Appservices.ForToken("tok'en"));
        Assert.Null(Assert.IsType<MatrixSettings>(settings).Appservices.ForToken("other"));
        Assert.Equal(new[] { @"^@whatsapp_.*:example\.org$", @"@wa2_.*:example\.org" }, service.UserRegexes);
        Assert.True(service.Covers("@whatsapp_123:example.org"));
        Assert.True(service.Covers("@wa2_x:example.org"));
        Assert.True(service.Covers("@whatsappbot:example.org"));
        Assert.False(service.Covers("@nope_1:example.org"));
        Assert.Equal(AppserviceTreatment.PerUser, service.Treatment);
    }

    [Fact]
    public void PolicyServer_SynapseKeyLineOrBareSeed_Read()
    {
        var seed = Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        File.WriteAllText(Path.Combine(_dir, "ps.key"), "ed25519 policy_server " + seed.TrimEnd('=') + "\n");
        File.WriteAllText(Path.Combine(_dir, "bare.key"), seed + "\n");
        foreach (var file in new[] { "ps.key", "bare.key" })
        {
            var (settings, errors) = ReadGlobal($"[matrix.policy_server]\nserver_name = \"ps.example\"\nkey_file = \"{file}\"\n");
            Assert.Empty(errors);
            var ps = ((MatrixSettings)settings!).PolicyServer!;
            Assert.Equal("ps.example", ps.ServerName);
            Assert.Equal("10", ps.RoomVersion);
            Assert.Equal(Enumerable.Range(0, 32).Select(i => (byte)i), ps.Seed.Value);
        }
    }

    [Fact]
    public void PolicyServer_BadKeyOrVersion_NamesTheKeyWithoutEchoingIt()
    {
        File.WriteAllText(Path.Combine(_dir, "short.key"), "ed25519 policy_server c2VjcmV0LXNob3J0\n");
        var (_, errors) = ReadGlobal("[matrix.policy_server]\nserver_name = \"ps.example\"\nkey_file = \"short.key\"\nroom_version = \"org.example.13\"\n");
        Assert.Contains(errors, e => e.Contains("matrix.policy_server.key_file: the key is not", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("matrix.policy_server.room_version: ", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("c2VjcmV0LXNob3J0", StringComparison.Ordinal));

        (_, errors) = ReadGlobal("[matrix.policy_server]\nkey_file = \"short.key\"\n");
        Assert.Contains(errors, e => e.Contains("matrix.policy_server.server_name", StringComparison.Ordinal));
        (_, errors) = ReadGlobal("[matrix.policy_server]\nserver_name = \"ps.example\"\n");
        Assert.Contains(errors, e => e.Contains("key_file", StringComparison.Ordinal));
    }
}
