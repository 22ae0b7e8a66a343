using Gateway.Protocols;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Gateway.Policy.Net;
using Gateway.Policy.Protections;
using Gateway.Policy.Rules;

namespace Gateway.Configuration;

/// <summary>The whole of gateway.toml, validated. Immutable; a reload produces a new one.</summary>
internal sealed record GatewayConfig
{
    public required string SourcePath { get; init; }

    public ServerSettings Server { get; init; } = new();

    public LimitSettings Limits { get; init; } = new();

    public IReadOnlyList<BackendSettings> Backends { get; init; } = Array.Empty<BackendSettings>();

    public IReadOnlyList<FilterDefinition> Filters { get; init; } = Array.Empty<FilterDefinition>();

    /// <summary>[[protections]] plus those modules imported from backends' own files (already scoped to them).</summary>
    public IReadOnlyList<ProtectionDefinition> Protections { get; init; } = Array.Empty<ProtectionDefinition>();

    /// <summary>
    /// <see cref="Filters"/> as the loader compiled them to validate them, so a load compiles once (10,000 keywords take
    /// about a second); null for a config built in code, which the runtime then compiles itself.
    /// </summary>
    public PolicySnapshot? CompiledPolicy { get; init; }

    /// <summary><see cref="Protections"/> compiled by the loader, as <see cref="CompiledPolicy"/>.</summary>
    public ProtectionSet? CompiledProtections { get; init; }

    public CounterSettings Counters { get; init; } = new();

    /// <summary>[cluster]: shared state in Redis; disabled when the table is absent.</summary>
    public ClusterSettings Cluster { get; init; } = new();

    /// <summary>Null when gateway.toml has no [server_acl] table: every server is allowed.</summary>
    public ServerAclConfig? ServerAcl { get; init; }

    public IReadOnlyList<IpBlockEntry> IpBlocks { get; init; } = Array.Empty<IpBlockEntry>();

    public ContextSettings Context { get; init; } = new();

    public ReportSettings Reports { get; init; } = new();

    /// <summary>
    /// Where a backend's reports go: its own <c>[backends.reports]</c> target when it has one, else the global
    /// <c>[reports]</c>. Queue, retry and drain settings are always the global ones.
    /// </summary>
    public ReportSettings ReportsFor(string? backend)
    {
        if (backend is not null)
        {
            foreach (var b in Backends)
            {
                if (b.Reports is { } own && string.Equals(b.Name, backend, StringComparison.Ordinal))
                {
                    return own;
                }
            }
        }

        return Reports;
    }

    public AuditSettings Audit { get; init; } = new();

    /// <summary>Word-list and IP-list files the config reads: a change to any of them reloads.</summary>
    public IReadOnlyList<string> IncludedFiles { get; init; } = Array.Empty<string>();

    /// <summary>The protocol modules this config was read with; the runtime builds routes with the same ones.</summary>
    public ProtocolModules Modules { get; init; } = ProtocolModules.BuiltIn;

    /// <summary>Each module's global settings (what it read from its top-level tables), by module name.</summary>
    public IReadOnlyDictionary<string, object?> ModuleSettings { get; init; } = new Dictionary<string, object?>();

    public TelemetrySettings Telemetry { get; init; } = new();

    public AdminSettings Admin { get; init; } = new();

    /// <summary>What `validate` warns about (legal, probably unintended): logged at start and on every reload.</summary>
    public IReadOnlyList<ConfigError> Warnings { get; init; } = Array.Empty<ConfigError>();
}

internal sealed record ServerSettings
{
    public IReadOnlyList<string> Listen { get; init; } = new[] { "http://127.0.0.1:8080" };

    public IReadOnlyList<CidrBlock> TrustedProxies { get; init; } = Array.Empty<CidrBlock>();

    public bool WatchConfig { get; init; } = true;

    /// <summary>[server.tls]: certificates for https:// listeners; null when there is none.</summary>
    public TlsSettings? Tls { get; init; }
}

internal sealed record LimitSettings
{
    public long MaxBodyBytes { get; init; } = 1024 * 1024;

    public int MaxJsonDepth { get; init; } = 64;

    /// <summary>Largest WebSocket message the relay reassembles (or lets through, for binary); over it: close 1009.</summary>
    public long MaxFrameBytes { get; init; } = 1024 * 1024;

    public PolicyLimits Policy { get; init; } = new();

    /// <summary>Largest file the config may name (word, IP and policy lists, secrets, certificates).</summary>
    public long MaxListFileBytes { get; init; } = ConfigFile.DefaultMaxBytes;
}

internal enum OnError
{
    /// <summary>Fail closed: answer a clear error, forward nothing.</summary>
    Reject = 0,

    /// <summary>Fail open: forward the request unchanged.</summary>
    Forward = 1,
}

internal sealed record BackendSettings
{
    public required string Name { get; init; }

    /// <summary>The protocol module that inspects the routes (its name), or "none" for a pure passthrough backend.</summary>
    public required string Protocol { get; init; }

    public required IReadOnlyList<string> Upstreams { get; init; }

    public IReadOnlyList<RouteSettings> Routes { get; init; } = Array.Empty<RouteSettings>();

    /// <summary>What the backend's protocol module read from its table (<c>[backends.&lt;protocol&gt;]</c>), if anything.</summary>
    public object? Module { get; init; }

    /// <summary><c>[backends.reports]</c>: this backend's own report target (url, format, secret), or null for the global one.</summary>
    public ReportSettings? Reports { get; init; }
}

internal sealed record RouteSettings
{
    public required string Path { get; init; }

    public IReadOnlyList<string> Methods { get; init; } = Array.Empty<string>();

    /// <summary>Run the backend's adapter on this route; false means bytes pass untouched.</summary>
    public bool Inspect { get; init; }

    public OnError OnError { get; init; } = OnError.Reject;

    /// <summary>What a censor verdict becomes on a route whose protocol cannot rewrite (signed bodies).</summary>
    public CensorFallback CensorFallback { get; init; } = CensorFallback.Reject;

    /// <summary>Where `methods` is written in gateway.toml, for the fall-through warning.</summary>
    public (int Line, int Column) MethodsPosition { get; init; }

    /// <summary>Http (requests inspected one by one) or WebSocket (upgrades relayed frame by frame).</summary>
    public Transport Transport { get; init; } = Transport.Http;

    /// <summary>What the backend's protocol module read from the route (the json table of a JSON route).</summary>
    public object? Module { get; init; }
}

/// <summary>The route's answer to a censor verdict it cannot carry out, because its protocol's bodies are signed.</summary>
internal enum CensorFallback
{
    Reject = 0,
    Drop = 1,
    Forward = 2,
}

/// <summary>RAM-only conversation buffers that give reports their context.</summary>
internal sealed record ContextSettings
{
    public int MessagesPerConversation { get; init; } = 10;

    public long MaxTotalBytes { get; init; } = 256L * 1024 * 1024;

    public int IdleMinutes { get; init; } = 60;

    /// <summary>Keep buffers for public rooms too (direct conversations always have one).</summary>
    public bool PublicRooms { get; init; }
}

internal sealed record ReportSettings
{
    /// <summary>Webhook URL; null = reports off.</summary>
    public Uri? Url { get; init; }

    /// <summary>"gateway" (versioned JSON) or the name of a format a protocol module offers.</summary>
    public string Format { get; init; } = "gateway";

    /// <summary>The module's payload writer for <see cref="Format"/>; null for the gateway's own format.</summary>
    public IReportFormat? Writer { get; init; }

    public Secret? Secret { get; init; }

    public string? SecretSource { get; init; }

    /// <summary>A key the format embeds in its payload (<c>api_key_env</c>/<c>api_key_file</c>), e.g. a chat server's admin API key.</summary>
    public Secret? ApiKey { get; init; }

    public int QueueCapacity { get; init; } = 1000;

    public int MaxAttempts { get; init; } = 4;

    public int TimeoutSeconds { get; init; } = 10;

    public int DrainSeconds { get; init; } = 10;

    /// <summary>The longest Retry-After a receiver may ask for; a longer one is cut to this (a receiver cannot stall delivery).</summary>
    public int MaxRetryAfterSeconds { get; init; } = 60;

    public bool IncludeClientIp { get; init; }

    public bool Enabled => Url is not null;
}

internal sealed record AuditSettings
{
    /// <summary>JSON-lines audit file; null = audit events go to the log only.</summary>
    public string? File { get; init; }

    public long MaxFileBytes { get; init; } = 10L * 1024 * 1024;

    public int MaxFiles { get; init; } = 5;
}

/// <summary>[counters]: the memory bounds of the protections' counters and the sender block list.</summary>
internal sealed record CounterSettings
{
    /// <summary>Counter keys kept in process; the least recently used go first (counted).</summary>
    public int MaxKeys { get; init; } = 100_000;

    public int MaxSenderBlocks { get; init; } = 100_000;
}
