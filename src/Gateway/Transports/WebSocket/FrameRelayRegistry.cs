using System.Collections.Concurrent;
using System.Net;
using Gateway.Runtime;

namespace Gateway.Transports.WebSocket;

/// <summary>
/// The open relayed connections and their client addresses: when a reload or the admin API blocks an address, its
/// open connections close with 1008 (policy violation). The upgrade itself already met the IP gate.
/// </summary>
internal sealed class FrameRelayRegistry : IDisposable
{
    public const int BlockedCloseCode = 1008;

    private readonly ConcurrentDictionary<WebSocketRelay, IPAddress?> _open = new();
    private readonly GatewayState _state;
    private readonly TimeProvider _time;
    private readonly ILogger<FrameRelayRegistry> _logger;

    public FrameRelayRegistry(GatewayState state, TimeProvider time, ILogger<FrameRelayRegistry> logger)
    {
        _state = state;
        _time = time;
        _logger = logger;
        state.Changed += OnChanged;
    }

    public int Count => _open.Count;

    public void Add(WebSocketRelay relay, IPAddress? clientIp)
    {
        _open[relay] = clientIp;
        // A block added between the IP gate and this line must not miss the connection.
        CloseIfBlocked(_state.Current, relay, clientIp);
    }

    public void Remove(WebSocketRelay relay) => _open.TryRemove(relay, out _);

    private void OnChanged(RuntimeSnapshot snapshot)
    {
        if (snapshot.IpBlocks.Count == 0)
        {
            return;
        }

        foreach (var (relay, ip) in _open)
        {
            CloseIfBlocked(snapshot, relay, ip);
        }
    }

    private void CloseIfBlocked(RuntimeSnapshot snapshot, WebSocketRelay relay, IPAddress? ip)
    {
        if (ip is not null && snapshot.IpBlocks.Count > 0 && snapshot.IpBlocks.IsBlocked(ip, _time.GetUtcNow()))
        {
            Log.RelayBlocked(_logger);
            relay.RequestClose(BlockedCloseCode, "blocked");
        }
    }

    public void Dispose() => _state.Changed -= OnChanged;
}
