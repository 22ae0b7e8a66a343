using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Org.BouncyCastle.Math.EC.Rfc7748;

namespace Gateway.Protocols.Sogs;

/// <summary>Reads <c>[backends.sogs]</c> and the files it names (the server key, <c>sogs.ini</c> and its word list).</summary>
internal static class SogsConfigReader
{
    private static readonly (string, SogsAllowance)[] Allowances = [("everyone", SogsAllowance.Everyone), ("trusted", SogsAllowance.Trusted)];

    public static SogsBackendSettings Read(ModuleConfigContext context, BackendDraft backend, TomlTableReader table)
    {
        var d = new SogsBackendSettings();
        var pubkey = ReadServerKey(context, table, out var privateKey);
        SogsIniSettings? ini = null;
        if (table.String("config") is { } iniPath)
        {
            ini = ReadIni(context, table, iniPath);
        }

        var rooms = new Dictionary<string, SogsRoomSettings>(StringComparer.Ordinal);
        foreach (var room in table.TableArray("rooms"))
        {
            var token = room.String("token", required: true);
            var uploads = room.Has("uploads") ? room.Enum("uploads", SogsAllowance.Everyone, Allowances) : (SogsAllowance?)null;
            if (token is not null && !rooms.TryAdd(token, new SogsRoomSettings { Moderators = Ids(room, "moderators"), Trusted = Ids(room, "trusted"), Uploads = uploads }))
            {
                room.Error("token", $"room \"{token}\" is listed twice");
            }

            room.Finish();
        }

        var settings = new SogsBackendSettings
        {
            Backend = backend.Name,
            ServerPubkey = pubkey,
            ServerPrivateKey = privateKey,
            RequireBlindKeys = table.Bool("require_blind_keys", ini?.RequireBlindKeys ?? d.RequireBlindKeys),
            Moderators = Ids(table, "moderators"),
            Trusted = Ids(table, "trusted"),
            Rooms = rooms,
            Uploads = table.Enum("uploads", d.Uploads, Allowances),
            MessageRequests = table.Enum("message_requests", d.MessageRequests, Allowances),
            LegacyWrites = table.Enum("legacy_writes", d.LegacyWrites, ("refuse", SogsAllowance.Trusted), ("forward", SogsAllowance.Everyone)),
            Ini = ini,
            DatabasePath = table.String("database") is { } db ? context.Resolve(db) : null,
            DatabaseRefreshSeconds = (int)table.Integer("database_refresh_seconds", d.DatabaseRefreshSeconds, 1, 86400),
            NonceCapacity = (int)table.Integer("nonce_capacity", d.NonceCapacity, 1000, 10_000_000),
        };
        table.Context.Warnings.Add(new ConfigError(table.Context.File, table.Position.Line, table.Position.Column, table.Path,
            "SOGS posts are signed: a filter whose action is censor cannot rewrite them and acts as the route's censor_fallback (reject unless set)"));
        table.Finish();
        return settings;
    }

    private static IReadOnlyList<string> Ids(TomlTableReader table, string key)
    {
        var ids = table.StringList(key);
        foreach (var id in ids)
        {
            if (SogsDirectory.Canonical(id.Trim()) is null)
            {
                table.Error(key, $"\"{id}\" is not a Session ID (66 hex digits starting with 05 or 15)");
            }
        }

        return ids;
    }

    /// <summary>
    /// <c>server_pubkey</c> (hex, the <c>public_key</c> of the room URLs) and/or <c>x25519_key_file</c> (SOGS's own
    /// 32-byte key file, needed for onion requests); the public key is derived from the file when not given, and must
    /// match it when both are.
    /// </summary>
    private static byte[] ReadServerKey(ModuleConfigContext context, TomlTableReader table, out Secret? privateKey)
    {
        privateKey = null;
        byte[]? pubkey = null;
        if (table.String("server_pubkey") is { } hex)
        {
            if (hex.Length == 64 && hex.All(char.IsAsciiHexDigit))
            {
                pubkey = Convert.FromHexString(hex);
            }
            else
            {
                table.Error("server_pubkey", "expected the server's X25519 public key as 64 hex digits (the public_key of a room URL)");
            }
        }

        if (table.String("x25519_key_file") is { } keyPath)
        {
            var path = context.Resolve(keyPath);
            var key = ReadKeyFile(path, out var problem);
            if (key is null)
            {
                table.Error("x25519_key_file", $"key file \"{keyPath}\" {problem}");
            }
            else
            {
                privateKey = new Secret(key);
                var derived = new byte[32];
                X25519.GeneratePublicKey(key, 0, derived, 0);
                if (pubkey is not null && !pubkey.AsSpan().SequenceEqual(derived))
                {
                    table.Error("server_pubkey", "does not match the public key of x25519_key_file");
                }

                pubkey ??= derived;
            }
        }

        if (pubkey is null && !table.Has("server_pubkey") && !table.Has("x25519_key_file"))
        {
            table.Error("server_pubkey", "is required (or x25519_key_file): SOGS request signatures cover the server's key");
        }

        return pubkey ?? new byte[32];
    }

    /// <summary>SOGS's key file: exactly 32 raw bytes, a regular file.</summary>
    private static byte[]? ReadKeyFile(string path, out string problem)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || (info.Attributes & (FileAttributes.Directory | FileAttributes.Device)) != 0)
            {
                problem = "is not a regular file";
                return null;
            }

            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is not FileInfo { Exists: true })
            {
                problem = "is a broken link";
                return null;
            }

            if (info.Length != 32)
            {
                problem = "must hold exactly 32 bytes (SOGS's key_x25519)";
                return null;
            }

            problem = string.Empty;
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            problem = "cannot be read: " + ex.GetType().Name;
            return null;
        }
    }

    private static SogsIniSettings? ReadIni(ModuleConfigContext context, TomlTableReader table, string iniPath)
    {
        var text = context.Files.ReadText(table, "config", iniPath, "sogs.ini");
        if (text is null)
        {
            return null;
        }

        var (ini, errors, warnings) = SogsIni.Parse(text);
        foreach (var e in errors)
        {
            table.Error("config", $"sogs.ini \"{iniPath}\" {e}");
        }

        foreach (var w in warnings)
        {
            table.Context.Warnings.Add(new ConfigError(table.Context.File, table.At("config").Line, table.At("config").Column, table.KeyPath("config"),
                $"sogs.ini \"{iniPath}\" {w}"));
        }

        if (ini.HasAutoReplies)
        {
            table.Context.Warnings.Add(new ConfigError(table.Context.File, table.At("config").Line, table.At("config").Column, table.KeyPath("config"),
                $"sogs.ini \"{iniPath}\": [filter:…] auto-replies are not imported (a reply would be a post signed by the server's key)"));
        }

        if (ini.ProfanityCustom is { } custom)
        {
            var iniDir = Path.GetDirectoryName(context.Resolve(iniPath)) ?? context.BaseDirectory;
            var wordsPath = Path.IsPathRooted(custom) ? custom : Path.Combine(iniDir, custom);
            var words = context.Files.ReadText(table, "config", wordsPath, "sogs.ini profanity_custom");
            if (words is not null)
            {
                ini = ini with { ProfanityWords = SogsIni.Words(words) };
            }
        }
        else if (ini.ProfanityFilter)
        {
            table.Context.Warnings.Add(new ConfigError(table.Context.File, table.At("config").Line, table.At("config").Column, table.KeyPath("config"),
                $"sogs.ini \"{iniPath}\": profanity_filter without profanity_custom uses better_profanity's built-in list, which the gateway does not have; no profanity filter is imported"));
        }

        return ini;
    }
}
