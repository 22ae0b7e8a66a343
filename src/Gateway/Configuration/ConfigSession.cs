using Gateway.Protocols;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Configuration;

/// <summary>
/// One read of gateway.toml as the section readers share it: where relative paths start, the files read (watched
/// for reload), the limits, and the protocol modules with the context they read their own sections in.
/// </summary>
internal sealed class ConfigSession : IConfigFileReader
{
    private readonly List<string> _included;

    public ConfigSession(TomlReadContext context, string baseDirectory, List<string> included, LimitSettings limits, ProtocolModules modules)
    {
        Context = context;
        BaseDirectory = baseDirectory;
        _included = included;
        Limits = limits;
        Modules = modules;
        ModuleContext = new ModuleConfigContext(baseDirectory, new ConfigLimits
        {
            MaxBodyBytes = limits.MaxBodyBytes,
            MaxJsonDepth = limits.MaxJsonDepth,
            MaxFrameBytes = (int)Math.Min(limits.MaxFrameBytes, int.MaxValue),
        }, this);
    }

    public TomlReadContext Context { get; }

    public string BaseDirectory { get; }

    public LimitSettings Limits { get; }

    public ProtocolModules Modules { get; }

    public ModuleConfigContext ModuleContext { get; }

    public string? ReadText(TomlTableReader table, string key, string path) =>
        ConfigLoader.ReadListedFile(table, key, "file", path, BaseDirectory, _included, Limits.MaxListFileBytes);
}
