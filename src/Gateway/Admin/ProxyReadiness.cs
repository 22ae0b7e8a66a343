namespace Gateway.Admin;

/// <summary>
/// Whether the proxy listener takes traffic, as the admin listener's <c>/readyz</c> reports it. The admin listener is
/// a hosted service of the proxy application and starts before the proxy's own Kestrel binds its ports, so "the
/// config is loaded" is not "ready": the proxy application's <c>ApplicationStarted</c> fires only once every hosted
/// service and the server have started, and <c>ApplicationStopping</c> once it begins to drain. Found by the soak
/// (loadtests/Soak): right after a restart, /readyz said ready while the proxy port still refused connections.
/// </summary>
internal sealed class ProxyReadiness(IHostApplicationLifetime proxy)
{
    public bool Ready => proxy.ApplicationStarted.IsCancellationRequested && !proxy.ApplicationStopping.IsCancellationRequested;

    /// <summary>Why it is not ready, for the probe's body.</summary>
    public string State => proxy.ApplicationStopping.IsCancellationRequested ? "stopping" : Ready ? "ready" : "starting";
}
