using Microsoft.Extensions.Hosting;

namespace Gateway.Runtime;

/// <summary>The host arguments the proxy and admin web applications are built with.</summary>
internal static class WebHostArgs
{
    /// <summary>
    /// The only host arguments: no appsettings reload. By default a WebApplication watches appsettings*.json in its
    /// content root (the working directory) with a recursive FileSystemWatcher, i.e. one inotify watch per directory
    /// below it: the soak's gateway held 2 × 4,372 watches over the repository it was started from, and under systemd
    /// (WorkingDirectory "/") it would walk the whole filesystem. The gateway's config is gateway.toml, watched on its own.
    /// </summary>
    public static readonly string[] Args = ["--hostBuilder:reloadConfigOnChange=false"];
}

/// <summary>
/// The lifetime of the gateway's side listeners (admin API, cluster peer channel): they never hook SIGTERM/Ctrl-C
/// themselves, so only the main host decides when the process stops and stops them in order.
/// </summary>
internal sealed class NoSignalLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
