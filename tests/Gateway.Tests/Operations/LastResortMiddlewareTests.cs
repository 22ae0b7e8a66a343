using System.Text;
using System.Text.Json;
using Gateway.Middleware;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Operations;

/// <summary>
/// An exception nothing else handled (two soaks each saw one bare 500): a JSON 503 to retry, and a log line with the
/// exception's type and place only — the message, which could quote a DM, never reaches the log.
/// </summary>
public sealed class LastResortMiddlewareTests
{
    [Fact]
    public async Task UnhandledException_JsonServiceUnavailable_LogsTypeAndSiteButNotTheMessage()
    {
        var secret = "dm-text-" + Guid.NewGuid().ToString("N");
        using var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var middleware = new LastResortMiddleware(_ => throw new ArgumentOutOfRangeException("index", secret), factory.CreateLogger<LastResortMiddleware>());
        var context = new DefaultHttpContext();
        context.Request.Method = "PUT";
        context.Response.Body = new MemoryStream();

        await middleware.InvokeAsync(context);

        Assert.Equal(503, context.Response.StatusCode);
        Assert.Equal("application/json", context.Response.ContentType);
        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray()));
        Assert.Equal("internal_error", doc.RootElement.GetProperty("error").GetString());
        var line = Assert.Single(logs.Lines);
        Assert.Contains("ArgumentOutOfRangeException", line, StringComparison.Ordinal);
        Assert.Contains("PUT", line, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, string.Join("\n", logs.Lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientGone_CancellationIsNotAnError()
    {
        using var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        using var aborted = new CancellationTokenSource();
        await aborted.CancelAsync();
        var middleware = new LastResortMiddleware(ctx => throw new OperationCanceledException(ctx.RequestAborted), factory.CreateLogger<LastResortMiddleware>());
        var context = new DefaultHttpContext { RequestAborted = aborted.Token };

        await Assert.ThrowsAsync<OperationCanceledException>(() => middleware.InvokeAsync(context));
        Assert.Empty(logs.Lines);
    }

    [Fact]
    public async Task NoException_PassesThroughUntouched()
    {
        using var factory = LoggerFactory.Create(_ => { });
        var middleware = new LastResortMiddleware(ctx =>
        {
            ctx.Response.StatusCode = 201;
            return Task.CompletedTask;
        }, factory.CreateLogger<LastResortMiddleware>());
        var context = new DefaultHttpContext();

        await middleware.InvokeAsync(context);
        Assert.Equal(201, context.Response.StatusCode);
    }
}
