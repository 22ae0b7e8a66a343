using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Operations;

/// <summary>
/// A real OTLP/HTTP receiver on 127.0.0.1:0: a Kestrel app accepting POST /v1/metrics, /v1/traces and /v1/logs with
/// protobuf bodies, answering 200 with an empty (valid) Export*ServiceResponse. Protobuf keeps strings as raw UTF-8,
/// so metric, span and attribute names can be found by searching the bytes.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<(string Signal, string ContentType, byte[] Body)> Received { get; } = new();

    public string Url { get; private set; } = "";

    /// <summary>The value of the x-test-tenant header on the last export (the config's [telemetry] headers).</summary>
    public string? TenantHeader { get; private set; }

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (string signal, HttpContext context) =>
        {
            using var copy = new MemoryStream();
            var body = context.Request.Headers.ContentEncoding == "gzip"
                ? new GZipStream(context.Request.Body, CompressionMode.Decompress)
                : context.Request.Body;
            await body.CopyToAsync(copy);
            receiver.TenantHeader = context.Request.Headers["x-test-tenant"];
            receiver.Received.Enqueue((signal, context.Request.ContentType ?? "", copy.ToArray()));
            return Results.Bytes(Array.Empty<byte>(), "application/x-protobuf");
        });
        await app.StartAsync();
        receiver.Url = app.Urls.First();
        return receiver;
    }

    public bool Contains(string signal, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        foreach (var (s, _, body) in Received)
        {
            if (s == signal && body.AsSpan().IndexOf(needle) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    public bool ContainsAnywhere(string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        foreach (var (_, _, body) in Received)
        {
            if (body.AsSpan().IndexOf(needle) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Polls until every name has arrived in <paramref name="signal"/> exports, or the time is up; returns the missing ones.</summary>
    public async Task<IReadOnlyList<string>> WaitForAsync(string signal, IEnumerable<string> names, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var missing = names.ToList();
        while (true)
        {
            missing.RemoveAll(n => Contains(signal, n));
            if (missing.Count == 0 || clock.Elapsed > timeout)
            {
                return missing;
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
