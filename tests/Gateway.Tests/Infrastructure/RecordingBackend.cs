using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Infrastructure;

/// <summary>What the backend received for one request.</summary>
internal sealed record ReceivedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, string Sha256, long Length);

/// <summary>
/// A real Kestrel server on 127.0.0.1:0 that records every request. Small bodies are kept whole; every body is
/// hashed while streaming so large passthrough bodies can be compared byte for byte without buffering them.
/// Answers 201 with {"ok":true} unless a test sets <see cref="Responder"/>.
/// </summary>
internal sealed class RecordingBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public Func<HttpContext, ReceivedRequest, Task>? Responder { get; set; }

    private RecordingBackend(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public static async Task<RecordingBackend> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var backend = new RecordingBackend(app);
        app.Run(async ctx =>
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var keep = new MemoryStream();
            var buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = await ctx.Request.Body.ReadAsync(buffer)) > 0)
            {
                sha.AppendData(buffer, 0, read);
                total += read;
                if (keep.Length < 4 * 1024 * 1024)
                {
                    keep.Write(buffer, 0, read);
                }
            }

            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var h in ctx.Request.Headers)
            {
                headers[h.Key] = h.Value.ToString();
            }

            var rec = new ReceivedRequest(ctx.Request.Method, ctx.Request.Path + ctx.Request.QueryString, headers, keep.ToArray(),
                Convert.ToHexString(sha.GetHashAndReset()), total);
            backend.Received.Enqueue(rec);
            if (backend.Responder is { } r)
            {
                await r(ctx, rec);
                return;
            }

            ctx.Response.StatusCode = 201;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{\"ok\":true}");
        });
        await app.StartAsync();
        backend.Url = app.Urls.First();
        return backend;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
