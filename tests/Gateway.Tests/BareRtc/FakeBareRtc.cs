using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.BareRtc;

/// <summary>
/// A BareRTC server on 127.0.0.1:0 that behaves like upstream's pkg/handlers.go and pkg/polling_api.go, quirks
/// included: duplicate names are uniquified ("alice 2") and reported in the <c>me</c> frame; messages are rendered
/// from Markdown to HTML; a DM to "@bob" reaches bob as "@alice" and echoes to alice as "@bob" with the same msgID;
/// poll users have a queue per session. With a token in the login it takes the token's <c>sub</c> (unverified: the
/// gateway's verification is what the tests check). Every client frame is recorded as received.
/// </summary>
internal sealed partial class FakeBareRtc : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Subscriber> _users = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _msgId = 1_700_000_000;

    private FakeBareRtc(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    /// <summary>Every client frame the server received, raw, in arrival order (WebSocket and poll alike).</summary>
    public ConcurrentQueue<string> Received { get; } = new();

    /// <summary>How long the server waits after a login before its <c>me</c> frame (to open the login race wide).</summary>
    public TimeSpan MeDelay { get; set; }

    /// <summary>
    /// A minimal chat page in the way of upstream's ChatClient.js: opens <c>/ws</c> on its own origin, logs in as
    /// <c>?user=</c>, shows every frame (a message's HTML as the real client does, through innerHTML) and keeps them in
    /// <c>window.received</c>; <c>window.sendDm(to, text)</c> sends a DM.
    /// </summary>
    internal const string ChatPage = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>BareRTC test page</title></head>
        <body>
        <h1 id="me">connecting</h1>
        <div id="messages"></div>
        <script>
        const user = new URLSearchParams(location.search).get('user');
        const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
        window.received = [];
        ws.onopen = () => ws.send(JSON.stringify({ action: 'login', username: user }));
        ws.onmessage = (e) => {
          const msg = JSON.parse(e.data);
          window.received.push(msg);
          if (msg.action === 'me') document.getElementById('me').textContent = msg.username;
          if (msg.action === 'message' || msg.action === 'error') {
            const div = document.createElement('div');
            div.className = msg.action;
            div.dataset.channel = msg.channel || '';
            div.dataset.username = msg.username || '';
            div.innerHTML = msg.message;
            document.getElementById('messages').appendChild(div);
          }
        };
        window.sendDm = (to, text) => ws.send(JSON.stringify({ action: 'message', channel: '@' + to, message: text }));
        </script>
        </body></html>
        """;

    public static async Task<FakeBareRtc> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeBareRtc(app);
        app.UseWebSockets();
        app.Map("/ws", fake.WebSocketAsync);
        app.Map("/poll", fake.PollAsync);
        app.MapGet("/", () => Results.Content(ChatPage, "text/html; charset=utf-8"));
        await app.StartAsync();
        fake.Url = app.Urls.First();
        return fake;
    }

    private sealed class Subscriber(System.Net.WebSockets.WebSocket? socket)
    {
        public string Username { get; set; } = "";

        public string SessionId { get; } = Guid.NewGuid().ToString();

        public ConcurrentQueue<string> Queue { get; } = new();

        public SemaphoreSlim SendLock { get; } = new(1, 1);

        public async Task SendAsync(string json)
        {
            if (socket is null)
            {
                Queue.Enqueue(json);
                return;
            }

            await SendLock.WaitAsync();
            try
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
            {
            }
            finally
            {
                SendLock.Release();
            }
        }
    }

    private async Task WebSocketAsync(HttpContext ctx)
    {
        if (!ctx.WebSockets.IsWebSocketRequest)
        {
            ctx.Response.StatusCode = 400;
            return;
        }

        using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
        var sub = new Subscriber(socket);
        var buffer = new byte[1 << 20];
        try
        {
            while (true)
            {
                var count = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    r = await socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    count += r.Count;
                }
                while (!r.EndOfMessage);

                if (r.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    break;
                }

                var text = Encoding.UTF8.GetString(buffer, 0, count);
                Received.Enqueue(text);
                await OnClientMessageAsync(sub, JsonNode.Parse(text) as JsonObject ?? new JsonObject());
            }
        }
        catch (WebSocketException)
        {
        }
        finally
        {
            if (sub.Username.Length > 0)
            {
                _users.TryRemove(new KeyValuePair<string, Subscriber>(sub.Username, sub));
            }
        }
    }

    private async Task PollAsync(HttpContext ctx)
    {
        ctx.Response.ContentType = "application/json";
        if (ctx.Request.ContentType != "application/json")
        {
            // Upstream compares the header exactly.
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsync(PollError("Only application/json content-types allowed"));
            return;
        }

        var body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
        Received.Enqueue(body);
        var request = JsonNode.Parse(body) as JsonObject ?? new JsonObject();
        var msg = request["msg"] as JsonObject ?? new JsonObject();
        var username = (string?)request["username"];
        Subscriber? sub = null;
        if (username is not null || (string?)request["session_id"] is not null)
        {
            if (username is null || !_users.TryGetValue(username, out var found) || found.SessionId != (string?)request["session_id"])
            {
                ctx.Response.StatusCode = 400;
                var expired = new JsonArray(JsonNode.Parse(Notice("Your authentication has expired, please log back into the chat again.")),
                    new JsonObject { ["action"] = "disconnect" });
                await ctx.Response.WriteAsync(new JsonObject { ["messages"] = expired }.ToJsonString(Indented) + "\n");
                return;
            }

            sub = found;
            await OnClientMessageAsync(sub, msg);
        }
        else if ((string?)msg["action"] == "login")
        {
            sub = new Subscriber(null);
            await OnClientMessageAsync(sub, msg);
        }
        else
        {
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsync(PollError("Not logged in."));
            return;
        }

        var messages = new JsonArray();
        while (sub.Queue.TryDequeue(out var queued))
        {
            messages.Add(JsonNode.Parse(queued));
        }

        // Go's json.Encoder with SetIndent("", "  "): indented, one trailing newline.
        var answer = new JsonObject { ["username"] = sub.Username, ["session_id"] = sub.SessionId, ["messages"] = messages };
        await ctx.Response.WriteAsync(answer.ToJsonString(Indented) + "\n");
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string PollError(string text) =>
        new JsonObject { ["messages"] = new JsonArray(JsonNode.Parse(Notice(text))) }.ToJsonString(Indented) + "\n";

    private async Task OnClientMessageAsync(Subscriber sub, JsonObject msg)
    {
        switch ((string?)msg["action"])
        {
            case "login":
                await OnLoginAsync(sub, msg);
                break;
            case "message":
                await OnMessageAsync(sub, msg);
                break;
            case "ping":
                break;
            case "report":
            case "typing":
            case "react":
            case "candidate":
            case "sdp":
            case "who":
            case "me":
                break;
            default:
                await sub.SendAsync(Notice($"Unsupported message type: {(string?)msg["action"]}"));
                break;
        }
    }

    private async Task OnLoginAsync(Subscriber sub, JsonObject msg)
    {
        var name = (string?)msg["username"];
        if ((string?)msg["jwt"] is { Length: > 0 } jwt && SubjectOf(jwt) is { } subject)
        {
            name = subject;
        }

        if (string.IsNullOrEmpty(name))
        {
            name = "anonymous";
        }

        lock (_gate)
        {
            var unique = name;
            for (var counter = 2; _users.ContainsKey(unique); counter++)
            {
                unique = $"{name} {counter}";
            }

            sub.Username = unique;
            _users[unique] = sub;
        }

        if (MeDelay > TimeSpan.Zero)
        {
            await Task.Delay(MeDelay);
        }

        await sub.SendAsync(new JsonObject { ["action"] = "me", ["username"] = sub.Username }.ToJsonString());
        await sub.SendAsync(new JsonObject { ["action"] = "error", ["username"] = "ChatServer", ["message"] = "Welcome to the chat!" }.ToJsonString());
    }

    private async Task OnMessageAsync(Subscriber sub, JsonObject msg)
    {
        if (sub.Username.Length == 0)
        {
            await sub.SendAsync(Notice("You must log in first."));
            return;
        }

        var channel = (string?)msg["channel"] ?? "";
        var html = RenderMarkdown((string?)msg["message"] ?? "");
        if (html.Length == 0)
        {
            return;
        }

        var id = Interlocked.Increment(ref _msgId);
        string Frame(string ch) => new JsonObject { ["action"] = "message", ["channel"] = ch, ["username"] = sub.Username, ["message"] = html, ["msgID"] = id }.ToJsonString();
        if (channel.StartsWith('@'))
        {
            await sub.SendAsync(Frame(channel));
            if (!_users.TryGetValue(channel[1..], out var rcpt))
            {
                await sub.SendAsync(Notice($"Could not deliver your message: {channel} appears not to be online."));
                return;
            }

            await rcpt.SendAsync(Frame("@" + sub.Username));
            return;
        }

        foreach (var other in _users.Values)
        {
            await other.SendAsync(Frame(channel));
        }
    }

    private static string Notice(string text) => new JsonObject { ["action"] = "error", ["username"] = "ChatServer", ["message"] = text }.ToJsonString();

    private static string? SubjectOf(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var payload = JsonNode.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]));
            return (string?)payload?["sub"];
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The subset of blackfriday + bluemonday the tests rely on: paragraphs in &lt;p&gt;, a line of three or more
    /// stars as &lt;hr&gt;, **strong**, *emphasis* and _emphasis_, backslash escapes of punctuation, and &lt; &gt;
    /// &amp; " escaped.
    /// </summary>
    internal static string RenderMarkdown(string input)
    {
        var blocks = input.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var html = new List<string>();
        foreach (var block in blocks)
        {
            if (Rule().IsMatch(block))
            {
                html.Add("<hr>");
                continue;
            }

            // Backslash escapes first, as placeholders, so emphasis cannot see the escaped characters.
            var escaped = new List<char>();
            var text = Escape().Replace(block, m =>
            {
                escaped.Add(m.Value[1]);
                return $"\u0001{escaped.Count - 1}\u0002";
            });
            text = System.Net.WebUtility.HtmlEncode(text).Replace("&quot;", "&#34;", StringComparison.Ordinal);
            text = Strong().Replace(text, "<strong>$1</strong>");
            text = StarEm().Replace(text, "<em>$1</em>");
            text = UnderscoreEm().Replace(text, "$1<em>$2</em>");
            text = Placeholder().Replace(text, m => System.Net.WebUtility.HtmlEncode(escaped[int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)].ToString()));
            html.Add("<p>" + text.Replace("\n", "<br>\n", StringComparison.Ordinal) + "</p>");
        }

        return string.Join("\n", html);
    }

    [GeneratedRegex(@"^(\*[ \t]*){3,}$")]
    private static partial Regex Rule();

    [GeneratedRegex(@"\\[\\`*_{}\[\]()#+\-.!:|&<>~]")]
    private static partial Regex Escape();

    [GeneratedRegex(@"\*\*(\S(?:.*?\S)?)\*\*")]
    private static partial Regex Strong();

    [GeneratedRegex(@"\*(\S(?:.*?\S)?)\*")]
    private static partial Regex StarEm();

    [GeneratedRegex(@"(^|\W)_(\S(?:.*?\S)?)_(?=\W|$)")]
    private static partial Regex UnderscoreEm();

    [GeneratedRegex("\u0001(\\d+)\u0002")]
    private static partial Regex Placeholder();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
