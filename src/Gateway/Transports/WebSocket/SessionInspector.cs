using System.Net;
using Gateway.Configuration;
using Gateway.Inspection;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Telemetry;

namespace Gateway.Transports.WebSocket;

/// <summary>
/// The host's half of a frame: the session parses, the host evaluates against the policy snapshot current at that
/// frame (so a reload applies to open connections at once), and the session applies the verdicts. Failures follow
/// the route's on_error: forward, or fail closed (the session's error frame, or close 1011 when the filter faulted).
/// </summary>
internal sealed class SessionInspector(IFrameSession session, string protocol, RouteBinding binding, IPAddress? clientIp,
    GatewayState state, MessageEvaluator evaluator, ReportingPipeline reporting, GatewayTelemetry telemetry, RelayTelemetry relayTelemetry, ILogger logger)
    : ITextFrameInspector
{
    public bool InspectsBackendFrames => session.InspectsBackendFrames;

    public async ValueTask<FrameOutcome> InspectAsync(FrameDirection direction, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        try
        {
            FrameParse parsed;
            using (telemetry.StartParse(protocol, binding.RouteId))
            {
                parsed = session.Parse(direction, payload);
            }

            relayTelemetry.FrameInspected(protocol, direction);
            if (parsed.Error is { } error)
            {
                Log.BadFrame(logger, binding.RouteId, error.Code);
                return binding.OnError == OnError.Forward || direction == FrameDirection.BackendToClient
                    ? FrameOutcome.Forward
                    : FrameOutcome.Drop(parsed.ErrorReply is null ? null : new[] { parsed.ErrorReply });
            }

            if (ReferenceEquals(parsed, FrameParse.Pass))
            {
                return FrameOutcome.Forward;
            }

            if (parsed.UserReport is { } userReport)
            {
                reporting.OnUserReport(userReport, binding, clientIp);
                return FrameOutcome.Forward;
            }

            var verdicts = parsed.Messages.Count == 0 ? Array.Empty<Verdict>() : new Verdict[parsed.Messages.Count];
            await evaluator.EvaluateAsync(state.Current, binding, protocol, parsed.Messages, clientIp, verdicts, cancellationToken);
            var outcome = session.Apply(parsed, verdicts);
            foreach (var v in verdicts)
            {
                if (v.DecidingFilter == MessageEvaluator.SenderBlockRule && v.Action == VerdictAction.Reject)
                {
                    // A blocked sender's connection closes after the notice (the protocol's own reject frames).
                    return FrameOutcome.Close(1008, "sender blocked", outcome.Replies);
                }
            }

            return outcome;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.InspectionFailed(logger, binding.RouteId, ex.GetType().Name, binding.OnError.ToString());
            return binding.OnError == OnError.Forward
                ? FrameOutcome.Forward
                : FrameOutcome.Close(1011, "the message could not be checked");
        }
    }
}
