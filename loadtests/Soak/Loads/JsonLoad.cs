using System.Text;
using System.Text.Json.Nodes;

/// <summary>The generic JSON protocol: <c>POST /api/messages</c>, and the relayed WebSocket at <c>/json/ws</c> (Artillery).</summary>
internal sealed class JsonLoad : ILoad
{
    private readonly HttpClient _client;

    public JsonLoad(int port, HttpClient client)
    {
        _client = client;
        Upstream = new FakeUpstream(port, Map);
    }

    public IReadOnlyList<string> Rows { get; } = ["json"];

    public Tally Tally { get; } = new();

    public long Frames => Interlocked.Read(ref _frames);

    private long _frames;

    public FakeUpstream Upstream { get; }

    public string Config() => $$"""
        [[backends]]
        name = "chat"
        protocol = "json"
        upstreams = ["{{Upstream.Url}}"]
          [[backends.routes]]
          path = "/api/messages"
          methods = ["POST"]
          on_error = "reject"
            [backends.routes.json]
            body = "/text"
            sender = "/sender"
            room = "/room"
            drop_status = 201
            drop_body = '{"status":"accepted"}'
            reject_status = 403
          [[backends.routes]]
          path = "/json/ws"
          transport = "websocket"
          on_error = "reject"
            [backends.routes.json]
            body = "/text"
            sender = "/from"
            match = { "/type" = "message" }
            notice_key = "notice"
            drop_frame = '{"type":"notice"}'
            reject_frame = '{"type":"error","error":"rejected"}'
        """;

    public async Task<(string Row, string Kind, string Outcome)> SendAsync(long id, Random random, CancellationToken ct)
    {
        var kind = Outcomes.Kind(random);
        var body = new JsonObject { ["id"] = id, ["text"] = Texts.Text(id, kind, random), ["sender"] = $"user{random.Next(50)}", ["room"] = $"room{random.Next(5)}" };
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await _client.PostAsync("/api/messages", content, ct);
        var answer = await response.Content.ReadAsStringAsync(ct);
        var status = (int)response.StatusCode;
        var outcome = status switch
        {
            200 when HttpAnswers.FromUpstream(response) && answer.Contains("\"ok\"", StringComparison.Ordinal) => Outcomes.Delivered,
            201 when !HttpAnswers.FromUpstream(response) && answer.Contains("accepted", StringComparison.Ordinal) => Outcomes.Dropped,
            403 when answer.Contains("\"rejected\"", StringComparison.Ordinal) => Outcomes.Rejected,
            _ when Texts.IsRefusal(status) => Outcomes.Refused,
            _ => Outcomes.Unexpected("json", status, answer),
        };
        return ("json", kind, outcome);
    }

    private void Map(WebApplication app)
    {
        app.Run(async context =>
        {
            if (context.WebSockets.IsWebSocketRequest)
            {
                await EchoAsync(context);
                return;
            }

            var body = Encoding.UTF8.GetString(await context.Request.ReadBodyAsync());
            string? text;
            try
            {
                text = (string?)JsonNode.Parse(body)?["text"];
            }
            catch (System.Text.Json.JsonException)
            {
                text = body;
            }

            Tally.Saw(text);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"status\":\"ok\"}");
        });
    }

    // Echoes every frame; a text frame that still carries a filtered term counts as a leak like an HTTP body.
    private async Task EchoAsync(HttpContext context)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[64 * 1024];
        var stopping = Upstream.Stopping;
        try
        {
            while (true)
            {
                var r = await socket.ReceiveAsync(buffer.AsMemory(), stopping);
                if (r.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }

                Interlocked.Increment(ref _frames);
                var frame = Encoding.UTF8.GetString(buffer, 0, r.Count);
                if (Texts.HasFilteredTerm(frame))
                {
                    Tally.Saw(frame); // counted as a leak (ids of relayed frames are not tracked)
                }

                await socket.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, stopping);
            }
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or OperationCanceledException)
        {
            socket.Abort(); // the client went away, or this upstream is being killed
        }
    }
}
