using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Matrix;

/// <summary>One stored room event (client-server "ClientEvent" shape when rendered).</summary>
/// <param name="StreamOrdering">global order of arrival; pagination and sync tokens are positions in it</param>
/// <param name="TransactionId">the sender's txnId, shown back only to the sending device</param>
internal sealed record MatrixEvent(
    string EventId,
    string RoomId,
    string Sender,
    string Type,
    string? StateKey,
    JsonElement Content,
    long OriginServerTs,
    long StreamOrdering,
    string? TransactionId,
    string? SenderDevice,
    string? Redacts = null)
{
    /// <summary><c>content.body</c> when it is a string.</summary>
    public string? Body => Text("body");

    /// <summary>A top-level string field of the content (e.g. "formatted_body", "displayname", "name").</summary>
    public string? Text(string field) =>
        Content.ValueKind == JsonValueKind.Object && Content.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;

    /// <summary><c>content["m.new_content"].body</c> of an edit (m.replace), if any.</summary>
    public string? NewContentBody =>
        Content.ValueKind == JsonValueKind.Object && Content.TryGetProperty("m.new_content", out var n)
            && n.ValueKind == JsonValueKind.Object && n.TryGetProperty("body", out var b) && b.ValueKind == JsonValueKind.String
            ? b.GetString()
            : null;

    public bool IsState => StateKey is not null;
}

/// <summary>A user created through <see cref="FakeHomeserver.CreateUser"/>, with one logged-in device.</summary>
internal sealed record MatrixUser(string UserId, string Localpart, string Password, string AccessToken, string DeviceId);

/// <summary>An access token bound to a user and a device.</summary>
internal sealed record MatrixSession(string UserId, string DeviceId, string AccessToken);

/// <summary>What createRoom takes (client-server API <c>POST /createRoom</c>), for seeding rooms from a test.</summary>
internal sealed record CreateRoomOptions(
    string? Preset = null,
    string? Name = null,
    string? Topic = null,
    bool IsDirect = false,
    IReadOnlyList<string>? Invite = null,
    string? RoomAliasName = null,
    string Visibility = "private",
    JsonObject? PowerLevelContentOverride = null);

/// <summary>
/// A report received on <c>/rooms/{roomId}/report/{eventId}</c> (Kind "event"), <c>/rooms/{roomId}/report</c>
/// ("room", spec v1.13) or <c>/users/{userId}/report</c> ("user", spec v1.14).
/// </summary>
internal sealed record ContentReport(string Kind, string ReporterUserId, string? RoomId, string? EventId, string? ReportedUserId, string? Reason, int? Score);

/// <summary>How a client request presented its access token.</summary>
internal enum TokenSource
{
    None,
    Header,
    QueryParameter,
    Both,
}

/// <summary>
/// One client-server request as the homeserver saw it. <see cref="Endpoint"/> is the method and the route template
/// after the version prefix, e.g. <c>PUT /rooms/{roomId}/send/{eventType}/{txnId}</c> (the version, r0 or v3, is in
/// <see cref="ApiVersion"/>); unmatched paths are <c>"{METHOD} ?"</c>. <see cref="Path"/> is the raw target with any
/// access_token value replaced by <c>REDACTED</c>.
/// </summary>
internal sealed record HomeserverRequest(long Sequence, string Method, string Path, string Endpoint, string? ApiVersion, TokenSource TokenSource, string? UserId, int Status, string? ErrCode, string Body);

/// <summary>The outcome of checking an X-Matrix Authorization header.</summary>
internal enum FederationAuth
{
    /// <summary>An endpoint that needs no authentication (version, server keys).</summary>
    NotRequired,
    Missing,
    Malformed,
    WrongDestination,
    UnknownKey,
    BadSignature,
    Valid,
}

/// <summary>
/// One federation request (<c>/_matrix/federation/…</c> or <c>/_matrix/key/…</c>), recorded before it is answered.
/// <see cref="Endpoint"/> is method + full template, e.g. <c>PUT /_matrix/federation/v2/send_join/{roomId}/{eventId}</c>.
/// <see cref="Origin"/> is the X-Matrix origin as claimed (recorded even when the signature is refused).
/// </summary>
internal sealed record FederationRequest(long Sequence, string Method, string Path, string Endpoint, string? Origin, string? Destination, string? KeyId, FederationAuth Auth, int Status, string Body);

/// <summary>
/// A spec-faithful, in-memory Matrix homeserver on a real Kestrel listener (127.0.0.1:0) for tests: the client-server
/// API that matrix-nio and matrix-js-sdk use (r0 and v3 prefixes), with Synapse's status codes, errcodes and room
/// defaults, and the federation endpoints a server ACL guards, which record who reached them. All state sits behind
/// one lock; a test reads it back through the methods below.
/// </summary>
internal sealed partial class FakeHomeserver : IAsyncDisposable
{
    private const string RoomVersion = "10";
    private const int MaxEventBytes = 65536;

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly WebApplication _app;
    private readonly Dictionary<string, UserRecord> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SessionRecord> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RoomRecord> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MatrixEvent> _events = new(StringComparer.Ordinal);
    private readonly Dictionary<(string User, string Device, string Room, string Type, string Txn), string> _transactions = [];
    private readonly Dictionary<(string Server, string KeyId), byte[]> _trustedKeys = [];
    private readonly List<ContentReport> _reports = [];
    private readonly ConcurrentQueue<HomeserverRequest> _requests = new();
    private readonly ConcurrentQueue<FederationRequest> _federationRequests = new();
    private long _stream;
    private long _requestSequence;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FakeHomeserver(WebApplication app, string serverName, TimeProvider time)
    {
        _app = app;
        ServerName = serverName;
        _time = time;
        SigningKey = FederationSigner.Generate(serverName, "fake");
        _routes = BuildRoutes();
    }

    /// <summary>The server name in user ids, room ids and federation <c>destination</c>.</summary>
    public string ServerName { get; }

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public string Url { get; private set; } = "";

    /// <summary>This homeserver's own federation signing key (published at <c>/_matrix/key/v2/server</c>).</summary>
    public FederationSigner SigningKey { get; }

    /// <summary>
    /// Whether federation endpoints refuse requests whose X-Matrix signature does not verify against a key given to
    /// <see cref="TrustServerKey"/> (401 M_UNAUTHORIZED, as Synapse answers). On by default; either way every
    /// request is recorded in <see cref="FederationRequests"/> with its <see cref="FederationAuth"/> outcome.
    /// </summary>
    public bool RequireFederationSignatures { get; set; } = true;

    public static async Task<FakeHomeserver> StartAsync(string serverName = "hs.test", TimeProvider? timeProvider = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var hs = new FakeHomeserver(app, serverName, timeProvider ?? TimeProvider.System);
        app.Run(hs.HandleAsync);
        await app.StartAsync();
        hs.Url = app.Urls.First();
        return hs;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ---------------------------------------------------------------- test API: setup

    /// <summary>Registers a user (display name defaults to the localpart, as Synapse sets it) and logs in one device.</summary>
    public MatrixUser CreateUser(string localpart, string? password = null, string? displayName = null)
    {
        var userId = $"@{localpart}:{ServerName}";
        password ??= "pw-" + localpart;
        lock (_gate)
        {
            if (_users.ContainsKey(userId))
            {
                throw new InvalidOperationException($"user {userId} exists");
            }

            _users[userId] = new UserRecord(userId, localpart, password) { DisplayName = displayName ?? localpart };
            var session = NewSessionLocked(userId, null);
            return new MatrixUser(userId, localpart, password, session.Token, session.DeviceId);
        }
    }

    /// <summary>A new access token for an existing user, on <paramref name="deviceId"/> or a new device.</summary>
    public MatrixSession IssueToken(string userId, string? deviceId = null)
    {
        lock (_gate)
        {
            RequireUserLocked(userId);
            var s = NewSessionLocked(userId, deviceId);
            return new MatrixSession(userId, s.DeviceId, s.Token);
        }
    }

    /// <summary>Invalidates a token: later requests with it get 401 M_UNKNOWN_TOKEN.</summary>
    public void RevokeToken(string accessToken)
    {
        lock (_gate)
        {
            _sessions.Remove(accessToken);
        }
    }

    /// <summary>Creates a room exactly as <c>POST /createRoom</c> would for <paramref name="creatorUserId"/>; returns its id.</summary>
    public string CreateRoom(string creatorUserId, CreateRoomOptions? options = null)
    {
        options ??= new CreateRoomOptions();
        var body = new JsonObject { ["visibility"] = options.Visibility, ["is_direct"] = options.IsDirect };
        if (options.Preset is not null)
        {
            body["preset"] = options.Preset;
        }

        if (options.Name is not null)
        {
            body["name"] = options.Name;
        }

        if (options.Topic is not null)
        {
            body["topic"] = options.Topic;
        }

        if (options.RoomAliasName is not null)
        {
            body["room_alias_name"] = options.RoomAliasName;
        }

        if (options.Invite is { Count: > 0 } invite)
        {
            body["invite"] = new JsonArray(invite.Select(i => (JsonNode)JsonValue.Create(i)).ToArray());
        }

        if (options.PowerLevelContentOverride is not null)
        {
            body["power_level_content_override"] = options.PowerLevelContentOverride.DeepClone();
        }

        lock (_gate)
        {
            RequireUserLocked(creatorUserId);
            return Unwrap(() => CreateRoomLocked(creatorUserId, null, JsonSerializer.SerializeToElement(body)));
        }
    }

    public void Invite(string roomId, string inviterUserId, string inviteeUserId) =>
        Locked(() => InviteLocked(RequireRoomLocked(roomId), inviterUserId, inviteeUserId, null, null));

    public void Join(string roomIdOrAlias, string userId) => Locked(() => JoinLocked(userId, null, roomIdOrAlias));

    public void Leave(string roomId, string userId) => Locked(() => LeaveLocked(RequireRoomLocked(roomId), userId, null));

    /// <summary>Sends an event as <paramref name="senderUserId"/> with the same checks as the HTTP endpoint.</summary>
    public string SendEvent(string roomId, string senderUserId, string eventType, string contentJson) =>
        Locked(() => AppendLocked(RequireRoomLocked(roomId), senderUserId, null, eventType, null, Content(contentJson), null, checkAuth: true).EventId);

    public string SendText(string roomId, string senderUserId, string body) =>
        SendEvent(roomId, senderUserId, "m.room.message", new JsonObject { ["msgtype"] = "m.text", ["body"] = body }.ToJsonString());

    public string SetState(string roomId, string senderUserId, string eventType, string stateKey, string contentJson) =>
        Locked(() => AppendLocked(RequireRoomLocked(roomId), senderUserId, null, eventType, stateKey, Content(contentJson), null, checkAuth: true).EventId);

    /// <summary>Sets one user's power level, sent by the room's creator.</summary>
    public void SetPowerLevel(string roomId, string userId, int level) =>
        Locked(() =>
        {
            var room = RequireRoomLocked(roomId);
            var pl = JsonNode.Parse(room.State[("m.room.power_levels", "")].Content.GetRawText())!.AsObject();
            pl["users"]![userId] = level;
            return AppendLocked(room, room.Creator, null, "m.room.power_levels", "", JsonSerializer.SerializeToElement(pl), null, checkAuth: false).EventId;
        });

    /// <summary>Accepts X-Matrix signatures from <paramref name="serverName"/> made with this key.</summary>
    public void TrustServerKey(string serverName, string keyId, byte[] publicKey)
    {
        lock (_gate)
        {
            _trustedKeys[(serverName, keyId)] = publicKey;
        }
    }

    public void TrustServer(FederationSigner signer) => TrustServerKey(signer.ServerName, signer.KeyId, signer.PublicKey);

    // ---------------------------------------------------------------- test API: read back

    /// <summary>Every event of the room in order, state included.</summary>
    public IReadOnlyList<MatrixEvent> Timeline(string roomId)
    {
        lock (_gate)
        {
            return _rooms.TryGetValue(roomId, out var room) ? [.. room.Timeline] : [];
        }
    }

    /// <summary>The room's <c>m.room.message</c> events in order.</summary>
    public IReadOnlyList<MatrixEvent> Messages(string roomId) => [.. Timeline(roomId).Where(e => e.Type == "m.room.message")];

    public MatrixEvent? Event(string eventId)
    {
        lock (_gate)
        {
            return _events.GetValueOrDefault(eventId);
        }
    }

    public MatrixEvent? StateEvent(string roomId, string eventType, string stateKey = "")
    {
        lock (_gate)
        {
            return _rooms.TryGetValue(roomId, out var room) ? room.State.GetValueOrDefault((eventType, stateKey)) : null;
        }
    }

    /// <summary>"join", "invite", "leave", "ban", or null when the user never had a membership.</summary>
    public string? Membership(string roomId, string userId)
    {
        lock (_gate)
        {
            return _rooms.TryGetValue(roomId, out var room) ? MembershipLocked(room, userId) : null;
        }
    }

    public IReadOnlyList<string> JoinedMembers(string roomId)
    {
        lock (_gate)
        {
            return _rooms.TryGetValue(roomId, out var room) ? [.. JoinedLocked(room)] : [];
        }
    }

    public int PowerLevel(string roomId, string userId)
    {
        lock (_gate)
        {
            return UserLevelLocked(RequireRoomLocked(roomId), userId);
        }
    }

    /// <summary>The profile display name (null when unset or the user is unknown).</summary>
    public string? DisplayName(string userId)
    {
        lock (_gate)
        {
            return _users.GetValueOrDefault(userId)?.DisplayName;
        }
    }

    /// <summary>Global account data of a user (e.g. <c>m.direct</c>), or null.</summary>
    public JsonElement? AccountData(string userId, string type)
    {
        lock (_gate)
        {
            return _users.TryGetValue(userId, out var u) && u.AccountData.TryGetValue(type, out var v) ? v.Content : null;
        }
    }

    public IReadOnlyList<ContentReport> Reports
    {
        get
        {
            lock (_gate)
            {
                return [.. _reports];
            }
        }
    }

    /// <summary>Every client-server request in arrival order (recorded before its response is written).</summary>
    public IReadOnlyList<HomeserverRequest> Requests => [.. _requests];

    /// <summary>Every federation request in arrival order, accepted or not.</summary>
    public IReadOnlyList<FederationRequest> FederationRequests => [.. _federationRequests];

    /// <summary>How many requests hit <paramref name="endpoint"/> (a <see cref="HomeserverRequest.Endpoint"/> or <see cref="FederationRequest.Endpoint"/>).</summary>
    public int RequestCount(string endpoint) =>
        _requests.Count(r => r.Endpoint == endpoint) + _federationRequests.Count(r => r.Endpoint == endpoint);

    /// <summary>Requests per endpoint, client-server and federation together.</summary>
    public IReadOnlyDictionary<string, int> RequestCounts() =>
        _requests.Select(r => r.Endpoint).Concat(_federationRequests.Select(r => r.Endpoint))
            .GroupBy(e => e, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    // ---------------------------------------------------------------- model

    private sealed class UserRecord(string userId, string localpart, string password)
    {
        public string UserId { get; } = userId;

        public string Localpart { get; } = localpart;

        public string Password { get; } = password;

        public string? DisplayName { get; set; }

        public string? AvatarUrl { get; set; }

        public Dictionary<string, (JsonElement Content, long Stream)> AccountData { get; } = new(StringComparer.Ordinal);

        public Dictionary<(string Room, string Type), JsonElement> RoomAccountData { get; } = [];

        public List<JsonElement> Filters { get; } = [];
    }

    private sealed record SessionRecord(string Token, string UserId, string DeviceId);

    private sealed class RoomRecord(string roomId, string creator)
    {
        public string RoomId { get; } = roomId;

        public string Creator { get; } = creator;

        public List<MatrixEvent> Timeline { get; } = [];

        public Dictionary<(string Type, string Key), MatrixEvent> State { get; } = [];
    }

    /// <summary>
    /// A refusal raised deep inside a handler (membership, power level, missing room) and turned into the Matrix
    /// error response by the dispatcher: guard clauses stay one line each. Never escapes the fake.
    /// </summary>
    private sealed class MatrixErrorException(int status, string errcode, string message, JsonObject? extra = null) : Exception(message)
    {
        public int Status { get; } = status;

        public string ErrCode { get; } = errcode;

        public JsonObject? Extra { get; } = extra;
    }

    private T Locked<T>(Func<T> action)
    {
        lock (_gate)
        {
            return Unwrap(action);
        }
    }

    private void Locked(Action action) => Locked(() =>
    {
        action();
        return 0;
    });

    private static T Unwrap<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (MatrixErrorException e)
        {
            throw new InvalidOperationException($"{e.Status} {e.ErrCode}: {e.Message}", e);
        }
    }

    private static JsonElement Content(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private SessionRecord NewSessionLocked(string userId, string? deviceId)
    {
        var localpart = _users[userId].Localpart;
        // Synapse's token shape: syt_<base64 localpart>_<random>_<checksum-ish>.
        var token = $"syt_{UnpaddedBase64.Encode(Encoding.UTF8.GetBytes(localpart))}_{RandomLetters(20)}_{RandomLetters(6)}";
        var session = new SessionRecord(token, userId, deviceId ?? RandomLetters(10).ToUpperInvariant());
        _sessions[token] = session;
        return session;
    }

    private UserRecord RequireUserLocked(string userId) =>
        _users.TryGetValue(userId, out var u) ? u : throw new InvalidOperationException($"unknown user {userId}");

    private RoomRecord RequireRoomLocked(string roomId) =>
        _rooms.TryGetValue(roomId, out var r) ? r : throw new MatrixErrorException(404, "M_NOT_FOUND", $"Unknown room {roomId}");

    private static string RandomLetters(int count)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        return string.Create(count, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
            }
        });
    }

    /// <summary>Room version 4+ event ids: <c>$</c> + url-safe unpadded base64 of 32 bytes (a reference hash there).</summary>
    private static string NewEventId(ReadOnlySpan<byte> seed = default) =>
        "$" + UnpaddedBase64.Encode(seed.IsEmpty ? RandomNumberGenerator.GetBytes(32) : SHA256.HashData(seed)).Replace('+', '-').Replace('/', '_');

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private void PulseLocked()
    {
        var old = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }

    // ---------------------------------------------------------------- HTTP plumbing

    private delegate Reply Handler(Call call);

    /// <summary>What a handler answers: a status and a JSON body.</summary>
    private sealed record Reply(int Status, JsonNode Body)
    {
        public static Reply Ok(JsonNode body) => new(200, body);

        public static Reply Empty() => new(200, new JsonObject());
    }

    private static Reply Error(int status, string errcode, string message, JsonObject? extra = null)
    {
        var body = new JsonObject { ["errcode"] = errcode, ["error"] = message };
        if (extra is not null)
        {
            foreach (var (k, v) in extra)
            {
                body[k] = v?.DeepClone();
            }
        }

        return new Reply(status, body);
    }

    /// <summary>One matched request: route parameters (percent-decoded per segment), body and caller.</summary>
    private sealed record Call(HttpContext Http, IReadOnlyDictionary<string, string> Params, JsonElement Body, SessionRecord? Session, string RawTarget)
    {
        public string this[string name] => Params[name];

        public string? Query(string name) => Http.Request.Query.TryGetValue(name, out var v) ? v.ToString() : null;

        public SessionRecord Caller => Session ?? throw new InvalidOperationException("route is not authenticated");
    }

    private enum Api
    {
        /// <summary><c>/_matrix/client/{r0|v3}/…</c></summary>
        Client,

        /// <summary><c>/_matrix/client/…</c> without a version segment (only <c>versions</c>).</summary>
        ClientUnversioned,

        /// <summary>Full path after the leading slash: federation and key endpoints.</summary>
        Server,
    }

    private enum Auth
    {
        None,
        Optional,
        Required,
        Federation,
    }

    private enum BodyKind
    {
        None,
        Optional,
        Required,
    }

    private sealed record Route(string Method, Api Api, string Template, string[] Segments, Auth Auth, BodyKind Body, Handler Handler)
    {
        public string Endpoint => $"{Method} /{Template}";
    }

    private readonly List<Route> _routes;

    private static Route R(string method, Api api, string template, Auth auth, BodyKind body, Handler handler) =>
        new(method, api, template, template.Split('/'), auth, body, handler);

    private async Task HandleAsync(HttpContext ctx)
    {
        var rawTarget = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (ctx.Request.Path + ctx.Request.QueryString).ToString();
        var rawPath = rawTarget.Split('?', 2)[0];
        var segments = rawPath.TrimStart('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        using var bodyStream = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(bodyStream, ctx.RequestAborted);
        var bodyBytes = bodyStream.ToArray();
        var bodyText = Encoding.UTF8.GetString(bodyBytes);

        var isFederation = segments.Length >= 2 && segments[0] == "_matrix" && (segments[1] == "federation" || segments[1] == "key");
        var (route, parameters, version, methodMismatch) = Match(ctx.Request.Method, segments);
        Reply reply;
        SessionRecord? session = null;
        var tokenSource = TokenSource.None;
        FederationAuth fedAuth = FederationAuth.NotRequired;
        XMatrixAuthorization? xmatrix = null;
        if (route is null)
        {
            reply = methodMismatch
                ? Error(405, "M_UNRECOGNIZED", "Unrecognized request")
                : Error(404, "M_UNRECOGNIZED", "Unrecognized request");
        }
        else
        {
            reply = Authenticate(ctx, route, rawTarget, bodyText, out session, out tokenSource, out fedAuth, out xmatrix)
                ?? await InvokeAsync(ctx, route, parameters!, session, rawTarget, bodyBytes);
        }

        var endpoint = route?.Endpoint ?? $"{ctx.Request.Method} ?";
        var errcode = reply.Status >= 400 ? reply.Body["errcode"]?.GetValue<string>() : null;
        var seq = Interlocked.Increment(ref _requestSequence);
        if (isFederation)
        {
            _federationRequests.Enqueue(new FederationRequest(seq, ctx.Request.Method, rawTarget, endpoint, xmatrix?.Origin,
                xmatrix?.Destination, xmatrix?.Key, fedAuth, reply.Status, bodyText));
        }
        else
        {
            _requests.Enqueue(new HomeserverRequest(seq, ctx.Request.Method, RedactToken(rawTarget), endpoint, version, tokenSource,
                session?.UserId, reply.Status, errcode, bodyText));
        }

        ctx.Response.StatusCode = reply.Status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.Body.WriteAsync(CanonicalJson.Encode(reply.Body), ctx.RequestAborted);
    }

    private async Task<Reply> InvokeAsync(HttpContext ctx, Route route, Dictionary<string, string> parameters, SessionRecord? session, string rawTarget, byte[] body)
    {
        JsonElement parsed;
        if (body.Length == 0)
        {
            if (route.Body == BodyKind.Required)
            {
                return Error(400, "M_NOT_JSON", "Content not JSON.");
            }

            parsed = JsonSerializer.SerializeToElement(new JsonObject());
        }
        else if (route.Body == BodyKind.None)
        {
            parsed = JsonSerializer.SerializeToElement(new JsonObject());
        }
        else
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                parsed = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                return Error(400, "M_NOT_JSON", "Content not JSON.");
            }

            if (parsed.ValueKind != JsonValueKind.Object)
            {
                return Error(400, "M_BAD_JSON", "Content must be a JSON object.");
            }
        }

        var call = new Call(ctx, parameters, parsed, session, rawTarget);
        if (route.Template == "sync")
        {
            await WaitForSyncAsync(call);
        }

        lock (_gate)
        {
            try
            {
                return route.Handler(call);
            }
            catch (MatrixErrorException e)
            {
                return Error(e.Status, e.ErrCode, e.Message, e.Extra);
            }
            catch (FormatException e)
            {
                // Canonical JSON refusals (floats, integers beyond 2^53) in event content, as Synapse answers them.
                return Error(400, "M_BAD_JSON", "Bad JSON value: " + e.Message);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A bug in the fake: answer like Synapse's catch-all (500 M_UNKNOWN) so it is recorded and visible.
                return Error(500, "M_UNKNOWN", $"Internal server error ({e.GetType().Name}: {e.Message})");
            }
        }
    }

    private (Route? Route, Dictionary<string, string>? Params, string? Version, bool MethodMismatch) Match(string method, string[] segments)
    {
        var methodMismatch = false;
        foreach (var route in _routes)
        {
            string[] rest;
            string? version = null;
            switch (route.Api)
            {
                case Api.Client:
                    if (segments.Length < 4 || segments[0] != "_matrix" || segments[1] != "client" || segments[2] is not ("r0" or "v3"))
                    {
                        continue;
                    }

                    version = segments[2];
                    rest = segments[3..];
                    break;
                case Api.ClientUnversioned:
                    if (segments.Length < 3 || segments[0] != "_matrix" || segments[1] != "client")
                    {
                        continue;
                    }

                    rest = segments[2..];
                    break;
                default:
                    rest = segments;
                    break;
            }

            var parameters = MatchTemplate(route.Segments, rest);
            if (parameters is null)
            {
                continue;
            }

            if (!string.Equals(route.Method, method, StringComparison.OrdinalIgnoreCase))
            {
                methodMismatch = true;
                continue;
            }

            return (route, parameters, version ?? (route.Api == Api.Server ? null : ""), false);
        }

        return (null, null, null, methodMismatch);
    }

    /// <summary>Literal segments match exactly; <c>{name}</c> takes one segment; a trailing <c>{name?}</c> may be absent or empty.</summary>
    private static Dictionary<string, string>? MatchTemplate(string[] template, string[] path)
    {
        var optionalLast = template[^1].EndsWith("?}", StringComparison.Ordinal);
        if (path.Length != template.Length && !(optionalLast && path.Length == template.Length - 1))
        {
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < template.Length; i++)
        {
            var t = template[i];
            var p = i < path.Length ? path[i] : "";
            if (t.StartsWith('{'))
            {
                result[t.Trim('{', '}', '?')] = p;
            }
            else if (t != p)
            {
                return null;
            }
        }

        return result;
    }

    /// <summary>
    /// Synapse's rules (synapse/api/auth): a token in the Authorization header (scheme Bearer) or the
    /// <c>access_token</c> query parameter, not both; missing → 401 M_MISSING_TOKEN, unknown → 401 M_UNKNOWN_TOKEN
    /// with soft_logout false. Federation routes check the X-Matrix header instead.
    /// </summary>
    private Reply? Authenticate(HttpContext ctx, Route route, string rawTarget, string body, out SessionRecord? session,
        out TokenSource source, out FederationAuth fedAuth, out XMatrixAuthorization? xmatrix)
    {
        session = null;
        source = TokenSource.None;
        fedAuth = FederationAuth.NotRequired;
        xmatrix = null;
        if (route.Auth == Auth.Federation)
        {
            return AuthenticateFederation(ctx, rawTarget, body, out fedAuth, out xmatrix);
        }

        var headers = ctx.Request.Headers.Authorization;
        var query = ctx.Request.Query.TryGetValue("access_token", out var q) ? q.ToString() : null;
        source = (headers.Count > 0, query is not null) switch
        {
            (true, true) => TokenSource.Both,
            (true, false) => TokenSource.Header,
            (false, true) => TokenSource.QueryParameter,
            _ => TokenSource.None,
        };
        if (route.Auth == Auth.None || (route.Auth == Auth.Optional && source == TokenSource.None))
        {
            return null;
        }

        string? token;
        switch (source)
        {
            case TokenSource.Both:
                return Error(401, "M_MISSING_TOKEN", "Mixing Authorization headers and access_token query parameters.");
            case TokenSource.None:
                return Error(401, "M_MISSING_TOKEN", "Missing access token.");
            case TokenSource.Header:
                if (headers.Count > 1)
                {
                    return Error(401, "M_MISSING_TOKEN", "Too many Authorization headers.");
                }

                var parts = headers.ToString().Split(' ');
                if (parts.Length != 2 || parts[0] != "Bearer")
                {
                    return Error(401, "M_MISSING_TOKEN", "Invalid Authorization header.");
                }

                token = parts[1];
                break;
            default:
                token = query;
                break;
        }

        lock (_gate)
        {
            if (token is not null && AuthenticateAppserviceLocked(ctx, token, out var asSession) is { } asReply)
            {
                session = asSession;
                return asSession is null ? asReply : null;
            }

            if (token is null || !_sessions.TryGetValue(token, out session))
            {
                return Error(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.", new JsonObject { ["soft_logout"] = false });
            }
        }

        return null;
    }

    private static string RedactToken(string rawTarget)
    {
        var q = rawTarget.IndexOf('?', StringComparison.Ordinal);
        if (q < 0)
        {
            return rawTarget;
        }

        var parts = rawTarget[(q + 1)..].Split('&')
            .Select(p => p.StartsWith("access_token=", StringComparison.Ordinal) ? "access_token=REDACTED" : p);
        return rawTarget[..q] + "?" + string.Join('&', parts);
    }

    private static int? IntParam(string? value, int? fallback)
    {
        if (value is null)
        {
            return fallback;
        }

        return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new MatrixErrorException(400, "M_INVALID_PARAM", $"Query parameter {value} must be an integer");
    }
}
