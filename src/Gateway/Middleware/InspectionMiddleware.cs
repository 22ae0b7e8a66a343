using System.Runtime.InteropServices;
using System.Buffers;
using System.Text;
using Gateway.Configuration;
using Gateway.Inspection;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Reporting;
using Gateway.Runtime;
using Yarp.ReverseProxy.Model;

namespace Gateway.Middleware;

/// <summary>
/// Steps 4–7 inside YARP's pipeline: for routes bound to an adapter, read the body (bounded), parse, evaluate,
/// and either answer the client or forward the original or rewritten body. Routes without an adapter return
/// <c>next(context)</c> synchronously: bytes, headers and streaming stay untouched.
/// </summary>
internal sealed class InspectionMiddleware(RequestDelegate next, GatewayState state, ReportingPipeline reporting, MessageEvaluator evaluator,
    Telemetry.GatewayTelemetry telemetry, ILogger<InspectionMiddleware> logger)
{
    public const string NoticeHeader = "X-Gateway-Notice";

    public Task InvokeAsync(HttpContext context)
    {
        var routeId = context.GetReverseProxyFeature().Route.Config.RouteId;
        var snapshot = state.Current;
        if (!snapshot.Routes.TryGetValue(routeId, out var binding) || binding.Adapter is null
            || !binding.Adapter.ShouldInspect(context.Request))
        {
            return next(context);
        }

        return InspectAsync(context, snapshot, binding, binding.Adapter);
    }

    private async Task InspectAsync(HttpContext context, RuntimeSnapshot snapshot, RouteBinding binding, IProtocolAdapter adapter)
    {
        var limit = snapshot.Config.Limits.MaxBodyBytes;
        var request = context.Request;
        if (request.ContentLength > limit)
        {
            Log.TooLarge(logger, binding.RouteId, limit);
            await WriteJsonAsync(context, StatusCodes.Status413PayloadTooLarge, TooLargeBody(limit));
            return;
        }

        var buffer = new PooledBody((int)Math.Min(request.ContentLength ?? 16 * 1024, limit) + 1);
        try
        {
            bool tooLarge;
            try
            {
                tooLarge = await buffer.ReadBoundedAsync(request.Body, limit, context.RequestAborted);
            }
            catch (Exception ex) when (ClientFaultHandling.Classify(ex, context) is { } fault)
            {
                await ClientFaultHandling.RespondAsync(context, binding.RouteId, fault, telemetry, logger);
                return;
            }

            if (tooLarge)
            {
                Log.TooLarge(logger, binding.RouteId, limit);
                await WriteJsonAsync(context, StatusCodes.Status413PayloadTooLarge, TooLargeBody(limit));
                return;
            }

            var body = buffer.Memory;
            AdapterOutcome outcome;
            try
            {
                AdapterParse parsed;
                using (telemetry.StartParse(adapter.Protocol, binding.RouteId))
                {
                    parsed = await adapter.ParseAsync(context, body, context.RequestAborted);
                }

                if (parsed.Error is { } error)
                {
                    Log.BadBody(logger, binding.RouteId, error.Code);
                    if (binding.OnError == OnError.Forward)
                    {
                        await ForwardAsync(context, body);
                        return;
                    }

                    await WriteJsonAsync(context, StatusCodes.Status400BadRequest, error.ResponseBody ?? ErrorBody(error.Code, error.Detail));
                    return;
                }

                if (parsed.UserReport is { } userReport && parsed.Messages.Count == 0)
                {
                    reporting.OnUserReport(userReport, binding, context.Features.Get<ClientIpFeature>()?.Address);
                    await ForwardAsync(context, body);
                    return;
                }

                outcome = await DecideAsync(context, snapshot, binding, adapter, parsed, body);

                // A report whose own text the adapter asked to be checked (a module that refuses some report reasons)
                // is reported only when it goes on to the backend.
                if (parsed.UserReport is { } checkedReport && outcome.Kind != OutcomeKind.Respond)
                {
                    reporting.OnUserReport(checkedReport, binding, context.Features.Get<ClientIpFeature>()?.Address);
                }
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
            {
                // Any fault but the client going away, a cancellation from inside included (a soak saw one bare 500).
                Log.InspectionFailed(logger, binding.RouteId, ex.GetType().Name, binding.OnError.ToString());
                if (binding.OnError == OnError.Forward)
                {
                    await ForwardAsync(context, body);
                    return;
                }

                await WriteJsonAsync(context, StatusCodes.Status503ServiceUnavailable,
                    ErrorBody("filter_unavailable", "The message could not be checked, so it was not delivered. Try again."));
                return;
            }

            switch (outcome.Kind)
            {
                case OutcomeKind.Respond:
                    await WriteAsync(context, outcome.Status, outcome.ContentType, outcome.Body ?? Array.Empty<byte>());
                    return;
                case OutcomeKind.ForwardRewritten when outcome.Response is { } rewriter:
                    await ForwardRewritingAsync(context, binding, outcome.Body!, rewriter, limit);
                    return;
                case OutcomeKind.ForwardRewritten:
                    await ForwardAsync(context, outcome.Body!);
                    return;
                case OutcomeKind.Forward when outcome.Response is { } rewriter:
                    await ForwardRewritingAsync(context, binding, body, rewriter, limit);
                    return;
                default:
                    await ForwardAsync(context, body);
                    return;
            }
        }
        finally
        {
            buffer.Dispose();
        }
    }

    private async ValueTask<AdapterOutcome> DecideAsync(HttpContext context, RuntimeSnapshot snapshot, RouteBinding binding, IProtocolAdapter adapter,
        AdapterParse parsed, ReadOnlyMemory<byte> body)
    {
        var messages = parsed.Messages;
        var clientIp = context.Features.Get<ClientIpFeature>()?.Address;
        var verdicts = messages.Count <= 1 ? new Verdict[1] : new Verdict[messages.Count];
        await evaluator.EvaluateAsync(snapshot, binding, adapter.Protocol, messages, clientIp, verdicts, context.RequestAborted);
        for (var i = 0; i < messages.Count; i++)
        {
            var v = verdicts[i];
            if (v.Notice is not null && v.Action is VerdictAction.Forward or VerdictAction.Censor)
            {
                // The notice rides on the backend's answer; header values must be ASCII-safe.
                var notice = Uri.EscapeDataString(v.Notice);
                context.Response.OnStarting(() =>
                {
                    context.Response.Headers[NoticeHeader] = notice;
                    return Task.CompletedTask;
                });
            }
        }

        return adapter.Apply(context, parsed, verdicts.AsSpan(0, messages.Count), body);
    }

    /// <summary>
    /// Hands YARP a body it can send: fixed length, no chunked framing left from the client. The unchanged body is the
    /// pooled buffer itself, not a copy: it stays rented until this call (and so the forward) has finished.
    /// </summary>
    private Task ForwardAsync(HttpContext context, ReadOnlyMemory<byte> body)
    {
        var request = context.Request;
        request.Body = MemoryMarshal.TryGetArray(body, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(body.ToArray(), writable: false);
        request.ContentLength = body.Length;
        request.Headers.Remove("Transfer-Encoding");
        return next(context);
    }

    /// <summary>Forwards, holding the backend's answer (bounded by the body limit) for the adapter's rewriter.</summary>
    private Task ForwardRewritingAsync(HttpContext context, RouteBinding binding, ReadOnlyMemory<byte> body, IResponseRewriter rewriter, long limit) =>
        ResponseRewriting.RunAsync(context, rewriter, limit, () => ForwardAsync(context, body),
            ex => Log.InspectionFailed(logger, binding.RouteId, ex.GetType().Name, "pass the answer unchanged"));

    private static byte[] TooLargeBody(long limit) =>
        ErrorBody("body_too_large", $"The request body is larger than the limit of {limit} bytes.");

    internal static byte[] ErrorBody(string code, string message) =>
        Encoding.UTF8.GetBytes($"{{\"error\":\"{code}\",\"message\":{System.Text.Json.JsonSerializer.Serialize(message)}}}");

    private static Task WriteJsonAsync(HttpContext context, int status, byte[] body) => WriteAsync(context, status, "application/json", body);

    private static async Task WriteAsync(HttpContext context, int status, string contentType, byte[] body)
    {
        // Don't let a 413 wait for a client that keeps sending: the connection closes after the answer.
        if (status == StatusCodes.Status413PayloadTooLarge)
        {
            context.Response.Headers.Connection = "close";
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }
}

/// <summary>A request body read into a pooled array, never more than the limit plus one byte.</summary>
internal sealed class PooledBody(int initialSize) : IDisposable
{
    private byte[] _array = ArrayPool<byte>.Shared.Rent(Math.Max(initialSize, 256));
    private int _count;

    public ReadOnlyMemory<byte> Memory => new(_array, 0, _count);

    /// <summary>Reads the whole stream; true when it holds more than <paramref name="limit"/> bytes.</summary>
    public async Task<bool> ReadBoundedAsync(Stream stream, long limit, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_count == _array.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)_array.Length * 2, limit + 1));
                Buffer.BlockCopy(_array, 0, bigger, 0, _count);
                var old = _array;
                _array = bigger;
                ArrayPool<byte>.Shared.Return(old);
            }

            var read = await stream.ReadAsync(_array.AsMemory(_count), cancellationToken);
            if (read == 0)
            {
                return false;
            }

            _count += read;
            if (_count > limit)
            {
                return true;
            }
        }
    }

    public void Dispose()
    {
        var a = _array;
        _array = Array.Empty<byte>();
        if (a.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(a);
        }
    }
}
