using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

/// <summary>
/// BareRTC's WebSocket (<c>/ws</c>): each session logs in (the fake server answers <c>me</c> as BareRTC does), then
/// sends <c>message</c> frames to a channel; the server echoes each as BareRTC broadcasts it (<c>username</c>,
/// rendered <c>&lt;p&gt;</c> HTML, a <c>msgID</c> counted from 1 here, from the Unix time in seconds upstream). The
/// gateway's own echo of a dropped message has a msgID seeded from the Unix time in milliseconds, and a reject is a
/// <c>ChatServer</c> error frame. A session whose connection breaks counts its in-flight message as lost and reconnects.
/// A third of the messages go through BareRTC's polling API instead (<c>POST /poll</c>, pkg/polling_api.go): a login
/// poll opens a session (<c>session_id</c>), each message poll answers with the frames queued for it, the echo among
/// them; the gateway merges its own echo (drop) or notice (reject) into the server's answer to the ping it sends in
/// the message's place. The fake keeps poll sessions across its restarts (the real one would answer "authentication
/// expired" and the client log in again).
/// </summary>
internal sealed class BareRtcLoad : ILoad
{
    private readonly Uri _ws;
    private readonly ConcurrentBag<Session> _idle = new();
    private readonly ConcurrentBag<(string User, string SessionId)> _pollIdle = new();
    private readonly ConcurrentDictionary<string, (string User, ConcurrentQueue<string> Queue)> _pollSessions = new();
    private readonly HttpClient _client;
    private long _msgIds;
    private long _sessions;

    public BareRtcLoad(int port, Uri gateway, HttpClient client)
    {
        _client = client;
        _ws = new Uri($"ws://{gateway.Authority}/ws");
        Upstream = new FakeUpstream(port, Map);
    }

    public IReadOnlyList<string> Rows { get; } = ["barertc", "barertc-poll"];

    public string RowFor(long id) => id % 3 == 0 ? Rows[1] : Rows[0];

    public Tally Tally { get; } = new();

    public Tally PollTally { get; } = new();

    public long Sessions => Interlocked.Read(ref _sessions);

    public FakeUpstream Upstream { get; }

    public string Config() => $$"""
        [[backends]]
        name = "barertc"
        protocol = "barertc"
        upstreams = ["{{Upstream.Url}}"]
          [[backends.routes]]
          path = "/ws"
          [[backends.routes]]
          path = "/poll"
        """;

    private sealed class Session(ClientWebSocket socket, string user)
    {
        public ClientWebSocket Socket => socket;

        public string User => user;

        public readonly byte[] Buffer = new byte[64 * 1024];
    }

    public async Task<(string Row, string Kind, string Outcome)> SendAsync(long id, Random random, CancellationToken ct)
    {
        if (RowFor(id) == Rows[1])
        {
            return await PollSendAsync(id, random, ct);
        }

        var kind = Outcomes.Kind(random);
        if (!_idle.TryTake(out var session))
        {
            session = await ConnectAsync(random, ct);
            if (session is null)
            {
                return ("barertc", kind, Outcomes.Refused);
            }
        }

        var text = Texts.Text(id, kind, random);
        var frame = new JsonObject { ["action"] = "message", ["channel"] = "lobby", ["message"] = text }.ToJsonString();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            await session.Socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, timeout.Token);
            while (true)
            {
                var answer = await ReceiveAsync(session, timeout.Token);
                if (answer is null)
                {
                    session.Socket.Abort();
                    session.Socket.Dispose();
                    return ("barertc", kind, Outcomes.Lost);
                }

                var outcome = Classify(answer);
                if (outcome is not null)
                {
                    _idle.Add(session);
                    return ("barertc", kind, outcome);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            session.Socket.Abort();
            session.Socket.Dispose();
            return ("barertc", kind, ex is OperationCanceledException ? Outcomes.Unexpected("barertc", 0, "no answer within 15 s") : Outcomes.Lost);
        }
    }

    private async Task<(int Status, JsonNode? Answer)> PollAsync(JsonObject request, CancellationToken ct)
    {
        // Upstream compares the Content-Type header exactly: "application/json", no charset.
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(request.ToJsonString()));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await _client.PostAsync("/poll", content, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        JsonNode? answer = null;
        try
        {
            answer = body.Length > 0 ? JsonNode.Parse(body) : null;
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return ((int)response.StatusCode, answer);
    }

    private async Task<(string Row, string Kind, string Outcome)> PollSendAsync(long id, Random random, CancellationToken ct)
    {
        var kind = Outcomes.Kind(random);
        if (!_pollIdle.TryTake(out var session))
        {
            var user = $"poller{Interlocked.Increment(ref _sessions)}";
            var (loginStatus, login) = await PollAsync(new JsonObject { ["msg"] = new JsonObject { ["action"] = "login", ["username"] = user } }, ct);
            if (loginStatus != 200 || (string?)login?["session_id"] is not { } sid)
            {
                return (Rows[1], kind, Texts.IsRefusal(loginStatus) ? Outcomes.Refused : Outcomes.Unexpected("barertc-poll login", loginStatus, login?.ToJsonString()));
            }

            session = (user, sid);
        }

        var text = Texts.Text(id, kind, random);
        var (status, answer) = await PollAsync(new JsonObject
        {
            ["username"] = session.User,
            ["session_id"] = session.SessionId,
            ["msg"] = new JsonObject { ["action"] = "message", ["channel"] = "lobby", ["message"] = text },
        }, ct);
        _pollIdle.Add(session);
        if (Texts.IsRefusal(status))
        {
            // A dropped or rejected message still polls the server (as a ping): the verdict, and its report, came first.
            return (Rows[1], kind, kind is "drop" or "reject" ? Outcomes.RefusedReported : Outcomes.Refused);
        }

        string? outcome = null;
        foreach (var frame in status == 200 ? answer?["messages"]?.AsArray() ?? [] : [])
        {
            var o = Classify(frame);
            if (o is not null)
            {
                outcome = o;
                break;
            }
        }

        return (Rows[1], kind, outcome ?? Outcomes.Unexpected("barertc-poll", status, answer?.ToJsonString()));
    }

    /// <summary>What a frame the sender got says about its message, or null for frames that say nothing (me, who, ...).</summary>
    private static string? Classify(JsonNode? answer) => (string?)answer?["action"] switch
    {
        "message" when (long?)answer!["msgID"] is { } msgId => msgId < 100_000_000_000 ? Outcomes.Delivered : Outcomes.Dropped,
        "error" when (string?)answer!["username"] == "ChatServer"
            && ((string?)answer["message"])?.Contains("breaks the rules", StringComparison.Ordinal) == true => Outcomes.Rejected,
        "me" or "who" or "presence" or "ping" => null,
        _ => Outcomes.Unexpected("barertc", 0, answer?.ToJsonString()),
    };

    private async Task<Session?> ConnectAsync(Random random, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        try
        {
            await socket.ConnectAsync(_ws, ct);
        }
        catch (WebSocketException)
        {
            socket.Dispose();
            return null; // the gateway answered the upgrade with 502/503: the server is down
        }

        var user = $"soaker{Interlocked.Increment(ref _sessions)}";
        var session = new Session(socket, user);
        try
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(new JsonObject { ["action"] = "login", ["username"] = user }.ToJsonString()),
                WebSocketMessageType.Text, true, ct);
        }
        catch (WebSocketException)
        {
            socket.Dispose();
            return null;
        }

        return session;
    }

    private static async Task<JsonNode?> ReceiveAsync(Session session, CancellationToken ct)
    {
        var count = 0;
        while (true)
        {
            var r = await session.Socket.ReceiveAsync(session.Buffer.AsMemory(count), ct);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            count += r.Count;
            if (r.EndOfMessage)
            {
                return JsonNode.Parse(session.Buffer.AsSpan(0, count));
            }
        }
    }

    /// <summary>The broadcast echo of a message, as BareRTC renders it (to the sender only: one member per channel).</summary>
    private JsonObject Echo(Tally tally, string? username, JsonNode msg)
    {
        var text = (string?)msg["message"] ?? "";
        tally.Saw(text);
        return new JsonObject
        {
            ["action"] = "message",
            ["channel"] = (string?)msg["channel"],
            ["username"] = username,
            ["message"] = "<p>" + System.Net.WebUtility.HtmlEncode(text) + "</p>",
            ["msgID"] = Interlocked.Increment(ref _msgIds),
        };
    }

    // The fake BareRTC server: login → me; message → the broadcast echo; over /ws or /poll.
    private void Map(WebApplication app)
    {
        app.MapPost("/poll", async context =>
        {
            context.Response.ContentType = "application/json";
            if (context.Request.ContentType != "application/json")
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsync("""{"messages":[{"action":"error","username":"ChatServer","message":"Only application/json content-types allowed"}]}""");
                return;
            }

            var request = JsonNode.Parse(await context.Request.ReadBodyAsync()) as JsonObject ?? new JsonObject();
            var msg = request["msg"] as JsonObject ?? new JsonObject();
            var sid = (string?)request["session_id"];
            (string User, ConcurrentQueue<string> Queue) session;
            if (sid is null && (string?)msg["action"] == "login")
            {
                sid = Guid.NewGuid().ToString();
                session = ((string?)msg["username"] ?? "", new ConcurrentQueue<string>());
                _pollSessions[sid] = session;
                session.Queue.Enqueue(new JsonObject { ["action"] = "me", ["username"] = session.User }.ToJsonString());
            }
            else if (sid is null || !_pollSessions.TryGetValue(sid, out session) || session.User != (string?)request["username"])
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsync("""{"messages":[{"action":"error","username":"ChatServer","message":"Your authentication has expired, please log back into the chat again."},{"action":"disconnect"}]}""");
                return;
            }
            else if ((string?)msg["action"] == "message")
            {
                session.Queue.Enqueue(Echo(PollTally, session.User, msg).ToJsonString());
            }

            var messages = new JsonArray();
            while (session.Queue.TryDequeue(out var queued))
            {
                messages.Add(JsonNode.Parse(queued));
            }

            await context.Response.WriteAsync(new JsonObject { ["username"] = session.User, ["session_id"] = sid, ["messages"] = messages }.ToJsonString() + "\n");
        });
        app.Map("/ws", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var stopping = Upstream.Stopping;
            var buffer = new byte[64 * 1024];
            string? username = null;
            try
            {
                while (true)
                {
                    var count = 0;
                    ValueWebSocketReceiveResult r;
                    do
                    {
                        r = await socket.ReceiveAsync(buffer.AsMemory(count), stopping);
                        count += r.Count;
                    }
                    while (!r.EndOfMessage && r.MessageType != WebSocketMessageType.Close);

                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                        return;
                    }

                    var msg = JsonNode.Parse(buffer.AsSpan(0, count));
                    JsonObject? reply = null;
                    switch ((string?)msg?["action"])
                    {
                        case "login":
                            username = (string?)msg!["username"];
                            reply = new JsonObject { ["action"] = "me", ["username"] = username };
                            break;
                        case "message" when username is not null:
                            reply = Echo(Tally, username, msg!);
                            break;
                    }

                    if (reply is not null)
                    {
                        await socket.SendAsync(Encoding.UTF8.GetBytes(reply.ToJsonString()), WebSocketMessageType.Text, true, stopping);
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                socket.Abort(); // the gateway went away, or this server is being killed
            }
        });
    }
}
