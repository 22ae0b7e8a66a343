using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Gateway.Policy.Acl;

namespace Gateway.Policy.Tests.Properties;

/// <summary>An ACL's content and the server names asked about it.</summary>
public sealed record AclCase(string[] Allow, string[] Deny, bool AllowIpLiterals, string[] ExtraDeny, string[] Names)
{
    public override string ToString() =>
        $"allow [{Join(Allow)}] deny [{Join(Deny)}] ip {AllowIpLiterals} extra [{Join(ExtraDeny)}] names [{Join(Names)}]";

    private static string Join(string[] a) => string.Join(", ", a.Select(s => $"\"{HiddenTerm.Escape(s)}\""));
}

public static class AclGenerators
{
    public static Arbitrary<AclCase> AclCases()
    {
        // Few letters, so globs and names collide often; case, dots, ports, brackets, digits and a newline included.
        var globChar = Gen.Frequency(
            (6, Gen.Elements('a', 'b', 'A', '.', '-', '1')),
            (3, Gen.Elements('*', '?')),
            (1, Gen.Elements('\n', ':', '[', ']', 'é')));
        var glob = Gen.Choose(0, 8).SelectMany(n => globChar.ArrayOf(n)).Select(a => new string(a));
        var globs = Gen.Choose(0, 5).SelectMany(n => glob.ArrayOf(n));
        var nameChar = Gen.Frequency(
            (8, Gen.Elements('a', 'b', 'A', 'B', '.', '-', '1')),
            (1, Gen.Elements('\n', '[', ']', ':', 'é', '*', '?')));
        var word = Gen.Choose(0, 8).SelectMany(n => nameChar.ArrayOf(n)).Select(a => new string(a));
        var octet = Gen.Frequency((4, Gen.Choose(0, 255).Select(i => i.ToString(null, null))), (1, Gen.Elements("01", "256", "00", "")));
        var ipv4 = Gen.Four(octet).Select(t => $"{t.Item1}.{t.Item2}.{t.Item3}.{t.Item4}");
        var ipv6 = Gen.Elements("[::1]", "[2001:db8::1]", "[::1", "[a]");
        var host = Gen.Frequency((6, word), (2, ipv4), (1, ipv6));
        var port = Gen.Frequency((3, Gen.Constant("")), (1, Gen.Elements(":8448", ":1:2", ":", ":x")));
        var name = host.SelectMany(h => port.Select(p => h + p));
        var gen =
            from allow in globs
            from deny in globs
            from ip in Gen.Elements(true, false)
            from extra in globs
            from names in Gen.Choose(1, 6).SelectMany(n => name.ArrayOf(n))
            select new AclCase(allow, deny, ip, extra, names);
        return gen.ToArbitrary();
    }
}

/// <summary>
/// Issue 17: <see cref="ServerAcl"/> (hash lookups, prefix/suffix tables, batched NonBacktracking regexes) agrees with
/// a reference model written straight from the spec: strip the port, refuse IP literals when they are not allowed,
/// then deny, then allow, else deny; globs match whole names, <c>*</c> any run, <c>?</c> one character, case-blind.
/// https://spec.matrix.org/latest/client-server-api/#mroomserver_acl
/// </summary>
[Properties(Arbitrary = [typeof(AclGenerators)], MaxTest = 500)]
public sealed class AclPropertyTests
{
    [Property]
    public void IsAllowed_AnyAclAndName_AgreesWithReferenceModel(AclCase c)
    {
        var acl = ServerAcl.Create(c.Allow, c.Deny, c.AllowIpLiterals);
        foreach (var name in c.Names)
        {
            Assert.True(Reference(c.Allow, c.Deny, c.AllowIpLiterals, name) == acl.IsAllowed(name), $"name \"{HiddenTerm.Escape(name)}\"");
        }
    }

    [Property]
    public void WithExtraDeny_AnyAclAndName_AgreesWithReferenceModel(AclCase c)
    {
        var acl = ServerAcl.Create(c.Allow, c.Deny, c.AllowIpLiterals).WithExtraDeny(c.ExtraDeny);
        var everyone = ServerAcl.AllowAll.WithExtraDeny(c.ExtraDeny);
        foreach (var name in c.Names)
        {
            Assert.True(Reference(c.Allow, [.. c.Deny, .. c.ExtraDeny], c.AllowIpLiterals, name) == acl.IsAllowed(name),
                $"name \"{HiddenTerm.Escape(name)}\"");
            var expected = c.ExtraDeny.Length == 0 || Reference(["*"], c.ExtraDeny, true, name);
            Assert.True(expected == everyone.IsAllowed(name), $"AllowAll, name \"{HiddenTerm.Escape(name)}\"");
        }
    }

    private static bool Reference(string[] allow, string[] deny, bool allowIpLiterals, string name)
    {
        var host = Host(name);
        if (!allowIpLiterals && (host.StartsWith('[') || IsDottedQuad(host)))
        {
            return false;
        }

        return !deny.Any(g => GlobMatches(g, host)) && allow.Any(g => GlobMatches(g, host));
    }

    // The host part: up to the closing bracket of an IPv6 literal, else up to the first ':'.
    private static string Host(string name)
    {
        if (name.StartsWith('['))
        {
            var close = name.IndexOf(']', StringComparison.Ordinal);
            return close < 0 ? name : name[..(close + 1)];
        }

        var colon = name.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? name : name[..colon];
    }

    // Rust's Ipv4Addr::from_str: four decimal octets 0-255, no leading zeros, nothing else.
    private static bool IsDottedQuad(string host)
    {
        var parts = host.Split('.');
        return parts.Length == 4 && parts.All(p =>
            p.Length is >= 1 and <= 3 && p.All(char.IsAsciiDigit) && (p.Length == 1 || p[0] != '0') && int.Parse(p, null) <= 255);
    }

    // Textbook recursive matcher over (glob position, name position), memoised.
    private static bool GlobMatches(string glob, string name)
    {
        var memo = new Dictionary<(int, int), bool>();
        return Match(0, 0);

        bool Match(int g, int n)
        {
            if (memo.TryGetValue((g, n), out var known))
            {
                return known;
            }

            bool result;
            if (g == glob.Length)
            {
                result = n == name.Length;
            }
            else if (glob[g] == '*')
            {
                result = Match(g + 1, n) || (n < name.Length && Match(g, n + 1));
            }
            else
            {
                result = n < name.Length
                    && (glob[g] == '?' || char.ToUpperInvariant(glob[g]) == char.ToUpperInvariant(name[n]))
                    && Match(g + 1, n + 1);
            }

            memo[(g, n)] = result;
            return result;
        }
    }
}
