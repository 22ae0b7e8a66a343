using Gateway.Policy.Protections;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Sogs;

/// <summary>
/// Session open group servers (session-pysogs): posts, edits and batches inspected after the gateway checks each
/// request's X-SOGS-* signature; uploads and message requests limited as the operator handbook does; SOGS's own
/// <c>sogs.ini</c> filters imported. Bodies are signed twice over, so nothing is ever rewritten. Owns
/// <c>[backends.sogs]</c>.
/// </summary>
public sealed class SogsModule : IProtocolModule
{
    public string Name => SogsInspector.ProtocolName;

    public ModuleCapabilities Capabilities { get; } = new() { CanRewrite = false };

    /// <summary>X-SOGS-Pubkey, -Nonce, -Timestamp, -Signature: the request's authentication.</summary>
    public IReadOnlyList<string> CredentialHeaders { get; } = ["x-sogs-"];

    public string RequiredBackendTable => "the server's public key (server_pubkey, or x25519_key_file, the key file SOGS itself uses)";

    public object? ReadBackend(ModuleConfigContext context, BackendDraft backend, TomlTableReader? table) =>
        table is null ? new SogsBackendSettings { Backend = backend.Name } : SogsConfigReader.Read(context, backend, table);

    public IReadOnlyList<FilterDefinition> BackendFilters(object? backendSettings) =>
        backendSettings is SogsBackendSettings { Ini: { } ini } s ? SogsFilters.From(ini, s.Backend) : Array.Empty<FilterDefinition>();

    /// <summary>
    /// With <c>sogs.ini</c> imported, SOGS's fixed post rate limit (sogs/model/room.py: 5 posts per 16 s per user per
    /// room, moderators and admins exempt) becomes a flood protection the gateway enforces before the post is
    /// signed off to SOGS, answered as SOGS answers it (429 "Rate limited"); an operator's own [[protections]] can
    /// be stricter. Unlike SOGS, refused attempts count too.
    /// </summary>
    public IReadOnlyList<ProtectionDefinition> BackendProtections(object? backendSettings) =>
        backendSettings is SogsBackendSettings { Ini: not null }
            ? new[]
            {
                new ProtectionDefinition
                {
                    Name = "sogs-rate-limit",
                    Kind = ProtectionKind.Flood,
                    Max = 5,
                    Window = TimeSpan.FromSeconds(16),
                    PerRoom = true,
                    Action = ProtectionAction.Reject,
                    Notice = "Rate limited",
                    Protocols = new[] { SogsInspector.ProtocolName },
                },
            }
            : Array.Empty<ProtectionDefinition>();

    /// <summary>A SOGS backend with no routes is inspected whole: the adapter picks the requests that carry posts.</summary>
    public IReadOnlyList<RouteDefaults> DefaultRoutes(object? backendSettings) => new[] { new RouteDefaults("/", Inspect: true) };

    /// <summary>The route's <c>censor_fallback</c> (read by the host too), so onion requests apply the same one.</summary>
    public object? ReadRoute(ModuleConfigContext context, RouteDraft draft, object? backendSettings, TomlTableReader route) =>
        route.Raw("censor_fallback") switch
        {
            "drop" => SogsCensorFallback.Drop,
            "forward" => SogsCensorFallback.Forward,
            _ => SogsCensorFallback.Reject,
        };

    public IModuleRuntime CreateRuntime(IServiceProvider services) => new SogsRuntime(services);
}
