using Gateway.Protocols;
using Gateway.Protocols.Abstractions;

namespace Gateway.Runtime;

/// <summary>
/// The live side of every protocol module in this gateway, created once at start from the modules the config was
/// read with, and disposed when the gateway stops. Snapshots ask it for route handlers on every (re)load.
/// </summary>
internal sealed class ModuleRuntimes : IDisposable
{
    private readonly Dictionary<string, IModuleRuntime> _runtimes = new(StringComparer.Ordinal);

    public ModuleRuntimes(ProtocolModules modules, IServiceProvider services, IModuleHost host)
    {
        Host = host;
        foreach (var module in modules.All)
        {
            _runtimes[module.Name] = module.CreateRuntime(services);
        }
    }

    /// <summary>What the runtimes' handlers reach the live config, policy and counters through.</summary>
    public IModuleHost Host { get; }

    public IReadOnlyCollection<IModuleRuntime> All => _runtimes.Values;

    public IModuleRuntime? Get(string protocol) => _runtimes.GetValueOrDefault(protocol);

    /// <summary>Each module's admin status (<see cref="IModuleRuntime.Status"/>), by protocol name, skipping those with none.</summary>
    public System.Text.Json.Nodes.JsonObject Statuses()
    {
        var all = new System.Text.Json.Nodes.JsonObject();
        foreach (var (name, runtime) in _runtimes.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            if (runtime.Status() is { } status)
            {
                all[name] = status;
            }
        }

        return all;
    }

    public void Dispose()
    {
        foreach (var r in _runtimes.Values)
        {
            r.Dispose();
        }
    }
}
