using Gateway.Policy.Model;
using Gateway.Policy.Rules;

namespace Gateway.Policy.Tests;

/// <summary>
/// Issue 17, found by `make fuzz` (matrix-html, 139 inputs): a hit refused because of its neighbours became readable
/// once a neighbouring hit was starred out. The censored text is what the backend receives, so it is evaluated again
/// and whatever matches there is censored too (PolicySnapshot.Recheck).
/// </summary>
public sealed class CensorRecheckTests
{
    // The fuzz target's policy: a whole-word term, a wildcard term and a regex.
    private static readonly PolicySnapshot Policy = PolicyCompiler.Compile(
    [
        new FilterDefinition { Name = "censor", Action = FilterAction.Censor, Keywords = ["spam", "*bad*", "bad word"], Fields = FieldSet.All },
        new FilterDefinition { Name = "regex", Action = FilterAction.Censor, Regexes = [@"fr[e3]+ m[o0]ney"], Fields = FieldSet.All },
    ]);

    private static ChatMessage Msg(string text) => new()
    {
        Protocol = "test",
        Sender = "@alice:example.org",
        Room = "lobby",
        Fields = [new MessageField(FieldKind.Body, text)],
    };

    public static TheoryData<string, string> Found => new()
    {
        // "Đ" marks the text as Vietnamese, so the accented "spȀm" was taken for a foreign word; but the word with "Đ"
        // was itself a hit ("b#d" masked), and once starred "spȀm" stood alone.
        { "B#\u0110 sp\u0200m", "*** ****" },
        { "\u007fB#\u0110\u0017\r\u0014sp\u0200m\ufffd", "\u007f***\u0017\r\u0014****\ufffd" },
        // "ssssp#m" glued to the next hit was inside a longer word; once the next one was starred it was a word.
        { "sssssssssssssssp\u0200#ssssssssp\u0200#", new string('*', 29) },
        { "ssssp\u0200#ssssp\u0200#", new string('*', 14) },
    };

    [Theory]
    [MemberData(nameof(Found))]
    public void Censor_HitFreedByAnotherHitsStars_IsCensoredToo(string text, string expected)
    {
        var verdict = Policy.Evaluate(Msg(text));

        Assert.Equal(VerdictAction.Censor, verdict.Action);
        var delivered = verdict.DeliveredText(Msg(text), FieldKind.Body)!;
        Assert.Equal(expected, delivered);
        Assert.True(Policy.Evaluate(Msg(delivered)).IsClean);
    }

    [Theory]
    [InlineData("spammer spam", "spammer ****")]
    [InlineData("the spammers were bad", "the spammers were ***")]
    [InlineData("b#d caf\u00e9 spam", "*** caf\u00e9 ****")]
    public void Censor_RefusedCandidateNotFreed_StaysAsItWas(string text, string expected)
    {
        var verdict = Policy.Evaluate(Msg(text));

        Assert.Equal(expected, verdict.DeliveredText(Msg(text), FieldKind.Body));
    }

    [Fact]
    public void Drop_IsNotRechecked_NothingIsDelivered()
    {
        var policy = PolicyCompiler.Compile(
        [
            new FilterDefinition { Name = "drop", Action = FilterAction.Drop, Keywords = ["scam"], Fields = FieldSet.All },
            new FilterDefinition { Name = "censor", Action = FilterAction.Censor, Keywords = ["spam", "*bad*"], Fields = FieldSet.All },
        ]);

        var verdict = policy.Evaluate(Msg("scam B#\u0110 sp\u0200m"));

        Assert.Equal(VerdictAction.Drop, verdict.Action);
        Assert.Null(verdict.DeliveredText(Msg("scam B#\u0110 sp\u0200m"), FieldKind.Body));
    }

    [Fact]
    public void MatchesFoundOnRecheck_AreInOriginalCoordinates()
    {
        // A two-character cluster in the first hit ("Đ" + a combining accent) becomes one '*': the censored text is
        // one character shorter before "spȀm" than the original.
        const string text = "B#\u0110\u0301 sp\u0200m";
        var verdict = Policy.Evaluate(Msg(text));

        var spam = Assert.Single(verdict.Matches, m => m.Term == "spam");
        Assert.Equal("sp\u0200m", text[spam.Start..spam.End]);
    }
}
