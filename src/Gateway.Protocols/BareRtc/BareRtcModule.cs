using Gateway.Policy.Protections;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Protocols.BareRtc;

/// <summary>
/// What <c>[backends.barertc]</c> says: the site's JWT secret, when the gateway should verify logins itself, and the
/// <c>[[MessageFilters]]</c> imported from BareRTC's own settings.toml.
/// </summary>
internal sealed record BareRtcBackendSettings(Secret? JwtSecret, IReadOnlyList<FilterDefinition>? Filters = null,
    IReadOnlyList<ProtectionDefinition>? Protections = null);

/// <summary>
/// BareRTC (a WebRTC chat server): <c>/ws</c> relayed frame by frame through a <see cref="BareRtcFrameSession"/>,
/// <c>POST /poll</c> inspected over HTTP with the same verdicts, everything else passed through. Owns
/// <c>[backends.barertc]</c> (<c>jwt_secret_env</c> / <c>jwt_secret_file</c>; <c>settings</c>: BareRTC's settings.toml,
/// whose <c>[[MessageFilters]]</c> become filters scoped to that backend, reloaded when the file changes) and the
/// top-level <c>[[MessageFilters]]</c> of gateway.toml (unscoped, like <c>[[filters]]</c>).
/// </summary>
public sealed class BareRtcModule : IProtocolModule
{
    public string Name => BareRtcCodec.ProtocolName;

    public IReadOnlyList<Transport> Transports { get; } = new[] { Transport.Http, Transport.WebSocket };

    public Transport TransportFor(string routePath) =>
        routePath.Equals("/ws", StringComparison.Ordinal) ? Transport.WebSocket : Transport.Http;

    public IReadOnlyList<RouteDefaults> DefaultRoutes(object? backendSettings) => new[]
    {
        new RouteDefaults("/ws", Inspect: true),
        new RouteDefaults("/poll", Inspect: true),
        new RouteDefaults("/", Inspect: false),
    };

    public object? ReadBackend(ModuleConfigContext context, BackendDraft backend, TomlTableReader? table)
    {
        if (table is null)
        {
            return new BareRtcBackendSettings(null);
        }

        var secret = ConfigSecrets.Read(table, "jwt_secret_env", "jwt_secret_file", context.Files, required: false,
            "BareRTC's [JWT] SecretKey, to verify login tokens", "JWT secret file");
        var settingsFile = table.String("settings");
        var imported = string.IsNullOrEmpty(settingsFile) ? default : BareRtcMessageFilters.ReadSettings(context, table, "settings", settingsFile);
        table.Finish();
        return new BareRtcBackendSettings(secret, imported.Filters, imported.Protections);
    }

    public IReadOnlyList<FilterDefinition> BackendFilters(object? backendSettings) =>
        (backendSettings as BareRtcBackendSettings)?.Filters ?? (IReadOnlyList<FilterDefinition>)Array.Empty<FilterDefinition>();

    public IReadOnlyList<ProtectionDefinition> BackendProtections(object? backendSettings) =>
        (backendSettings as BareRtcBackendSettings)?.Protections ?? (IReadOnlyList<ProtectionDefinition>)Array.Empty<ProtectionDefinition>();

    public IReadOnlyList<IReportFormat> ReportFormats { get; } = new IReportFormat[] { new BareRtcReportFormat() };

    public IReadOnlyList<string> GlobalFilterTables { get; } = new[] { BareRtcMessageFilters.Table };

    public IReadOnlyList<FilterDefinition> ReadGlobalFilters(ModuleConfigContext context, string table, IReadOnlyList<TomlTableReader> items) =>
        BareRtcMessageFilters.Read(items, context.Limits.MaxRegexLength);

    public IModuleRuntime CreateRuntime(IServiceProvider services) =>
        new Runtime(services.GetService<TimeProvider>() ?? TimeProvider.System);

    private sealed class Runtime(TimeProvider time) : IModuleRuntime
    {
        private readonly BareRtcIds _ids = new(time);

        public RouteHandler BuildRoute(RouteBuildContext context)
        {
            if (!context.Inspect)
            {
                return RouteHandler.Passthrough;
            }

            var settings = context.BackendSettings as BareRtcBackendSettings;
            var jwt = settings?.JwtSecret is { } secret ? new BareRtcJwt(secret.Value, time) : null;
            return context.Transport == Transport.WebSocket
                ? new RouteHandler { Frames = new BareRtcFrameSessionFactory(jwt, _ids) }
                : new RouteHandler { Http = new BareRtcPollAdapter(_ids) };
        }

        public void Dispose()
        {
        }
    }
}
