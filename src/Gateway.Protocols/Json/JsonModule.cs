using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Json;

/// <summary>What a JSON route reads from its <c>json</c> table.</summary>
public sealed record JsonRouteOptions(JsonAdapterOptions Http, JsonFrameOptions? Frames);

/// <summary>
/// The generic JSON adapter as a protocol module: any JSON chat API, fields named by JSON pointers in each route's
/// <c>json</c> table, over HTTP requests or WebSocket frames. It has no backend table, no global table and no state.
/// </summary>
public sealed class JsonModule : IProtocolModule
{
    public const string ProtocolName = "json";

    public string Name => ProtocolName;

    public IReadOnlyList<Transport> Transports { get; } = new[] { Transport.Http, Transport.WebSocket };

    // A JSON backend without routes is passed through: nothing says where its text is.
    public IReadOnlyList<RouteDefaults> DefaultRoutes(object? backendSettings) => new[] { new RouteDefaults("/", Inspect: false) };

    public object? ReadRoute(ModuleConfigContext context, RouteDraft draft, object? backendSettings, TomlTableReader route)
    {
        var table = route.Table("json");
        if (!draft.Inspect)
        {
            if (table is not null)
            {
                table.Finish();
                route.Error("json", "only inspected routes of a \"json\" backend take a json table");
            }

            return null;
        }

        if (table is null)
        {
            route.Error("json", "an inspected route of a \"json\" backend needs a [backends.routes.json] table naming its fields");
            return null;
        }

        var frames = JsonConfigReader.ReadFrames(table, draft.Transport == Transport.WebSocket);
        var http = JsonConfigReader.ReadHttp(table, context.Limits);
        table.Finish();
        return new JsonRouteOptions(http, frames);
    }

    public IModuleRuntime CreateRuntime(IServiceProvider services) => new Runtime();

    private sealed class Runtime : IModuleRuntime
    {
        public RouteHandler BuildRoute(RouteBuildContext context)
        {
            if (!context.Inspect || context.RouteSettings is not JsonRouteOptions options)
            {
                return RouteHandler.Passthrough;
            }

            return new RouteHandler
            {
                // Non-upgrade requests on a WebSocket route are still messages over HTTP.
                Http = new JsonAdapter(options.Http),
                Frames = context.Transport == Transport.WebSocket && options.Frames is not null
                    ? new JsonFrameSessionFactory(options.Http, options.Frames)
                    : null,
            };
        }

        public void Dispose()
        {
        }
    }
}
