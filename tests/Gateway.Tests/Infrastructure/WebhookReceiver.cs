using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Infrastructure;

/// <summary>One delivery the receiver saw, with its own verdict on the signature.</summary>
internal sealed record Delivery(string Body, string? IdempotencyKey, bool SignatureValid, long Timestamp)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}

/// <summary>
/// A real report receiver (Kestrel on loopback) that verifies X-Gateway-Signature the way the README tells users to:
/// HMAC-SHA256 over "timestamp.body", constant-time compare, timestamp within 5 minutes. Its behaviour can be
/// switched to failing (503), hanging, or slow.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly byte[] _secret;

    public enum Mode
    {
        Ok,
        Fail,
        Hang,
        Slow,

        /// <summary>The next request gets 429 with Retry-After: 3600, then the receiver behaves as <see cref="Ok"/>.</summary>
        TooManyRequestsOnce,
    }

    private WebhookReceiver(WebApplication app, byte[] secret)
    {
        _app = app;
        _secret = secret;
    }

    public ConcurrentQueue<Delivery> Deliveries { get; } = new();

    public volatile Mode Behaviour = Mode.Ok;

    public int Attempts;

    public string Url { get; private set; } = "";

    public static async Task<WebhookReceiver> StartAsync(string secret, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, Encoding.UTF8.GetBytes(secret));
        app.MapPost("/hook", async (HttpContext ctx) =>
        {
            Interlocked.Increment(ref receiver.Attempts);
            using var ms = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(ms);
            var body = ms.ToArray();
            switch (receiver.Behaviour)
            {
                case Mode.Fail:
                    ctx.Response.StatusCode = 503;
                    return;
                case Mode.Hang:
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    return;
                case Mode.Slow:
                    await Task.Delay(300);
                    break;
                case Mode.TooManyRequestsOnce:
                    receiver.Behaviour = Mode.Ok;
                    ctx.Response.StatusCode = 429;
                    ctx.Response.Headers.RetryAfter = "3600";
                    return;
            }

            var ts = ctx.Request.Headers["X-Gateway-Timestamp"].ToString();
            var sig = ctx.Request.Headers["X-Gateway-Signature"].ToString();
            var valid = receiver.Verify(ts, sig, body, out var timestamp);
            receiver.Deliveries.Enqueue(new Delivery(Encoding.UTF8.GetString(body), ctx.Request.Headers["Idempotency-Key"].ToString(), valid, timestamp));
            ctx.Response.StatusCode = valid ? 200 : 401;
        });
        await app.StartAsync();
        receiver.Url = app.Urls.First() + "/hook";
        return receiver;
    }

    private bool Verify(string timestamp, string signature, byte[] body, out long ts)
    {
        ts = 0;
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out ts)
            || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - ts) > 300 || !signature.StartsWith("sha256=", StringComparison.Ordinal))
        {
            return false;
        }

        byte[] data = [.. Encoding.ASCII.GetBytes(timestamp + "."), .. body];
        var expected = HMACSHA256.HashData(_secret, data);
        byte[] given;
        try
        {
            given = Convert.FromHexString(signature["sha256=".Length..]);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    public async Task<IReadOnlyList<Delivery>> WaitForAsync(int count, int seconds = 30)
    {
        for (var i = 0; i < seconds * 20 && Deliveries.Count < count; i++)
        {
            await Task.Delay(50);
        }

        return Deliveries.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
