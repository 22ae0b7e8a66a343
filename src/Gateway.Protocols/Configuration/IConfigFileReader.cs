namespace Gateway.Protocols.Configuration;

/// <summary>
/// Reads a file gateway.toml names (word lists, policy lists, secrets): regular files only, size-capped, with a
/// timeout; every failure becomes a config error at the key that named the file. The file is watched for reload.
/// </summary>
public interface IConfigFileReader
{
    /// <summary>The file's text, or null after an error was recorded against <paramref name="table"/>.<paramref name="key"/>.</summary>
    string? ReadText(TomlTableReader table, string key, string path);
}
