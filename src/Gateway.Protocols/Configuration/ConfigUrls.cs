namespace Gateway.Protocols.Configuration;

/// <summary>The one check of URLs gateway.toml names: absolute http(s) URLs, and listen URLs (no path).</summary>
public static class ConfigUrls
{
    /// <summary>An absolute http:// or https:// URL.</summary>
    public static bool TryParseHttp(string? text, out Uri uri)
    {
        if (Uri.TryCreate(text, UriKind.Absolute, out var u) && u.Scheme is "http" or "https")
        {
            uri = u;
            return true;
        }

        uri = null!;
        return false;
    }

    /// <summary>A listener address like <c>http://127.0.0.1:8080</c>: http(s), no path.</summary>
    public static bool IsListenUrl(string? text) => TryParseHttp(text, out var u) && u.AbsolutePath == "/";

    /// <summary>
    /// An optional http(s) URL key: null when absent or empty; otherwise the URL, or null after the error
    /// <c>"…" is not an http(s) URL</c> (followed by <c> like "<paramref name="example"/>"</c> when given).
    /// </summary>
    public static Uri? ReadHttp(TomlTableReader table, string key, string? example = null)
    {
        var text = table.String(key);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (TryParseHttp(text, out var uri))
        {
            return uri;
        }

        table.Error(key, example is null ? $"\"{text}\" is not an http(s) URL" : $"\"{text}\" is not an http(s) URL like \"{example}\"");
        return null;
    }
}
