using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// The Matrix client-server adapter: message sends (m.room.message with body and formatted_body, edits through
/// m.new_content), room name/topic, member display names and profile display names. Unsigned JSON behind a bearer
/// token, so rewriting is clean. Encrypted events are counted, never pretended to be inspected.
/// </summary>
public sealed partial class MatrixAdapter : IProtocolAdapter
{
    public const string ProtocolName = "matrix";
    public const string DefaultRejectMessage = "This message was blocked by the server's content filter.";

    private readonly MatrixOptions _options;
    private readonly IMatrixDirectory _directory;
    private readonly Func<MatrixPolicyList> _policy;
    private readonly OpaqueTraffic _opaque;
    private readonly MatrixCodec _codec;
    private readonly Regex? _publicRooms;
    private readonly MatrixDrops _drops;
    private readonly MatrixAppservices _appservices;

    public MatrixAdapter(MatrixOptions options, IMatrixDirectory directory, MatrixPolicyList policy, OpaqueTraffic opaque)
        : this(options, directory, policy, opaque, new MatrixDrops(TimeProvider.System))
    {
    }

    internal MatrixAdapter(MatrixOptions options, IMatrixDirectory directory, MatrixPolicyList policy, OpaqueTraffic opaque, MatrixDrops drops,
        MatrixAppservices? appservices = null)
        : this(options, directory, () => policy, opaque, drops, appservices)
    {
    }

    /// <param name="policy">the policy lists now (files, and policy rooms as they change)</param>
    internal MatrixAdapter(MatrixOptions options, IMatrixDirectory directory, Func<MatrixPolicyList> policy, OpaqueTraffic opaque, MatrixDrops drops,
        MatrixAppservices? appservices)
    {
        _appservices = appservices ?? MatrixAppservices.None;
        _drops = drops;
        _options = options;
        _directory = directory;
        _policy = policy;
        _opaque = opaque;
        _codec = new MatrixCodec(options.MaxJsonDepth);
        _publicRooms = NameGlob.CompileAny(options.PublicRooms);
    }

    public string Protocol => ProtocolName;

    public bool ShouldInspect(HttpRequest request) =>
        MatrixPath.Parse(request.Method, request.Path.Value ?? string.Empty).Kind is not (MatrixRequestKind.Other or MatrixRequestKind.Federation);

    public async ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var path = MatrixPath.Parse(request.Method, request.Path.Value ?? string.Empty);
        var token = AccessToken(request);
        if (token is null)
        {
            return AdapterParse.NoMessages; // the homeserver answers M_MISSING_TOKEN itself
        }

        if (path.Kind is MatrixRequestKind.Marker or MatrixRequestKind.EventRead)
        {
            return FollowUp(path, token, body.Span);
        }

        if (path.Kind == MatrixRequestKind.State && path.EventType == "m.room.power_levels" && path.RoomId is not null)
        {
            _directory.InvalidateRoom(path.RoomId); // moderators may change: look again next time
            return AdapterParse.NoMessages;
        }

        if (path.Kind == MatrixRequestKind.State && !InspectedStateTypes.Contains(path.EventType!))
        {
            return AdapterParse.NoMessages; // m.room.pinned_events and the rest carry no text of their own
        }

        if (path.Kind == MatrixRequestKind.Send && path.EventType is not ("m.room.message" or "m.room.encrypted" or "m.sticker"))
        {
            return AdapterParse.NoMessages;
        }

        var sender = await SenderAsync(request, token, cancellationToken);
        if (sender is null)
        {
            return AdapterParse.NoMessages; // unknown or revoked token (M_UNKNOWN_TOKEN), or an exempt application service
        }

        if (_policy().IsUserBanned(sender) && path.Kind is not (MatrixRequestKind.ReportEvent or MatrixRequestKind.ReportRoom or MatrixRequestKind.ReportUser))
        {
            return Refuse("You are banned by this server's policy list.");
        }

        if (path.Kind == MatrixRequestKind.Send && path.EventType == "m.room.encrypted")
        {
            var isPublic = _publicRooms is not null && _publicRooms.IsMatch(path.RoomId!);
            _opaque.Count(ProtocolName, OpaqueKind.Encrypted, isPublic ? "public" : "private");
            return isPublic && _options.RejectEncryptedInPublicRooms
                ? Refuse("Encrypted messages are not allowed in this public room.")
                : AdapterParse.NoMessages;
        }

        if (path.Kind == MatrixRequestKind.Join)
        {
            var join = new ChatMessage { Protocol = ProtocolName, Sender = sender, Room = path.RoomId, Kind = MessageKind.Join, Fields = Array.Empty<MessageField>() };
            var reason = body.IsEmpty ? null : _codec.Read(MatrixContentKind.Reason, body.Span);
            if (reason is null || reason.Error != JsonScanError.None || reason.Fields.Count == 0)
            {
                return new AdapterParse { Messages = new[] { join }, State = new JoinState(null) };
            }

            // The join's reason shows in the room's timeline: a second message, checked as a body.
            var said = new ChatMessage { Protocol = ProtocolName, Sender = sender, Room = path.RoomId, Fields = reason.Fields };
            return new AdapterParse { Messages = new[] { join, said }, State = new JoinState(new ParseState(path, reason)) };
        }

        var extracted = path.Kind switch
        {
            MatrixRequestKind.AliasCreate => MatrixContent.FromPath(path.Alias),
            MatrixRequestKind.DirectoryPublish => await PublishedTextsAsync(token, path.RoomId!, body.Span.ToArray(), cancellationToken),
            _ => _codec.Read(MatrixCodec.KindOfRequest(path), body.Span),
        };
        if (extracted.Error != JsonScanError.None)
        {
            var (code, text, errorBody) = MatrixCodec.ErrorBody(extracted);
            return AdapterParse.Failed(code, text, errorBody);
        }

        if (path.Kind is MatrixRequestKind.ReportEvent or MatrixRequestKind.ReportRoom or MatrixRequestKind.ReportUser)
        {
            // The reason goes to the server's admins and, through moderation bots, into rooms: checked as a body.
            var facts = path.RoomId is null ? default : await _directory.RoomFactsAsync(token, sender, path.RoomId, cancellationToken);
            var report = new UserReport(ProtocolName, sender, path.UserId, path.RoomId, facts.IsDirect, extracted.Reason, facts.OtherMembers);
            return extracted.Fields.Count == 0
                ? new AdapterParse { Messages = Array.Empty<ChatMessage>(), UserReport = report }
                : new AdapterParse
                {
                    Messages = new[] { new ChatMessage { Protocol = ProtocolName, Sender = sender, Room = path.RoomId, IsDirect = facts.IsDirect, Fields = extracted.Fields } },
                    UserReport = report,
                    State = new ParseState(path, extracted),
                };
        }

        var fields = extracted.Fields;
        if (fields.Count == 0)
        {
            return AdapterParse.NoMessages;
        }

        var roomFacts = path.RoomId is null ? default : await _directory.RoomFactsAsync(token, sender, path.RoomId, cancellationToken);
        if (path.Kind == MatrixRequestKind.DirectoryPublish)
        {
            roomFacts = roomFacts with { IsDirect = false }; // a published room is public whatever its size
        }
        var (mentions, hasMedia) = path.Kind == MatrixRequestKind.Send ? MatrixShape.Read(body.Span) : (null, false);
        var message = new ChatMessage
        {
            Protocol = ProtocolName,
            Sender = sender,
            Room = path.RoomId,
            IsDirect = roomFacts.IsDirect,
            Recipients = roomFacts.OtherMembers,
            SenderIsModerator = roomFacts.SenderIsModerator,
            Fields = fields,
            Mentions = mentions,
            HasMedia = hasMedia,
        };
        return new AdapterParse { Messages = new[] { message }, State = new ParseState(path, extracted) };
    }

    public AdapterOutcome Apply(HttpContext context, AdapterParse parsed, ReadOnlySpan<Verdict> verdicts, ReadOnlyMemory<byte> body)
    {
        if (parsed.State is Answer answer)
        {
            return AdapterOutcome.Respond(answer.Status, answer.Body);
        }

        if (parsed.State is Refusal refusal)
        {
            return Forbidden(refusal.Message);
        }

        if (parsed.State is JoinState joinState)
        {
            if (verdicts.Length > 0 && verdicts[0].Action is VerdictAction.Drop or VerdictAction.Reject)
            {
                // A join cannot be "dropped" (the client would believe it joined): any refusal is M_FORBIDDEN with the notice.
                return Forbidden(verdicts[0].Notice ?? "Too many people are joining this room right now. Try again in a few minutes.");
            }

            return joinState.Reason is { } reasonState && verdicts.Length > 1
                ? OwnMembership(verdicts[1], reasonState, body.Span)
                : AdapterOutcome.ForwardUnchanged;
        }

        if (verdicts.Length == 0 || parsed.State is not ParseState state)
        {
            return AdapterOutcome.ForwardUnchanged;
        }

        var verdict = verdicts[0];
        if (state.Path.IsOwnMembership)
        {
            return OwnMembership(verdict, state, body.Span);
        }

        switch (verdict.Action)
        {
            case VerdictAction.Reject:
                return Forbidden(verdict.Notice ?? DefaultRejectMessage);
            case VerdictAction.Drop:
                // A well-formed success: the sender's client shows the message as sent; nobody else ever sees it.
                // Sends and state events answer an event id; the other endpoints answer {} on success.
                return AdapterOutcome.Respond(200, state.Path.Kind is MatrixRequestKind.Send or MatrixRequestKind.State
                    ? Encoding.UTF8.GetBytes($"{{\"event_id\":\"{DroppedEventId(context, state.Path)}\"}}")
                    : "{}"u8.ToArray());
            case VerdictAction.Censor when state.Content.CannotRewrite:
                // Aliases must exist as written, and a directory listing shows texts this request does not carry.
                return Forbidden(verdict.Notice ?? CannotRewriteMessage(state.Path));
            case VerdictAction.Censor:
                return AdapterOutcome.Rewritten(MatrixCodec.Rewrite(state.Content, verdict, body.Span));
            default:
                return AdapterOutcome.ForwardUnchanged;
        }
    }

    /// <summary>
    /// The reason of a client's own join, knock or leave: rejected with the notice, censored in place, and when dropped
    /// removed (an empty reason) while the membership change itself goes ahead, since a silent "you joined" or "you
    /// left" that never happened would strand the user.
    /// </summary>
    private static AdapterOutcome OwnMembership(Verdict verdict, ParseState state, ReadOnlySpan<byte> body) => verdict.Action switch
    {
        VerdictAction.Reject => Forbidden(verdict.Notice ?? DefaultRejectMessage),
        VerdictAction.Censor => AdapterOutcome.Rewritten(MatrixCodec.Rewrite(state.Content, verdict, body)),
        VerdictAction.Drop when state.Content.ReasonLocation is { } at => AdapterOutcome.Rewritten(JsonRewriter.Replace(body, [(at, string.Empty)])),
        _ => AdapterOutcome.ForwardUnchanged,
    };

    /// <summary>
    /// Who a request speaks for. An application service's request names the user it acts as in <c>?user_id=</c>
    /// (masquerading): whoami is asked with the same parameter, so the homeserver decides whether the token may act as
    /// that user, and the message is that user's, not the bridge bot's. A configured appservice may instead count as
    /// one sender (<c>as_one</c>) or be exempt as a whole (null: nothing to inspect).
    /// </summary>
    private async ValueTask<string?> SenderAsync(HttpRequest request, string token, CancellationToken cancellationToken)
    {
        var q = request.Query["user_id"];
        var masquerade = q.Count > 0 && !string.IsNullOrEmpty(q[0]) ? q[0] : null;
        var sender = await _directory.WhoAmIAsync(token, masquerade, cancellationToken);
        if (sender is null || _appservices.ForToken(token) is not { } service || !service.Covers(sender))
        {
            return sender;
        }

        return service.Treatment switch
        {
            AppserviceTreatment.Exempt => null,
            AppserviceTreatment.AsOne when masquerade is not null => await _directory.WhoAmIAsync(token, null, cancellationToken) ?? sender,
            _ => sender,
        };
    }

    /// <summary>The access token: `Authorization: Bearer` or the legacy `?access_token=` some clients still send.</summary>
    public static string? AccessToken(HttpRequest request)
    {
        var auth = request.Headers.Authorization;
        if (auth.Count > 0 && auth[0] is { } a && a.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return a[7..].Trim();
        }

        var q = request.Query["access_token"];
        return q.Count > 0 && !string.IsNullOrEmpty(q[0]) ? q[0] : null;
    }

    public static AdapterOutcome Forbidden(string message)
    {
        var node = new JsonObject { ["errcode"] = "M_FORBIDDEN", ["error"] = message };
        return AdapterOutcome.Respond(403, Encoding.UTF8.GetBytes(node.ToJsonString()));
    }

    private static AdapterParse Refuse(string message) =>
        new() { Messages = Array.Empty<ChatMessage>(), State = new Refusal(message) };

    private sealed record Answer(int Status, byte[] Body);

    private sealed record Refusal(string Message);

    /// <summary>A join; <paramref name="Reason"/> when it carries a reason (the second message).</summary>
    private sealed record JoinState(ParseState? Reason);

    private sealed record ParseState(MatrixPath Path, MatrixContent Content);
}
