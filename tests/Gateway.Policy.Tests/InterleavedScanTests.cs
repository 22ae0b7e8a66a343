using System.Text;
using Gateway.Policy.Matching;
using Gateway.Policy.Rules;

namespace Gateway.Policy.Tests;

/// <summary>
/// Issue 18 part 4: the literal stage's speed-ups (eight interleaved chains with overlapping warm-ups) must report
/// exactly what one plain stream over the text reports: same hits, same order. Checked over random texts built to put
/// occurrences on the chains' seams, with non-ASCII letters, confusables, stretched and spaced-out letters, and for
/// the separator-transparent automaton the regex gating uses.
/// </summary>
public sealed class InterleavedScanTests
{
    private static readonly string[] Fillers =
    [
        " ", " ", "  ", ". ", "-", "_", "\u200B", "😀", "é", "ё", "ß", "x", "1", "ℱ", "ｆ", "!", "\n",
    ];

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (var seed = 1; seed <= 12; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void FindAll_RandomTexts_SameAsOneStream(int seed)
    {
        var r = new Random(seed);
        var patterns = Patterns(r);
        var automaton = KeywordAutomaton.Build(patterns);
        for (var round = 0; round < 40; round++)
        {
            var text = Text(r, patterns, round, transparentSeparators: false);
            AssertSame(automaton, text);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void FindAll_SeparatorTransparent_SameAsOneStream(int seed)
    {
        var r = new Random(seed);
        var patterns = Patterns(r).Where(p => !p.Any(c => RegexFactors.Separators[c])).ToList();
        var automaton = KeywordAutomaton.Build(patterns, RegexFactors.Separators);
        for (var round = 0; round < 40; round++)
        {
            var text = Text(r, patterns, round, transparentSeparators: true);
            AssertSame(automaton, text);
        }
    }

    [Fact]
    public void FindAll_OccurrenceOnEverySeam_SameAsOneStream()
    {
        // Patterns placed across every boundary the eight chains could have, for lengths around each cut-over.
        var patterns = new List<string> { "abcdefgh", "cdef", "h", "zyxwvutsrqponmlk", "ab", "ghab" };
        var automaton = KeywordAutomaton.Build(patterns);
        foreach (var length in new[] { 255, 256, 257, 300, 511, 512, 513, 1000, 1023, 1024, 1031, 4099 })
        {
            for (var shift = -9; shift <= 9; shift += 3)
            {
                var chars = Enumerable.Repeat('q', length).ToArray();
                var stretch = length / 8;
                for (var k = 1; k < 8; k++)
                {
                    var at = (k * stretch) + shift - 4;
                    if (at >= 0 && at + 8 <= length)
                    {
                        "abcdefgh".CopyTo(0, chars, at, 8);
                    }
                }

                AssertSame(automaton, new string(chars));
            }
        }
    }

    [Fact]
    public void FindAll_NothingButHits_SameAsOneStream()
    {
        var patterns = new List<string> { "a", "aa", "aaa", "aaaa", "b", "ab", "ba" };
        var automaton = KeywordAutomaton.Build(patterns);
        var r = new Random(7);
        foreach (var length in new[] { 256, 777, 2048, 5000 })
        {
            var text = new string(Enumerable.Range(0, length).Select(_ => r.Next(5) == 0 ? 'b' : 'a').ToArray());
            AssertSame(automaton, text);
        }
    }

    private static void AssertSame(KeywordAutomaton automaton, string text)
    {
        var expected = new List<LiteralHit>();
        automaton.FindAllOneStream(text, expected);
        var hits = new List<LiteralHit> { new(-1, 0, 0) }; // appends after what the list already holds
        automaton.FindAll(text, hits);
        Assert.Equal([new LiteralHit(-1, 0, 0), .. expected], hits);
        Assert.Equal(expected.Count > 0, automaton.ContainsAny(text));

        // Every way the interleaved scan can read the text: the class table directly, and translated into class
        // bytes (with AVX-512 where the CPU has it, else the same path without vectors).
        foreach (var path in Enum.GetValues<KeywordAutomaton.ScanPath>())
        {
            var viaPath = new List<LiteralHit> { new(-1, 0, 0) };
            automaton.FindAll(text, viaPath, path);
            Assert.Equal([new LiteralHit(-1, 0, 0), .. expected], viaPath);
        }

        // A window of the text, as FindAroundRuns scans it: the one-stream hits that lie inside it.
        if (text.Length > 300)
        {
            var from = text.Length / 7;
            var to = text.Length - (text.Length / 9);
            var window = new List<LiteralHit>();
            automaton.FindAll(text, from, to, window);
            var inside = new List<LiteralHit>();
            automaton.FindAllOneStream(text.AsSpan(from, to - from), inside);
            Assert.Equal(inside.Select(h => new LiteralHit(h.Pattern, h.Start + from, h.End + from)), window);
        }
    }

    private static List<string> Patterns(Random r)
    {
        const string letters = "abcdeéёßf";
        var patterns = new HashSet<string>(StringComparer.Ordinal);
        while (patterns.Count < 80)
        {
            var length = r.Next(10) == 0 ? r.Next(12, 40) : r.Next(1, 8);
            var sb = new StringBuilder();
            for (var k = 0; k < length; k++)
            {
                sb.Append(k > 0 && r.Next(12) == 0 ? ' ' : letters[r.Next(letters.Length)]);
            }

            patterns.Add(sb.ToString().Trim() is { Length: > 0 } p ? p : "a");
        }

        return [.. patterns];
    }

    /// <summary>Random words and planted patterns (plain, stretched, spaced out) joined by fillers.</summary>
    private static string Text(Random r, List<string> patterns, int round, bool transparentSeparators)
    {
        var length = round % 5 == 0 ? r.Next(0, 300) : r.Next(250, 6000);
        var sb = new StringBuilder();
        while (sb.Length < length)
        {
            var p = patterns[r.Next(patterns.Count)];
            switch (r.Next(round % 3 == 0 ? 40 : 6))
            {
                case 0:
                    sb.Append(p);
                    break;
                case 1:
                    sb.Append(string.Concat(p.Select(c => new string(c, r.Next(3) == 0 ? 4 : 1)))); // stretched
                    break;
                case 2:
                    sb.Append(string.Join(transparentSeparators ? "-" : " ", p.Select(c => c.ToString()))); // spaced
                    break;
                default:
                    for (var k = r.Next(1, 9); k > 0; k--)
                    {
                        sb.Append("abcdefghqrstuvé"[r.Next(15)]);
                    }

                    break;
            }

            sb.Append(Fillers[r.Next(Fillers.Length)]);
        }

        return sb.ToString();
    }
}
