using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// Matrix: the client-server API (message sends, edits, room names and topics, display names; rewritten in place),
/// the federation origin gate on every request of a Matrix backend, policy lists, and the synapse-http-antispam
/// decision API for what the proxy cannot rewrite. Owns <c>[matrix]</c> and <c>[backends.matrix]</c>.
/// </summary>
public sealed class MatrixModule : IProtocolModule
{
    private static readonly string[] Tables = { "matrix" };

    public IReadOnlyList<string> CredentialHeaders { get; } = ["x-matrix-"];

    public IReadOnlyList<string> AuthorizationSchemes { get; } = ["X-Matrix"];

    public string Name => MatrixAdapter.ProtocolName;

    public IReadOnlyList<string> GlobalTables => Tables;

    /// <summary>The <c>[matrix]</c> table: a <see cref="MatrixSettings"/> (the defaults when absent).</summary>
    public object? ReadGlobal(ModuleConfigContext context, IReadOnlyDictionary<string, TomlTableReader?> tables) =>
        MatrixConfigReader.ReadGlobal(context, tables.TryGetValue("matrix", out var t) ? t : null);

    /// <summary>The <c>[backends.matrix]</c> table: a <see cref="MatrixBackendSettings"/> (the defaults when absent).</summary>
    public object? ReadBackend(ModuleConfigContext context, BackendDraft backend, TomlTableReader? table) =>
        MatrixConfigReader.ReadBackend(table);

    /// <summary>A Matrix backend with no routes is inspected whole: the adapter picks the requests that carry text.</summary>
    public IReadOnlyList<RouteDefaults> DefaultRoutes(object? backendSettings) => new[] { new RouteDefaults("/", Inspect: true) };

    public bool InspectsByDefault => true;

    public IModuleRuntime CreateRuntime(IServiceProvider services) => new MatrixRuntime(services);
}
