using System.Text.RegularExpressions;
using Gateway.Benchmarks.Corpus;
using Gateway.Policy.Rules;

namespace Gateway.Benchmarks.Engines;

/// <summary>
/// What chat tools ship today (BareRTC's message filters, automod bots): a loop over compiled regexes, one per filter
/// and term group (here: up to 100 keywords per alternation, per filter and mode) plus each configured regex, each
/// with the default backtracking engine, IgnoreCase. A match censors by <c>Regex.Replace</c> with stars, or drops /
/// rejects. No normalisation. Allow terms are honoured so the outcome is the same as the gateway's.
/// </summary>
internal sealed class NaiveRegexEngine
{
    private const RegexOptions Options = RegexOptions.Compiled | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

    private readonly Filter[] _filters;

    public NaiveRegexEngine(IReadOnlyList<FilterDefinition> definitions, int groupSize = 100)
    {
        _filters = RuleView.Ordered(definitions).Select(d => new Filter(d, Groups(d.Keywords, groupSize),
            d.Regexes.Select(p => new Regex(p, Options)).ToArray(),
            d.Allow.Count == 0 ? null : new Regex(Alternation(d.Allow), Options))).ToArray();
    }

    public int RegexCount => _filters.Sum(f => f.KeywordGroups.Length + f.Regexes.Length);

    /// <summary>The literal stage: every keyword-group regex over the text; returns the number of matches.</summary>
    public int MatchLiterals(string text)
    {
        var n = 0;
        foreach (var f in _filters)
        {
            foreach (var g in f.KeywordGroups)
            {
                foreach (var _ in g.EnumerateMatches(text))
                {
                    n++;
                }
            }
        }

        return n;
    }

    public Outcome Evaluate(string text)
    {
        var current = text;
        var censored = false;
        var hits = 0;
        foreach (var f in _filters)
        {
            foreach (var rx in f.All)
            {
                if (!rx.IsMatch(current))
                {
                    continue;
                }

                switch (f.Definition.Action)
                {
                    case FilterAction.Drop or FilterAction.Reject:
                        if (AnyOutsideAllow(rx, f, current))
                        {
                            return new Outcome(f.Definition.Action == FilterAction.Drop ? VerdictAction.Drop : VerdictAction.Reject, null, hits + 1);
                        }

                        break;
                    case FilterAction.Censor:
                        var before = current;
                        var allow = f.Allow;
                        current = rx.Replace(current, m =>
                        {
                            if (allow is not null && InsideAllow(allow, before, m.Index, m.Length))
                            {
                                return m.Value;
                            }

                            hits++;
                            return new string('*', m.Length);
                        });
                        censored |= !ReferenceEquals(before, current) && before != current;
                        break;
                    default:
                        hits++;
                        break;
                }
            }
        }

        return censored ? new Outcome(VerdictAction.Censor, current, hits) : hits > 0 ? new Outcome(VerdictAction.Forward, null, hits) : Outcome.Clean;
    }

    private static bool AnyOutsideAllow(Regex rx, Filter f, string text)
    {
        foreach (var m in rx.EnumerateMatches(text))
        {
            if (f.Allow is null || !InsideAllow(f.Allow, text, m.Index, m.Length))
            {
                return true;
            }
        }

        return false;
    }

    private static bool InsideAllow(Regex allow, string text, int index, int length)
    {
        foreach (var a in allow.EnumerateMatches(text))
        {
            if (a.Index <= index && index + length <= a.Index + a.Length)
            {
                return true;
            }
        }

        return false;
    }

    private static Regex[] Groups(IReadOnlyList<string> keywords, int groupSize)
    {
        // Keep each term group to one mode, as hand-written word-list regexes are.
        var groups = new List<Regex>();
        foreach (var byMode in keywords.Select(RuleView.Parse).GroupBy(k => k.Mode))
        {
            foreach (var chunk in byMode.Chunk(groupSize))
            {
                groups.Add(new Regex(string.Join('|', chunk.Select(TermPattern)), Options));
            }
        }

        return groups.ToArray();
    }

    private static string Alternation(IReadOnlyList<string> terms) =>
        string.Join('|', terms.Select(RuleView.Parse).Select(TermPattern));

    /// <summary>
    /// How word lists are usually turned into regexes: "\bcat\b", "\bcat" for "cat*", "cat\b" for "*cat", bare
    /// "cat" for "*cat*". (Only the matched letters are starred, where the gateway stars the whole word; extending
    /// with "\w*" on both sides makes a backtracking alternation re-scan every word once per branch, 100× slower.)
    /// </summary>
    private static string TermPattern((string Core, TermMode Mode) term)
    {
        var core = Regex.Escape(term.Core).Replace("\\ ", "\\s+", StringComparison.Ordinal);
        return term.Mode switch
        {
            TermMode.Prefix => @"\b" + core,
            TermMode.Suffix => core + @"\b",
            TermMode.Anywhere => core,
            _ => @"\b" + core + @"\b",
        };
    }

    private sealed record Filter(FilterDefinition Definition, Regex[] KeywordGroups, Regex[] Regexes, Regex? Allow)
    {
        public Regex[] All { get; } = KeywordGroups.Concat(Regexes).ToArray();
    }
}
