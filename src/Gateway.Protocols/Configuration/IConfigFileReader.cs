namespace Gateway.Protocols.Configuration;

/// <summary>
/// Reads a file gateway.toml names (word lists, policy lists, secrets): regular files only, size-capped, with a
/// timeout; every failure becomes a config error at the key that named the file.
/// </summary>
public interface IConfigFileReader
{
    /// <summary>
    /// The file's text, or null after an error <c>{what} "{path}" {reason}</c> was recorded against
    /// <paramref name="table"/>.<paramref name="key"/>. <paramref name="path"/> is relative to gateway.toml's directory.
    /// With <paramref name="watch"/> the file is watched for hot reload (even when the read fails, so fixing it reloads).
    /// </summary>
    string? ReadText(TomlTableReader table, string key, string path, string what = "file", bool watch = true);
}
