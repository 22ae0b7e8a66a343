using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.WebSocket;

/// <summary>What the backend saw on one WebSocket connection.</summary>
internal sealed class BackendConnection
{
    public required string Path { get; init; }

    public required string Query { get; init; }

    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    public string? SubProtocol { get; init; }

    public Channel<string> Texts { get; } = Channel.CreateUnbounded<string>();

    public TaskCompletionSource<(WebSocketCloseStatus? Status, string? Reason)> Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public System.Net.WebSockets.WebSocket? Socket { get; set; }
}

/// <summary>
/// A real Kestrel WebSocket backend on 127.0.0.1:0. <c>/ws</c> (any path but <c>/raw</c>) accepts with ASP.NET's
/// WebSocket middleware, records every text message, echoes it to the sender and answers {"type":"close"} with
/// close 4002; <c>/raw</c> does the handshake by hand and hands the test the raw stream to script frames with the
/// relay's codec (pings, odd closes, dying mid-stream).
/// </summary>
internal sealed class WsBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WsBackend(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public Channel<BackendConnection> Connections { get; } = Channel.CreateUnbounded<BackendConnection>();

    public Channel<Stream> RawConnections { get; } = Channel.CreateUnbounded<Stream>();

    public ConcurrentQueue<string> AllTexts { get; } = new();

    public static async Task<WsBackend> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var backend = new WsBackend(app);
        app.UseWebSockets();
        app.Run(ctx => ctx.Request.Path.StartsWithSegments("/raw") ? backend.RawAsync(ctx) : backend.EchoAsync(ctx));
        await app.StartAsync();
        backend.Url = app.Urls.First();
        return backend;
    }

    private async Task EchoAsync(HttpContext ctx)
    {
        if (!ctx.WebSockets.IsWebSocketRequest)
        {
            ctx.Response.StatusCode = 426;
            return;
        }

        var requested = ctx.WebSockets.WebSocketRequestedProtocols;
        var sub = requested.Count > 0 ? requested[0] : null;
        var headers = ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        using var socket = await ctx.WebSockets.AcceptWebSocketAsync(sub);
        var conn = new BackendConnection { Path = ctx.Request.Path, Query = ctx.Request.QueryString.Value ?? "", Headers = headers, SubProtocol = sub, Socket = socket };
        await Connections.Writer.WriteAsync(conn);
        var buffer = new byte[4 * 1024 * 1024];
        try
        {
            while (true)
            {
                var count = 0;
                WebSocketReceiveResult r;
                do
                {
                    r = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, count, buffer.Length - count), CancellationToken.None);
                    count += r.Count;
                }
                while (!r.EndOfMessage);

                if (r.MessageType == WebSocketMessageType.Close)
                {
                    conn.Closed.TrySetResult((r.CloseStatus, r.CloseStatusDescription));
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        await socket.CloseOutputAsync(r.CloseStatus ?? WebSocketCloseStatus.NormalClosure, r.CloseStatusDescription, CancellationToken.None);
                    }

                    return;
                }

                var text = Encoding.UTF8.GetString(buffer, 0, count);
                AllTexts.Enqueue(text);
                await conn.Texts.Writer.WriteAsync(text);
                if (text == "{\"type\":\"close\"}")
                {
                    await socket.CloseAsync((WebSocketCloseStatus)4002, "server bye", CancellationToken.None);
                    conn.Closed.TrySetResult((socket.CloseStatus, socket.CloseStatusDescription));
                    return;
                }

                await socket.SendAsync(buffer.AsMemory(0, count), r.MessageType, true, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException)
        {
            conn.Closed.TrySetResult((null, ex.GetType().Name));
        }
    }

    private async Task RawAsync(HttpContext ctx)
    {
        var key = ctx.Request.Headers["Sec-WebSocket-Key"].ToString();
#pragma warning disable CA5350 // RFC 6455 §4.2.2 defines the accept value with SHA-1; it is not used for security here.
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
        ctx.Response.Headers.Connection = "Upgrade";
        ctx.Response.Headers.Upgrade = "websocket";
        ctx.Response.Headers["Sec-WebSocket-Accept"] = accept;
        var stream = await ctx.Features.Get<IHttpUpgradeFeature>()!.UpgradeAsync();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await RawConnections.Writer.WriteAsync(new RawEnd(stream, done));
        await done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The backend's raw upgraded stream; disposing it ends the backend's request (the TCP connection closes).</summary>
internal sealed class RawEnd(Stream inner, TaskCompletionSource done) : Stream
{
    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        done.TrySetResult();
        base.Dispose(disposing);
    }
}
