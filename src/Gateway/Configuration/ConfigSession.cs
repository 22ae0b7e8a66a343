using Gateway.Protocols;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Configuration;

/// <summary>
/// One read of gateway.toml as the section readers share it: where relative paths start, the files read (watched
/// for reload), the limits, and the protocol modules with the context they read their own sections in.
/// </summary>
internal sealed class ConfigSession
{
    public ConfigSession(TomlReadContext context, string baseDirectory, List<string> included, LimitSettings limits, ProtocolModules modules)
    {
        Context = context;
        BaseDirectory = baseDirectory;
        Limits = limits;
        Modules = modules;
        Files = new ConfigFileReader(baseDirectory, limits.MaxListFileBytes, included);
        ModuleContext = new ModuleConfigContext(baseDirectory, new ConfigLimits
        {
            MaxBodyBytes = limits.MaxBodyBytes,
            MaxJsonDepth = limits.MaxJsonDepth,
            MaxFrameBytes = (int)Math.Min(limits.MaxFrameBytes, int.MaxValue),
            MaxRegexLength = limits.Policy.MaxRegexLength,
        }, Files);
    }

    public TomlReadContext Context { get; }

    public string BaseDirectory { get; }

    public LimitSettings Limits { get; }

    public ProtocolModules Modules { get; }

    public ModuleConfigContext ModuleContext { get; }

    /// <summary>Reads the files the config names (bounded, regular files only) and records them for the watcher.</summary>
    public ConfigFileReader Files { get; }
}
