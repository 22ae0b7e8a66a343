using System.Text;

namespace Gateway.Protocols.Configuration;

/// <summary>
/// The one reader of secrets (bearer tokens, signing secrets): from an environment variable (<c>…_env</c>) or a file
/// (<c>…_file</c>), never from gateway.toml itself. A variable's value is taken as is; a file's is trimmed (editors add
/// a final newline).
/// </summary>
public static class ConfigSecrets
{
    /// <summary>
    /// Reads the secret <paramref name="table"/> names through <paramref name="envKey"/> or <paramref name="fileKey"/>.
    /// Giving both is an error. When <paramref name="required"/>, a missing source or an unset variable is an error
    /// that says what the secret is for (<paramref name="what"/>); otherwise they give null quietly. Secret files are
    /// read again on every reload but not watched (<paramref name="fileWhat"/> names them in read errors).
    /// </summary>
    public static Secret? Read(TomlTableReader table, string envKey, string fileKey, IConfigFileReader files, bool required, string what,
        string fileWhat = "secret file")
    {
        switch (ReadRaw(table, envKey, fileKey, files, fileWhat, out var value))
        {
            case SecretOrigin.Environment when string.IsNullOrEmpty(value):
                if (required)
                {
                    // A reload reads the variable again, but only from the process's own environment, which is fixed
                    // when it starts: say so, or an operator who just added it to an env file waits for nothing.
                    table.Error(envKey, $"environment variable {table.String(envKey)} is not set (it holds {what}); the gateway sees its environment as it was " +
                        $"when the process started, so a variable added since needs a restart, or use {fileKey}, which every reload reads again");
                }

                return null;
            case SecretOrigin.Environment:
                return new Secret(Encoding.UTF8.GetBytes(value!));
            case SecretOrigin.File:
                return new Secret(Encoding.UTF8.GetBytes(value!.Trim()));
            case SecretOrigin.None when required:
                table.Context.Error(table.Position, table.Path, $"set {envKey} (an environment variable name) or {fileKey}: {what}");
                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// Where the secret comes from and its raw text, for readers with rules of their own (the admin token's minimum
    /// length). Errors recorded here: both keys given, and a file that cannot be read (<see cref="SecretOrigin.Unreadable"/>).
    /// <paramref name="value"/> is the variable's value (null when unset) or the file's untrimmed text.
    /// </summary>
    public static SecretOrigin ReadRaw(TomlTableReader table, string envKey, string fileKey, IConfigFileReader files, string fileWhat, out string? value)
    {
        value = null;
        var env = table.String(envKey);
        var file = table.String(fileKey);
        if (!string.IsNullOrEmpty(env) && !string.IsNullOrEmpty(file))
        {
            table.Error(fileKey, $"give {envKey} or {fileKey}, not both");
            return SecretOrigin.Both;
        }

        if (!string.IsNullOrEmpty(env))
        {
            value = Environment.GetEnvironmentVariable(env);
            return SecretOrigin.Environment;
        }

        if (!string.IsNullOrEmpty(file))
        {
            value = files.ReadText(table, fileKey, file, fileWhat, watch: false);
            return value is null ? SecretOrigin.Unreadable : SecretOrigin.File;
        }

        return SecretOrigin.None;
    }
}

/// <summary>Where <see cref="ConfigSecrets.ReadRaw"/> found a secret.</summary>
public enum SecretOrigin
{
    /// <summary>Neither key is set.</summary>
    None = 0,

    /// <summary>The <c>…_env</c> key names a variable (its value may still be unset).</summary>
    Environment,

    /// <summary>The <c>…_file</c> key names a file that was read.</summary>
    File,

    /// <summary>Both keys are set: an error was recorded.</summary>
    Both,

    /// <summary>The file could not be read: an error was recorded.</summary>
    Unreadable,
}
