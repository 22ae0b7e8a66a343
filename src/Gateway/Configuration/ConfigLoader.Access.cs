using System.Globalization;
using Gateway.Policy.Acl;
using Gateway.Policy.Net;
using Gateway.Protocols.Configuration;
using Tomlyn;
using Tomlyn.Model;

namespace Gateway.Configuration;

/// <summary>Reads [server_acl] and [ip_blocks].</summary>
internal static partial class ConfigLoader
{
    private static ServerAclConfig? ReadServerAcl(TomlTableReader? t)
    {
        if (t is null)
        {
            return null;
        }

        var result = ServerAclConfig.Read(t);
        t.Finish();
        return result;
    }


    private static IReadOnlyList<IpBlockEntry> ReadIpBlocks(TomlTableReader? t, string baseDir, List<string> included, LimitSettings limits)
    {
        var entries = new List<IpBlockEntry>();
        if (t is null)
        {
            return entries;
        }

        foreach (var cidr in t.StringList("deny"))
        {
            if (CidrBlock.TryParse(cidr, out var block, out var error))
            {
                entries.Add(new IpBlockEntry(block, null, null, "gateway.toml"));
            }
            else
            {
                t.Error("deny", error!);
            }
        }

        foreach (var e in t.TableArray("entries"))
        {
            var cidr = e.String("cidr", required: true);
            DateTimeOffset? expires = null;
            var raw = e.Raw("expires");
            if (raw is TomlDateTime dt)
            {
                expires = dt.DateTime;
            }
            else if (raw is string s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                expires = parsed;
            }
            else if (raw is not null)
            {
                e.Error("expires", $"expected a date-time like 2027-01-01T00:00:00Z, found {TomlTableReader.Describe(raw)}");
            }

            var reason = e.String("reason");
            e.Finish();
            if (cidr is null)
            {
                continue;
            }

            if (CidrBlock.TryParse(cidr, out var block, out var error))
            {
                entries.Add(new IpBlockEntry(block, expires, reason, "gateway.toml"));
            }
            else
            {
                e.Error("cidr", error!);
            }
        }

        foreach (var file in t.StringList("files"))
        {
            if (ReadListedFile(t, "files", "list file", file, baseDir, included, limits.MaxListFileBytes) is not { } text)
            {
                continue;
            }

            var errors = new List<string>();
            entries.AddRange(IpListFile.Parse(text, file, errors));
            foreach (var err in errors)
            {
                t.Error("files", err);
            }
        }

        t.Finish();
        return entries;
    }
}
