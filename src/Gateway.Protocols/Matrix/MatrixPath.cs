namespace Gateway.Protocols.Matrix;

/// <summary>What a Matrix request path is, for the parts of the API the gateway looks at.</summary>
public enum MatrixRequestKind
{
    Other = 0,
    Send,
    State,
    ProfileDisplayName,
    ReportEvent,
    ReportRoom,
    ReportUser,
    Federation,

    /// <summary>A content-free follow-up naming an event: <c>POST /rooms/{r}/receipt/{type}/{eventId}</c>, <c>POST /rooms/{r}/read_markers</c>.</summary>
    Marker,

    /// <summary>A read of an event's content: <c>GET /rooms/{r}/event/{id}</c>, <c>/context/{id}</c>, <c>/relations/{id}…</c>.</summary>
    EventRead,

    /// <summary>A join: <c>POST /rooms/{roomId}/join</c> or <c>POST /join/{roomIdOrAlias}</c> (protections count waves).</summary>
    Join,

    /// <summary><c>PUT /directory/room/{roomAlias}</c>: a new alias; its text is the alias itself (in the path).</summary>
    AliasCreate,

    /// <summary><c>PUT /directory/list/room/{roomId}</c>: publishing a room to (or hiding it from) the room directory.</summary>
    DirectoryPublish,

    /// <summary>
    /// <c>POST /rooms/{r}/invite|kick|ban|unban|leave</c> or <c>POST /knock/{roomIdOrAlias}</c>: a membership change with
    /// an optional <c>reason</c> (the verb in <see cref="MatrixPath.EventType"/>).
    /// </summary>
    MembershipChange,
}

/// <summary>
/// A parsed Matrix path. Client-server paths under /_matrix/client/{r0|v3}/ (both prefixes: old clients use r0);
/// federation paths under /_matrix/federation/{v1|v2}/. Path segments are percent-decoded (room ids contain '!' and ':').
/// </summary>
public readonly record struct MatrixPath(
    MatrixRequestKind Kind,
    string? RoomId = null,
    string? EventType = null,
    string? StateKey = null,
    string? UserId = null,
    string? EventId = null,
    string? FederationEndpoint = null,
    string? TxnId = null,
    string? Alias = null)
{
    private static readonly HashSet<string> FederationEndpoints = new(StringComparer.Ordinal)
    {
        "make_join", "send_join", "make_leave", "send_leave", "invite", "make_knock", "send_knock", "state", "state_ids",
        "backfill", "event_auth", "get_missing_events", "send",
    };

    /// <summary>Federation endpoints whose user id (path segment after the room id) asks to change membership.</summary>
    public bool IsMembershipRequest => FederationEndpoint is "make_join" or "send_join" or "invite" or "make_knock" or "send_knock";

    /// <summary>
    /// A client's own join, knock or leave: its <c>reason</c> is inspected, but refusing the change itself over the
    /// reason would lock a user into (or out of) a room, so a dropped reason is removed and the change goes ahead.
    /// </summary>
    public bool IsOwnMembership => Kind == MatrixRequestKind.Join
        || (Kind == MatrixRequestKind.MembershipChange && EventType is "leave" or "knock");

    public static MatrixPath Parse(string method, string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length < 3 || segments[0] != "_matrix")
        {
            return default;
        }

        for (var i = 0; i < segments.Length; i++)
        {
            segments[i] = Uri.UnescapeDataString(segments[i]);
        }

        if (segments[1] == "federation" && segments.Length >= 4 && segments[2] is "v1" or "v2")
        {
            var endpoint = segments[3];
            if (!FederationEndpoints.Contains(endpoint))
            {
                return default;
            }

            // send/{txnId} carries no room; the others start with {roomId}, then {userId} (make_*) or {eventId}.
            var room = endpoint == "send" ? null : At(segments, 4);
            var user = endpoint is "make_join" or "make_leave" or "make_knock" ? At(segments, 5) : null;
            var evt = endpoint is "send_join" or "send_leave" or "invite" or "send_knock" or "event_auth" ? At(segments, 5) : null;
            return new MatrixPath(MatrixRequestKind.Federation, RoomId: room, UserId: user, EventId: evt, FederationEndpoint: endpoint);
        }

        if (segments[1] != "client" || segments[2] is not ("r0" or "v3"))
        {
            return default;
        }

        var s = segments.AsSpan(3);
        var isPut = string.Equals(method, "PUT", StringComparison.OrdinalIgnoreCase);
        var isPost = string.Equals(method, "POST", StringComparison.OrdinalIgnoreCase);
        var isGet = string.Equals(method, "GET", StringComparison.OrdinalIgnoreCase);
        if (s.Length >= 1 && s[0] == "rooms" && s.Length >= 3)
        {
            var room = s[1];
            switch (s[2])
            {
                case "send" when isPut && s.Length == 5:
                    return new MatrixPath(MatrixRequestKind.Send, RoomId: room, EventType: s[3], TxnId: s[4]);
                case "receipt" when isPost && s.Length == 5:
                    return new MatrixPath(MatrixRequestKind.Marker, RoomId: room, EventId: s[4]);
                case "read_markers" when isPost && s.Length == 3:
                    return new MatrixPath(MatrixRequestKind.Marker, RoomId: room);
                case "event" or "context" when isGet && s.Length == 4:
                    return new MatrixPath(MatrixRequestKind.EventRead, RoomId: room, EventId: s[3]);
                case "relations" when isGet && s.Length >= 4:
                    return new MatrixPath(MatrixRequestKind.EventRead, RoomId: room, EventId: s[3]);
                case "state" when isPut && s.Length is 4 or 5:
                    return new MatrixPath(MatrixRequestKind.State, RoomId: room, EventType: s[3], StateKey: s.Length == 5 ? s[4] : string.Empty);
                case "report" when isPost && s.Length == 4:
                    return new MatrixPath(MatrixRequestKind.ReportEvent, RoomId: room, EventId: s[3]);
                case "report" when isPost && s.Length == 3:
                    return new MatrixPath(MatrixRequestKind.ReportRoom, RoomId: room);
                case "join" when isPost && s.Length == 3:
                    return new MatrixPath(MatrixRequestKind.Join, RoomId: room);
                case "invite" or "kick" or "ban" or "unban" or "leave" when isPost && s.Length == 3:
                    return new MatrixPath(MatrixRequestKind.MembershipChange, RoomId: room, EventType: s[2]);
            }
        }

        if (isPost && s.Length == 2 && s[0] == "join")
        {
            return new MatrixPath(MatrixRequestKind.Join, RoomId: s[1]);
        }

        if (isPost && s.Length == 2 && s[0] == "knock")
        {
            return new MatrixPath(MatrixRequestKind.MembershipChange, RoomId: s[1], EventType: "knock");
        }

        if (isPut && s.Length == 3 && s[0] == "directory" && s[1] == "room")
        {
            return new MatrixPath(MatrixRequestKind.AliasCreate, Alias: s[2]);
        }

        if (isPut && s.Length == 4 && s[0] == "directory" && s[1] == "list" && s[2] == "room")
        {
            return new MatrixPath(MatrixRequestKind.DirectoryPublish, RoomId: s[3]);
        }

        if (isPut && s.Length == 3 && s[0] == "profile" && s[2] == "displayname")
        {
            return new MatrixPath(MatrixRequestKind.ProfileDisplayName, UserId: s[1]);
        }

        if (isPost && s.Length == 3 && s[0] == "users" && s[2] == "report")
        {
            return new MatrixPath(MatrixRequestKind.ReportUser, UserId: s[1]);
        }

        return default;
    }

    private static string? At(string[] segments, int i) => i < segments.Length ? segments[i] : null;
}
