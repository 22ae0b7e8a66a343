using System.Diagnostics.Metrics;
using Gateway.Protocols.Abstractions;

namespace Gateway.Telemetry;

/// <summary>
/// The WebSocket relay's instruments, on the gateway's one <see cref="Meter"/>: open relayed connections and frames
/// inspected, per protocol (a fixed set: the registered protocol names) and direction.
/// </summary>
internal sealed class RelayTelemetry
{
    public const string Connections = "gateway.websocket.connections";
    public const string FramesInspected = "gateway.websocket.frames";
    public const string DirectionTag = "gateway.direction";

    private readonly Counter<long> _frames;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, StrongBox> _open = new(StringComparer.Ordinal);
    private long _framesTotal;

    public RelayTelemetry(GatewayTelemetry telemetry)
    {
        _frames = telemetry.Meter.CreateCounter<long>(FramesInspected, "{frame}", "WebSocket text messages inspected by the relay.");
        telemetry.Meter.CreateObservableUpDownCounter(Connections, () =>
        {
            var list = new List<Measurement<long>>();
            foreach (var (protocol, box) in _open)
            {
                list.Add(new Measurement<long>(Interlocked.Read(ref box.Value), new KeyValuePair<string, object?>(GatewayTelemetry.ProtocolTag, protocol)));
            }

            return list;
        }, "{connection}", "WebSocket connections relayed frame by frame, open now.");
    }

    public long OpenConnections
    {
        get
        {
            long total = 0;
            foreach (var box in _open.Values)
            {
                total += Interlocked.Read(ref box.Value);
            }

            return total;
        }
    }

    public long FramesTotal => Interlocked.Read(ref _framesTotal);

    public void Opened(string protocol) => Interlocked.Increment(ref _open.GetOrAdd(protocol, _ => new StrongBox()).Value);

    public void Closed(string protocol) => Interlocked.Decrement(ref _open.GetOrAdd(protocol, _ => new StrongBox()).Value);

    public void FrameInspected(string protocol, FrameDirection direction)
    {
        Interlocked.Increment(ref _framesTotal);
        if (_frames.Enabled)
        {
            _frames.Add(1, new KeyValuePair<string, object?>(GatewayTelemetry.ProtocolTag, protocol),
                new KeyValuePair<string, object?>(DirectionTag, direction == FrameDirection.ClientToBackend ? "client" : "backend"));
        }
    }

    private sealed class StrongBox
    {
        public long Value;
    }
}
