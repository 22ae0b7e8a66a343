using System.Text;
using Gateway.Policy.Matching;
using Gateway.Policy.Rules;
using Gateway.Policy.Tests.Corpus;

namespace Gateway.Policy.Tests;

/// <summary>
/// Issue 18 part 4: the automaton is built from flat arrays (sorted patterns, a counting sort into breadth-first
/// order) instead of a dictionary trie renumbered with LINQ. The tables must be the previous build's, entry for
/// entry: classes, transitions with their output marks, outputs, dictionary links and depth boundaries.
/// </summary>
public sealed class AutomatonBuildTests
{
    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (var seed = 1; seed <= 16; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Build_RandomPatterns_SameTablesAsReference(int seed)
    {
        var r = new Random(seed);
        // Shared prefixes, duplicates, one-character patterns, non-ASCII letters, spaces, mask slots and literal masks.
        const string letters = "abcab éёßf*#\uF8FF";
        var patterns = new List<string>();
        var count = r.Next(1, 400);
        for (var i = 0; i < count; i++)
        {
            if (patterns.Count > 0 && r.Next(8) == 0)
            {
                patterns.Add(patterns[r.Next(patterns.Count)]); // a duplicate
                continue;
            }

            var sb = new StringBuilder();
            var length = r.Next(6) == 0 ? r.Next(10, 30) : r.Next(1, 7);
            for (var k = 0; k < length; k++)
            {
                sb.Append(letters[r.Next(letters.Length)]);
            }

            patterns.Add(sb.ToString());
        }

        AssertSame(patterns, transparent: null);
        AssertSame(patterns.Where(p => !p.Any(c => RegexFactors.Separators[c])).DefaultIfEmpty("x").ToList(), RegexFactors.Separators);
    }

    [Fact]
    public void Build_TermsWithAllTheirVariants_SameTablesAsReference()
    {
        // What a policy with forms = "english" compiles: the terms, their inflections and their disguise variants.
        var patterns = new List<string>();
        foreach (var term in MatchingCorpus.Terms)
        {
            var normalized = PolicySnapshot.Normalize(term);
            patterns.Add(normalized);
            foreach (var mode in new[] { KeywordMode.WholeWord, KeywordMode.Prefix, KeywordMode.Anywhere })
            {
                patterns.AddRange(TermVariants.For(normalized, mode, WordForms.English).Select(v => v.Text));
            }
        }

        Assert.True(patterns.Count > 1000);
        AssertSame(patterns, transparent: null);
    }

    [Fact]
    public void Build_NoPatterns_SameTablesAsReference()
    {
        AssertSame([], transparent: null);
        AssertSame([], RegexFactors.Separators);
    }

    [Fact]
    public void Build_EmptyPattern_Refused()
    {
        Assert.Throws<ArgumentException>(() => KeywordAutomaton.Build(["abc", ""]));
    }

    private static void AssertSame(List<string> patterns, bool[]? transparent)
    {
        var built = KeywordAutomaton.Build(patterns, transparent);
        var reference = KeywordAutomaton.BuildReference(patterns, transparent);
        Assert.Equal(reference.StateCount, built.StateCount);
        Assert.True(built.SameTables(reference));
    }
}
