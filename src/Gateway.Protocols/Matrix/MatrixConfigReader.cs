using System.Globalization;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// Reads the Matrix parts of gateway.toml: the top-level <c>[matrix]</c> table (policy lists, <c>[matrix.antispam]</c>)
/// and a backend's <c>[backends.matrix]</c>. Errors name the key path and position, as the host's reader does.
/// </summary>
internal static class MatrixConfigReader
{
    public static readonly string[] AntispamCallbacks =
        { "check_event_for_spam", "user_may_invite", "user_may_join_room", "should_drop_federated_event" };

    public static MatrixSettings ReadGlobal(ModuleConfigContext context, TomlTableReader? t)
    {
        if (t is null)
        {
            return MatrixSettings.Default;
        }

        var files = t.StringList("policy_lists");
        var contents = new List<(string, string)>();
        foreach (var f in files)
        {
            if (context.Files.ReadText(t, "policy_lists", f, "policy list") is { } text)
            {
                contents.Add((f, text));
            }
        }

        var errors = new List<string>();
        var list = MatrixPolicyList.Parse(contents, errors);
        foreach (var e in errors)
        {
            t.Error("policy_lists", e);
        }

        var antispam = new AntispamSettings();
        var a = t.Table("antispam");
        if (a is not null)
        {
            var enabled = a.Bool("enabled", false);
            var token = ConfigSecrets.Read(a, "token_env", "token_file", context.Files, required: enabled,
                what: "the bearer token Synapse's synapse-http-antispam module sends");
            var failOpen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var cb in a.StringList("fail_open"))
            {
                if (Array.IndexOf(AntispamCallbacks, cb) < 0)
                {
                    a.Error("fail_open", $"unknown callback \"{cb}\"; known: {string.Join(", ", AntispamCallbacks)}");
                }

                failOpen.Add(cb);
            }

            antispam = new AntispamSettings { Enabled = enabled, Token = token, RefuseCensored = a.Bool("refuse_censored", false), FailOpen = failOpen };
            a.Finish();
        }

        var appservices = MatrixAppservices.Read(t, context.Files);
        var policyRooms = ReadPolicyRooms(t, context);
        var policyServer = ReadPolicyServer(t.Table("policy_server"), context);
        var droppedIds = (int)t.Integer("dropped_ids", MatrixSettings.DefaultDroppedIds, 100, 10_000_000);
        t.Finish();
        return new MatrixSettings
        {
            PolicyListFiles = files,
            PolicyList = list,
            Antispam = antispam,
            Appservices = appservices,
            PolicyRooms = policyRooms,
            PolicyServer = policyServer,
            DroppedIds = droppedIds,
        };
    }

    /// <summary>
    /// [matrix.policy_server]: <c>server_name</c>, <c>key_file</c> or <c>key_env</c> (Synapse's signing key format
    /// <c>ed25519 &lt;version&gt; &lt;base64 seed&gt;</c>, or the bare base64 seed), <c>room_version</c>.
    /// </summary>
    private static PolicyServerSettings? ReadPolicyServer(TomlTableReader? p, ModuleConfigContext context)
    {
        if (p is null)
        {
            return null;
        }

        var serverName = p.String("server_name", required: true);
        if (serverName is not null && (serverName.Length == 0 || serverName.Any(c => char.IsWhiteSpace(c) || c is '/' or '@' or '!' or '#')))
        {
            p.Error("server_name", "must be a Matrix server name (hostname[:port]), the one in the room's m.room.policy \"via\"");
        }

        var key = ConfigSecrets.Read(p, "key_env", "key_file", context.Files, required: true,
            what: "the policy server's ed25519 signing key (\"ed25519 policy_server <base64 seed>\")", fileWhat: "policy server key file");
        var roomVersion = p.String("room_version") ?? "10";
        if (!MatrixRedaction.IsKnown(roomVersion))
        {
            p.Error("room_version", $"\"{roomVersion}\" is not a room version the gateway knows the redaction rules of (1 to 12)");
        }

        Secret? seed = null;
        if (key is not null)
        {
            seed = PolicyServerKey.ParseSeed(key.Value);
            if (seed is null)
            {
                // Never echo the key: say what shape was expected.
                p.Error(string.IsNullOrEmpty(p.String("key_env")) ? "key_file" : "key_env", "the key is not \"ed25519 <version> <base64 of a 32-byte seed>\" nor a bare base64 32-byte seed");
            }
        }

        p.Finish();
        return serverName is null || seed is null ? null : new PolicyServerSettings { ServerName = serverName, Seed = seed, RoomVersion = roomVersion };
    }

    /// <summary>
    /// <c>policy_rooms</c> (room ids or aliases), <c>policy_homeserver</c> (the client API of the gateway's account),
    /// <c>policy_token_env</c> / <c>policy_token_file</c> (its access token) and <c>policy_retry_seconds</c>.
    /// </summary>
    private static PolicyRoomSettings? ReadPolicyRooms(TomlTableReader t, ModuleConfigContext context)
    {
        var rooms = t.StringList("policy_rooms");
        foreach (var r in rooms)
        {
            if (r.Length < 3 || r[0] is not ('!' or '#') || !r.Contains(':'))
            {
                t.Error("policy_rooms", $"\"{r}\" is not a room id (!id:server) or alias (#name:server)");
            }
        }

        var homeserver = ConfigUrls.ReadHttp(t, "policy_homeserver");
        var token = ConfigSecrets.Read(t, "policy_token_env", "policy_token_file", context.Files, required: rooms.Count > 0,
            what: "the access token of the gateway's own Matrix account, which follows policy_rooms");
        var retry = t.Integer("policy_retry_seconds", 30, 1, 3600);
        if (rooms.Count == 0)
        {
            return null;
        }

        if (homeserver is null)
        {
            t.Error("policy_rooms", "set policy_homeserver: the client API URL of the homeserver the gateway's account is on");
        }

        return new PolicyRoomSettings { Rooms = rooms, Homeserver = homeserver, Token = token, Retry = TimeSpan.FromSeconds(retry) };
    }

    public static MatrixBackendSettings ReadBackend(TomlTableReader? t)
    {
        if (t is null)
        {
            return MatrixBackendSettings.Default;
        }

        var d = MatrixBackendSettings.Default;
        var homeserver = ConfigUrls.ReadHttp(t, "homeserver");
        var level = t.Raw("moderator_level") switch
        {
            null => "kick",
            long n => n.ToString(CultureInfo.InvariantCulture),
            string s when s is "kick" or "redact" or "ban" => s,
            var other => InvalidLevel(t, "moderator_level", $"must be \"kick\", \"redact\", \"ban\" or a power level number, found {TomlTableReader.Describe(other)}"),
        };
        var acls = new List<RoomAclSettings>();
        foreach (var a in t.TableArray("room_acls"))
        {
            var room = a.String("room", required: true) ?? "";
            if (room.Length > 0 && !NameGlob.TryValidate(room, out var gerr))
            {
                a.Error("room", gerr!);
            }

            var acl = ServerAclConfig.Read(a);
            a.Finish();
            acls.Add(new RoomAclSettings(room, acl));
        }

        var result = new MatrixBackendSettings
        {
            Homeserver = homeserver,
            ModeratorLevel = level,
            TokenCacheSeconds = (int)t.Integer("token_cache_seconds", d.TokenCacheSeconds, 0, 86400),
            RoomCacheSeconds = (int)t.Integer("room_cache_seconds", d.RoomCacheSeconds, 0, 86400),
            PublicRooms = ConfigGlobs.ReadGlobs(t, "public_rooms"),
            RejectEncryptedInPublicRooms = t.Bool("reject_encrypted_in_public_rooms", false),
            RoomAcls = acls,
        };
        t.Finish();
        return result;
    }

    private static string InvalidLevel(TomlTableReader t, string key, string message)
    {
        t.Error(key, message);
        return "kick";
    }
}
