using Gateway.Protocols.Abstractions;
using Gateway.Protocols.BareRtc;
using Gateway.Protocols.Json;
using Gateway.Protocols.Lemmy;
using Gateway.Protocols.Matrix;
using Gateway.Protocols.Sogs;

namespace Gateway.Protocols;

/// <summary>
/// The protocols this build knows, by name. The one list to touch when adding a protocol; the host loops over it
/// and names none of them.
/// </summary>
public sealed class ProtocolModules
{
    private readonly Dictionary<string, IProtocolModule> _byName;

    public ProtocolModules(IEnumerable<IProtocolModule> modules)
    {
        _byName = new Dictionary<string, IProtocolModule>(StringComparer.Ordinal);
        foreach (var m in modules)
        {
            if (!_byName.TryAdd(m.Name, m))
            {
                throw new ArgumentException($"two protocol modules are named \"{m.Name}\"", nameof(modules));
            }
        }

        All = _byName.Values.ToArray();
    }

    /// <summary>The built-in protocols.</summary>
    public static ProtocolModules BuiltIn { get; } = new(new IProtocolModule[]
    {
        new BareRtcModule(),
        new JsonModule(),
        new LemmyModule(),
        new MatrixModule(),
        new SogsModule(),
    });

    public IReadOnlyList<IProtocolModule> All { get; }

    public IEnumerable<string> Names => _byName.Keys;

    public IProtocolModule? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>This set plus <paramref name="extra"/> (tests and embedders registering their own).</summary>
    public ProtocolModules With(params IProtocolModule[] extra) => new(All.Concat(extra));
}
