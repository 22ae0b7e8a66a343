using Gateway.Protocols.Configuration;

namespace Gateway.Configuration;

/// <summary>
/// The [admin] table: the admin API and console on their own listener. On when a token source is configured
/// (token_env or token_file) unless <c>enabled = false</c>; <c>enabled = true</c> without a token source is an error,
/// so the admin API can never run unauthenticated. The token itself is never written in gateway.toml.
/// </summary>
internal sealed record AdminSettings
{
    public const string DefaultListen = "http://127.0.0.1:9090";
    public const string DefaultOverlayFileName = "gateway.overlay.json";
    public const int MinTokenLength = 16;

    public bool Enabled { get; init; }

    public string Listen { get; init; } = DefaultListen;

    public Secret? Token { get; init; }

    /// <summary>Where the token came from ("env:NAME" or "file:PATH"), for messages; never the token.</summary>
    public string? TokenSource { get; init; }

    /// <summary>Runtime IP blocks and ACL entries added through the admin API; full path. Empty = next to gateway.toml.</summary>
    public string OverlayFile { get; init; } = "";

    /// <summary>How many recent verdicts (metadata only) the console can show.</summary>
    public int RecentVerdicts { get; init; } = 200;

    public static AdminSettings Read(TomlTableReader root, string baseDir, long maxFileBytes = ConfigFile.DefaultMaxBytes)
    {
        var defaultOverlay = Path.GetFullPath(Path.Combine(baseDir, DefaultOverlayFileName));
        var t = root.Table("admin");
        if (t is null)
        {
            CheckOverlayFile(root, "admin", defaultOverlay, maxFileBytes);
            return new AdminSettings { OverlayFile = defaultOverlay };
        }

        var listen = t.String("listen", DefaultListen)!;
        if (!ConfigUrls.IsListenUrl(listen))
        {
            t.Error("listen", $"\"{listen}\" is not a listen URL like \"{DefaultListen}\"");
        }

        if (t.Has("token"))
        {
            t.Error("token", "the admin token is never written in gateway.toml: use token_env (an environment variable name) or token_file");
        }

        var tokenEnv = t.String("token_env");
        var tokenFile = t.String("token_file");
        var configured = !string.IsNullOrEmpty(tokenEnv) || !string.IsNullOrEmpty(tokenFile);
        var enabled = t.Bool("enabled", configured);
        Secret? token = null;
        string? source = null;
        if (enabled && !configured)
        {
            t.Error("enabled", "the admin API needs a bearer token: set token_env (an environment variable name) or token_file");
        }
        else if (enabled || (!string.IsNullOrEmpty(tokenEnv) && !string.IsNullOrEmpty(tokenFile)))
        {
            // The shared reader picks the source (and refuses both); the admin token's own rules follow.
            var files = new ConfigFileReader(baseDir, maxFileBytes);
            switch (ConfigSecrets.ReadRaw(t, "token_env", "token_file", files, "token file", out var value))
            {
                case SecretOrigin.Environment:
                    source = "env:" + tokenEnv;
                    token = Check(t, "token_env", value, $"environment variable {tokenEnv}");
                    break;
                case SecretOrigin.File:
                    var full = Path.GetFullPath(Path.Combine(baseDir, tokenFile!));
                    source = "file:" + full;
                    token = Check(t, "token_file", value, $"token file {full}");
                    break;
                case SecretOrigin.Unreadable:
                    source = "file:" + Path.GetFullPath(Path.Combine(baseDir, tokenFile!));
                    break;
            }
        }

        var overlay = t.String("overlay_file");
        var overlayPath = string.IsNullOrEmpty(overlay) ? defaultOverlay : Path.GetFullPath(Path.Combine(baseDir, overlay));
        CheckOverlayFile(t, "overlay_file", overlayPath, maxFileBytes);
        var result = new AdminSettings
        {
            Enabled = enabled,
            Listen = listen,
            Token = token,
            TokenSource = source,
            OverlayFile = overlayPath,
            RecentVerdicts = (int)t.Integer("recent_verdicts", 200, 1, 100_000),
        };
        t.Finish();
        return result;
    }

    /// <summary>A broken overlay file refuses the config (at start, in `validate`), rather than silently dropping blocks.</summary>
    private static void CheckOverlayFile(TomlTableReader t, string key, string path, long maxFileBytes)
    {
        // A missing overlay file is normal (nothing added yet); anything else that is not a readable file is not.
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            return;
        }

        if (!ConfigFile.TryReadText(path, maxFileBytes, out var text, out var readError))
        {
            t.Error(key, $"overlay file {readError}");
            return;
        }

        if (!AdminOverlay.TryParse(text, out _, out var error))
        {
            t.Error(key, $"overlay file {path}: {error}");
        }
    }

    private static Secret? Check(TomlTableReader t, string key, string? value, string where)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            t.Error(key, $"{where} is empty or not set (it holds the admin bearer token)");
            return null;
        }

        if (trimmed.Length < MinTokenLength)
        {
            t.Error(key, $"the admin token in {where} is shorter than {MinTokenLength} characters");
            return null;
        }

        return new Secret(System.Text.Encoding.UTF8.GetBytes(trimmed));
    }
}
