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
/// </summary>
internal sealed class BareRtcLoad : ILoad
{
    private readonly Uri _ws;
    private readonly ConcurrentBag<Session> _idle = new();
    private long _msgIds;
    private long _sessions;

    public BareRtcLoad(int port, Uri gateway)
    {
        _ws = new Uri($"ws://{gateway.Authority}/ws");
        Upstream = new FakeUpstream(port, Map);
    }

    public IReadOnlyList<string> Rows { get; } = ["barertc"];

    public Tally Tally { get; } = new();

    public long Sessions => Interlocked.Read(ref _sessions);

    public FakeUpstream Upstream { get; }

    public string Config() => $$"""
        [[backends]]
        name = "barertc"
        protocol = "barertc"
        upstreams = ["{{Upstream.Url}}"]
          [[backends.routes]]
          path = "/ws"
        """;

    private sealed class Session(ClientWebSocket socket, string user)
    {
        public ClientWebSocket Socket => socket;

        public string User => user;

        public readonly byte[] Buffer = new byte[64 * 1024];
    }

    public async Task<(string Row, string Kind, string Outcome)> SendAsync(long id, Random random, CancellationToken ct)
    {
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

                var action = (string?)answer["action"];
                string? outcome = action switch
                {
                    "message" when (long?)answer["msgID"] is { } msgId => msgId < 100_000_000_000 ? Outcomes.Delivered : Outcomes.Dropped,
                    "error" when (string?)answer["username"] == "ChatServer"
                        && ((string?)answer["message"])?.Contains("breaks the rules", StringComparison.Ordinal) == true => Outcomes.Rejected,
                    "me" or "who" or "presence" or "ping" => null,
                    _ => Outcomes.Other,
                };
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
            return ("barertc", kind, ex is OperationCanceledException ? Outcomes.Other : Outcomes.Lost);
        }
    }

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

    // The fake BareRTC server: login → me; message → the broadcast echo (to the sender only: one member per channel).
    private void Map(WebApplication app)
    {
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
                            var text = (string?)msg!["message"] ?? "";
                            Tally.Saw(text);
                            reply = new JsonObject
                            {
                                ["action"] = "message",
                                ["channel"] = (string?)msg["channel"],
                                ["username"] = username,
                                ["message"] = "<p>" + System.Net.WebUtility.HtmlEncode(text) + "</p>",
                                ["msgID"] = Interlocked.Increment(ref _msgIds),
                            };
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
