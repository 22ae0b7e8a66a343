using Gateway.Policy.Acl;
using Xunit;

namespace Gateway.Policy.Tests.Acl;

public sealed class ServerAclTests
{
    private static readonly ServerAcl SpecExample = ServerAcl.Create(["*"], ["evil.com", "*.evil.com"]);

    [Theory]
    [InlineData("evil.com", false)]
    [InlineData("sub.evil.com", false)]
    [InlineData("a.b.evil.com", false)]
    [InlineData("good.org", true)]
    [InlineData("evil.com:8448", false)]
    [InlineData("sub.evil.com:443", false)]
    [InlineData("EVIL.COM", false)]
    [InlineData("Sub.Evil.Com:8448", false)]
    [InlineData("notevil.com", true)]
    [InlineData("evil.com.good.org", true)]
    [InlineData("good.org:8448", true)]
    [InlineData("1.2.3.4", true)]
    [InlineData("[::1]:8448", true)]
    public void IsAllowed_SpecExample_MatchesTable(string server, bool expected)
    {
        Assert.Equal(expected, SpecExample.IsAllowed(server));
    }

    [Theory]
    [InlineData("1.2.3.4", false)]
    [InlineData("1.2.3.4:8448", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("[::1]", false)]
    [InlineData("[::1]:8448", false)]
    [InlineData("[2001:db8::1]", false)]
    [InlineData("good.org", true)]
    [InlineData("1.2.3.4.example.org", true)]
    [InlineData("1.2.3", true)]
    [InlineData("256.1.1.1", true)]
    [InlineData("01.2.3.4", true)]
    public void IsAllowed_IpLiteralsDisallowed_MatchesTable(string server, bool expected)
    {
        var acl = ServerAcl.Create(["*"], [], allowIpLiterals: false);

        Assert.Equal(expected, acl.IsAllowed(server));
    }

    [Fact]
    public void IsAllowed_IpLiteralsDisallowedEvenIfAllowedByName_Denied()
    {
        var acl = ServerAcl.Create(["1.2.3.4", "[::1]"], [], allowIpLiterals: false);

        Assert.False(acl.IsAllowed("1.2.3.4"));
        Assert.False(acl.IsAllowed("[::1]"));
    }

    [Theory]
    [InlineData("example.org")]
    [InlineData("1.2.3.4")]
    [InlineData("")]
    public void IsAllowed_EmptyAllow_DeniesEveryone(string server)
    {
        var acl = ServerAcl.Create([], []);

        Assert.False(acl.IsAllowed(server));
    }

    [Theory]
    [InlineData("example.org")]
    [InlineData("evil.com:8448")]
    [InlineData("[::1]")]
    [InlineData("")]
    public void IsAllowed_AllowAll_AllowsEveryone(string server)
    {
        Assert.True(ServerAcl.AllowAll.IsAllowed(server));
    }

    [Fact]
    public void IsAllowed_DenyBeatsAllow_Denied()
    {
        var acl = ServerAcl.Create(["evil.com"], ["evil.com"]);

        Assert.False(acl.IsAllowed("evil.com"));
    }

    [Theory]
    [InlineData("matrix.org", true)]
    [InlineData("example.org", true)]
    [InlineData("evil.org", false)]
    [InlineData("sub.matrix.org", false)]
    public void IsAllowed_AllowListOnly_OnlyListedAllowed(string server, bool expected)
    {
        var acl = ServerAcl.Create(["matrix.org", "example.org"], []);

        Assert.Equal(expected, acl.IsAllowed(server));
    }

    [Theory]
    [InlineData("a.b", true)]
    [InlineData("a1b", false)]
    [InlineData("ab", false)]
    [InlineData("a.b+c", false)]
    [InlineData("a.bbc", false)]
    public void IsAllowed_DotIsLiteral_MatchesTable(string server, bool denied)
    {
        var acl = ServerAcl.Create(["*"], ["a.b"]);

        Assert.Equal(!denied, acl.IsAllowed(server));
    }

    [Theory]
    [InlineData("a.b+c", true)]
    [InlineData("a.bbc", false)]
    [InlineData("aXb+c", false)]
    [InlineData("a.bc", false)]
    public void IsAllowed_RegexMetacharactersAreLiteral_MatchesTable(string server, bool allowed)
    {
        var acl = ServerAcl.Create(["a.b+c"], []);

        Assert.Equal(allowed, acl.IsAllowed(server));
    }

    [Theory]
    [InlineData("(x)|[y]^$\\{2}", "(x)|[y]^$\\{2}", true)]
    [InlineData("(x)|[y]^$\\{2}", "x", false)]
    [InlineData("a#b c", "a#b c", true)]
    [InlineData("a#b c", "a#bc", false)]
    public void IsAllowed_OddCharacters_TakenLiterally(string glob, string server, bool allowed)
    {
        var acl = ServerAcl.Create([glob], []);

        Assert.Equal(allowed, acl.IsAllowed(server));
    }

    [Theory]
    [InlineData("ab", false)]
    [InlineData("abc", true)]
    [InlineData("aXc", true)]
    [InlineData("a.c", true)]
    [InlineData("aXXc", false)]
    [InlineData("ac", false)]
    public void IsAllowed_QuestionMark_MatchesExactlyOneCharacter(string server, bool allowed)
    {
        var acl = ServerAcl.Create(["a?c"], []);

        Assert.Equal(allowed, acl.IsAllowed(server));
    }

    [Fact]
    public void IsAllowed_EmptyAclEventContent_DeniesEveryone()
    {
        // {"allow": absent, "deny": absent} in an m.room.server_acl event: the room is closed to every server.
        var acl = ServerAcl.Create([], []);

        Assert.False(acl.IsAllowed("matrix.org"));
    }

    [Fact]
    public void IsAllowed_NullGlobsInLists_Skipped()
    {
        var acl = ServerAcl.Create(["good.org", null!], [null!]);

        Assert.True(acl.IsAllowed("good.org"));
        Assert.False(acl.IsAllowed("other.org"));
        Assert.Equal(["good.org"], acl.Allow);
        Assert.Empty(acl.Deny);
    }

    [Fact]
    public void IsAllowed_NullServer_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => SpecExample.IsAllowed(null!));
    }

    [Fact]
    public void IsAllowed_PathologicalGlobOnLongName_Completes()
    {
        var acl = ServerAcl.Create(["*"], ["*a*a*a*a*a*a*a*a*a*a*b", "*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*x"]);
        var name = new string('a', 100_000);

        Assert.True(acl.IsAllowed(name));
        Assert.False(acl.IsAllowed(name + "b"));
        Assert.False(acl.IsAllowed(name + "x"));
    }

    [Fact]
    public void IsAllowed_ManyGlobs_MatchesEach()
    {
        var deny = new List<string>();
        for (var i = 0; i < 2_000; i++)
        {
            deny.Add($"bad{i}.example");
            deny.Add($"*.bad{i}.example");
        }

        var acl = ServerAcl.Create(["*"], deny);

        Assert.False(acl.IsAllowed("bad0.example"));
        Assert.False(acl.IsAllowed("x.bad1999.example:8448"));
        Assert.True(acl.IsAllowed("bad2000.example"));
        Assert.True(acl.IsAllowed("good.example"));
    }

    [Fact]
    public void WithExtraDeny_AddsToDeny_KeepsAllowAndIpRule()
    {
        var acl = ServerAcl.Create(["*.org", "1.2.3.4"], ["evil.org"], allowIpLiterals: false);

        var merged = acl.WithExtraDeny(["spam.org", "*.spam.org"]);

        Assert.False(merged.IsAllowed("evil.org"));
        Assert.False(merged.IsAllowed("spam.org"));
        Assert.False(merged.IsAllowed("x.spam.org:8448"));
        Assert.True(merged.IsAllowed("good.org"));
        Assert.False(merged.IsAllowed("good.com"));
        Assert.False(merged.IsAllowed("1.2.3.4"));
        Assert.False(merged.AllowIpLiterals);
        Assert.Equal(["evil.org", "spam.org", "*.spam.org"], merged.Deny);
        Assert.Equal(["*.org", "1.2.3.4"], merged.Allow);
    }

    [Fact]
    public void WithExtraDeny_Original_Unchanged()
    {
        var acl = ServerAcl.Create(["*"], []);

        _ = acl.WithExtraDeny(["spam.org"]);

        Assert.True(acl.IsAllowed("spam.org"));
        Assert.Empty(acl.Deny);
    }

    [Theory]
    [InlineData("spam.org", false)]
    [InlineData("SPAM.org:8448", false)]
    [InlineData("good.org", true)]
    [InlineData("1.2.3.4", true)]
    [InlineData("[::1]", true)]
    public void WithExtraDeny_OnAllowAll_DeniesOnlyExtra(string server, bool expected)
    {
        var merged = ServerAcl.AllowAll.WithExtraDeny(["spam.org"]);

        Assert.Equal(expected, merged.IsAllowed(server));
    }

    [Fact]
    public void WithExtraDeny_Empty_ReturnsSameInstance()
    {
        Assert.Same(ServerAcl.AllowAll, ServerAcl.AllowAll.WithExtraDeny([]));
        Assert.Same(SpecExample, SpecExample.WithExtraDeny([]));
    }

    [Theory]
    [InlineData("evil.com", "evil.com")]
    [InlineData("evil.com:8448", "evil.com")]
    [InlineData("[::1]", "[::1]")]
    [InlineData("[::1]:8448", "[::1]")]
    [InlineData("[2001:db8::1]:443", "[2001:db8::1]")]
    [InlineData("1.2.3.4:8448", "1.2.3.4")]
    [InlineData("evil.com:1:2", "evil.com")]
    [InlineData("[::1", "[::1")]
    [InlineData("", "")]
    [InlineData(":8448", "")]
    public void StripPort_Names_MatchesTable(string server, string expected)
    {
        Assert.Equal(expected, ServerAcl.StripPort(server));
    }

    [Fact]
    public void StripPort_NoPort_ReturnsSameInstance()
    {
        var name = "example.org";

        Assert.Same(name, ServerAcl.StripPort(name));
    }

    [Fact]
    public void IsAllowed_ThousandsOfGlobsOfEveryShape_MatchesEach()
    {
        // Past the non-backtracking engine's automaton limit if they were one regex.
        var deny = new List<string>();
        for (var i = 0; i < 3_000; i++)
        {
            deny.Add($"exact{i}.example");
            deny.Add($"*.suffix{i}.example");
            deny.Add($"prefix{i}.*");
            deny.Add($"mid{i}.*.example");
            deny.Add($"q{i}.ex?mple");
        }

        var acl = ServerAcl.Create(["*"], deny);

        Assert.False(acl.IsAllowed("exact0.example"));
        Assert.False(acl.IsAllowed("EXACT2999.example:8448"));
        Assert.True(acl.IsAllowed("exact3000.example"));
        Assert.False(acl.IsAllowed("a.b.suffix17.example"));
        Assert.True(acl.IsAllowed("suffix17.example"));
        Assert.False(acl.IsAllowed("prefix42.anything"));
        Assert.True(acl.IsAllowed("prefix42"));
        Assert.False(acl.IsAllowed("mid2999.x.y.example"));
        Assert.True(acl.IsAllowed("mid2999.example"));
        Assert.False(acl.IsAllowed("q1500.exAmple"));
        Assert.True(acl.IsAllowed("q1500.exmple"));
        Assert.True(acl.IsAllowed("good.example"));
    }

    [Fact]
    public void IsAllowed_GlobTooBigForOneAutomaton_StillMatches()
    {
        var glob = "x" + new string('?', 20_000) + "y";
        var acl = ServerAcl.Create(["*"], [glob, "evil.com"]);

        Assert.False(acl.IsAllowed("x" + new string('a', 20_000) + "y"));
        Assert.True(acl.IsAllowed("x" + new string('a', 19_999) + "y"));
        Assert.False(acl.IsAllowed("evil.com"));
        Assert.True(acl.IsAllowed("good.com"));
    }

    [Theory]
    [InlineData("*.evil.com", "x.evil.com", false)]
    [InlineData("*.evil.com", "evil.com", true)]
    [InlineData("*evil.com", "evil.com", false)]
    [InlineData("*evil.com", "notevil.com", false)]
    [InlineData("1.2.3.*", "1.2.3.4", false)]
    [InlineData("1.2.3.*", "1.2.3", true)]
    [InlineData("*", "anything", false)]
    [InlineData("?vil.com", "evil.com", false)]
    [InlineData("e*l.c?m", "eXXXl.cOm", false)]
    public void IsAllowed_SingleDenyGlobShapes_MatchesTable(string glob, string server, bool expected)
    {
        var acl = ServerAcl.Create(["*"], [glob]);

        Assert.Equal(expected, acl.IsAllowed(server));
    }

    [Fact]
    public void IsAllowed_WithPortAndEveryGlobShape_DoesNotAllocate()
    {
        var acl = ServerAcl.Create(["*.org", "good.*", "exact.com"], ["evil.com", "*.evil.com", "ev?l.net", "a*b*c"], allowIpLiterals: false);
        string[] names = ["x.evil.com:8448", "good.org:443", "exact.com", "1.2.3.4:8448", "[::1]:8448", "nobody.example"];
        foreach (var name in names)
        {
            acl.IsAllowed(name);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var allowed = 0;
        for (var i = 0; i < 1_000; i++)
        {
            foreach (var name in names)
            {
                allowed += acl.IsAllowed(name) ? 1 : 0;
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(2_000, allowed);
        Assert.Equal(0, allocated);
    }
}
