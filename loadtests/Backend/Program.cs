using System.Buffers;
using System.IO.Pipelines;
using System.Text;

// The load tests' chat backend: answers every request with 200 and the same 100-byte JSON body, as fast as
// Kestrel allows. It reads each request body and counts the ones that arrive censored ('*'), so the harness can
// check that the gateway's hits really were rewritten. GET /_stats → {"requests":N,"censored":M}.
// A WebSocket upgrade on any path is an echo server (the relay load: loadtests/Gateway.Benchmarks/Http/WsRunner.cs).
//   bench-backend http://127.0.0.1:PORT
var url = args.Length > 0 ? args[0] : "http://127.0.0.1:9000";
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
builder.Logging.ClearProviders();
builder.WebHost.UseUrls(url);
builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
var app = builder.Build();

var reply = Encoding.UTF8.GetBytes("{\"event_id\":\"$bench-backend-event-0000000000000000000000000000000000000000000000000000000000000000\"}");
if (reply.Length != 100)
{
    throw new InvalidOperationException($"reply is {reply.Length} bytes, not 100");
}

long requests = 0;
long censored = 0;
app.UseWebSockets();
app.Run(async context =>
{
    if (context.WebSockets.IsWebSocketRequest)
    {
        await EchoAsync(context);
        return;
    }

    if (context.Request.Path == "/_stats")
    {
        await context.Response.WriteAsJsonAsync(new { requests = Interlocked.Read(ref requests), censored = Interlocked.Read(ref censored) });
        return;
    }

    Interlocked.Increment(ref requests);
    if (await ReadHasStarAsync(context.Request.BodyReader))
    {
        Interlocked.Increment(ref censored);
    }

    context.Response.StatusCode = 200;
    context.Response.ContentType = "application/json";
    context.Response.ContentLength = reply.Length;
    await context.Response.Body.WriteAsync(reply);
});

app.Run();

static async Task EchoAsync(HttpContext context)
{
    using var socket = await context.WebSockets.AcceptWebSocketAsync();
    var buffer = new byte[64 * 1024];
    try
    {
        while (true)
        {
            var r = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
            if (r.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, CancellationToken.None);
        }
    }
    catch (System.Net.WebSockets.WebSocketException)
    {
        // The load generator dropped the connection.
    }
}

static async Task<bool> ReadHasStarAsync(PipeReader reader)
{
    var star = false;
    while (true)
    {
        var result = await reader.ReadAsync();
        star |= result.Buffer.PositionOf((byte)'*') is not null;
        reader.AdvanceTo(result.Buffer.End);
        if (result.IsCompleted)
        {
            return star;
        }
    }
}
