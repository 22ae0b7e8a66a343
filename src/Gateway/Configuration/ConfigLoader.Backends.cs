using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Configuration;

/// <summary>Reads [[backends]] and their routes; each backend's protocol module reads its own keys.</summary>
internal static partial class ConfigLoader
{
    private static IReadOnlyList<BackendSettings> ReadBackends(IReadOnlyList<TomlTableReader> tables, ConfigSession session)
    {
        var result = new List<BackendSettings>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var known = session.Modules.Names.Append(NoProtocol).ToArray();
        foreach (var t in tables)
        {
            var name = t.String("name", required: true) ?? "";
            if (name.Length > 0 && !names.Add(name))
            {
                t.Error("name", $"backend \"{name}\" is defined twice");
            }

            var protocol = t.String("protocol", NoProtocol)!;
            if (Array.IndexOf(known, protocol) < 0)
            {
                t.Error("protocol", $"unknown protocol \"{protocol}\"; known: {string.Join(", ", known)}");
            }

            var upstreams = t.StringList("upstreams");
            if (!t.Has("upstreams") || upstreams.Count == 0)
            {
                t.Error("upstreams", "at least one upstream address is required, like \"http://127.0.0.1:8008\"");
            }

            foreach (var u in upstreams)
            {
                if (!ConfigUrls.TryParseHttp(u, out _))
                {
                    t.Error("upstreams", $"\"{u}\" is not an http(s) URL");
                }
            }

            var module = session.Modules.Find(protocol);
            var draft = new BackendDraft(name, protocol, upstreams);
            object? backendSettings = null;
            foreach (var other in session.Modules.Names)
            {
                // A backend may carry the table named after its own protocol ([backends.<protocol>]); another's is a mistake.
                if (other == protocol)
                {
                    continue;
                }

                if (t.Table(other) is { } stray)
                {
                    stray.Finish();
                    t.Error(other, $"only backends with protocol = \"{other}\" take a {other} table");
                }
            }

            if (module is not null)
            {
                var table = t.Table(module.Name);
                if (table is null && module.RequiredBackendTable is { } needs)
                {
                    t.Error("protocol", $"protocol = \"{protocol}\" needs a [backends.{module.Name}] table giving {needs}");
                }

                backendSettings = module.ReadBackend(session.ModuleContext, draft, table);
            }

            ReportSettings? reports = null;
            if (t.Table("reports") is { } reportTable)
            {
                reports = ReadReportTarget(reportTable, session.BaseDirectory, session.Limits, session.Modules);
                reportTable.Finish();
            }

            var routes = new List<RouteSettings>();
            foreach (var r in t.TableArray("routes"))
            {
                routes.Add(ReadRoute(r, protocol, module, backendSettings, session));
            }

            if (routes.Count == 0)
            {
                var defaults = module?.DefaultRoutes(backendSettings) ?? new[] { new RouteDefaults("/", Inspect: false) };
                foreach (var d in defaults)
                {
                    routes.Add(new RouteSettings
                    {
                        Path = d.Path,
                        Inspect = d.Inspect,
                        Transport = module?.TransportFor(d.Path) ?? Transport.Http,
                    });
                }
            }

            t.Finish();
            result.Add(new BackendSettings
            {
                Name = name,
                Protocol = protocol,
                Upstreams = upstreams,
                Routes = routes,
                Module = backendSettings,
                Reports = reports,
            });
        }

        return result;
    }

    /// <summary>
    /// The host reads the keys every route has (path, methods, inspect, on_error, transport, censor_fallback); the
    /// backend's module reads its own (the json table), and whatever neither read is an unknown key.
    /// </summary>
    private static RouteSettings ReadRoute(TomlTableReader r, string protocol, IProtocolModule? module, object? backendSettings,
        ConfigSession session)
    {
        var path = r.String("path", required: true) ?? "/";
        if (!path.StartsWith('/') || path.Contains('{') || path.Contains('*'))
        {
            r.Error("path", $"\"{path}\" must be a path prefix starting with '/' (no wildcards)");
        }

        path = path.TrimEnd('/').Length == 0 ? "/" : path.TrimEnd('/');
        var methods = r.StringList("methods");
        foreach (var m in methods)
        {
            if (m.Length == 0 || !m.All(char.IsAsciiLetterUpper))
            {
                r.Error("methods", $"\"{m}\" is not an HTTP method in capitals, like \"POST\"");
            }
        }

        var inspectable = protocol != NoProtocol;
        var inspect = r.Bool("inspect", module?.InspectsByDefault ?? inspectable);
        if (inspect && !inspectable)
        {
            r.Error("inspect", "this backend's protocol is \"none\": nothing can inspect its routes");
        }

        var onError = r.Enum("on_error", OnError.Reject, ("reject", OnError.Reject), ("forward", OnError.Forward));
        var fallback = r.Enum("censor_fallback", CensorFallback.Reject,
            ("reject", CensorFallback.Reject), ("drop", CensorFallback.Drop), ("forward", CensorFallback.Forward));
        var transport = module?.TransportFor(path) ?? Transport.Http;
        if (r.Has("transport"))
        {
            transport = r.Enum("transport", transport, ("http", Transport.Http), ("websocket", Transport.WebSocket));
            var supported = module?.Transports ?? new[] { Transport.Http };
            if (transport != Transport.Http && (!inspect || !supported.Contains(transport)))
            {
                r.Error("transport", $"\"{TransportName(transport)}\" relays frames through an inspecting protocol: it needs an inspected route of a backend " +
                    "whose protocol speaks it (json does); other WebSocket routes are tunnelled as they are without it");
            }
        }

        var draft = new RouteDraft(path, methods, inspect, transport);
        var moduleSettings = module?.ReadRoute(session.ModuleContext, draft, backendSettings, r);
        r.Finish();
        return new RouteSettings
        {
            Path = path,
            Methods = methods,
            Inspect = inspect,
            OnError = onError,
            CensorFallback = fallback,
            Transport = transport,
            Module = moduleSettings,
            MethodsPosition = r.At("methods"),
        };
    }

    private static string TransportName(Transport t) => t == Transport.WebSocket ? "websocket" : "http";

    /// <summary>
    /// A route limited to some methods takes only those: the other methods go to the next matching route, which may
    /// forward them uninspected (a GET carrying spam reached the backend through "/", issue 9 defect 13). Not an
    /// error (a passthrough GET beside an inspected POST is common and intended), so a warning naming both routes.
    /// </summary>
    private static void WarnMethodFallThrough(TomlReadContext ctx, IReadOnlyList<BackendSettings> backends)
    {
        var all = new List<(BackendSettings Backend, int Index, RouteSettings Route)>();
        foreach (var b in backends)
        {
            for (var i = 0; i < b.Routes.Count; i++)
            {
                all.Add((b, i, b.Routes[i]));
            }
        }

        foreach (var (backend, index, route) in all)
        {
            if (!route.Inspect || route.Methods.Count == 0)
            {
                continue;
            }

            // The longest other prefix covering this path catches the other methods, as in RuntimeSnapshot's order.
            (BackendSettings Backend, int Index, RouteSettings Route)? next = null;
            foreach (var other in all)
            {
                if (ReferenceEquals(other.Route, route) || !Covers(other.Route.Path, route.Path))
                {
                    continue;
                }

                var takesOthers = other.Route.Methods.Count == 0 || other.Route.Methods.Any(m => !route.Methods.Contains(m));
                if (takesOthers && (next is null || other.Route.Path.Length > next.Value.Route.Path.Length))
                {
                    next = other;
                }
            }

            if (next is { } n && !n.Route.Inspect)
            {
                var backendIndex = IndexOf(backends, backend);
                var otherIndex = IndexOf(backends, n.Backend);
                ctx.Warnings.Add(new ConfigError(ctx.File, route.MethodsPosition.Line, route.MethodsPosition.Column,
                    $"backends[{backendIndex}].routes[{index}].methods",
                    $"only {string.Join(", ", route.Methods)} on \"{route.Path}\" are inspected; other methods fall through to " +
                    $"backends[{otherIndex}].routes[{n.Index}] (\"{n.Route.Path}\" of backend \"{n.Backend.Name}\"), which forwards them uninspected"));
            }
        }

        static bool Covers(string prefix, string path) =>
            prefix == "/" || path == prefix || path.StartsWith(prefix + "/", StringComparison.Ordinal);

        static int IndexOf(IReadOnlyList<BackendSettings> list, BackendSettings b)
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (ReferenceEquals(list[i], b))
                {
                    return i;
                }
            }

            return -1;
        }
    }
}
