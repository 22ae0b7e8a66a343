using System.Text;
using Gateway.Telemetry;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Gateway.Middleware;

/// <summary>
/// Client faults (issue 9, defect 11): a malformed chunked body, a body slower than MinRequestBodyDataRate, a client
/// that resets mid-body. They are the client's doing, so they get a 4xx while an answer is still possible, one Debug
/// line without a stack trace and a count in gateway.client.faults — never a 500 and an Error with a stack per client.
/// </summary>
internal static class ClientFaultHandling
{
    private const string UnexpectedEnd = "Unexpected end of request content";

    private static readonly byte[] BadRequestBody = Encoding.UTF8.GetBytes("""{"error":"bad_request","message":"The request body could not be read."}""");
    private static readonly byte[] TimeoutBody = Encoding.UTF8.GetBytes("""{"error":"request_timeout","message":"The request body arrived too slowly."}""");

    /// <summary>The fault an exception from reading the request body stands for; null when it is not the client's.</summary>
    public static ClientFault? Classify(Exception exception, HttpContext context)
    {
        // A client that is gone is "aborted", whatever the reader made of the missing bytes ("Unexpected end of
        // request content").
        if (context.RequestAborted.IsCancellationRequested)
        {
            return ClientFault.Aborted;
        }

        // YARP wraps the body copy's failure in an AggregateException whose first inner exception is the client's.
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout }:
                    return ClientFault.Timeout;
                case BadHttpRequestException when e.Message.StartsWith(UnexpectedEnd, StringComparison.Ordinal):
                    // The input ended before the body did: the client closed or reset, and Kestrel can report that
                    // before it signals RequestAborted. Its rejection reason is internal; the message is the
                    // fixed CoreStrings text.
                    return ClientFault.Aborted;
                case BadHttpRequestException:
                    return ClientFault.BadRequest;
                case Microsoft.AspNetCore.Connections.ConnectionResetException:
                    return ClientFault.Aborted;
                case IOException:
                    // Kestrel reports bad chunked framing as IOException ("Bad chunk size data") while the
                    // connection is still up and can carry a 400.
                    return ClientFault.BadRequest;
            }
        }

        return exception is OperationCanceledException ? ClientFault.Aborted : null;
    }

    /// <summary>Counts and logs the fault and answers 400/408 when the connection can still carry an answer.</summary>
    public static async Task RespondAsync(HttpContext context, string route, ClientFault fault, GatewayTelemetry telemetry, ILogger logger)
    {
        telemetry.CountClientFault(fault);
        var status = 0;
        if (fault != ClientFault.Aborted && !context.Response.HasStarted)
        {
            status = fault == ClientFault.Timeout ? StatusCodes.Status408RequestTimeout : StatusCodes.Status400BadRequest;
            var body = fault == ClientFault.Timeout ? TimeoutBody : BadRequestBody;
            var response = context.Response;
            response.StatusCode = status;
            // The rest of the body can never be read: the connection cannot carry another request.
            response.Headers.Connection = "close";
            response.ContentType = "application/json";
            response.ContentLength = body.Length;
            try
            {
                // Not RequestAborted: Kestrel signals it for bad framing while the connection can still answer.
                // Kestrel's MinResponseDataRate bounds this write.
                await response.Body.WriteAsync(body, CancellationToken.None);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                // Gone while we answered: nothing more to do.
            }
        }

        Log.ClientFault(logger, route, GatewayTelemetry.Name(fault), status);
    }
}

/// <summary>
/// Around YARP's forwarder for every route: when a forward failed because of the client's body (YARP's
/// RequestBodyClient, or a cancel because the client left), the fault is counted and logged like an inspected
/// route's, and a too-slow body answers 408 rather than 400.
/// </summary>
internal sealed class ClientFaultMiddleware(RequestDelegate next, GatewayTelemetry telemetry, ILogger<ClientFaultMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        var forwarding = next(context);
        if (forwarding.IsCompletedSuccessfully)
        {
            Check(context);
            return Task.CompletedTask;
        }

        return AwaitAsync(forwarding, context);
    }

    private async Task AwaitAsync(Task forwarding, HttpContext context)
    {
        await forwarding;
        Check(context);
    }

    private void Check(HttpContext context)
    {
        if (context.Features.Get<IForwarderErrorFeature>() is not { } error)
        {
            return;
        }

        ClientFault? fault = error.Error switch
        {
            ForwarderError.RequestBodyClient =>
                (error.Exception is null ? null : ClientFaultHandling.Classify(error.Exception, context)) ?? ClientFault.BadRequest,
            ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled when context.RequestAborted.IsCancellationRequested =>
                ClientFault.Aborted,
            _ => null,
        };
        if (fault is not { } f)
        {
            return;
        }

        var response = context.Response;
        if (f == ClientFault.Timeout && !response.HasStarted)
        {
            response.StatusCode = StatusCodes.Status408RequestTimeout;
        }

        telemetry.CountClientFault(f);
        var answered = f == ClientFault.Aborted ? 0 : response.StatusCode;
        Log.ClientFault(logger, context.GetReverseProxyFeature().Route.Config.RouteId, GatewayTelemetry.Name(f), answered);
    }
}
