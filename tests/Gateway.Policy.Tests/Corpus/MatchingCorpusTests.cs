using System.Text;
using System.Text.RegularExpressions;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Xunit.Abstractions;

namespace Gateway.Policy.Tests.Corpus;

/// <summary>
/// Issue 18's acceptance thresholds on our own corpus: recall per disguise class (≥ 95 %) and overall (≥ 97 %) with
/// <c>forms = "english"</c>; precision: no false positive on Debian's fortunes (ordinary English) nor on a Scunthorpe
/// set from /usr/share/dict/words, and at most 1 % on the multilingual/code set. The corpora are installed by
/// tests/corpus/install.sh (run by tests/run-tests.sh); without them these tests fail rather than skip.
/// </summary>
public sealed class MatchingCorpusTests(ITestOutputHelper output)
{
    private const string FortunesDir = "/usr/share/games/fortunes";
    private const string Words = "/usr/share/dict/words";

    private static readonly string[] Suffixes = ["s", "ing", "er", "ed", "y", "ers"];

    private static readonly Lazy<PolicySnapshot> Policy = new(() => PolicyCompiler.Compile(
    [
        new FilterDefinition { Name = "words", Keywords = MatchingCorpus.Terms, Forms = WordForms.English },
    ]));

    private static ChatMessage Msg(string text) =>
        new() { Protocol = "test", Fields = [new MessageField(FieldKind.Body, text)] };

    private static Verdict Eval(string text) => Policy.Value.Evaluate(Msg(text));

    /// <summary>Every term and its English forms as plain lower-case words: what a literal whole-word matcher finds.</summary>
    private static readonly Lazy<HashSet<string>> PlainForms = new(() =>
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in MatchingCorpus.Terms)
        {
            set.Add(t);
            foreach (var s in Suffixes)
            {
                set.Add(MatchingCorpus.EnglishForm(t, s));
            }
        }

        return set;
    });

    private static bool LiterallyContainsTerm(string text)
    {
        // Words as written, and words with plain leetspeak read back ("p0rn" in a fortune is meant as porn).
        foreach (Match m in Regex.Matches(text.ToLowerInvariant(), @"[a-z0-9$@]+"))
        {
            var leet = m.Value.Replace('0', 'o').Replace('1', 'i').Replace('3', 'e').Replace('4', 'a').Replace('5', 's')
                .Replace('7', 't').Replace('$', 's').Replace('@', 'a');
            if (PlainForms.Value.Contains(m.Value) || (leet.Any(char.IsLetter) && PlainForms.Value.Contains(leet)))
            {
                return true;
            }
        }

        return false;
    }

    [Fact]
    public void Recall_PerDisguiseClass_AtLeast95PercentAndOverall97()
    {
        var cases = MatchingCorpus.Build();
        var byClass = new SortedDictionary<string, (int Caught, int Total, List<string> Missed)>(StringComparer.Ordinal);
        var caught = 0;
        foreach (var c in cases)
        {
            var hit = !Eval(c.Text).IsClean;
            caught += hit ? 1 : 0;
            var e = byClass.TryGetValue(c.Class, out var v) ? v : (0, 0, new List<string>());
            if (!hit)
            {
                e.Item3.Add(c.Text);
            }

            byClass[c.Class] = (e.Item1 + (hit ? 1 : 0), e.Item2 + 1, e.Item3);
        }

        var table = new StringBuilder("class | caught | cases | recall\n---|---|---|---\n");
        foreach (var (cls, (k, n, _)) in byClass)
        {
            table.Append(System.Globalization.CultureInfo.InvariantCulture, $"{cls} | {k} | {n} | {100.0 * k / n:F1} %\n");
        }

        table.Append(System.Globalization.CultureInfo.InvariantCulture, $"overall | {caught} | {cases.Count} | {100.0 * caught / cases.Count:F1} %\n");
        output.WriteLine(table.ToString());
        foreach (var (cls, (_, _, missed)) in byClass)
        {
            foreach (var m in missed.Take(8))
            {
                output.WriteLine($"missed [{cls}]: {m}");
            }
        }

        foreach (var (cls, (k, n, missed)) in byClass)
        {
            Assert.True(k >= 0.95 * n, $"{cls}: {k}/{n} caught; first missed: {string.Join(" | ", missed.Take(5))}");
        }

        Assert.True(caught >= 0.97 * cases.Count, $"overall {caught}/{cases.Count}");
    }

    [Fact]
    public void Precision_Fortunes_NoFalsePositive()
    {
        Assert.True(Directory.Exists(FortunesDir), $"{FortunesDir} missing: run tests/corpus/install.sh");
        var texts = new List<string>();
        foreach (var file in Directory.GetFiles(FortunesDir).Where(f => !f.EndsWith(".dat", StringComparison.Ordinal) && !f.EndsWith(".u8", StringComparison.Ordinal)))
        {
            var fi = new FileInfo(file);
            if (fi.LinkTarget is not null)
            {
                continue;
            }

            texts.AddRange(File.ReadAllText(file).Split("\n%\n").Select(t => t.Trim()).Where(t => t.Length > 0));
        }

        Assert.True(texts.Count > 1000, $"only {texts.Count} fortunes found");
        var fp = new List<string>();
        var truePositives = 0;
        foreach (var t in texts)
        {
            var v = Eval(t);
            if (v.IsClean)
            {
                continue;
            }

            if (LiterallyContainsTerm(t))
            {
                truePositives++;
                continue;
            }

            fp.Add(Describe(t, v));
        }

        output.WriteLine($"fortunes: {texts.Count} texts, {truePositives} contain a term literally, {fp.Count} false positives");
        Assert.True(fp.Count == 0, string.Join("\n", fp.Take(20)));
    }

    [Fact]
    public void Precision_ScunthorpeWords_NoFalsePositive()
    {
        Assert.True(File.Exists(Words), $"{Words} missing: run tests/corpus/install.sh");
        var words = File.ReadAllLines(Words)
            .Where(w => !LiterallyContainsTerm(w) && MatchingCorpus.Terms.Any(t => w.Contains(t, StringComparison.OrdinalIgnoreCase)))
            .ToList();
        Assert.True(words.Count > 300, $"only {words.Count} Scunthorpe words");
        var fp = new List<string>();
        foreach (var w in words)
        {
            foreach (var text in new[] { w, $"what a {w} today" })
            {
                var v = Eval(text);
                if (!v.IsClean)
                {
                    fp.Add(Describe(text, v));
                }
            }
        }

        output.WriteLine($"scunthorpe: {words.Count} words, {fp.Count} false positives");
        Assert.True(fp.Count == 0, string.Join("\n", fp.Take(30)));
    }

    [Fact]
    public void Precision_MultilingualAndCodes_AtMostOnePercent()
    {
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Corpus", "multilingual.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var fp = lines.Select(l => (l, v: Eval(l))).Where(x => !x.v.IsClean).Select(x => Describe(x.l, x.v)).ToList();
        output.WriteLine($"multilingual/code: {lines.Count} texts, {fp.Count} false positives");
        foreach (var f in fp)
        {
            output.WriteLine(f);
        }

        Assert.True(fp.Count <= lines.Count / 100, string.Join("\n", fp));
    }

    private static string Describe(string text, Verdict v) =>
        $"{text.ReplaceLineEndings(" ")[..Math.Min(120, text.Length)]} => " +
        string.Join(", ", v.Matches.Select(m => $"{m.Term} [{string.Join(",", m.Steps)}] at \"{text[m.Start..m.End]}\""));
}
