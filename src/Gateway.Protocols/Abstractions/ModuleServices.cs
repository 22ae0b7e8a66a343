using Gateway.Policy.Acl;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Configuration;
using Microsoft.AspNetCore.Http;

namespace Gateway.Protocols.Abstractions;

/// <summary>Runs before inspection on every request of a route: may refuse it whole (a federation origin ACL).</summary>
public interface IRequestGate
{
    /// <summary>Null lets the request go on; a refusal is answered as is and nothing is forwarded.</summary>
    ValueTask<GateRefusal?> CheckAsync(HttpContext context, IModuleHost host);
}

/// <summary>A gate's answer when it refuses a request.</summary>
public sealed record GateRefusal(int Status, byte[] Body, string ContentType = "application/json");

/// <summary>
/// What the host offers module runtimes, always for the live config version: its settings, the gateway-wide server
/// ACL (runtime entries included: one ACL, one lookup), the policy, and evaluation with the host's side effects.
/// </summary>
public interface IModuleHost
{
    /// <summary>The config version now serving.</summary>
    long Version { get; }

    /// <summary>The module's global settings (what <see cref="IProtocolModule.ReadGlobal"/> returned) in the live config.</summary>
    object? GlobalSettings(string module);

    /// <summary>The gateway-wide server ACL: <c>[server_acl]</c> plus the admin API's runtime entries.</summary>
    ServerAcl GatewayAcl { get; }

    PolicySnapshot Policy { get; }

    /// <summary>What modules cannot inspect (encrypted, signed, onion), counted by the host's metrics.</summary>
    OpaqueTraffic Opaque { get; }

    TimeProvider Time { get; }

    /// <summary>
    /// Evaluates messages a module received outside the proxied routes (a decision API), with the host's side effects:
    /// metrics, verdict logs, conversation context and reports.
    /// </summary>
    Verdict Evaluate(ChatMessage message, string source);

    /// <summary>Counts a request the module refused before inspection (by a short, fixed reason such as "server_acl").</summary>
    void CountRefusal(string protocol, string reason);
}

/// <summary>What a module's config reader may use besides the TOML tables.</summary>
public sealed class ModuleConfigContext(string baseDirectory, ConfigLimits limits, IConfigFileReader files)
{
    /// <summary>Relative file paths in gateway.toml are relative to this directory.</summary>
    public string BaseDirectory { get; } = baseDirectory;

    public ConfigLimits Limits { get; } = limits;

    /// <summary>Reads files the config names (bounded, regular files only) and records them for hot reload.</summary>
    public IConfigFileReader Files { get; } = files;

    public string Resolve(string path) => Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(BaseDirectory, path));
}

/// <summary>The <c>[limits]</c> a module's reader needs.</summary>
public sealed record ConfigLimits
{
    public long MaxBodyBytes { get; init; } = 1024 * 1024;

    public int MaxJsonDepth { get; init; } = 64;

    public int MaxFrameBytes { get; init; } = 1024 * 1024;

    /// <summary><c>limits.max_regex_length</c>, for modules that read regexes of their own.</summary>
    public int MaxRegexLength { get; init; } = 512;
}

/// <summary>Everything a module needs to build one route's handler under one config version.</summary>
public sealed record RouteBuildContext
{
    public required string RouteId { get; init; }

    public required string Backend { get; init; }

    public required IReadOnlyList<string> Upstreams { get; init; }

    public required string Path { get; init; }

    public required bool Inspect { get; init; }

    public required Transport Transport { get; init; }

    public object? BackendSettings { get; init; }

    public object? RouteSettings { get; init; }

    public object? GlobalSettings { get; init; }

    public required ConfigLimits Limits { get; init; }

    /// <summary>The host, for what a handler needs at request time (its <see cref="IModuleHost.Opaque"/> counters).</summary>
    public required IModuleHost Host { get; init; }
}
