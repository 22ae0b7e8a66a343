using Gateway.Policy.Acl;

namespace Gateway.Policy.Protections;

/// <summary>
/// Domains for the <c>links</c> protection. An entry covers the domain and its subdomains (<c>paypal.com</c> also
/// matches <c>www.paypal.com</c>); <c>*.example.com</c> covers subdomains only; <c>*</c> inside a label globs
/// (<c>paypal-*.com</c>). Entries and hosts are compared as written and folded (punycode decoded, look-alike letters,
/// accents and leetspeak undone), so <c>pаypal.com</c> with a Cyrillic <c>а</c>, its <c>xn--</c> form and
/// <c>paypa1.com</c> all hit <c>paypal.com</c>.
/// </summary>
public sealed class DomainList
{
    private readonly (string[] Labels, bool SubdomainsOnly)[] _entries;

    private DomainList((string[] Labels, bool SubdomainsOnly)[] entries) => _entries = entries;

    public int Count => _entries.Length;

    /// <summary>Null when an entry is not a domain (the error says which).</summary>
    public static DomainList? Create(IReadOnlyList<string> domains, out string? error)
    {
        error = null;
        var entries = new List<(string[], bool)>();
        foreach (var written in domains)
        {
            var d = written.Trim();
            var subdomainsOnly = d.StartsWith("*.", StringComparison.Ordinal);
            if (subdomainsOnly)
            {
                d = d[2..];
            }

            if (d.Length == 0 || d.Contains("..", StringComparison.Ordinal) || d.IndexOfAny([' ', '/', ':', '@']) >= 0)
            {
                error = $"\"{written}\" is not a domain (write example.com or *.example.com)";
                return null;
            }

            if (d.Contains('*', StringComparison.Ordinal))
            {
                entries.Add((d.ToLowerInvariant().Split('.'), subdomainsOnly));
                continue;
            }

            if (MessageShape.Host(d) is not { } host)
            {
                error = $"\"{written}\" is not a domain";
                return null;
            }

            entries.Add((host.Raw.Split('.'), subdomainsOnly));
            if (host.Folded != host.Raw)
            {
                entries.Add((host.Folded.Split('.'), subdomainsOnly));
            }
        }

        return new DomainList(entries.ToArray());
    }

    public bool Matches(LinkHost host) => Matches(host.Raw) || (host.Folded != host.Raw && Matches(host.Folded));

    private bool Matches(string host)
    {
        var labels = host.Split('.');
        foreach (var (entry, subdomainsOnly) in _entries)
        {
            var extra = labels.Length - entry.Length;
            if (extra < 0 || (subdomainsOnly && extra == 0))
            {
                continue;
            }

            var all = true;
            for (var i = 0; i < entry.Length && all; i++)
            {
                all = GlobMatcher.IsMatch(entry[i], labels[extra + i]);
            }

            if (all)
            {
                return true;
            }
        }

        return false;
    }
}
