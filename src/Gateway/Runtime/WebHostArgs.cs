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
