using System.Text.RegularExpressions;
using Gateway.Policy.Acl;
using Xunit;

namespace Gateway.Policy.Tests.Acl;

public sealed class ServerNameGlobTests
{
    [Theory]
    [InlineData("*", "", true)]
    [InlineData("*", "anything.at.all", true)]
    [InlineData("**", "", true)]
    [InlineData("**", "x", true)]
    [InlineData("a**b", "ab", true)]
    [InlineData("a**b", "aXYZb", true)]
    [InlineData("?", "", false)]
    [InlineData("?", "a", true)]
    [InlineData("?", "ab", false)]
    [InlineData("??", "ab", true)]
    [InlineData("?*", "", false)]
    [InlineData("?*", "a", true)]
    [InlineData("*?", "a", true)]
    [InlineData("*?*?*", "a", false)]
    [InlineData("*?*?*", "ab", true)]
    [InlineData("?**?", "ab", true)]
    [InlineData("?**?", "a", false)]
    [InlineData("*.example.org", "example.org", false)]
    [InlineData("*.example.org", ".example.org", true)]
    [InlineData("*.example.org", "a.example.org", true)]
    [InlineData("*.example.org", "a.example.org.evil", false)]
    [InlineData("example.org", "xexample.org", false)]
    [InlineData("example.org", "example.orgx", false)]
    [InlineData("example.org", "example.org\n", false)]
    [InlineData("Example.ORG", "example.org", true)]
    [InlineData("ex?mple.org", "EXAMPLE.ORG", true)]
    [InlineData("a.b+c", "a.b+c", true)]
    [InlineData("a.b+c", "a.bbc", false)]
    [InlineData("a.b+c", "aXb+c", false)]
    [InlineData("*", "line\nbreak", true)]
    [InlineData("a?b", "a\nb", true)]
    public void ToRegex_Globs_MatchesTable(string glob, string input, bool expected)
    {
        Assert.Equal(expected, ServerNameGlob.ToRegex(glob).IsMatch(input));
    }

    [Fact]
    public void ToRegex_Options_NonBacktrackingCaseInsensitiveInvariant()
    {
        var options = ServerNameGlob.ToRegex("a*").Options;

        Assert.True(options.HasFlag(RegexOptions.NonBacktracking));
        Assert.True(options.HasFlag(RegexOptions.IgnoreCase));
        Assert.True(options.HasFlag(RegexOptions.CultureInvariant));
    }

    [Theory]
    [InlineData("**", @"\A(?:.*)\z")]
    [InlineData("a***b", @"\A(?:a.*b)\z")]
    [InlineData("?*?**", @"\A(?:.{2,})\z")]
    [InlineData("???", @"\A(?:.{3})\z")]
    [InlineData("a?b", @"\A(?:a.b)\z")]
    [InlineData("a.b", @"\A(?:a\.b)\z")]
    public void ToRegex_WildcardRuns_Collapsed(string glob, string pattern)
    {
        Assert.Equal(pattern, ServerNameGlob.ToRegex(glob).ToString());
    }

    [Fact]
    public void ToRegex_LongWildcardChain_DoesNotHang()
    {
        var regex = ServerNameGlob.ToRegex("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
        var input = new string('a', 200_000);

        Assert.DoesNotMatch(regex, input);
        Assert.Matches(regex, input + "b");
    }

    [Theory]
    [InlineData("*")]
    [InlineData("evil.com")]
    [InlineData("*.evil.com")]
    [InlineData("[::1]")]
    [InlineData("1.2.3.*")]
    [InlineData("xn--bcher-kva.example")]
    public void TryValidate_GoodGlob_ReturnsTrue(string glob)
    {
        Assert.True(ServerNameGlob.TryValidate(glob, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("", "server name glob is empty")]
    [InlineData(" ", "server name glob ' ' contains whitespace at position 1")]
    [InlineData("evil .com", "server name glob 'evil .com' contains whitespace at position 5")]
    [InlineData("evil.com\t", "server name glob 'evil.com\t' contains whitespace at position 9")]
    [InlineData("evil\u0000.com", "server name glob contains control character U+0000 at position 5")]
    [InlineData("evil\u007f.com", "server name glob contains control character U+007F at position 5")]
    public void TryValidate_BadGlob_ReturnsError(string glob, string expected)
    {
        Assert.False(ServerNameGlob.TryValidate(glob, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void TryValidate_TooLong_ReturnsError()
    {
        Assert.True(ServerNameGlob.TryValidate(new string('a', 255), out _));

        Assert.False(ServerNameGlob.TryValidate(new string('a', 256), out var error));
        Assert.Equal("server name glob is 256 characters long; the limit is 255", error);
    }

    [Fact]
    public void TryValidate_Null_ReturnsError()
    {
        Assert.False(ServerNameGlob.TryValidate(null!, out var error));
        Assert.Equal("server name glob is empty", error);
    }

    [Fact]
    public void ToRegex_RandomGlobs_AgreesWithDirectMatcher()
    {
        // Small alphabet so wildcards and literals collide often.
        var random = new Random(20240601);
        const string GlobChars = "ab.*?A";
        const string NameChars = "abAB.";
        for (var round = 0; round < 3_000; round++)
        {
            var glob = RandomString(random, GlobChars, random.Next(0, 8));
            var regex = ServerNameGlob.ToRegex(glob);
            for (var probe = 0; probe < 20; probe++)
            {
                var name = RandomString(random, NameChars, random.Next(0, 10));
                var expected = Gateway.Policy.Acl.GlobMatcher.IsMatch(glob, name);
                Assert.True(expected == regex.IsMatch(name), $"glob '{glob}' name '{name}' expected {expected}");
            }
        }
    }

    [Theory]
    [InlineData("", "", true)]
    [InlineData("", "a", false)]
    [InlineData("*", "", true)]
    [InlineData("a*b*c", "aXbYc", true)]
    [InlineData("a*b*c", "aXbY", false)]
    [InlineData("*?", "", false)]
    [InlineData("A?C", "abc", true)]
    public void GlobMatcher_Globs_MatchesTable(string glob, string name, bool expected)
    {
        Assert.Equal(expected, Gateway.Policy.Acl.GlobMatcher.IsMatch(glob, name));
    }

    private static string RandomString(Random random, string alphabet, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = alphabet[random.Next(alphabet.Length)];
        }

        return new string(chars);
    }
}
