using Gateway.Policy.Net;
using Gateway.Policy.Rules;
using Gateway.Protocols.Json;

namespace Gateway.Configuration;

/// <summary>The whole of gateway.toml, validated. Immutable; a reload produces a new one.</summary>
internal sealed record GatewayConfig
{
    public required string SourcePath { get; init; }

    public ServerSettings Server { get; init; } = new();

    public LimitSettings Limits { get; init; } = new();

    public IReadOnlyList<BackendSettings> Backends { get; init; } = Array.Empty<BackendSettings>();

    public IReadOnlyList<FilterDefinition> Filters { get; init; } = Array.Empty<FilterDefinition>();

    /// <summary>Null when gateway.toml has no [server_acl] table: every server is allowed.</summary>
    public ServerAclSettings? ServerAcl { get; init; }

    public IReadOnlyList<IpBlockEntry> IpBlocks { get; init; } = Array.Empty<IpBlockEntry>();

    /// <summary>Word-list and IP-list files the config reads: a change to any of them reloads.</summary>
    public IReadOnlyList<string> IncludedFiles { get; init; } = Array.Empty<string>();
}

internal sealed record ServerSettings
{
    public IReadOnlyList<string> Listen { get; init; } = new[] { "http://127.0.0.1:8080" };

    public IReadOnlyList<CidrBlock> TrustedProxies { get; init; } = Array.Empty<CidrBlock>();

    public bool WatchConfig { get; init; } = true;
}

internal sealed record LimitSettings
{
    public long MaxBodyBytes { get; init; } = 1024 * 1024;

    public int MaxJsonDepth { get; init; } = 64;

    public PolicyLimits Policy { get; init; } = new();
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

    /// <summary>Adapter for inspected routes: "json" (or "none" for a pure passthrough backend).</summary>
    public required string Protocol { get; init; }

    public required IReadOnlyList<string> Upstreams { get; init; }

    public IReadOnlyList<RouteSettings> Routes { get; init; } = Array.Empty<RouteSettings>();
}

internal sealed record RouteSettings
{
    public required string Path { get; init; }

    public IReadOnlyList<string> Methods { get; init; } = Array.Empty<string>();

    /// <summary>Run the backend's adapter on this route; false means bytes pass untouched.</summary>
    public bool Inspect { get; init; }

    public OnError OnError { get; init; } = OnError.Reject;

    public JsonAdapterOptions? Json { get; init; }
}

internal sealed record ServerAclSettings(IReadOnlyList<string> Allow, IReadOnlyList<string> Deny, bool AllowIpLiterals);
