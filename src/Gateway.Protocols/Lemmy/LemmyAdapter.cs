using System.Text;
using System.Text.Json.Nodes;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Protocols.Lemmy;

/// <summary>
/// The Lemmy client API adapter (0.19's <c>/api/v3</c> and 1.0's <c>/api/v4</c>): creates and edits of posts,
/// comments, private messages and communities, and profile settings. Unsigned JSON behind a JWT, so censoring
/// rewrites the string fields in place. The sender comes from the JWT (asked of the site as that user), the room is
/// the community's name, and the community's moderators and the site's admins are moderators to the filters.
/// </summary>
public sealed class LemmyAdapter : IProtocolAdapter
{
    public const string ProtocolName = "lemmy";
    public const string DefaultRejectMessage = "This was blocked by the server's content filter.";

    private readonly ILemmyDirectory _directory;
    private readonly LemmyBackendSettings _settings;
    private readonly TimeProvider _time;
    private readonly LemmyCodec _codec;
    private readonly LemmyInbox _inbox;

    public LemmyAdapter(ILemmyDirectory directory, LemmyBackendSettings settings, TimeProvider time, int maxJsonDepth)
    {
        _directory = directory;
        _settings = settings;
        _time = time;
        _codec = new LemmyCodec(maxJsonDepth);
        _inbox = new LemmyInbox(settings.InstanceHost, maxJsonDepth);
    }

    public string Protocol => ProtocolName;

    public bool ShouldInspect(HttpRequest request) =>
        LemmyPath.Parse(request.Method, request.Path.Value ?? string.Empty).Kind != LemmyRequestKind.Other
        || LemmyInboxGate.IsInbox(request.Method, request.Path.Value ?? string.Empty);

    public async ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (LemmyInboxGate.IsInbox(context.Request.Method, context.Request.Path.Value ?? string.Empty))
        {
            return _inbox.Parse(context.Request.Path.Value!, context.Request.Host.Value, body.Span);
        }

        var path = LemmyPath.Parse(context.Request.Method, context.Request.Path.Value ?? string.Empty);
        var jwt = Jwt(context.Request);
        if (path.Kind == LemmyRequestKind.Other || jwt is null)
        {
            return AdapterParse.NoMessages; // Lemmy answers not_logged_in itself
        }

        var content = _codec.Read(path.Kind, body.Span);
        if (content.Error != JsonScanError.None)
        {
            var (code, text, errorBody) = LemmyCodec.ErrorBody(content);
            return AdapterParse.Failed(code, text, errorBody);
        }

        if (path.IsReport)
        {
            return await ReportAsync(path, content, jwt, cancellationToken);
        }

        if (path.Kind == LemmyRequestKind.CommunityMod)
        {
            if (content.CommunityId is { } changed)
            {
                _directory.InvalidateCommunity(changed); // moderators may change: ask again next time
            }

            return AdapterParse.NoMessages;
        }

        if (content.Fields.Count == 0)
        {
            return AdapterParse.NoMessages;
        }

        // An unresolved sender (a look-up that failed) is filtered as nobody in particular, never waved through.
        var user = await _directory.UserAsync(jwt, path.Version, cancellationToken);
        var communityId = await CommunityIdAsync(path, content, jwt, cancellationToken);
        var community = communityId is { } cid ? await _directory.CommunityAsync(jwt, path.Version, cid, cancellationToken) : null;
        var communityName = community?.Name ?? (path.Kind == LemmyRequestKind.Community && !path.IsEdit ? content.CommunityName : null);
        string? recipient = null;
        if (path.Kind == LemmyRequestKind.PrivateMessage && content.RecipientId is { } rid)
        {
            recipient = await _directory.PersonNameAsync(jwt, path.Version, rid, cancellationToken);
        }

        var moderator = user is not null && ((_settings.AdminsExempt && user.IsAdmin)
            || (community is not null && community.Moderators.Contains(user.PersonId)));
        var message = new ChatMessage
        {
            Protocol = ProtocolName,
            Sender = user?.Name,
            Room = path.Kind == LemmyRequestKind.PrivateMessage ? null : communityName,
            IsDirect = path.Kind == LemmyRequestKind.PrivateMessage,
            Recipient = recipient,
            SenderIsModerator = moderator,
            Fields = path.Kind == LemmyRequestKind.Post ? WithLink(content.Fields) : content.Fields,
        };
        var who = new LemmySubmission(user?.PersonId ?? 0, user?.Name ?? "", communityId, communityName, recipient);
        return new AdapterParse { Messages = new[] { message }, State = new ParseState(path, content, who) };
    }

    /// <summary>
    /// A user's report, forwarded as sent and handed to the host as a <see cref="UserReport"/>: about the private
    /// message's other side (Lemmy lets only the recipient report one, so the conversation is theirs and the
    /// sender's), or the post's or comment's creator in its community. With <c>slur_semantics</c> the reason is
    /// checked too, as Lemmy's <c>check_report_reason</c> does, as a message of no room and no conversation (so it
    /// never enters a conversation's context).
    /// </summary>
    private async ValueTask<AdapterParse> ReportAsync(LemmyPath path, LemmyContent content, string jwt, CancellationToken ct)
    {
        var user = await _directory.UserAsync(jwt, path.Version, ct);
        if (user is null)
        {
            return AdapterParse.NoMessages; // Lemmy answers not_logged_in itself
        }

        string? about = null;
        string? room = null;
        var direct = false;
        long? communityId = null;
        switch (path.Kind)
        {
            case LemmyRequestKind.PrivateMessageReport:
                direct = true;
                if (content.PrivateMessageId is { } pmId && await _directory.PrivateMessageAsync(jwt, path.Version, pmId, ct) is { } pm)
                {
                    about = string.Equals(pm.RecipientName, user.Name, StringComparison.Ordinal) ? pm.CreatorName : pm.RecipientName;
                }

                break;
            case LemmyRequestKind.PostReport when content.PostId is { } postId:
            case LemmyRequestKind.CommentReport when content.CommentId is { } commentId:
                var what = path.Kind == LemmyRequestKind.PostReport ? "post" : "comment";
                if (await _directory.ItemAsync(jwt, path.Version, what, content.PostId ?? content.CommentId ?? 0, ct) is { } item)
                {
                    about = item.CreatorName;
                    communityId = item.CommunityId;
                }

                break;
            case LemmyRequestKind.CommunityReport:
                communityId = content.CommunityId;
                break;
        }

        if (communityId is { } cid)
        {
            room = (await _directory.CommunityAsync(jwt, path.Version, cid, ct))?.Name;
        }

        var reason = content.Text(FieldKind.Body);
        var report = new UserReport(ProtocolName, user.Name, about, room, direct, reason);
        if (!_settings.SlurSemantics || content.Fields.Count == 0)
        {
            return new AdapterParse { Messages = Array.Empty<ChatMessage>(), UserReport = report };
        }

        var message = new ChatMessage { Protocol = ProtocolName, Sender = user.Name, Fields = content.Fields };
        return new AdapterParse { Messages = new[] { message }, UserReport = report, State = new ParseState(path, content, new LemmySubmission(user.PersonId, user.Name, null, null, null)) };
    }

    public AdapterOutcome Apply(HttpContext context, AdapterParse parsed, ReadOnlySpan<Verdict> verdicts, ReadOnlyMemory<byte> body)
    {
        if (parsed.State is LemmyInbox.InboxState)
        {
            return LemmyInbox.Apply(verdicts);
        }

        if (verdicts.Length == 0 || parsed.State is not ParseState state)
        {
            return AdapterOutcome.ForwardUnchanged;
        }

        var verdict = verdicts[0];
        if (state.Path.IsReport)
        {
            // Lemmy refuses a report reason its slur filter matches with {"error":"slurs"}, whatever the filter's action.
            return verdict.Action == VerdictAction.Forward ? AdapterOutcome.ForwardUnchanged : LemmySlurs.Refused;
        }

        return verdict.Action switch
        {
            VerdictAction.Reject => Rejected(verdict.Notice ?? DefaultRejectMessage),
            // A well-formed success: the poster's client shows the item as posted; nothing reaches Lemmy.
            VerdictAction.Drop => AdapterOutcome.Respond(200, LemmyDrops.Body(state.Path, state.Content, state.Who, _time.GetUtcNow())),
            VerdictAction.Censor when _settings.SlurSemantics => LemmySlurs.Apply(state.Content, verdict, body.Span),
            VerdictAction.Censor => AdapterOutcome.Rewritten(LemmyCodec.Rewrite(state.Content, verdict, body.Span)),
            _ => AdapterOutcome.ForwardUnchanged,
        };
    }

    /// <summary>
    /// A refusal as Lemmy words its own: status 400 and <c>{"error":…}</c>. lemmy-js-client throws
    /// <c>new Error(json.error)</c> and lemmy-ui shows that string (translated when it is one of its keys, as is
    /// otherwise), so the notice goes in <c>error</c>; <c>message</c> repeats it for clients that read 1.0's field.
    /// </summary>
    public static AdapterOutcome Rejected(string notice)
    {
        var node = new JsonObject { ["error"] = notice, ["message"] = notice };
        return AdapterOutcome.Respond(400, Encoding.UTF8.GetBytes(node.ToJsonString()));
    }

    /// <summary>The JWT: <c>Authorization: Bearer</c> first, then the <c>jwt</c> cookie, as Lemmy reads them.</summary>
    public static string? Jwt(HttpRequest request)
    {
        var auth = request.Headers.Authorization;
        if (auth.Count > 0 && auth[0] is { } a && a.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && a.Length > 7)
        {
            return a[7..].Trim();
        }

        return request.Cookies.TryGetValue("jwt", out var cookie) && !string.IsNullOrEmpty(cookie) ? cookie : null;
    }

    /// <summary>
    /// A post's fields with an empty link field when it has no URL: every post carries one, so rules written for posts
    /// (lemmy-automoderator's) can tell a post from a comment, which carries only a body. Empty text never matches.
    /// Appended last, so the fields before it keep the codec's order.
    /// </summary>
    internal static IReadOnlyList<MessageField> WithLink(List<MessageField> fields)
    {
        foreach (var f in fields)
        {
            if (f.Kind == FieldKind.Link)
            {
                return fields;
            }
        }

        return new List<MessageField>(fields) { new(FieldKind.Link, string.Empty) };
    }

    private async ValueTask<long?> CommunityIdAsync(LemmyPath path, LemmyContent content, string jwt, CancellationToken ct) => path.Kind switch
    {
        LemmyRequestKind.Post when !path.IsEdit => content.CommunityId,
        LemmyRequestKind.Post when content.PostId is { } pid => await _directory.CommunityOfAsync(jwt, path.Version, "post", pid, ct),
        LemmyRequestKind.Comment when !path.IsEdit && content.PostId is { } pid => await _directory.CommunityOfAsync(jwt, path.Version, "post", pid, ct),
        LemmyRequestKind.Comment when content.CommentId is { } cid => await _directory.CommunityOfAsync(jwt, path.Version, "comment", cid, ct),
        LemmyRequestKind.Community when path.IsEdit => content.CommunityId,
        _ => null,
    };

    private sealed record ParseState(LemmyPath Path, LemmyContent Content, LemmySubmission Who);
}
