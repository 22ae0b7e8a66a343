using Gateway.Policy.Text;

namespace Gateway.Policy.Tests;

public sealed class NormalizerTests
{
    [Theory]
    [InlineData("Hello World", "hello world")]
    [InlineData("ＦＵＬＬＷＩＤＴＨ", "fullwidth")]
    [InlineData("𝐛𝐨𝐥𝐝 𝓼𝓬𝓻𝓲𝓹𝓽", "bold script")]
    [InlineData("ⓢⓟⓐⓜ", "spam")]
    [InlineData("рауpаl", "paypal")]                 // Cyrillic р, а, у mixed with Latin
    [InlineData("ΗΕΛΛΟ", "heλλo")]                   // Greek capitals that look Latin; lambda has no look-alike
    [InlineData("sp\u200Bam", "spam")]               // zero-width space
    [InlineData("sp\u202Eam", "spam")]               // bidi override
    [InlineData("s\u00ADpam", "spam")]               // soft hyphen
    [InlineData("café naïve", "cafe naive")]
    [InlineData("z̷̢a̶l̸g̵o", "zalgo")]                 // combining marks on Latin letters
    [InlineData("sh1t h3ll0 $hit", "shit hello shit")]
    [InlineData("2024 100 !!!", "2024 100 !!!")]     // numbers without letters stay numbers
    [InlineData("hello! @alice", "hello! @alice")]   // trailing '!' and a leading '@' are not leet
    [InlineData("s p a m", "spam")]
    [InlineData("s.p.a.m and f-r-e-e", "spam and free")]
    [InlineData("a b", "a b")]                       // two letters are not a spaced word
    [InlineData("tabs\tand\n\nnewlines   here", "tabs and newlines here")]
    [InlineData("ﬁnance", "finance")]
    [InlineData("STRASSE straße", "strasse strasse")]
    [InlineData("日本語", "日本語")]
    [InlineData("👍🏽 ok", "👍🏽 ok")]
    public void Normalize_Evasions_FoldToPlainText(string input, string expected)
    {
        Assert.Equal(expected, TextNormalizer.NormalizeToString(input));
    }

    [Fact]
    public void Normalize_IndexMap_PointsBackToOriginalCharacters()
    {
        var input = "x ｓ\u200Bp4m!";
        var buffer = new NormalizedText();
        TextNormalizer.Normalize(input, buffer);
        Assert.Equal("x spam!", buffer.ToString());
        var s = buffer.Span.IndexOf("spam");
        Assert.Equal(2, buffer.OriginalStart(s));
        Assert.Equal(7, buffer.OriginalEnd(s + 3));
        Assert.Equal("ｓ\u200Bp4m", input[buffer.OriginalStart(s)..buffer.OriginalEnd(s + 3)]);
    }

    [Fact]
    public void Normalize_LoneSurrogate_DoesNotThrow()
    {
        Assert.Equal("a\uFFFDb", TextNormalizer.NormalizeToString("a\uD800b"));
    }

    [Fact]
    public void Normalize_LoneSurrogatesAroundAnInvisible_DoNotPairUp()
    {
        // Found by PolicyPropertyTests (issue 17): dropping the joiner used to leave "\uD835\uDE00", a real character
        // (U+1D600, a bold "s") that a second normalisation read although the text never had it.
        var once = TextNormalizer.NormalizeToString("\uD835\u200D\uDE00");
        Assert.Equal("\uFFFD\uFFFD", once);
        Assert.Equal(once, TextNormalizer.NormalizeToString(once));
    }

    [Fact]
    public void Normalize_LongInput_GrowsBuffer()
    {
        var input = new string('A', 100_000);
        Assert.Equal(new string('a', 100_000), TextNormalizer.NormalizeToString(input));
    }

    // make fuzz (normalise): halfwidth katakana voiced marks fold to combining marks (U+3099, U+309A); folded to the
    // bare mark, a second pass dropped it. A character whose compatibility form is only marks is a mark.
    [Theory]
    [InlineData("\t\uff9e")]
    [InlineData("a\uff9f b")]
    [InlineData("\u30ab\uff9e")]
    public void Normalize_CompatibilityFormIsOnlyAMark_IsIdempotent(string text)
    {
        var once = TextNormalizer.NormalizeToString(text);

        Assert.Equal(once, TextNormalizer.NormalizeToString(once));
    }
}
