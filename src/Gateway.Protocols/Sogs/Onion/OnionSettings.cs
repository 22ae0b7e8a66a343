using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Sogs.Onion;

/// <summary>
/// The onion keys of a <c>protocol = "sogs"</c> backend. <c>x25519_key_file</c> names the file SOGS itself loads
/// (pysogs <c>[crypto] key_file</c>, default <c>key_x25519</c>): the 32 raw bytes of the server's X25519 private key.
/// A file holding the same key as 64 hex digits is read too. Absent: onion requests are counted as opaque and pass.
/// </summary>
public sealed record OnionSettings(OnionServerKey? ServerKey)
{
    public const string KeyFileKey = "x25519_key_file";

    /// <summary>No key: onion requests pass uninspected (and are counted).</summary>
    public static OnionSettings None { get; } = new((OnionServerKey?)null);

    /// <summary>
    /// Reads <c>x25519_key_file</c> from the backend's module table (null table: no key). Errors name the key and the
    /// file, never its bytes. The file is read once per config load (it is binary, so it is not a watched text file).
    /// </summary>
    public static OnionSettings Read(ModuleConfigContext context, TomlTableReader? table)
    {
        var path = table?.String(KeyFileKey);
        if (table is null || path is null)
        {
            return None;
        }

        if (path.Length == 0)
        {
            table.Error(KeyFileKey, "must name the SOGS key file (key_x25519)");
            return None;
        }

        var full = context.Resolve(path);
        byte[] bytes;
        try
        {
            var info = new FileInfo(full);
            if (!info.Exists)
            {
                table.Error(KeyFileKey, $"key file \"{path}\" does not exist");
                return None;
            }

            // Anything longer than a hex key and a newline is not a key file; don't read it.
            if (info.Length > 2 * OnionServerKey.KeySize + 2)
            {
                table.Error(KeyFileKey, $"key file \"{path}\" is not a 32-byte X25519 key");
                return None;
            }

            bytes = File.ReadAllBytes(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            table.Error(KeyFileKey, $"key file \"{path}\" cannot be read ({ex.GetType().Name})");
            return None;
        }

        var key = ParseKeyFile(bytes);
        Array.Clear(bytes);
        if (key is null)
        {
            table.Error(KeyFileKey, $"key file \"{path}\" is not a 32-byte X25519 key");
            return None;
        }

        return new OnionSettings(key);
    }

    /// <summary>32 raw bytes, or 64 hex digits with an optional trailing newline.</summary>
    internal static OnionServerKey? ParseKeyFile(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == OnionServerKey.KeySize)
        {
            return OnionServerKey.FromPrivate(bytes);
        }

        var text = bytes;
        if (text.Length > 0 && text[^1] == (byte)'\n')
        {
            text = text[..^1];
        }

        if (text.Length > 0 && text[^1] == (byte)'\r')
        {
            text = text[..^1];
        }

        if (text.Length != 2 * OnionServerKey.KeySize)
        {
            return null;
        }

        Span<byte> raw = stackalloc byte[OnionServerKey.KeySize];
        var status = Convert.FromHexString(text, raw, out _, out var written);
        var key = status == System.Buffers.OperationStatus.Done && written == OnionServerKey.KeySize ? OnionServerKey.FromPrivate(raw) : null;
        raw.Clear();
        return key;
    }

    /// <summary>From a key file the module has read already (<c>SogsBackendSettings.ServerPrivateKey</c>); null: no key.</summary>
    public static OnionSettings FromKey(Secret? privateKey) =>
        privateKey is null ? None : new OnionSettings(OnionServerKey.FromPrivate(privateKey.Value));

    /// <summary>The handler for one route under this config version.</summary>
    public OnionRequestHandler CreateHandler(IOnionInnerHandler inner, OpaqueTraffic opaque, string protocol = "sogs") =>
        new(ServerKey, inner, opaque, protocol);
}
