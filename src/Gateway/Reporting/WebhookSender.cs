using Gateway.Protocols.Configuration;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Gateway.Configuration;
using Gateway.Runtime;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Gateway.Reporting;

/// <summary>
/// Delivers queued reports to the webhook, one at a time, in order. Each HTTP attempt is signed afresh
/// (<see cref="SigningHandler"/>); the resilience handler retries transient failures with exponential backoff,
/// jitter and Retry-After; if a whole round fails the report stays at the head of the queue and the next round
/// waits longer (capped), so a webhook that is down for a while loses nothing the queue can hold. On shutdown the
/// queue is drained for at most <see cref="ReportSettings.DrainSeconds"/>; what is left is counted as dropped.
/// </summary>
internal sealed class WebhookSender(
    ReportQueue queue,
    GatewayState state,
    IHttpClientFactory httpClients,
    TimeProvider time,
    Telemetry.GatewayTelemetry telemetry,
    ILogger<WebhookSender> logger) : BackgroundService
{
    public const string ClientName = "gateway-webhook";
    public const string SignatureHeader = "X-Gateway-Signature";
    public const string TimestampHeader = "X-Gateway-Timestamp";
    public const string IdempotencyHeader = "Idempotency-Key";

    internal static readonly HttpRequestOptionsKey<Secret> SecretOption = new("gateway.webhook.secret");

    private static readonly TimeSpan MaxRoundDelay = TimeSpan.FromSeconds(30);

    // Sends run under this token, not the stopping token: a delivery in flight at shutdown finishes (within the
    // drain time) instead of being cut off and sent again.
    private readonly CancellationTokenSource _sends = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var round = 0;
        try
        {
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                while (queue.Reader.TryPeek(out var report))
                {
                    var (done, retryAfter) = await DeliverAsync(report, _sends.Token);
                    if (done)
                    {
                        queue.Reader.TryRead(out _);
                        round = 0;
                        continue;
                    }

                    round++;
                    queue.Stats.CountRetried();
                    var delay = retryAfter ?? TimeSpan.FromMilliseconds(Math.Min(MaxRoundDelay.TotalMilliseconds, 250 * Math.Pow(2, round)));
                    await Task.Delay(delay > MaxRoundDelay ? MaxRoundDelay : delay, time, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down: StopAsync drains
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Complete();
        if (Volatile.Read(ref _disposed) == 1)
        {
            return;
        }

        var seconds = state.Current.Config.Reports.DrainSeconds;
        _sends.CancelAfter(TimeSpan.FromSeconds(seconds));
        using var hostGaveUp = cancellationToken.Register(_sends.Cancel);
        await base.StopAsync(cancellationToken);
        var linked = _sends;
        var delivered = 0;
        try
        {
            while (queue.Reader.TryPeek(out var report))
            {
                var (done, _) = await DeliverAsync(report, linked.Token);
                if (!done)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200), time, linked.Token);
                    continue;
                }

                queue.Reader.TryRead(out _);
                delivered++;
            }
        }
        catch (OperationCanceledException)
        {
            // drain time is over
        }

        var left = 0;
        while (queue.Reader.TryRead(out _))
        {
            left++;
        }

        if (left > 0)
        {
            queue.Stats.CountDropped(left);
        }

        Log.ReportsDrained(logger, delivered, left);
    }

    private int _disposed;

    public override void Dispose()
    {
        // The host may stop a service after disposing it (or twice): StopAsync checks this flag.
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _sends.Dispose();
        }

        base.Dispose();
    }

    /// <summary>(true, _) when the report is finished with (sent, or refused for good); otherwise when to try again.</summary>
    private async Task<(bool Done, TimeSpan? RetryAfter)> DeliverAsync(Report report, CancellationToken cancellationToken)
    {
        var settings = state.Current.Config.ReportsFor(report.Backend);
        if (!settings.Enabled || settings.Secret is null)
        {
            // Reports were switched off by a reload: nothing to deliver to.
            queue.Stats.CountDropped();
            return (true, null);
        }

        using var span = telemetry.StartReport(report.Kind, report.Id);
        var body = settings.Writer is { } writer ? writer.Write(report.ToView(), settings.ApiKey) : report.ToGatewayJson();
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.Url);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation(IdempotencyHeader, report.Id.ToString());
        request.Options.Set(SecretOption, settings.Secret);
        try
        {
            var client = httpClients.CreateClient(ClientName);
            using var response = await client.SendAsync(request, cancellationToken);
            span?.SetTag("http.response.status_code", (int)response.StatusCode);
            if (response.IsSuccessStatusCode)
            {
                queue.Stats.CountSent();
                Log.ReportSent(logger, report.Id, (int)response.StatusCode);
                return (true, null);
            }

            var status = (int)response.StatusCode;
            if (status is >= 400 and < 500 && status is not 408 and not 429)
            {
                queue.Stats.CountRejected();
                Log.ReportRefused(logger, report.Id, status);
                return (true, null);
            }

            Log.ReportDeferred(logger, report.Id, status.ToString(CultureInfo.InvariantCulture));
            return (false, CappedRetryAfter(response, time.GetUtcNow(), state.Current.Config.Reports));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or TimeoutException or Polly.Timeout.TimeoutRejectedException
                                       && !cancellationToken.IsCancellationRequested)
        {
            Log.ReportDeferred(logger, report.Id, ex.GetType().Name);
            return (false, null);
        }
    }

    /// <summary>
    /// The receiver's Retry-After (delta or date), cut to <see cref="ReportSettings.MaxRetryAfterSeconds"/>: one
    /// <c>429 Retry-After: 3600</c> must not stall every report behind it for an hour (issue 9). Null when absent.
    /// </summary>
    internal static TimeSpan? CappedRetryAfter(HttpResponseMessage? response, DateTimeOffset now, ReportSettings settings)
    {
        var ra = response?.Headers.RetryAfter;
        var asked = ra?.Delta is { } delta ? delta
            : ra?.Date is { } date && date > now ? date - now
            : (TimeSpan?)null;
        if (asked is not { } wait)
        {
            return null;
        }

        var cap = TimeSpan.FromSeconds(settings.MaxRetryAfterSeconds);
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait > cap ? cap : wait;
    }

    /// <summary>Registers the webhook client: resilience (retry with backoff, jitter, capped Retry-After; per-attempt timeout) and signing.</summary>
    public static void AddWebhookClient(IServiceCollection services, ReportSettings settings)
    {
        services.AddTransient<SigningHandler>();
        // Handlers run outermost first: resilience around signing, so every attempt is signed afresh.
        var client = services.AddHttpClient(ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        client.AddResilienceHandler("webhook", (b, context) =>
            {
                var state = context.ServiceProvider.GetRequiredService<GatewayState>();
                var time = context.ServiceProvider.GetRequiredService<TimeProvider>();
                b.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = Math.Max(0, settings.MaxAttempts - 1),
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(200),
                    MaxDelay = TimeSpan.FromSeconds(10),
                    // The built-in Retry-After handling waits whatever the receiver asks (MaxDelay does not apply to
                    // it): read the header ourselves and cap it. Null falls back to the exponential backoff.
                    ShouldRetryAfterHeader = false,
                    DelayGenerator = args => ValueTask.FromResult(
                        CappedRetryAfter(args.Outcome.Result, time.GetUtcNow(), state.Current.Config.Reports)),
                });
                b.AddTimeout(TimeSpan.FromSeconds(settings.TimeoutSeconds));
            });
        client.AddHttpMessageHandler<SigningHandler>();
    }
}

/// <summary>
/// Signs every attempt: X-Gateway-Timestamp (unix seconds) and X-Gateway-Signature = "sha256=" + hex(HMAC-SHA256(secret,
/// timestamp + "." + body)). Signing per attempt keeps retries inside a receiver's replay window.
/// </summary>
internal sealed class SigningHandler(TimeProvider time, ReportStats stats) : DelegatingHandler
{
    private const string AttemptKey = "gateway.webhook.attempt";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Options.TryGetValue(WebhookSender.SecretOption, out var secret) && request.Content is not null)
        {
            var body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            request.Headers.Remove(WebhookSender.TimestampHeader);
            request.Headers.Remove(WebhookSender.SignatureHeader);
            request.Headers.TryAddWithoutValidation(WebhookSender.TimestampHeader, timestamp);
            request.Headers.TryAddWithoutValidation(WebhookSender.SignatureHeader, "sha256=" + Sign(secret.Value, timestamp, body));
        }

        var attemptKey = new HttpRequestOptionsKey<int>(AttemptKey);
        request.Options.TryGetValue(attemptKey, out var attempt);
        if (attempt > 0)
        {
            stats.CountRetried();
        }

        request.Options.Set(attemptKey, attempt + 1);
        return await base.SendAsync(request, cancellationToken);
    }

    public static string Sign(byte[] secret, string timestamp, ReadOnlySpan<byte> body)
    {
        var ts = Encoding.ASCII.GetBytes(timestamp + ".");
        var data = new byte[ts.Length + body.Length];
        ts.CopyTo(data, 0);
        body.CopyTo(data.AsSpan(ts.Length));
        return Convert.ToHexStringLower(HMACSHA256.HashData(secret, data));
    }
}
