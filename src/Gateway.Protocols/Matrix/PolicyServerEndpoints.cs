using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Policy.Model;
using Gateway.Protocols.Abstractions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// A Matrix policy server (spec v1.18 "Policy Servers", MSC4284): homeservers POST each event of a room whose
/// <c>m.room.policy</c> names the gateway to <c>/_matrix/policy/v1/sign</c>. An event the policy allows gets
/// <c>200 {"&lt;server name&gt;": {"ed25519:policy_server": "&lt;sig&gt;"}}</c> — the ed25519 signature of the canonical
/// JSON of the event redacted by its room version's rules, without signatures and unsigned — and a refused one
/// <c>400 M_FORBIDDEN</c>. The public key is published at <c>/.well-known/matrix/policy_server</c> (not at
/// /_matrix/key/v2/server, as the MSC advises). The event is judged as the antispam callbacks judge it.
/// </summary>
internal static class PolicyServerEndpoints
{
    public const string SignPath = "/_matrix/policy/v1/sign";

    /// <summary>MSC4284's unstable path, which homeservers from before the spec call; a refusal there is <c>200 {}</c>.</summary>
    public const string UnstableSignPath = "/_matrix/policy/unstable/org.matrix.msc4284/sign";
    public const string WellKnownPath = "/.well-known/matrix/policy_server";

    /// <summary>The source name verdicts of /sign carry in logs, metrics and reports.</summary>
    public const string Source = "policy_server";

    /// <summary>The spec's limit on a PDU's size.</summary>
    public const int MaxEventBytes = 65536;

    public static void Map(IEndpointRouteBuilder endpoints, IModuleHost host, ILogger logger, Func<MatrixPolicyList, MatrixPolicyList>? effective = null)
    {
        endpoints.MapPost(SignPath, (Func<HttpContext, Task<IResult>>)(context => SignAsync(context, host, logger, effective)));
        endpoints.MapPost(UnstableSignPath, (Func<HttpContext, Task<IResult>>)(context => SignAsync(context, host, logger, effective, unstable: true)));
        endpoints.MapGet(WellKnownPath, (Func<HttpContext, IResult>)(context => WellKnown(context, host)));
    }

    private static IResult WellKnown(HttpContext context, IModuleHost host)
    {
        if (Settings(host) is not { } settings)
        {
            return NotServed();
        }

        context.Response.Headers.AccessControlAllowOrigin = "*";
        return Results.Json(new { public_key = new PolicyServerKey(settings.Seed).PublicKeyBase64 });
    }

    internal static async Task<IResult> SignAsync(HttpContext context, IModuleHost host, ILogger logger, Func<MatrixPolicyList, MatrixPolicyList>? effective,
        bool unstable = false)
    {
        try
        {
            return await SignOrRefuseAsync(context, host, logger, effective, unstable);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            // An engine or reload fault (a soak run saw one bare 500 here in 30,190 calls): a signature is an
            // endorsement, so nothing is signed; the homeserver gets a Matrix error it can retry instead of a bare 500.
            MatrixLog.PolicyServerFailed(logger, ex.GetType().Name, ExceptionSite.Of(ex));
            return Results.Json(new { errcode = "M_UNKNOWN", error = "The policy server could not check this event. Try again." }, statusCode: 503);
        }
    }

    private static async Task<IResult> SignOrRefuseAsync(HttpContext context, IModuleHost host, ILogger logger, Func<MatrixPolicyList, MatrixPolicyList>? effective,
        bool unstable)
    {
        // Read live on every call, so a reload that adds or changes [matrix.policy_server] applies without a restart.
        var matrix = host.GlobalSettings(MatrixAdapter.ProtocolName) as MatrixSettings ?? MatrixSettings.Default;
        if (matrix.PolicyServer is not { } settings)
        {
            return NotServed();
        }

        var body = await ReadBodyAsync(context);
        if (body is null)
        {
            MatrixLog.PolicyServerDecision(logger, "too_large");
            return Error("M_TOO_LARGE", $"The event is larger than the {MaxEventBytes} bytes a Matrix event may have.");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            MatrixLog.PolicyServerDecision(logger, "not_json");
            return Error("M_NOT_JSON", "The request body is not JSON.");
        }

        using (doc)
        {
            var ev = doc.RootElement;
            if (Shape(ev) is { } shapeError)
            {
                MatrixLog.PolicyServerDecision(logger, "bad_json");
                return Error("M_BAD_JSON", shapeError);
            }

            try
            {
                MatrixCanonicalJson.Validate(ev);
            }
            catch (FormatException e)
            {
                MatrixLog.PolicyServerDecision(logger, "bad_json");
                return Error("M_BAD_JSON", "The event has no canonical JSON form: " + e.Message + ".");
            }

            var policy = effective is null ? matrix.PolicyList : effective(matrix.PolicyList);
            IReadOnlyList<MessageField> fields;
            try
            {
                fields = AntispamEndpoints.EventFields(ev);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
            {
                // Content the filters cannot read is not vouched for: a policy server's signature is an endorsement.
                // Only the reading is caught here: a fault while judging is the server's, answered 503 by SignAsync.
                MatrixLog.PolicyServerUnreadable(logger, ex.GetType().Name, ExceptionSite.Of(ex));
                return Error("M_BAD_JSON", "The event's content could not be read.");
            }

            var refusal = AntispamEndpoints.EventRefusal(ev, fields, policy, refuseCensored: true, host, Source);

            if (refusal is not null)
            {
                MatrixLog.PolicyServerDecision(logger, "refuse");
                return unstable ? Results.Json(new JsonObject()) : Error("M_FORBIDDEN", refusal);
            }

            var redacted = MatrixRedaction.Redact(ev, RoomVersion(ev, settings));
            var existing = redacted["signatures"]?[settings.ServerName] as JsonObject;
            redacted.Remove("signatures");
            redacted.Remove("unsigned");
            var signature = new PolicyServerKey(settings.Seed).Sign(MatrixCanonicalJson.Encode(JsonSerializer.SerializeToElement(redacted)));
            // Every signature of this server name the event already had, plus ours: Synapse merges the answer shallowly
            // (element-hq/synapse#19796), so answering only ours would drop the others under the same name.
            var mine = existing?.DeepClone().AsObject() ?? new JsonObject();
            mine[PolicyServerKey.KeyId] = signature;
            MatrixLog.PolicyServerDecision(logger, "sign");
            return Results.Json(new JsonObject { [settings.ServerName] = mine });
        }
    }

    /// <summary>A PDU's minimum: an object with string type, room_id and sender, and an object content.</summary>
    private static string? Shape(JsonElement ev)
    {
        if (ev.ValueKind != JsonValueKind.Object)
        {
            return "The event must be a JSON object.";
        }

        foreach (var key in new[] { "type", "room_id", "sender" })
        {
            if (!ev.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.String)
            {
                return $"The event has no string \"{key}\".";
            }
        }

        if (!ev.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Object)
        {
            return "The event has no object \"content\".";
        }

        if (ev.TryGetProperty("signatures", out var sigs) && sigs.ValueKind != JsonValueKind.Object)
        {
            return "The event's \"signatures\" must be an object.";
        }

        return null;
    }

    /// <summary>
    /// A create event names its room's version (absent = "1"); for the others the PDU does not say, so the configured
    /// room_version applies.
    /// </summary>
    private static string RoomVersion(JsonElement ev, PolicyServerSettings settings)
    {
        if (ev.GetProperty("type").GetString() == "m.room.create" && ev.TryGetProperty("state_key", out var sk) && sk.ValueKind == JsonValueKind.String && sk.GetString() == "")
        {
            var content = ev.GetProperty("content");
            var named = content.TryGetProperty("room_version", out var rv) && rv.ValueKind == JsonValueKind.String ? rv.GetString()! : "1";
            return MatrixRedaction.IsKnown(named) ? named : settings.RoomVersion;
        }

        return settings.RoomVersion;
    }

    /// <summary>The body up to <see cref="MaxEventBytes"/>, or null when it is longer.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxEventBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int n;
        while ((n = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + n > MaxEventBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, n);
        }

        return buffer.ToArray();
    }

    private static PolicyServerSettings? Settings(IModuleHost host) =>
        (host.GlobalSettings(MatrixAdapter.ProtocolName) as MatrixSettings)?.PolicyServer;

    private static IResult NotServed() =>
        Results.Json(new { errcode = "M_UNRECOGNIZED", error = "This server is not a policy server." }, statusCode: 404);

    private static IResult Error(string errcode, string error) =>
        Results.Json(new { errcode, error }, statusCode: 400);
}
