using Gateway.Protocols.Configuration;
using System.Globalization;
using Gateway.Policy.Acl;
using Gateway.Policy.Net;
using Gateway.Policy.Rules;
using Gateway.Protocols.Json;
using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace Gateway.Configuration;

/// <summary>Reads [matrix] and [backends.matrix].</summary>
internal static partial class ConfigLoader
{
    private static MatrixBackendSettings ReadMatrixBackend(TomlTableReader? t)
    {
        var d = new MatrixBackendSettings();
        if (t is null)
        {
            return d;
        }

        Uri? homeserver = null;
        var hs = t.String("homeserver");
        if (!string.IsNullOrEmpty(hs))
        {
            if (Uri.TryCreate(hs, UriKind.Absolute, out var u) && u.Scheme is "http" or "https")
            {
                homeserver = u;
            }
            else
            {
                t.Error("homeserver", $"\"{hs}\" is not an http(s) URL");
            }
        }

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

            var acl = ReadAclBody(a);
            a.Finish();
            acls.Add(new RoomAclSettings(room, acl));
        }

        var result = new MatrixBackendSettings
        {
            Homeserver = homeserver,
            ModeratorLevel = level,
            TokenCacheSeconds = (int)t.Integer("token_cache_seconds", d.TokenCacheSeconds, 0, 86400),
            RoomCacheSeconds = (int)t.Integer("room_cache_seconds", d.RoomCacheSeconds, 0, 86400),
            PublicRooms = Globs(t, "public_rooms"),
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

    private static MatrixSettings ReadMatrix(TomlTableReader? t, string baseDir, List<string> included, LimitSettings limits)
    {
        var d = new MatrixSettings();
        if (t is null)
        {
            return d;
        }

        var files = t.StringList("policy_lists");
        var contents = new List<(string, string)>();
        foreach (var f in files)
        {
            if (ReadListedFile(t, "policy_lists", "policy list", f, baseDir, included, limits.MaxListFileBytes) is { } text)
            {
                contents.Add((f, text));
            }
        }

        var errors = new List<string>();
        var list = Gateway.Protocols.Matrix.MatrixPolicyList.Parse(contents, errors);
        foreach (var e in errors)
        {
            t.Error("policy_lists", e);
        }

        var antispam = new AntispamSettings();
        var a = t.Table("antispam");
        if (a is not null)
        {
            var enabled = a.Bool("enabled", false);
            var token = ReadSecret(a, "token_env", "token_file", baseDir, limits.MaxListFileBytes, required: enabled,
                what: "the bearer token Synapse's synapse-http-antispam module sends");
            var failOpen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var cb in a.StringList("fail_open"))
            {
                if (cb is not ("check_event_for_spam" or "user_may_invite" or "user_may_join_room" or "should_drop_federated_event"))
                {
                    a.Error("fail_open", $"unknown callback \"{cb}\"; known: check_event_for_spam, user_may_invite, user_may_join_room, should_drop_federated_event");
                }

                failOpen.Add(cb);
            }

            antispam = new AntispamSettings { Enabled = enabled, Token = token, RefuseCensored = a.Bool("refuse_censored", false), FailOpen = failOpen };
            a.Finish();
        }

        t.Finish();
        return new MatrixSettings { PolicyListFiles = files, PolicyList = list, Antispam = antispam };
    }
}
