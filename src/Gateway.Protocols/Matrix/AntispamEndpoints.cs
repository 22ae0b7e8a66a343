using System.Runtime.InteropServices;
using System.Text.Json;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// The synapse-http-antispam callback protocol (maunium/synapse-http-antispam): Synapse POSTs each spam-checker
/// callback as JSON to &lt;base_url&gt;/&lt;callback&gt; with `Authorization: Bearer &lt;authorization&gt;`. Any 2xx means
/// "not spam"; any other status refuses, and its JSON body (errcode defaulting to M_FORBIDDEN) goes to the client.
/// This is how content the proxy cannot rewrite — federated events, whose bodies are signed — gets the same policy,
/// read with the same field extraction as the client-server adapter (<see cref="MatrixCodec"/>).
/// Set the module's base_url to http://&lt;gateway&gt;/_gateway/antispam.
/// </summary>
internal static class AntispamEndpoints
{
    public const string BasePath = "/_gateway/antispam";

    /// <summary>The source name verdicts from these callbacks carry in logs, metrics and reports.</summary>
    public const string Source = "antispam";

    private static readonly MatrixCodec Codec = new(maxJsonDepth: 64);

    public static void Map(IEndpointRouteBuilder endpoints, IModuleHost host, ILogger logger, Func<MatrixPolicyList, MatrixPolicyList>? effective = null)
    {
        endpoints.MapPost(BasePath + "/{callback}", (string callback, HttpContext context) => HandleAsync(callback, context, host, logger, effective));
    }

    internal static async Task<IResult> HandleAsync(string callback, HttpContext context, IModuleHost host, ILogger logger,
        Func<MatrixPolicyList, MatrixPolicyList>? effective = null)
    {
        // Read live on every call, so a reload that adds [matrix.antispam] takes effect without a restart.
        var matrix = host.GlobalSettings(MatrixAdapter.ProtocolName) as MatrixSettings ?? MatrixSettings.Default;
        var settings = matrix.Antispam;
        if (!settings.Enabled || settings.Token is null)
        {
            return Results.NotFound();
        }

        if (!BearerToken.Matches(context.Request.Headers.Authorization.ToString(), settings.Token))
        {
            return Results.Json(new { errcode = "M_UNKNOWN_TOKEN", error = "Invalid antispam token." }, statusCode: 401);
        }

        if (callback == "ping")
        {
            // The module's do_ping: it expects its id back with status "ok", and retries every 5 s until it gets it.
            return await PingAsync(context);
        }

        var failOpen = settings.FailOpen.Contains(callback);
        try
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 64 }, context.RequestAborted);
            var root = doc.RootElement;
            var policy = effective is null ? matrix.PolicyList : effective(matrix.PolicyList);
            string? refusal = callback switch
            {
                "user_may_join_room" => JoinRefusal(root, policy),
                "user_may_invite" => InviteRefusal(root, policy),
                "check_event_for_spam" or "should_drop_federated_event" => EventRefusal(root.GetProperty("event"), policy, settings.RefuseCensored, host),
                _ => null, // callbacks the gateway has no opinion on are allowed
            };
            MatrixLog.AntispamDecision(logger, callback, refusal is null ? "allow" : "refuse");
            return refusal is null
                ? Results.Json(new { }, statusCode: 200)
                : Results.Json(new { errcode = "M_FORBIDDEN", error = refusal }, statusCode: 403);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            // Bad input or an engine fault, whatever its type (never a bare 500): the per-callback choice decides
            // (fail open = allow).
            MatrixLog.AntispamFailed(logger, callback, ex.GetType().Name, ExceptionSite.Of(ex), failOpen ? "allow" : "refuse");
            return failOpen
                ? Results.Json(new { }, statusCode: 200)
                : Results.Json(new { errcode = "M_UNKNOWN", error = "The content filter could not check this request." }, statusCode: 500);
        }
    }

    private static async Task<IResult> PingAsync(HttpContext context)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 8 }, context.RequestAborted);
            return Results.Json(new { id = Str(doc.RootElement, "id"), status = "ok" });
        }
        catch (JsonException)
        {
            return Results.Json(new { errcode = "M_NOT_JSON", error = "The ping body is not JSON." }, statusCode: 400);
        }
    }

    /// <summary>
    /// synapse-http-antispam 0.2.0 and later send {"user", "room", "is_invited"} (0.1.0 sent user_id/room_id): read
    /// both, or a banned user's join is never refused.
    /// </summary>
    private static string? JoinRefusal(JsonElement root, MatrixPolicyList policy)
    {
        var user = Str(root, "user") ?? Str(root, "user_id");
        var room = Str(root, "room") ?? Str(root, "room_id");
        return policy.IsUserBanned(user) ? "You are banned by this server's policy list."
            : policy.IsRoomBanned(room) ? "This room is banned by this server's policy list."
            : null;
    }

    /// <summary>
    /// The module names its fields user_id, room_id, inviter_user_id but Synapse calls the callback positionally as
    /// (inviter, invitee, room_id), so the values arrive shifted. Classify by sigil instead of trusting the names.
    /// </summary>
    private static string? InviteRefusal(JsonElement root, MatrixPolicyList policy)
    {
        foreach (var name in new[] { "user_id", "room_id", "inviter_user_id", "inviter", "invitee" })
        {
            var v = Str(root, name);
            if (v is null)
            {
                continue;
            }

            if (v.StartsWith('@') && policy.IsUserBanned(v))
            {
                return "This user is banned by this server's policy list.";
            }

            if (v.StartsWith('!') && policy.IsRoomBanned(v))
            {
                return "This room is banned by this server's policy list.";
            }
        }

        return null;
    }

    /// <summary>
    /// Why an event (client format or PDU: type, content, sender, room_id, ...) is refused, or null when it is allowed.
    /// Also the policy server's judgement (<see cref="PolicyServerEndpoints"/>).
    /// </summary>
    internal static string? EventRefusal(JsonElement ev, MatrixPolicyList policy, bool refuseCensored, IModuleHost host, string source = Source) =>
        EventRefusal(ev, EventFields(ev), policy, refuseCensored, host, source);

    /// <summary>As above, with the event's text fields already read (<see cref="EventFields"/>).</summary>
    internal static string? EventRefusal(JsonElement ev, IReadOnlyList<MessageField> fields, MatrixPolicyList policy, bool refuseCensored, IModuleHost host,
        string source = Source)
    {
        var sender = Str(ev, "sender");
        var roomId = Str(ev, "room_id");
        if (policy.IsUserBanned(sender))
        {
            return "You are banned by this server's policy list.";
        }

        if (fields.Count == 0)
        {
            return null;
        }

        var message = new ChatMessage { Protocol = MatrixAdapter.ProtocolName, Sender = sender, Room = roomId, Fields = fields };
        var verdict = host.Evaluate(message, source);
        return verdict.Action switch
        {
            VerdictAction.Drop or VerdictAction.Reject => verdict.Notice ?? MatrixAdapter.DefaultRejectMessage,
            VerdictAction.Censor when refuseCensored => verdict.Notice ?? MatrixAdapter.DefaultRejectMessage,
            _ => null,
        };
    }

    /// <summary>
    /// The text fields of an event, read from its content's own bytes by the client-server adapter's extraction, so a
    /// federated event is judged on exactly what the same content sent by a local client would be.
    /// </summary>
    internal static IReadOnlyList<MessageField> EventFields(JsonElement ev)
    {
        var kind = MatrixCodec.KindOfEvent(Str(ev, "type"));
        if (kind == MatrixContentKind.None || !ev.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Object)
        {
            return Array.Empty<MessageField>();
        }

        return Codec.Read(kind, JsonMarshal.GetRawUtf8Value(content)).Fields;
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
