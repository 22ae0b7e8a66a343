using Gateway.Protocols;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Configuration;

/// <summary>Reads [context], [reports], [audit], and the secrets and files the config names.</summary>
internal static partial class ConfigLoader
{
    private static ContextSettings ReadContext(TomlTableReader? t)
    {
        var d = new ContextSettings();
        if (t is null)
        {
            return d;
        }

        var result = new ContextSettings
        {
            MessagesPerConversation = (int)t.Integer("messages_per_conversation", d.MessagesPerConversation, 1, 1000),
            MaxTotalBytes = t.Integer("max_total_bytes", d.MaxTotalBytes, 1024, 1L << 40),
            IdleMinutes = (int)t.Integer("idle_minutes", d.IdleMinutes, 1, 7 * 24 * 60),
            PublicRooms = t.Bool("public_rooms", d.PublicRooms),
        };
        t.Finish();
        return result;
    }

    private static ReportSettings ReadReports(TomlTableReader? t, string baseDir, LimitSettings limits, ProtocolModules modules)
    {
        var d = new ReportSettings();
        if (t is null)
        {
            return d;
        }

        var target = ReadReportTarget(t, baseDir, limits, modules);
        var result = target with
        {
            QueueCapacity = (int)t.Integer("queue_capacity", d.QueueCapacity, 1, 1_000_000),
            MaxAttempts = (int)t.Integer("max_attempts", d.MaxAttempts, 1, 100),
            TimeoutSeconds = (int)t.Integer("timeout_seconds", d.TimeoutSeconds, 1, 600),
            DrainSeconds = (int)t.Integer("drain_seconds", d.DrainSeconds, 0, 600),
            MaxRetryAfterSeconds = (int)t.Integer("max_retry_after_seconds", d.MaxRetryAfterSeconds, 1, 3600),
            IncludeClientIp = t.Bool("include_client_ip", d.IncludeClientIp),
        };
        t.Finish();
        return result;
    }

    /// <summary>
    /// A report target: <c>url</c>, <c>format</c> ("gateway" or a format a module offers), <c>secret_env</c> /
    /// <c>secret_file</c> (signing), <c>api_key_env</c> / <c>api_key_file</c> (a key the format embeds). Read for
    /// <c>[reports]</c> and for a backend's own <c>[backends.reports]</c> (which takes only these keys).
    /// </summary>
    internal static ReportSettings ReadReportTarget(TomlTableReader t, string baseDir, LimitSettings limits, ProtocolModules modules)
    {
        var url = ConfigUrls.ReadHttp(t, "url");
        var format = t.String("format", "gateway")!;
        IReportFormat? writer = null;
        if (format != "gateway")
        {
            writer = modules.All.SelectMany(m => m.ReportFormats).FirstOrDefault(f => f.Name == format);
            if (writer is null)
            {
                var known = modules.All.SelectMany(m => m.ReportFormats).Select(f => f.Name).Prepend("gateway");
                t.Error("format", $"unknown report format \"{format}\"; known: {string.Join(", ", known)}");
            }
        }

        if (t.Has("secret"))
        {
            t.Error("secret", "the webhook secret is never written in gateway.toml: use secret_env (an environment variable name) or secret_file");
        }

        var secretEnv = t.String("secret_env");
        var secretFile = t.String("secret_file");
        var source = !string.IsNullOrEmpty(secretEnv) ? "env:" + secretEnv : !string.IsNullOrEmpty(secretFile) ? "file:" + secretFile : null;
        // Secret files are read on every reload but not watched.
        var files = new ConfigFileReader(baseDir, limits.MaxListFileBytes);
        var secret = ConfigSecrets.Read(t, "secret_env", "secret_file", files, required: url is not null,
            what: "the webhook signing secret");
        var apiKey = ConfigSecrets.Read(t, "api_key_env", "api_key_file", files, required: t.Has("api_key_env") || t.Has("api_key_file"),
            what: "the API key the report format embeds");
        return new ReportSettings
        {
            Url = url,
            Format = format,
            Writer = writer,
            Secret = secret,
            SecretSource = source,
            ApiKey = apiKey,
        };
    }

    private static AuditSettings ReadAudit(TomlTableReader? t, string baseDir)
    {
        var d = new AuditSettings();
        if (t is null)
        {
            return d;
        }

        var file = t.String("file");
        var result = new AuditSettings
        {
            File = string.IsNullOrEmpty(file) ? null : Path.GetFullPath(Path.Combine(baseDir, file)),
            MaxFileBytes = t.Integer("max_file_bytes", d.MaxFileBytes, 1024, 1L << 40),
            MaxFiles = (int)t.Integer("max_files", d.MaxFiles, 1, 1000),
        };
        t.Finish();
        return result;
    }


    /// <summary>
    /// Reads a file the config names through <see cref="ConfigFile"/>; any failure (missing, not a regular file, too
    /// big, I/O error, too slow) is a config error on <paramref name="key"/>. <paramref name="included"/> collects
    /// the path for the watcher even when the read fails, so fixing the file reloads.
    /// </summary>
    internal static string? ReadListedFile(TomlTableReader t, string key, string what, string file, string baseDir, List<string>? included, long maxBytes)
    {
        var full = Path.GetFullPath(Path.Combine(baseDir, file));
        included?.Add(full);
        if (ConfigFile.TryReadText(full, maxBytes, out var text, out var error))
        {
            return text;
        }

        t.Error(key, $"{what} \"{file}\" {error}");
        return null;
    }
}
