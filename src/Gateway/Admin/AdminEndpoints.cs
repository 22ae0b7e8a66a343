using Gateway.Protocols.Abstractions;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Configuration;
using Gateway.Policy.Context;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Security;
using Gateway.Presentation;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Telemetry;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Admin;

/// <summary>
/// The admin API. Everything but the console page, its assets and the health probes needs the bearer token.
/// Responses carry metadata and counts; the one text that comes back is what the operator sent to /check.
/// </summary>
internal static partial class AdminEndpoints
{
    public const int MaxBodyBytes = 64 * 1024;

    private static readonly HashSet<string> PublicPaths = new(StringComparer.Ordinal) { "/", "/console.js", "/console.css", "/favicon.ico", "/healthz", "/readyz" };

    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

    public static void Map(WebApplication app)
    {
        app.Use(SecureAsync);
        app.MapGet("/", () => Asset("console.html", "text/html; charset=utf-8"));
        app.MapGet("/console.js", () => Asset("console.js", "text/javascript; charset=utf-8"));
        app.MapGet("/console.css", () => Asset("console.css", "text/css; charset=utf-8"));
        app.MapGet("/favicon.ico", () => Results.NoContent()); // browsers ask for it; a 401 would be noise
        app.MapGet("/healthz", () => Json(new JsonObject { ["status"] = "ok" }));
        app.MapGet("/readyz", Readyz);
        app.MapGet("/status", Status);
        app.MapPost("/reload", Reload);
        app.MapPost("/check", CheckAsync);
        app.MapGet("/verdicts", (RecentVerdicts recent) => Json(VerdictsJson(recent)));
        app.MapGet("/ip-blocks", IpBlocks);
        app.MapPost("/ip-blocks", AddIpBlockAsync);
        app.MapDelete("/ip-blocks", (HttpContext c, OverlayStore store) => Changed(store.RemoveIpBlock(c.Request.Query["cidr"]), null));
        app.MapGet("/acl", Acl);
        app.MapPost("/acl", AddAclDenyAsync);
        app.MapDelete("/acl", (HttpContext c, OverlayStore store) => Changed(store.RemoveAclDeny(c.Request.Query["server"]), null));
        app.MapGet("/cluster", ClusterAsync);
        MapProtections(app);
    }

    /// <summary>Security headers on every answer; the bearer token on everything that is not public.</summary>
    private static Task SecureAsync(HttpContext context, RequestDelegate next)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers.CacheControl = "no-store";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        var path = context.Request.Path.Value ?? "/";
        if (PublicPaths.Contains(path))
        {
            return next(context);
        }

        var state = context.RequestServices.GetRequiredService<GatewayState>();
        var token = state.Current.Config.Admin.Token;
        if (token is null || !BearerToken.Matches(context.Request.Headers.Authorization, token))
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Admin");
            Log.AdminUnauthorized(logger, context.Request.Method, path, context.Connection.RemoteIpAddress?.ToString() ?? "?");
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            headers.WWWAuthenticate = "Bearer";
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("{\"error\":\"unauthorized\",\"message\":\"Send the admin token as 'Authorization: Bearer <token>'.\"}");
        }

        return next(context);
    }

    private static IResult Status(GatewayState state, GatewayTelemetry telemetry, ReportQueue queue, ConversationStore store, OverlayStore overlay, TimeProvider time,
        Gateway.Runtime.ModuleRuntimes modules)
    {
        var s = state.Current;
        var now = time.GetUtcNow();
        var stats = queue.Stats;
        return Json(new JsonObject
        {
            ["version"] = typeof(AdminEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                ?? typeof(AdminEndpoints).Assembly.GetName().Version?.ToString(),
            ["started_at"] = Time(telemetry.StartedAt),
            ["uptime_seconds"] = Math.Round((now - telemetry.StartedAt).TotalSeconds, 1),
            ["config"] = new JsonObject
            {
                ["version"] = s.Version,
                ["loaded_at"] = Time(s.LoadedAt),
                ["path"] = s.Config.SourcePath,
                ["reloads"] = s.Version - 1,
                ["reload_failures"] = state.ReloadFailures,
                ["filters"] = s.Policy.FilterCount,
                ["keywords"] = s.Policy.KeywordCount,
                ["regexes"] = s.Policy.RegexCount,
                ["ip_blocks"] = s.Config.IpBlocks.Count,
            },
            ["overlay"] = new JsonObject
            {
                ["file"] = overlay.FilePath,
                ["ip_blocks"] = s.Overlay.IpBlocks.Count,
                ["acl_deny"] = s.Overlay.AclDeny.Count,
            },
            ["counters"] = new JsonObject
            {
                ["messages_inspected"] = telemetry.InspectedTotal,
                ["verdicts"] = new JsonObject
                {
                    ["forward"] = telemetry.VerdictTotal(VerdictAction.Forward),
                    ["censor"] = telemetry.VerdictTotal(VerdictAction.Censor),
                    ["drop"] = telemetry.VerdictTotal(VerdictAction.Drop),
                    ["reject"] = telemetry.VerdictTotal(VerdictAction.Reject),
                },
                ["ip_denials"] = telemetry.IpDenialTotal,
                ["acl_denials"] = telemetry.AclDenialTotal,
                ["opaque"] = new JsonObject
                {
                    ["encrypted"] = telemetry.OpaqueTotal(OpaqueKind.Encrypted),
                    ["signed"] = telemetry.OpaqueTotal(OpaqueKind.Signed),
                    ["onion"] = telemetry.OpaqueTotal(OpaqueKind.Onion),
                },
            },
            ["reports"] = new JsonObject
            {
                ["queued"] = queue.Count,
                ["enqueued"] = stats.Enqueued,
                ["sent"] = stats.Sent,
                ["retried"] = stats.Retried,
                ["dropped"] = stats.Dropped,
                ["rejected"] = stats.Rejected,
            },
            ["context"] = new JsonObject { ["conversations"] = store.Conversations, ["bytes"] = store.Bytes },
            ["telemetry"] = new JsonObject { ["enabled"] = s.Config.Telemetry.Enabled },
            ["modules"] = modules.Statuses(),
        });
    }

    private static IResult Reload(GatewayState state, IConfigReloader reloader, ILoggerFactory loggers)
    {
        var result = reloader.Reload(state.Current.Config.SourcePath);
        var logger = loggers.CreateLogger("Gateway.Admin");
        if (result.Ok)
        {
            Log.AdminReload(logger, "admin", $"swapped in version {state.Current.Version}");
            return Json(new JsonObject { ["ok"] = true, ["version"] = state.Current.Version });
        }

        Log.AdminReload(logger, "admin", $"refused with {result.Errors.Count} problems");
        var errors = new JsonArray();
        foreach (var e in result.Errors)
        {
            errors.Add(new JsonObject
            {
                ["file"] = e.File,
                ["line"] = e.Line,
                ["column"] = e.Column,
                ["key"] = e.KeyPath,
                ["message"] = e.Message,
                ["text"] = e.ToString(),
            });
        }

        return Json(new JsonObject { ["ok"] = false, ["version"] = state.Current.Version, ["errors"] = errors }, StatusCodes.Status422UnprocessableEntity);
    }

    /// <summary>The rule-test console: `gateway check` against the live policy. The text is neither logged nor kept.</summary>
    private static async Task<IResult> CheckAsync(HttpContext context, GatewayState state)
    {
        var (body, error) = await ReadJsonAsync(context);
        if (error is not null)
        {
            return error;
        }

        if (body!["text"] is not JsonValue textValue || !textValue.TryGetValue<string>(out var text))
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid_request", "\"text\" (a string) is required");
        }

        var fieldName = Str(body, "field") ?? "body";
        FieldKind? field = fieldName switch
        {
            "body" => FieldKind.Body,
            "title" => FieldKind.Title,
            "link" => FieldKind.Link,
            "display_name" => FieldKind.DisplayName,
            _ => null,
        };
        if (field is null)
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid_request", $"unknown field \"{fieldName}\"; known: body, title, link, display_name");
        }

        var snapshot = state.Current;
        var message = new ChatMessage
        {
            Protocol = "admin",
            Sender = Str(body, "sender"),
            Room = Str(body, "room"),
            IsDirect = Bool(body, "direct"),
            SenderIsModerator = Bool(body, "moderator"),
            Fields = new[] { new MessageField(field.Value, text) },
        };
        var verdict = snapshot.Policy.Evaluate(message, Str(body, "backend"));
        var json = VerdictPresenter.ToJson(message, verdict, field.Value);
        json["config_version"] = snapshot.Version;
        return Json(json);
    }

    private static JsonObject VerdictsJson(RecentVerdicts recent)
    {
        var list = new JsonArray();
        foreach (var v in recent.Snapshot())
        {
            list.Add(new JsonObject
            {
                ["time"] = Time(v.Time),
                ["action"] = v.Action,
                ["filter"] = v.Filter,
                ["protocol"] = v.Protocol,
                ["route"] = v.Route,
                ["room"] = v.Room,
                ["direct"] = v.Direct,
            });
        }

        return new JsonObject { ["capacity"] = recent.Capacity, ["verdicts"] = list };
    }

    private static async Task<(JsonObject? Body, IResult? Error)> ReadJsonAsync(HttpContext context)
    {
        try
        {
            var node = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            return node is JsonObject o
                ? (o, null)
                : (null, Problem(StatusCodes.Status400BadRequest, "invalid_request", "the body must be a JSON object"));
        }
        catch (JsonException)
        {
            return (null, Problem(StatusCodes.Status400BadRequest, "invalid_json", "the body is not valid JSON"));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Problem(StatusCodes.Status413PayloadTooLarge, "body_too_large", $"the body is larger than {MaxBodyBytes} bytes"));
        }
    }

    private static string? Str(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static bool Bool(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static IResult Problem(int status, string code, string message) =>
        Json(new JsonObject { ["error"] = code, ["message"] = message }, status);

    /// <summary>503 until the proxy listener is bound, and again once the gateway is stopping (see <see cref="ProxyReadiness"/>).</summary>
    internal static IResult Readyz(GatewayState state, ProxyReadiness proxy) =>
        Json(new JsonObject { ["status"] = proxy.State, ["config_version"] = state.Current.Version },
            proxy.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);

    private static IResult Json(JsonNode node, int status = StatusCodes.Status200OK) =>
        Results.Text(node.ToJsonString(), "application/json", Encoding.UTF8, status);

    private static IResult Asset(string name, string contentType)
    {
        var bytes = ConsoleAssets.Get(name);
        return Results.Bytes(bytes, contentType);
    }
}

/// <summary>The console's HTML, script and style, embedded in the assembly and read once.</summary>
internal static class ConsoleAssets
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> Cache = new(StringComparer.Ordinal);

    public static byte[] Get(string name) => Cache.GetOrAdd(name, static n =>
    {
        using var stream = typeof(ConsoleAssets).Assembly.GetManifestResourceStream("Gateway.Admin.Console." + n)
            ?? throw new InvalidOperationException($"embedded console asset {n} is missing from the build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });
}
