using Microsoft.AspNetCore.Http;

namespace Gateway.Middleware;

/// <summary>
/// The outermost middleware: an exception nothing else handled becomes a JSON 503 the client can retry, not ASP.NET
/// Core's bare 500 (two 30-minute soaks each saw one, on the JSON route and the Matrix policy server), and the log
/// line names the exception's type and the method that threw it — never its message, which may quote a message or a
/// token (Kestrel's own "unhandled exception" entry prints the whole exception). A response already under way cannot
/// change its status: the connection is aborted, so the client sees a cut answer rather than a truncated body that
/// looks whole.
/// </summary>
internal sealed class LastResortMiddleware(RequestDelegate next, ILogger<LastResortMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            var site = Gateway.Protocols.Abstractions.ExceptionSite.Of(ex);
            if (context.Response.HasStarted)
            {
                Log.Unhandled(logger, ex.GetType().Name, site, context.Request.Method, 0);
                context.Abort();
                return;
            }

            Log.Unhandled(logger, ex.GetType().Name, site, context.Request.Method, StatusCodes.Status503ServiceUnavailable);
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "application/json";
            context.Response.Headers.RetryAfter = "1";
            var body = InspectionMiddleware.ErrorBody("internal_error", "The gateway could not handle this request. Try again.");
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }
    }
}
