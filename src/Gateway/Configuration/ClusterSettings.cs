using System.Globalization;
using Gateway.Protocols.Configuration;

namespace Gateway.Configuration;

/// <summary>What a request does when the shared state (Redis) is down or slower than the budget.</summary>
internal enum SharedStateFallback
{
    /// <summary>Each instance counts on its own, exactly (its in-process counters always shadow the shared ones).</summary>
    Local = 0,

    /// <summary>Counters read as zero: protections that count never fire while Redis is away.</summary>
    FailOpen = 1,

    /// <summary>Counters read as over every limit: protections that count fire for every message while Redis is away.</summary>
    FailClosed = 2,
}

/// <summary>
/// [cluster]: several gateway instances share counters, runtime blocks and membership through one Redis (issue 15).
/// Absent = a single instance with in-process state only. The Redis password comes from password_env or
/// password_file, never from gateway.toml (a password in the URL is refused).
/// </summary>
internal sealed record ClusterSettings
{
    public const int DefaultBudgetMs = 5;

    public bool Enabled { get; init; }

    /// <summary>Host and port from the URL.</summary>
    public string Host { get; init; } = "127.0.0.1";

    public int Port { get; init; } = 6379;

    /// <summary>rediss:// = TLS.</summary>
    public bool Tls { get; init; }

    public int Database { get; init; }

    /// <summary>The Redis ACL user (the URL's user part, or <c>user</c>); null = the default user.</summary>
    public string? User { get; init; }

    public Secret? Password { get; init; }

    /// <summary>This instance's name in <c>GET /cluster</c> and in keys it owns; default: the host name.</summary>
    public string Instance { get; init; } = "";

    public SharedStateFallback OnSharedStateError { get; init; } = SharedStateFallback.Local;

    /// <summary>The longest a request waits on Redis before it counts locally (or as on_shared_state_error says).</summary>
    public TimeSpan Budget { get; init; } = TimeSpan.FromMilliseconds(DefaultBudgetMs);

    /// <summary>Prefix of every key and channel, so several gateways can share one Redis.</summary>
    public string KeyPrefix { get; init; } = "gw:";

    /// <summary>Keys counters by HMAC with this secret (shared by every instance); required with [cluster].</summary>
    public Secret? Secret { get; init; }

    /// <summary>How often an instance announces itself; members silent for three beats are gone.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The internal listener other instances push DM context appends to (<c>http://127.0.0.1:7600</c>); null = this
    /// instance neither owns nor pushes DM pairs (each instance keeps the half of a DM it saw).
    /// </summary>
    public string? InternalListen { get; init; }

    /// <summary>
    /// host[:port] the others reach <see cref="InternalListen"/> at (internal_advertise, or the variable internal_advertise_env
    /// names); no port = the bound one; null = the listen host, or the host name when it is a wildcard.
    /// </summary>
    public string? InternalAdvertise { get; init; }

    /// <summary>The URL as written, with no secret in it (for messages and GET /cluster).</summary>
    public string Display => $"{(Tls ? "rediss" : "redis")}://{Host}:{Port.ToString(CultureInfo.InvariantCulture)}/{Database.ToString(CultureInfo.InvariantCulture)}";

    public static ClusterSettings Read(TomlTableReader root, string baseDir, long maxFileBytes)
    {
        var t = root.Table("cluster");
        if (t is null)
        {
            return new ClusterSettings();
        }

        if (t.Has("password"))
        {
            t.Error("password", "the Redis password is never written in gateway.toml: use password_env (an environment variable name) or password_file");
        }

        var url = t.String("redis", required: true) ?? "";
        var settings = new ClusterSettings { Enabled = t.Bool("enabled", true) };
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "redis" && uri.Scheme != "rediss") || uri.Host.Length == 0)
        {
            if (url.Length > 0)
            {
                t.Error("redis", $"\"{Redact(url)}\" is not a Redis URL like \"redis://127.0.0.1:6379\" or \"rediss://redis.internal:6380/0\"");
            }
        }
        else
        {
            string? user = null;
            if (uri.UserInfo.Length > 0)
            {
                var parts = uri.UserInfo.Split(':', 2);
                if (parts.Length == 2)
                {
                    t.Error("redis", "the URL holds a password: move it to password_env or password_file (gateway.toml never holds secrets)");
                }

                user = Uri.UnescapeDataString(parts[0]);
            }

            var db = 0;
            var path = uri.AbsolutePath.Trim('/');
            if (path.Length > 0 && (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out db) || db > 15))
            {
                t.Error("redis", $"\"/{path}\" is not a database number (0-15)");
            }

            settings = settings with
            {
                Host = uri.Host.Trim('[', ']'),
                Port = uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port,
                Tls = uri.Scheme == "rediss",
                Database = db,
                User = t.String("user") ?? user,
            };
        }

        var files = new ConfigFileReader(baseDir, maxFileBytes);
        var password = ConfigSecrets.Read(t, "password_env", "password_file", files, required: false, "the Redis password", "Redis password file");
        if (t.Has("password_env") && password is null && t.String("password_env") is { Length: > 0 } env)
        {
            t.Error("password_env", $"environment variable {env} is not set (it holds the Redis password)");
        }

        var secret = ConfigSecrets.Read(t, "secret_env", "secret_file", files, required: true,
            "the cluster's shared secret, at least 32 bytes (counter keys in Redis are HMACs under it, so Redis never holds a sender id)", "cluster secret file");
        if (secret is not null && secret.Value.Length < 32)
        {
            t.Error(t.Has("secret_file") ? "secret_file" : "secret_env", "the cluster secret must be at least 32 bytes (e.g. `openssl rand -hex 32`)");
        }

        var instance = t.String("instance") ?? Environment.MachineName;
        if (instance.Length is 0 or > 64 || !instance.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            t.Error("instance", "an instance name is 1-64 characters: letters, digits, '-', '_' and '.'");
        }

        var prefix = t.String("key_prefix", "gw:")!;
        if (prefix.Length is 0 or > 32 || prefix.Any(c => char.IsWhiteSpace(c) || c is '*' or '?' or '[' or ']'))
        {
            t.Error("key_prefix", "a key prefix is 1-32 characters without spaces or glob characters (* ? [ ])");
        }

        var internalListen = t.String("internal_listen");
        if (internalListen is not null)
        {
            if (!internalListen.Contains("://", StringComparison.Ordinal))
            {
                internalListen = "http://" + internalListen;
            }

            if (!Uri.TryCreate(internalListen, UriKind.Absolute, out var listenUri) || listenUri.Scheme != "http" || listenUri.Host.Length == 0
                || listenUri.AbsolutePath != "/" || listenUri.Port < 0)
            {
                t.Error("internal_listen", $"\"{internalListen}\" is not a listen address like \"10.0.0.5:7600\" or \"http://0.0.0.0:7600\" (plain http: every push is sealed with AES-GCM under a key from the cluster secret)");
                internalListen = null;
            }
        }

        var advertise = t.String("internal_advertise");
        if (advertise is null && t.String("internal_advertise_env") is { Length: > 0 } advertiseEnv)
        {
            // Kubernetes: the pod IP from the downward API (status.podIP); the port is the one internal_listen bound.
            advertise = Environment.GetEnvironmentVariable(advertiseEnv);
            if (string.IsNullOrEmpty(advertise))
            {
                t.Error("internal_advertise_env", $"environment variable {advertiseEnv} is not set (it holds the address the other instances reach this one at)");
            }
            else if (System.Net.IPAddress.TryParse(advertise, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                advertise = "[" + advertise + "]";
            }
        }

        if (!string.IsNullOrEmpty(advertise) && (advertise.Contains('/', StringComparison.Ordinal) || !Uri.TryCreate("http://" + advertise, UriKind.Absolute, out _)))
        {
            t.Error("internal_advertise", $"\"{advertise}\" is not host or host:port (how the other instances reach internal_listen)");
        }

        settings = settings with
        {
            InternalListen = internalListen,
            InternalAdvertise = string.IsNullOrEmpty(advertise) ? null : advertise,
            Password = password,
            Secret = secret,
            Instance = instance,
            KeyPrefix = prefix,
            OnSharedStateError = t.Enum("on_shared_state_error", SharedStateFallback.Local, ("local", SharedStateFallback.Local),
                ("fail_open", SharedStateFallback.FailOpen), ("fail_closed", SharedStateFallback.FailClosed)),
            Budget = TimeSpan.FromMilliseconds(t.Integer("budget_ms", DefaultBudgetMs, 1, 10_000)),
            Heartbeat = TimeSpan.FromMilliseconds(t.Integer("heartbeat_ms", 1000, 100, 60_000)),
        };
        t.Finish();
        return settings;
    }

    private static string Redact(string url)
    {
        var at = url.IndexOf('@', StringComparison.Ordinal);
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        return at > 0 && scheme > 0 && at > scheme ? url[..(scheme + 3)] + "***@" + url[(at + 1)..] : url;
    }
}
