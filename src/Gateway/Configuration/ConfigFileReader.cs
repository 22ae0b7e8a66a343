using Gateway.Protocols.Configuration;

namespace Gateway.Configuration;

/// <summary>
/// The host's <see cref="IConfigFileReader"/>: files gateway.toml names, read through <see cref="ConfigFile"/> (regular
/// files only, size-capped, with a timeout), relative to gateway.toml's directory. Watched paths are collected in
/// <paramref name="watched"/> for the config watcher.
/// </summary>
internal sealed class ConfigFileReader(string baseDirectory, long maxBytes, List<string>? watched = null) : IConfigFileReader
{
    public string? ReadText(TomlTableReader table, string key, string path, string what = "file", bool watch = true)
    {
        var full = Path.GetFullPath(Path.Combine(baseDirectory, path));
        if (watch)
        {
            watched?.Add(full);
        }

        if (ConfigFile.TryReadText(full, maxBytes, out var text, out var error))
        {
            return text;
        }

        table.Error(key, $"{what} \"{path}\" {error}");
        return null;
    }
}
