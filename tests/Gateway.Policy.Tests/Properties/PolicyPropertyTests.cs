using FsCheck.Xunit;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Policy.Text;

namespace Gateway.Policy.Tests.Properties;

/// <summary>
/// Issue 17: properties of the engine checked over generated input (FsCheck). A failure prints the counterexample
/// and the seed to replay it with (<c>[Property(Replay = "...")]</c>).
/// </summary>
[Properties(Arbitrary = [typeof(PolicyGenerators)], MaxTest = 300)]
public sealed class PolicyPropertyTests
{
    private static ChatMessage Msg(string text) => new()
    {
        Protocol = "test",
        Sender = "@alice:example.org",
        Room = "lobby",
        Fields = [new MessageField(FieldKind.Body, text)],
    };

    private static PolicySnapshot Censoring(string keyword) => PolicyCompiler.Compile(
    [
        new FilterDefinition { Name = "words", Action = FilterAction.Censor, Keywords = [keyword] },
    ]);

    [Property]
    public void Censor_HiddenTerm_IsFoundAndNotReadableAfterwards(HiddenTerm hidden)
    {
        var policy = Censoring($"*{hidden.Keyword}*");
        var verdict = policy.Evaluate(Msg(hidden.Text));
        Assert.Equal(VerdictAction.Censor, verdict.Action);

        var delivered = verdict.DeliveredText(Msg(hidden.Text), FieldKind.Body)!;
        Assert.DoesNotContain(hidden.Keyword, TextNormalizer.NormalizeToString(delivered), StringComparison.Ordinal);
        Assert.Equal(VerdictAction.Forward, policy.Evaluate(Msg(delivered)).Action);
    }

    [Property]
    public void Censor_WholeWordTerm_LeavesNoMatchBehind(HiddenTerm hidden)
    {
        // Whole-word terms may miss a hidden copy the words around it join onto; whatever they censor must be gone.
        var policy = Censoring(hidden.Keyword);
        var verdict = policy.Evaluate(Msg(hidden.Text));
        var delivered = verdict.DeliveredText(Msg(hidden.Text), FieldKind.Body)!;
        Assert.Equal(VerdictAction.Forward, policy.Evaluate(Msg(delivered)).Action);
    }

    [Property]
    public void Censor_AnyText_KeepsEveryCharacterOutsideTheMatches(TrickyText text, HiddenTerm hidden)
    {
        // Censoring replaces, it never inserts: the output is no longer than the input, and nothing changes when
        // nothing matched.
        var policy = Censoring($"*{hidden.Keyword}*");
        var input = text.Value + hidden.Text;
        var verdict = policy.Evaluate(Msg(input));
        var delivered = verdict.DeliveredText(Msg(input), FieldKind.Body)!;
        Assert.True(delivered.Length <= input.Length);
        if (verdict.IsClean)
        {
            Assert.Equal(input, delivered);
        }
    }

    [Property]
    public void Normalize_Twice_EqualsOnce(TrickyText text)
    {
        var once = TextNormalizer.NormalizeToString(text.Value);
        Assert.Equal(once, TextNormalizer.NormalizeToString(once));
    }

    [Property]
    public void Normalize_IndexMap_PointsInsideTheInput(TrickyText text)
    {
        var output = new NormalizedText(16);
        TextNormalizer.Normalize(text.Value, output);
        for (var i = 0; i < output.Length; i++)
        {
            Assert.InRange(output.OriginalStart(i), 0, text.Value.Length);
            Assert.InRange(output.OriginalEnd(i), output.OriginalStart(i), text.Value.Length);
        }
    }
}
