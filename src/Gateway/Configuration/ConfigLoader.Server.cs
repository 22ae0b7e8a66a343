using Gateway.Policy.Net;
using Gateway.Policy.Rules;
using Gateway.Protocols.Configuration;

namespace Gateway.Configuration;

/// <summary>Reads [limits] and [server].</summary>
internal static partial class ConfigLoader
{
    private static LimitSettings ReadLimits(TomlTableReader? t)
    {
        if (t is null)
        {
            return new LimitSettings();
        }

        var defaults = new LimitSettings();
        var result = new LimitSettings
        {
            MaxBodyBytes = t.Integer("max_body_bytes", defaults.MaxBodyBytes, 1, 1L << 30),
            MaxJsonDepth = (int)t.Integer("max_json_depth", defaults.MaxJsonDepth, 1, 1024),
            MaxFrameBytes = t.Integer("max_frame_bytes", defaults.MaxFrameBytes, 1, 1L << 30),
            Policy = new PolicyLimits
            {
                MaxRegexCount = (int)t.Integer("max_regex_count", defaults.Policy.MaxRegexCount, 0, 100_000),
                MaxRegexLength = (int)t.Integer("max_regex_length", defaults.Policy.MaxRegexLength, 1, 100_000),
                MaxKeywords = (int)t.Integer("max_keywords", defaults.Policy.MaxKeywords, 0, 10_000_000),
            },
            MaxListFileBytes = t.Integer("max_list_file_bytes", defaults.MaxListFileBytes, 1, 1L << 31),
        };
        t.Finish();
        return result;
    }

    private static ServerSettings ReadServer(TomlTableReader? t, string baseDir, List<string> included, LimitSettings limits)
    {
        if (t is null)
        {
            return new ServerSettings();
        }

        var defaults = new ServerSettings();
        var listen = t.Has("listen") ? t.StringList("listen") : defaults.Listen;
        foreach (var url in listen)
        {
            if (!ConfigUrls.IsListenUrl(url))
            {
                t.Error("listen", $"\"{url}\" is not a listen URL like \"http://127.0.0.1:8080\"");
            }
        }

        var proxies = new List<CidrBlock>();
        foreach (var p in t.StringList("trusted_proxies"))
        {
            if (CidrBlock.TryParse(p, out var block, out var error))
            {
                proxies.Add(block);
            }
            else
            {
                t.Error("trusted_proxies", error!);
            }
        }

        var tls = TlsSettings.Read(t.Table("tls"), baseDir, included, limits.MaxListFileBytes);
        if (tls is null && listen.Any(l => l.StartsWith("https:", StringComparison.OrdinalIgnoreCase)))
        {
            t.Error("listen", "an https:// listener needs a certificate: set server.tls.certificate and server.tls.key (PEM files)");
        }

        var result = new ServerSettings
        {
            Listen = listen,
            TrustedProxies = proxies,
            WatchConfig = t.Bool("watch_config", defaults.WatchConfig),
            Tls = tls,
        };
        t.Finish();
        return result;
    }
}
