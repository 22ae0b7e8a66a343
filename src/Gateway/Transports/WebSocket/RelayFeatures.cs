using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Transports.WebSocket;

/// <summary>Creates the relay around the client stream at the moment YARP accepts the upgrade.</summary>
internal sealed class RelayHolder(Func<Stream, WebSocketRelay> create)
{
    public WebSocketRelay? Relay { get; private set; }

    public Stream Wrap(Stream client)
    {
        Relay = create(client);
        return Relay;
    }
}

/// <summary>HTTP/1.1 upgrade: YARP calls <see cref="UpgradeAsync"/> after the backend answered 101 and gets the relay.</summary>
internal sealed class RelayUpgradeFeature(IHttpUpgradeFeature inner, RelayHolder holder) : IHttpUpgradeFeature
{
    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    public async Task<Stream> UpgradeAsync() => holder.Wrap(await inner.UpgradeAsync());
}

/// <summary>WebSockets over HTTP/2 (RFC 8441 extended CONNECT): the frames inside the stream are the same RFC 6455 frames.</summary>
internal sealed class RelayConnectFeature(IHttpExtendedConnectFeature inner, RelayHolder holder) : IHttpExtendedConnectFeature
{
    public bool IsExtendedConnect => inner.IsExtendedConnect;

    public string? Protocol => inner.Protocol;

    public async ValueTask<Stream> AcceptAsync() => holder.Wrap(await inner.AcceptAsync());
}

/// <summary>What YARP sees as RequestAborted on a relayed request: a token the relay cancels, not Kestrel's.</summary>
internal sealed class RelayLifetimeFeature(IHttpRequestLifetimeFeature inner, CancellationToken aborted) : IHttpRequestLifetimeFeature
{
    public CancellationToken RequestAborted { get => aborted; set => throw new NotSupportedException("the relay owns this token"); }

    public void Abort() => inner.Abort();
}
