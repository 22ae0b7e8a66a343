using System.Text.RegularExpressions;
using Gateway.Policy.Rules;
using Gateway.Protocols.BareRtc;

namespace Gateway.Tests.BareRtc;

/// <summary>RE2 (BareRTC's KeywordPhrases) → .NET: each mapping, each refusal, and the meaning on sample texts.</summary>
public sealed class Re2TranslatorTests
{
    private static string Ok(string re2)
    {
        var result = Re2Translator.Translate(re2, out var error, out _);
        Assert.True(result is not null, error);
        return result!;
    }

    private static string Refused(string re2)
    {
        Assert.Null(Re2Translator.Translate(re2, out var error, out _));
        Assert.NotNull(error);
        Assert.Contains("/" + re2 + "/", error, StringComparison.Ordinal); // names the pattern
        return error!;
    }

    private static bool Matches(string re2, string text) =>
        new Regex(Ok(re2), RegexRules.OptionsFor(caseSensitive: true)).IsMatch(text);

    [Theory]
    [InlineData("plain words", "plain words")]
    [InlineData(@"(?P<word>bad)\s+thing", @"(?<word>bad)[\t\n\f\r ]+thing")]
    [InlineData(@"(?<w>x)", @"(?<w>x)")]
    [InlineData(@"[[:alpha:]]+", @"[A-Za-z]+")]
    [InlineData(@"[^[:digit:][:space:]]", @"[^0-9\t\n\v\f\r ]")]
    [InlineData(@"[[:punct:]]", @"[!-/:-@\[-`{-~]")]
    [InlineData(@"\d\w\D\W\S", @"[0-9][0-9A-Za-z_][^0-9][^0-9A-Za-z_][^\t\n\f\r ]")]
    [InlineData(@"[\d\w_-]", @"[0-90-9A-Za-z__-]")]
    [InlineData(@"bad$", @"bad\z")]
    [InlineData(@"(?m)bad$", @"(?m)bad$")]
    [InlineData(@"(?m:bad$)|worse$", @"(?m:bad$)|worse\z")]
    [InlineData(@"(?i)bad\z", @"(?i)bad\z")]
    [InlineData(@"(?is:a.b)", @"(?is:a.b)")]
    [InlineData(@"\pL\PN\p{Lu}\p{^Ll}", @"\p{L}\P{N}\p{Lu}\P{Ll}")]
    [InlineData(@"\Qa.b*c\E+", @"a\.b\*c+")]
    [InlineData(@"\Q(unclosed", @"\(unclosed")]
    [InlineData(@"\x41\x{263A}", @"\u0041\u263A")]
    [InlineData(@"\x{1F600}", @"(?:\uD83D\uDE00)")]
    [InlineData(@"a[[]b", @"a[\[]b")]
    [InlineData(@"[]a]", @"[]a]")]
    [InlineData(@"\bword\b", @"\bword\b")]
    public void Translates(string re2, string dotnet) => Assert.Equal(dotnet, Ok(re2));

    [Theory]
    [InlineData(@"(?U)a+", "U (ungreedy)")]
    [InlineData(@"a\Z", @"\Z")]
    [InlineData(@"a\C", @"\C")]
    [InlineData(@"\p{Greek}", "Greek")]
    [InlineData(@"[[:^alpha:]]", "negated POSIX")]
    [InlineData(@"[[:nope:]]", "unknown POSIX")]
    [InlineData(@"[\D]", @"\D inside brackets")]
    [InlineData(@"(a)\1", "back-reference")]
    [InlineData(@"(?=a)", "look-around")]
    [InlineData(@"(?<=a)b", "look-around")]
    [InlineData(@"(?P=n)", "back-reference")]
    [InlineData(@"\e", @"\e")]
    [InlineData(@"(a", "unclosed '('")]
    [InlineData(@"a)", "unmatched ')'")]
    [InlineData(@"[a", "unclosed '['")]
    [InlineData(@"a\", "lone backslash")]
    [InlineData(@"[\x{1F600}]", "Basic Multilingual Plane")]
    public void Refuses(string re2, string why) => Assert.Contains(why, Refused(re2), StringComparison.Ordinal);

    [Fact]
    public void WordBoundary_IsKeptWithAWarning()
    {
        Assert.NotNull(Re2Translator.Translate(@"\bx\b", out _, out var warning));
        Assert.Contains("ASCII", warning, StringComparison.Ordinal);
        Assert.NotNull(Re2Translator.Translate("x", out _, out var none));
        Assert.Null(none);
    }

    [Fact]
    public void Meaning_MatchesRe2OnSampleTexts()
    {
        Assert.False(Matches("bad$", "bad\n"));  // RE2: $ is the end of the text; .NET's $ alone would match here
        Assert.True(Matches("bad$", "so bad"));
        Assert.True(Matches("(?m)bad$", "bad\nthing"));
        Assert.False(Matches(@"\d", "٣"));        // Arabic-Indic three: not a digit to RE2
        Assert.False(Matches(@"\w", "é"));
        Assert.False(Matches("[[:alpha:]]", "é"));
        Assert.True(Matches("[[:alpha:]]", "e"));
        Assert.False(Matches(@"a\sb", "a\vb"));   // RE2's \s has no \v
        Assert.True(Matches("[[:space:]]", "\v"));  // [[:space:]] does
        Assert.True(Matches(@"\Qa.b\E", "a.b"));
        Assert.False(Matches(@"\Qa.b\E", "axb"));
        Assert.False(Matches("BAD", "bad"));        // RE2 is case-sensitive unless (?i)
        Assert.True(Matches("(?i)BAD", "bad"));
    }
}
