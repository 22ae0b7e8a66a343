using System.Text;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Policy.Tests.Corpus;

namespace Gateway.Policy.Tests;

/// <summary>
/// Issue 18 part 4 (dense hits): the per-hit path was made cheaper (an allow cursor instead of a search per hit, a
/// fast accept for plain lower-case hits, matches kept compact and built into records when read, sorts by packed
/// keys or run merges, censored text in a pooled buffer). With the shortcuts off (<see cref="PolicySnapshot.Exhaustive"/>)
/// the same policy runs the hit path as first written; both must give the same verdict field for field: action,
/// deciding filter, notice, report flag, every match in order (filter, action, field, term, range, dry run, steps)
/// and the rewritten fields. Texts are many hits close together: overlapping terms, allow terms around keywords,
/// several censoring filters, a rejecting one, dry runs, two fields, non-ASCII, confusables, spaced and stretched
/// letters, masks and capitals.
/// </summary>
public sealed class DenseHitDifferentialTests
{
    private static readonly Lazy<(PolicySnapshot Fast, PolicySnapshot Reference)> Censoring = new(() => Pair(reject: false));

    private static readonly Lazy<(PolicySnapshot Fast, PolicySnapshot Reference)> Rejecting = new(() => Pair(reject: true));

    private static (PolicySnapshot, PolicySnapshot) Pair(bool reject)
    {
        FilterDefinition[] filters =
        [
            new()
            {
                Name = "slurs", Keywords = MatchingCorpus.Terms, Forms = WordForms.English, Action = FilterAction.Censor,
                Allow = ["scunthorpe", "cockpit", "shitake", "dickens", "assholes anonymous"], Fields = FieldSet.Body | FieldSet.Title,
                Notice = "mind your words",
            },
            new()
            {
                Name = "spam", Keywords = ["*boss*", "kiss*", "*ness", "cock", "free nitro", "shit"], Allow = ["bossanova", "kindness"],
                Action = FilterAction.Censor, Report = true,
            },
            new() { Name = "watch", Keywords = ["tit", "ass", "hell"], Action = FilterAction.Reject, DryRun = true, Report = true },
            new() { Name = "notice-only", Keywords = ["damn"], Action = FilterAction.Forward, Notice = "language", Fields = FieldSet.Body | FieldSet.Title },
            new() { Name = "hard", Keywords = reject ? ["nazi", "kike"] : ["zzzqqq"], Action = FilterAction.Reject, Notice = "no" },
            new() { Name = "rx", Regexes = [@"\bfree\s+nitro\b", @"b[\W_]*a[\W_]*d[\W_]*w"], Action = FilterAction.Censor },
        ];
        var fast = PolicyCompiler.Compile(filters);
        return (fast, fast.Exhaustive());
    }

    private static readonly string[] Pieces =
    [
        "fuck", "shit", "bitch", "cock", "cockpit", "scunthorpe", "shitake", "dickens", "assholes", "asshole", "assholes anonymous",
        "boss", "bossanova", "bosses", "kisses", "kindness", "darkness", "free nitro", "damn", "tit", "tits", "titties", "hell",
        "nazi", "kike", "b-a-d-w", "fuuuuck", "shiiiit", "f*ck", "sh#t", "p@k!", "f.u.c.k", "b i t c h", "FUCK", "ShIt", "A55",
        "C0CK-2231", "#a55", "fück", "rapé", "Ｆｕｃｋ", "𝐟𝐮𝐜𝐤", "ƒuck", "sh\u200Bit", "é", "the", "a", "I", "x x x", "fucking",
        "bitches", "fucker", "cocks", "😀", "👍🏽", "\r\n", ".", ",", "!", "?", "-", "_",
    ];

    private static ChatMessage Msg(string body, string? title = null) => new()
    {
        Protocol = "test",
        Fields = title is null
            ? [new MessageField(FieldKind.Body, body)]
            : [new MessageField(FieldKind.Title, title), new MessageField(FieldKind.Body, body)],
    };

    private static void AssertSame((PolicySnapshot Fast, PolicySnapshot Reference) pair, ChatMessage message)
    {
        var a = pair.Fast.Evaluate(message);
        var b = pair.Reference.Evaluate(message);
        var what = string.Join(" | ", message.Fields.Select(f => f.Text));
        Assert.True(a.Action == b.Action, $"action {a.Action} vs {b.Action} for \"{what}\"");
        Assert.True(a.DecidingFilter == b.DecidingFilter && a.Notice == b.Notice && a.Report == b.Report, $"decision differs for \"{what}\"");
        Assert.True(a.Matches.Count == b.Matches.Count, $"{a.Matches.Count} vs {b.Matches.Count} matches for \"{what}\"");
        for (var k = 0; k < a.Matches.Count; k++)
        {
            var (x, y) = (a.Matches[k], b.Matches[k]);
            Assert.True(x with { Steps = [] } == y with { Steps = [] } && x.Steps.SequenceEqual(y.Steps),
                $"match {k} differs for \"{what}\": {x} vs {y}");
        }

        Assert.Equal(b.Rewritten?.Select(f => (f.Kind, f.Text)), a.Rewritten?.Select(f => (f.Kind, f.Text)));

        // Read twice and through the enumerator: the same records.
        Assert.Equal(a.Matches, a.Matches.ToList());
    }

    public static TheoryData<int> Seeds() => new(Enumerable.Range(1, 8));

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Evaluate_DenseRandomHits_SameAsReferencePath(int seed)
    {
        var r = new Random(seed);
        for (var round = 0; round < 120; round++)
        {
            var body = Dense(r, round % 8 == 0 ? r.Next(300, 900) : r.Next(1, 40));
            var title = r.Next(4) == 0 ? Dense(r, r.Next(1, 12)) : null;
            AssertSame(Censoring.Value, Msg(body, title));
            AssertSame(Rejecting.Value, Msg(body, title));
        }
    }

    [Fact]
    public void Evaluate_MatchingCorpusJoinedDensely_SameAsReferencePath()
    {
        var cases = MatchingCorpus.Build();
        for (var at = 0; at < cases.Count; at += 40)
        {
            var text = string.Join(" ", cases.Skip(at).Take(40).Select(c => c.Text));
            AssertSame(Censoring.Value, Msg(text));
            AssertSame(Rejecting.Value, Msg(text));
        }
    }

    [Fact]
    public void Evaluate_NothingButHitsAndAllowTerms_SameAsReferencePath()
    {
        // The bench's hostile shape: every word a hit or an allow term holding one, 16 KB.
        var words = new[] { "fucked", "cockpit", "shit", "scunthorpe", "bitches", "bossanova", "kisses", "dickens", "boss", "kindness" };
        var sb = new StringBuilder();
        var r = new Random(4);
        while (sb.Length < 16384)
        {
            sb.Append(words[r.Next(words.Length)]).Append(' ');
        }

        AssertSame(Censoring.Value, Msg(sb.ToString()));
        AssertSame(Rejecting.Value, Msg(sb.ToString()));
    }

    private static string Dense(Random r, int count)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            sb.Append(Pieces[r.Next(Pieces.Length)]);
            switch (r.Next(5))
            {
                case 0:
                    break; // glued to the next piece: overlapping and embedded terms
                case 1:
                    sb.Append(", ");
                    break;
                default:
                    sb.Append(' ');
                    break;
            }
        }

        return sb.ToString();
    }
}
