using System.Net;
using Gateway.Configuration;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Telemetry;

namespace Gateway.Inspection;

/// <summary>
/// Step 5 and 6 of the data flow for any transport: evaluates a transport's messages against one policy snapshot
/// and does the side effects (telemetry, the verdict log line, DM context and reports). Transports apply the
/// verdicts themselves. The HTTP inspection middleware does the same inline today; it can call this instead.
/// </summary>
internal sealed class MessageEvaluator(ReportingPipeline reporting, GatewayTelemetry telemetry, ILogger<MessageEvaluator> logger)
{
    /// <summary>Fills <paramref name="verdicts"/> (one per message, same order; at least as long as the list).</summary>
    public void Evaluate(RuntimeSnapshot snapshot, RouteBinding binding, string protocol, IReadOnlyList<ChatMessage> messages,
        IPAddress? clientIp, Span<Verdict> verdicts)
    {
        if (messages.Count == 0)
        {
            return;
        }

        using var span = telemetry.StartEvaluate(protocol, binding.RouteId, messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var started = telemetry.EvaluationStarting();
            var v = snapshot.Policy.Evaluate(messages[i], binding.Backend);
            if (v.Action == VerdictAction.Censor && !binding.Capabilities.CanRewrite)
            {
                v = Fallback(v, binding.CensorFallback);
            }

            telemetry.Evaluated(protocol, binding.RouteId, v, started, span);
            verdicts[i] = v;
            if (v.Action != VerdictAction.Forward)
            {
                Log.Verdict(logger, v.Action.ToString().ToLowerInvariant(), v.DecidingFilter, binding.RouteId, protocol, messages[i].IsDirect);
            }

            reporting.OnVerdict(messages[i], v, binding, clientIp);
        }
    }

    /// <summary>
    /// A censor verdict on a route whose protocol cannot rewrite (signed bodies): the route's censor_fallback decides,
    /// and no rewritten text is carried, so no transport can forward it.
    /// </summary>
    internal static Verdict Fallback(Verdict censor, CensorFallback fallback) => censor with
    {
        Action = fallback switch
        {
            CensorFallback.Drop => VerdictAction.Drop,
            CensorFallback.Forward => VerdictAction.Forward,
            _ => VerdictAction.Reject,
        },
        Rewritten = null,
    };
}
