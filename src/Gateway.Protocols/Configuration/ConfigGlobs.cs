using Gateway.Policy.Rules;

namespace Gateway.Protocols.Configuration;

/// <summary>Room, user and community name globs as gateway.toml lists them (`*`, `?`, case-insensitive).</summary>
public static class ConfigGlobs
{
    /// <summary>The list at <paramref name="key"/>; each glob that cannot compile is an error on that key.</summary>
    public static IReadOnlyList<string> ReadGlobs(this TomlTableReader t, string key)
    {
        var globs = t.StringList(key);
        foreach (var g in globs)
        {
            if (!NameGlob.TryValidate(g, out var error))
            {
                t.Error(key, error!);
            }
        }

        return globs;
    }
}
