using System.Text;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Policy.Tests.Corpus;
using Gateway.Policy.Text;

namespace Gateway.Policy.Tests;

/// <summary>
/// Issue 18 part 4: every shortcut that skips work for speed (the collapsed copy scanned only around its stretched
/// runs, regexes skipped by their gates) must give exactly the verdicts of the same policy with the shortcuts off
/// (<see cref="PolicySnapshot.Exhaustive"/>): same action, same matches (filter, term, range, steps), same rewrite.
/// Checked over the matching corpus's disguise generators and over random texts built to hit the shortcuts' edges.
/// </summary>
public sealed class ShortcutDifferentialTests
{
    private static readonly string[] Regexes =
    [
        @"\b\d{3}[-. ]\d{3}[-. ]\d{4}\b", @"\(\d{3}\)\s*\d{3}[-. ]\d{4}", @"\+\d{1,3}[\s-]?\d{2,4}[\s-]?\d{3,4}",
        @"\b(?:\d{4}[ -]?){3}\d{4}\b", @"\b(?:\d{1,3}\.){3}\d{1,3}\b", @"\b\d{9,}\b", @"[!?]{6,}", @"(?:@\w+\s*){6,}",
        @"[a-z]{12,}", @"(?:\b\w\b[\W_]*){8,}", @"[#$%&*]{6,}", @"(?:\.\s*){10,}", @"\b0x[0-9a-f]{8}\b",
        @"b[\W_]*a[\W_]*d[\W_]*w", @"\bfree\s+nitro\b", @"x{3,}y",
    ];

    private static readonly Lazy<(PolicySnapshot Fast, PolicySnapshot Exhaustive)> Policies = new(() =>
    {
        var fast = PolicyCompiler.Compile(
        [
            new FilterDefinition { Name = "words", Keywords = MatchingCorpus.Terms, Forms = WordForms.English, Action = FilterAction.Censor },
            new FilterDefinition { Name = "patterns", Regexes = Regexes, Keywords = ["*boss*", "kiss*", "*ness"], Allow = ["bossanova"], Action = FilterAction.Censor },
            new FilterDefinition { Name = "raw", Regexes = [@"[A-Z]{10,}", @"\d{5}"], Normalize = false, Action = FilterAction.Reject },
        ]);
        return (fast, fast.Exhaustive());
    });

    private static readonly string[] Pieces =
    [
        " ", " ", " ", "  ", ". ", ", ", "!", "!!!!!!", "?", "|", "*", "#", "%", "-", "_", ".", "@kai ", "0x1f2e3d4c",
        "sss", "ooo", "fuuuuck", "shiiiit", "asssss", "b i t c h", "f.u.c.k", "s h i i i t", "x x x", "p@k!", "sh#t",
        "f**k", "f*ck", "555-123-4567", "(555) 123-4567", "+44 20 7946 0958", "4111 1111 1111 1111", "10.0.0.1",
        "123456789", "free nitro", "b-a-d-w", "bossssss", "kissss", "kindnesss", "bossanova", "xxxxy", "a", "i", "I",
        "hello", "world", "the", "ASSHOLE", "damn", "bitches", "fucking", "Ｆｕｃｋ", "𝐟𝐮𝐜𝐤", "ƒuck", "fück", "rapé", "A55",
        "C0CK-2231", "#a55", "\u200B", "é", "1 2 3", "d d d d d d", "abcdefghijklmnop", "ABCDEFGHIJKL", "12345",
    ];

    private static ChatMessage Msg(string text) =>
        new() { Protocol = "test", Fields = [new MessageField(FieldKind.Body, text)] };

    private static void AssertSame(string text)
    {
        var (fast, exhaustive) = Policies.Value;
        var a = fast.Evaluate(Msg(text));
        var b = exhaustive.Evaluate(Msg(text));
        Assert.True(a.Action == b.Action, $"action {a.Action} vs {b.Action} for \"{text}\"");
        Assert.True(a.Matches.Count == b.Matches.Count, $"{a.Matches.Count} vs {b.Matches.Count} matches for \"{text}\"");
        for (var k = 0; k < a.Matches.Count; k++)
        {
            var (x, y) = (a.Matches[k], b.Matches[k]);
            Assert.True(x.Filter == y.Filter && x.Term == y.Term && x.Start == y.Start && x.End == y.End
                && string.Join(",", x.Steps) == string.Join(",", y.Steps), $"match {k} differs for \"{text}\"");
        }

        Assert.Equal(b.Rewritten?.Select(f => f.Text), a.Rewritten?.Select(f => f.Text));
    }

    [Fact]
    public void Evaluate_MatchingCorpus_SameWithShortcutsOff()
    {
        var cases = MatchingCorpus.Build();
        Assert.NotEmpty(cases);
        foreach (var c in cases)
        {
            AssertSame(c.Text);
        }
    }

    public static TheoryData<int> Seeds() => new(Enumerable.Range(1, 6));

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Evaluate_RandomTexts_SameWithShortcutsOff(int seed)
    {
        var r = new Random(seed);
        for (var round = 0; round < 300; round++)
        {
            // Short messages, and long ones where stretched runs sit far apart (separate scan windows) or close
            // together (merged windows).
            var count = round % 10 == 0 ? r.Next(100, 400) : r.Next(1, 30);
            var sb = new StringBuilder();
            for (var i = 0; i < count; i++)
            {
                sb.Append(Pieces[r.Next(Pieces.Length)]);
                if (r.Next(3) == 0)
                {
                    sb.Append(' ');
                }
            }

            AssertSame(sb.ToString());
        }
    }

    [Fact]
    public void Evaluate_StretchedRunsFarApart_SameWithShortcutsOff()
    {
        var filler = string.Concat(Enumerable.Repeat("plain words here and there ", 20));
        AssertSame("fuuuuck " + filler + "shiiiit " + filler + "asssss");
        AssertSame(filler + "bossssss" + filler);
        AssertSame("ooo" + filler + "fuuuuck");
        AssertSame(filler + "f*ck sss sh|t ooo p@k!");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Collapse_RandomTexts_SameAsCharacterByCharacter(int seed)
    {
        var r = new Random(seed);
        var source = new NormalizedText(16);
        var target = new NormalizedText(16);
        var runs = new int[4];
        for (var round = 0; round < 300; round++)
        {
            var sb = new StringBuilder();
            for (var i = r.Next(0, 120); i > 0; i--)
            {
                sb.Append("aabssssxyyyz ..é111"[r.Next(19)]);
            }

            TextNormalizer.Normalize(sb.ToString(), source);
            Stretch.Collapse(source, target, ref runs);

            // Reference: one character at a time.
            var chars = new StringBuilder();
            var expected = new List<(int Start, int End, int Run)>();
            var s = source.Span;
            for (var i = 0; i < s.Length;)
            {
                var j = i + 1;
                while (s[i] is >= 'a' and <= 'z' && j < s.Length && s[j] == s[i])
                {
                    j++;
                }

                if (j - i < 3)
                {
                    j = i + 1;
                }

                chars.Append(s[i]);
                expected.Add((source.OriginalStart(i), source.OriginalEnd(j - 1), j - i));
                i = j;
            }

            Assert.Equal(chars.ToString(), target.ToString());
            for (var k = 0; k < expected.Count; k++)
            {
                Assert.Equal(expected[k], (target.OriginalStart(k), target.OriginalEnd(k), runs[k]));
            }

            Assert.Equal(Stretch.HasRun(s), expected.Any(e => e.Run >= 3));
        }
    }
}
