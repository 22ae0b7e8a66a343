using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Policy.Text;

namespace Gateway.Policy.Tests;

/// <summary>Normaliser and term-validation bypasses of issue 9, defect 4.</summary>
public sealed class FilterBypassTests
{
    private static ChatMessage Msg(string text) =>
        new() { Protocol = "test", Fields = new[] { new MessageField(FieldKind.Body, text) } };

    private static Verdict Eval(string keyword, string text) =>
        PolicyCompiler.Compile(new[] { new FilterDefinition { Name = "words", Keywords = new[] { keyword } } }).Evaluate(Msg(text));

    [Theory]
    [InlineData("damn!!", "damn!!")]             // a trailing run of '!' is punctuation, not "damni!"
    [InlineData("damn!!!", "damn!!!")]
    [InlineData("damn!", "damn!")]               // a single trailing '!' already was
    [InlineData("damn||", "damn||")]             // same for '|'
    [InlineData("damn!|!", "damn!|!")]
    [InlineData("!!damn", "!!damn")]             // a leading run of two or more too
    [InlineData("!diot", "idiot")]               // a single leading '!' is still leet
    [InlineData("n!ce d!!mn l|ne", "nice diimn llne")] // inside a word, as before
    [InlineData("sh!t!!", "shit!!")]
    public void Normalize_ExclamationRuns_TrailingRunStaysPunctuation(string input, string expected)
    {
        Assert.Equal(expected, TextNormalizer.NormalizeToString(input));
    }

    [Theory]
    [InlineData("da\u0001mn", "damn")]
    [InlineData("da\u0000mn", "damn")]
    [InlineData("da\u001Fmn", "damn")]
    [InlineData("da\u007Fmn", "damn")]
    [InlineData("da\u0080\u009Fmn", "damn")]
    [InlineData("da\u0001\u200Bmn", "damn")]
    [InlineData("da\tmn", "da mn")]              // whitespace controls still separate words
    [InlineData("da\r\nmn", "da mn")]
    [InlineData("da\u0085mn", "da mn")]          // NEL is whitespace
    public void Normalize_ControlCharacterInsideWord_IsIgnoredLikeZeroWidth(string input, string expected)
    {
        Assert.Equal(expected, TextNormalizer.NormalizeToString(input));
    }

    [Fact]
    public void Normalize_ControlCharacterInsideWord_IndexMapCoversOriginalSpan()
    {
        var input = "x da\u0001\u0002mn!";
        var buffer = new NormalizedText();
        TextNormalizer.Normalize(input, buffer);
        Assert.Equal("x damn!", buffer.ToString());
        var s = buffer.Span.IndexOf("damn");
        Assert.Equal("da\u0001\u0002mn", input[buffer.OriginalStart(s)..buffer.OriginalEnd(s + 3)]);
    }

    [Theory]
    [InlineData("damn!!", "****!!")]
    [InlineData("well damn!!! ok", "well ****!!! ok")]
    [InlineData("DAMN||", "****||")]
    [InlineData("!!damn", "!!****")]
    [InlineData("da\u0001mn", "****")]             // the control character goes with the word
    [InlineData("oh da\u0001\u0002mn it", "oh **** it")]
    [InlineData("da\u0000mn!!", "****!!")]
    public void Evaluate_WholeWordBypasses_AreCensored(string text, string expected)
    {
        var v = Eval("damn", text);
        Assert.Equal(VerdictAction.Censor, v.Action);
        Assert.Equal(expected, v.DeliveredText(Msg(text), FieldKind.Body));
    }

    [Theory]
    [InlineData("!!!")]
    [InlineData("?!")]
    [InlineData("...")]
    [InlineData("*!!!*")]
    [InlineData("\u0301")]                         // a combining mark alone
    [InlineData("\u0301\u0308")]
    [InlineData("\u0301abc")]                      // a mark the text would give to the space before it
    [InlineData("\u0001\u0002")]                  // controls: nothing once normalised
    [InlineData("\u200B")]
    public void TryParse_UnmatchableTerm_IsRefusedNamingIt(string term)
    {
        Assert.False(KeywordTerm.TryParse(term, out _, out var error));
        Assert.Contains($"\"{term}\"", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("damn")]
    [InlineData("sh!t")]
    [InlineData("!diot")]
    [InlineData("wow!")]
    [InlineData("$$$")]                           // symbols count
    [InlineData("🍆")]
    [InlineData("¯\\_(ツ)_/¯")]
    [InlineData("s p a m")]
    [InlineData("a b")]
    [InlineData("1 2 3")]
    [InlineData("@everyone")]
    [InlineData("日本")]
    [InlineData("naïve")]
    [InlineData("क्ष")]                            // a mark after a base that keeps its marks
    [InlineData("*cat*")]
    public void TryParse_OrdinaryTerm_IsAccepted(string term)
    {
        Assert.True(KeywordTerm.TryParse(term, out _, out var error), error);
    }

    [Theory]
    [InlineData("damn")]
    [InlineData("sh!t")]
    [InlineData("wow!")]
    [InlineData("$$$")]
    [InlineData("s p a m")]
    [InlineData("क्ष")]
    public void Evaluate_AcceptedTerm_MatchesItselfInRunningText(string term)
    {
        Assert.Equal(VerdictAction.Censor, Eval(term, $"so {term} here").Action);
    }

    [Fact]
    public void Compile_UnmatchableAllowTerm_IsAnError()
    {
        var f = new FilterDefinition { Name = "f", Keywords = new[] { "damn" }, Allow = new[] { "!!!" } };
        var ex = Assert.Throws<PolicyCompileException>(() => PolicyCompiler.Compile(new[] { f }));
        Assert.Contains(ex.Errors, e => e.Contains("\"!!!\"", StringComparison.Ordinal));
    }
}
