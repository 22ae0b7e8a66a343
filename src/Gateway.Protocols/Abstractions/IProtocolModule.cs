using Gateway.Policy.Protections;
using Gateway.Policy.Rules;
using Gateway.Protocols.Configuration;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Protocols.Abstractions;

/// <summary>How a route's traffic travels: one HTTP request per message, or a relayed WebSocket of frames.</summary>
public enum Transport
{
    Http = 0,
    WebSocket = 1,
}

/// <summary>What the host may do with a protocol's bytes.</summary>
public sealed record ModuleCapabilities
{
    public static ModuleCapabilities Rewritable { get; } = new();

    /// <summary>
    /// False for signed bodies (SOGS, federation, ActivityPub): the host never forwards rewritten bytes and turns a
    /// censor verdict into the route's <c>censor_fallback</c>.
    /// </summary>
    public bool CanRewrite { get; init; } = true;

    /// <summary>
    /// Forward the client's own <c>Host</c> header instead of the upstream's: HTTP Signatures (ActivityPub inboxes)
    /// sign it, so a proxy that rewrites it makes every signed request fail at the backend.
    /// </summary>
    public bool PreserveHost { get; init; }
}

/// <summary>
/// A backend protocol, as the host sees it: a name (the <c>protocol = "…"</c> value of <c>[[backends]]</c>), a
/// reader for the config it owns, and a factory for its long-lived runtime. Stateless: one instance may serve many
/// gateways (tests run several in one process); state lives in the <see cref="IModuleRuntime"/> it creates.
/// Adding a protocol is one folder with one of these and one line in <see cref="ProtocolModules"/>.
/// </summary>
public interface IProtocolModule
{
    string Name { get; }

    /// <summary>
    /// Request headers whose values are credentials in this protocol (a name, or a prefix ending in <c>-</c> such as
    /// <c>x-sogs-</c>): the host's log and trace redaction removes their values wherever they appear.
    /// </summary>
    IReadOnlyList<string> CredentialHeaders => Array.Empty<string>();

    /// <summary>Authorization schemes of this protocol whose parameters are credentials (<c>X-Matrix origin=…,sig=…</c>).</summary>
    IReadOnlyList<string> AuthorizationSchemes => Array.Empty<string>();

    /// <summary>Top-level gateway.toml tables the module owns (e.g. <c>[matrix]</c>); the host refuses others as unknown.</summary>
    IReadOnlyList<string> GlobalTables => Array.Empty<string>();

    /// <summary>Reads the module's top-level tables (each null when absent). Called once per config load.</summary>
    object? ReadGlobal(ModuleConfigContext context, IReadOnlyDictionary<string, TomlTableReader?> tables) => null;

    /// <summary>
    /// Non-null when a backend of this protocol cannot work without its module table (<c>[backends.&lt;name&gt;]</c>):
    /// the text says what the table must give, and the host makes a missing table a config error.
    /// </summary>
    string? RequiredBackendTable => null;

    /// <summary>
    /// Top-level gateway.toml arrays of tables the module reads as filters in its protocol's own syntax (BareRTC's
    /// <c>[[MessageFilters]]</c>); the host refuses others as unknown.
    /// </summary>
    IReadOnlyList<string> GlobalFilterTables => Array.Empty<string>();

    /// <summary>
    /// Reads one of <see cref="GlobalFilterTables"/> (its tables in file order) into filter definitions. The host
    /// compiles them with the <c>[[filters]]</c>, unscoped: like those, they see every backend's traffic.
    /// </summary>
    IReadOnlyList<FilterDefinition> ReadGlobalFilters(ModuleConfigContext context, string table, IReadOnlyList<TomlTableReader> items) =>
        Array.Empty<FilterDefinition>();

    /// <summary>
    /// Reads a backend's module table (<c>[backends.&lt;name&gt;]</c>, null when absent). Errors go to the context with
    /// the reader's key paths and positions.
    /// </summary>
    object? ReadBackend(ModuleConfigContext context, BackendDraft backend, TomlTableReader? table) => null;

    /// <summary>
    /// Filters the module read from the backend's own config files (BareRTC's settings.toml, lemmy-automoderator
    /// rules, sogs.ini), already validated into definitions. The host scopes each to this backend (their
    /// <see cref="FilterDefinition.Backends"/> become the backend's name), names it <c>"&lt;backend&gt;/&lt;name&gt;"</c>,
    /// and compiles them with the <c>[[filters]]</c>, so they follow the engine's precedence and hot reload (files the
    /// module read through <see cref="ModuleConfigContext.Files"/> are watched).
    /// </summary>
    IReadOnlyList<FilterDefinition> BackendFilters(object? backendSettings) => Array.Empty<FilterDefinition>();

    /// <summary>
    /// Protections the module read from the backend's own files (BareRTC's <c>[DMLinkSpamProtection]</c>, SOGS's post
    /// rate limit), scoped and named by the host the way <see cref="BackendFilters"/> are.
    /// </summary>
    IReadOnlyList<ProtectionDefinition> BackendProtections(object? backendSettings) => Array.Empty<ProtectionDefinition>();

    /// <summary>Webhook payload formats the module offers to <c>[reports]</c> tables (<c>format = "&lt;name&gt;"</c>).</summary>
    IReadOnlyList<IReportFormat> ReportFormats => Array.Empty<IReportFormat>();

    /// <summary>The routes of a backend that names none.</summary>
    IReadOnlyList<RouteDefaults> DefaultRoutes(object? backendSettings) => new[] { new RouteDefaults("/", Inspect: false) };

    /// <summary>Whether a route inspects by default (the <c>inspect</c> key overrides).</summary>
    bool InspectsByDefault => true;

    /// <summary>The transport of an inspected route at this path prefix (a route's <c>transport</c> key overrides).</summary>
    Transport TransportFor(string routePath) => Transport.Http;

    /// <summary>Which transports this module can serve; a route asking for another is a config error.</summary>
    IReadOnlyList<Transport> Transports => new[] { Transport.Http };

    /// <summary>
    /// Reads a route's module keys (e.g. the <c>json</c> table). Call <see cref="TomlTableReader.Table"/> etc. on
    /// <paramref name="route"/>; the host calls <c>Finish()</c> afterwards, so unread keys are reported as unknown.
    /// </summary>
    object? ReadRoute(ModuleConfigContext context, RouteDraft draft, object? backendSettings, TomlTableReader route) => null;

    ModuleCapabilities Capabilities => ModuleCapabilities.Rewritable;

    /// <summary>Long-lived services (directories, caches, HTTP clients) the runtime needs. Called once per gateway.</summary>
    void AddServices(IServiceCollection services)
    {
    }

    /// <summary>Creates the module's runtime for one gateway; disposed when the gateway stops.</summary>
    IModuleRuntime CreateRuntime(IServiceProvider services);
}

/// <summary>
/// A module's live side in one gateway: it builds route handlers for each config version and may map endpoints of
/// its own (decision APIs such as the Matrix antispam callbacks).
/// </summary>
public interface IModuleRuntime : IDisposable
{
    /// <summary>Builds what inspects one route under one config version. Called on every (re)load, beside the live one.</summary>
    RouteHandler BuildRoute(RouteBuildContext context);

    /// <summary>
    /// Extra endpoints on the gateway's listener (outside YARP's routes). Called once at start; the handlers reach the
    /// live config, the policy and evaluation through <paramref name="host"/>.
    /// </summary>
    void MapEndpoints(IEndpointRouteBuilder endpoints, IModuleHost host)
    {
    }

    /// <summary>
    /// What the admin API's <c>GET /status</c> shows under <c>modules.&lt;name&gt;</c> (e.g. followed policy lists and
    /// their health); null when the module has nothing to show. Counts, names and states only: never message text,
    /// tokens or keys, since operators paste status output into tickets.
    /// </summary>
    System.Text.Json.Nodes.JsonObject? Status() => null;
}

/// <summary>
/// What a route does under one config version. Any part may be absent: a route with no adapter and no frame
/// sessions is passthrough, gates still run.
/// </summary>
public sealed record RouteHandler
{
    public static RouteHandler Passthrough { get; } = new();

    /// <summary>HTTP transport: parse a request into messages and apply the verdicts.</summary>
    public IProtocolAdapter? Http { get; init; }

    /// <summary>WebSocket transport: one session per relayed connection.</summary>
    public IFrameSessionFactory? Frames { get; init; }

    /// <summary>What the host may do with this route's bytes (signed bodies cannot be rewritten).</summary>
    public ModuleCapabilities Capabilities { get; init; } = ModuleCapabilities.Rewritable;

    /// <summary>Run in order before anything is read, on every request of the route (inspected or not).</summary>
    public IReadOnlyList<IRequestGate> Gates { get; init; } = Array.Empty<IRequestGate>();
}

/// <summary>Defaults for a route the config did not write out.</summary>
public sealed record RouteDefaults(string Path, bool Inspect);

/// <summary>The host-read keys of a backend, for the module to consult while reading its own.</summary>
public sealed record BackendDraft(string Name, string Protocol, IReadOnlyList<string> Upstreams);

/// <summary>The host-read keys of a route.</summary>
public sealed record RouteDraft(string Path, IReadOnlyList<string> Methods, bool Inspect, Transport Transport);
