using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Policy.Tests.Properties;
using Gateway.Policy.Text;

namespace Gateway.Policy.Tests;

/// <summary>
/// Issue 17, `make fuzz` finding 8 (normalise): whether a run of spaced letters was joined depended on the runs beside
/// it, so normalising twice gave another text and censoring one copy of a term freed another. Each single letter now
/// chooses its side from a fixed neighbourhood (TextNormalizer.JoinSpacedLetters); these pin the rule down.
/// </summary>
public sealed class SpacedJoinTests
{
    // The fuzz target's policy.
    private static readonly PolicySnapshot Policy = PolicyCompiler.Compile(
    [
        new FilterDefinition { Name = "censor", Action = FilterAction.Censor, Keywords = ["spam", "*bad*", "bad word"], Fields = FieldSet.All },
        new FilterDefinition { Name = "regex", Action = FilterAction.Censor, Regexes = [@"fr[e3]+ m[o0]ney"], Fields = FieldSet.All },
    ]);

    // With two more regexes that match inside joined words ("sad", "pkm").
    private static readonly PolicySnapshot ExtraPolicy = PolicyCompiler.Compile(
    [
        new FilterDefinition { Name = "censor", Action = FilterAction.Censor, Keywords = ["spam", "*bad*", "bad word", "pizza"], Fields = FieldSet.All },
        new FilterDefinition { Name = "regex", Action = FilterAction.Censor, Regexes = [@"fr[e3]+ m[o0]ney", "sa[bd]", "p.m"], Fields = FieldSet.All },
    ]);

    private static ChatMessage Msg(string text) => new()
    {
        Protocol = "test",
        Sender = "@alice:example.org",
        Room = "lobby",
        Fields = [new MessageField(FieldKind.Body, text)],
    };

    private static string Norm(string text) => TextNormalizer.NormalizeToString(text);

    [Theory]
    // The fuzz inputs: a one-letter word (here a fullwidth one) or a CJK character between two runs spaced otherwise.
    [InlineData("s.p.a.m \uff4d s.p.a.m", "spam m spam")]
    [InlineData("p.i.m \u61f6 s.p.a", "pim \u61f6 spa")]
    [InlineData("s.p.a.m m s.p.a.m", "spam m spam")]
    [InlineData("s.p.a.m x b.a.d", "spam x bad")]
    // Where two runs spaced differently share a letter, it joins the side spaced alike for two more letters; if both
    // are, the side whose gap is not a plain space, and on a tie the left one.
    [InlineData("such a f.u.c.k today", "such a fuck today")]
    [InlineData("such a f. u. c. k today", "such a fuck today")]
    [InlineData("t A s.p.a.m today", "t a spam today")]
    [InlineData("f u c k. I swear", "fuck. i swear")]
    [InlineData("f.u.c.k. I swear", "fuck. i swear")]
    [InlineData("lol.f u c k", "lol.fuck")]
    [InlineData("s p a m.lol", "spam.lol")]
    [InlineData("a.b.c-d-e-f", "abc-def")]
    [InlineData("s.p.a.m-x_y_z", "spam-xyz")]
    [InlineData("a b m.x-y-z", "abm.xyz")]
    [InlineData("he said \"f u c k\"", "he said \"fuck\"")]
    // Issue 18's rules stand: a one-letter word spaced like the run joins it; lists, kisses and formulas do not join.
    [InlineData("such a f u c k today", "such afuck today")]
    [InlineData("b i t c h I swear", "bitchi swear")]
    [InlineData("f_u_c_k!", "fuck!")]
    [InlineData("a, b, c", "a, b, c")]
    [InlineData("x x x", "x x x")]
    [InlineData("f(x) = a n a l + 1", "f(x) = a n a l + 1")]
    public void Normalize_RunsBesideOtherRuns_JoinWholeAndTheSameAgain(string text, string expected)
    {
        var once = Norm(text);

        Assert.Equal(expected, once);
        Assert.Equal(once, Norm(once));
    }

    [Theory]
    [InlineData("s.p.a.m \uff4d s.p.a.m")]
    [InlineData("s.p.a.m m s.p.a.m")]
    [InlineData("s.p.a.m x b.a.d")]
    [InlineData("s.p.a.m-x-y_b_a_d")]
    [InlineData("p i z z a.s.p.a.m")]
    [InlineData("s p a m.f.r.e.e money")]
    // Found by a random search over chains of singles: a word starred out beside a single must still bound its gap
    // ("bad.d" and "***.d" both have the gap "."), or the single joins the other way ("$ a d" → "sad").
    [InlineData("\uff4d!pizz . $+bad.d.$ a d money")]
    [InlineData("4_ bad.-bad . b . p_ k_ \uff4d.a.-k-x_3, a")]
    public void Censor_OneRun_DoesNotFreeTheRunBesideIt(string text)
    {
        var verdict = ExtraPolicy.Evaluate(Msg(text));
        var delivered = verdict.DeliveredText(Msg(text), FieldKind.Body)!;

        var again = ExtraPolicy.Evaluate(Msg(delivered));
        Assert.True(again.IsClean, $"\"{delivered}\" normalises to \"{Norm(delivered)}\" and still matches");
    }

    [Fact]
    public void Normalize_SecondCopyStarredOut_FirstCopyStillJoined()
    {
        // The first copy is a hit on its own, so it was censored with the second; starring out only the second (what
        // a client could send) must not change how the first is read.
        Assert.Equal(Norm("s.p.a.m \uff4d").Split(' ')[0], Norm("s.p.a.m \uff4d *******").Split(' ')[0]);
        Assert.Equal("spam", Norm("s.p.a.m \uff4d *******").Split(' ')[0]);
        Assert.False(Policy.Evaluate(Msg("s.p.a.m \uff4d *******")).IsClean);
    }

    [Theory]
    [InlineData("such a f u c k today", 6)]   // "a" is a word of its own: a hit may start after it
    [InlineData("b i t c h I swear", 5)]
    public void Normalize_OneLetterWordJoinedWithARun_LeavesASoftBoundary(string text, int boundary)
    {
        var buffer = new NormalizedText();
        TextNormalizer.Normalize(text, buffer);

        Assert.True(buffer.IsSoftBoundary(boundary));
    }

    [Fact]
    public void Normalize_OneLetterWordThatCouldJoinEitherSide_NoSoftBoundary()
    {
        // "a" could join "p i z z" or the dotted run; it joins the dotted one, but a hit that starts after it and is
        // starred out would hand it to "p i z z" ("pizza"): it is part of the word, not a word of its own.
        var buffer = new NormalizedText();
        TextNormalizer.Normalize("p i z z a.s.p.a.m", buffer);

        Assert.Equal("pizz aspam", buffer.ToString());
        Assert.False(buffer.IsSoftBoundary(6));
    }

    [Fact]
    public void Normalize_LongChainOfMixedGaps_IsLinear()
    {
        // Every letter has another gap on each side: none may be scanned again for each letter after it.
        var text = string.Concat(Enumerable.Repeat("a.b c-d e_", 20_000));
        var once = Norm(text);
        Assert.Equal(once, Norm(once));
    }
}

/// <summary>Chains of single letters with every kind of gap, one-letter words, CJK and fullwidth letters between them.</summary>
public sealed record SpacedChain(string Value)
{
    public override string ToString() => $"\"{HiddenTerm.Escape(Value)}\"";
}

public static class SpacedChainGenerators
{
    private static readonly string[] Tokens =
        ["s", "p", "a", "m", "b", "d", "i", "x", "z", "\uff4d", "\u61f6", "I", "A", "3", "4", "$", "lol", "bad", "pizz", "k!", "*******", "**", "*", "(", "="];

    private static readonly string[] Gaps = [" ", " ", ".", ".", "-", "_", ". ", " . ", ", ", "...", "'", " - ", "+", "!", "*", ".-", "_ "];

    public static Arbitrary<SpacedChain> SpacedChains()
    {
        var gen =
            from tokens in Gen.Elements(Tokens).NonEmptyListOf()
            from gaps in Gen.Elements(Gaps).ArrayOf(tokens.Count)
            select Build(tokens, gaps);
        return gen.ToArbitrary();
    }

    private static SpacedChain Build(IReadOnlyList<string> tokens, string[] gaps)
    {
        var sb = new StringBuilder();
        for (var k = 0; k < tokens.Count; k++)
        {
            _ = sb.Append(tokens[k]).Append(k + 1 < tokens.Count ? gaps[k] : "");
        }

        return new SpacedChain(sb.ToString());
    }
}

[Properties(Arbitrary = [typeof(SpacedChainGenerators)], MaxTest = 1000)]
public sealed class SpacedJoinPropertyTests
{
    private static readonly PolicySnapshot Policy = PolicyCompiler.Compile(
    [
        new FilterDefinition { Name = "censor", Action = FilterAction.Censor, Keywords = ["spam", "*bad*", "bad word", "pim", "dam", "pizza"], Fields = FieldSet.All },
        new FilterDefinition { Name = "regex", Action = FilterAction.Censor, Regexes = [@"fr[e3]+ m[o0]ney", "sa[bd]", "p.m"], Fields = FieldSet.All },
    ]);

    private static ChatMessage Msg(string text) => new()
    {
        Protocol = "test",
        Sender = "@alice:example.org",
        Room = "lobby",
        Fields = [new MessageField(FieldKind.Body, text)],
    };

    [Property]
    public void Normalize_Twice_EqualsOnce(SpacedChain chain)
    {
        var once = TextNormalizer.NormalizeToString(chain.Value);
        Assert.Equal(once, TextNormalizer.NormalizeToString(once));
    }

    [Property]
    public void Censor_LeavesNothingThatMatches(SpacedChain chain)
    {
        var verdict = Policy.Evaluate(Msg(chain.Value));
        var delivered = verdict.DeliveredText(Msg(chain.Value), FieldKind.Body)!;
        Assert.True(Policy.Evaluate(Msg(delivered)).IsClean, $"\"{delivered}\" → \"{TextNormalizer.NormalizeToString(delivered)}\"");
    }
}
