using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Gateway.Benchmarks.Corpus;
using Gateway.Policy.Rules;

namespace Gateway.Benchmarks.Engines;

/// <summary>
/// The obvious .NET approach: every keyword and allow term in one <see cref="SearchValues{T}"/> of strings
/// (OrdinalIgnoreCase), found with <c>IndexOfAny</c> in a loop; at each hit the candidates starting with the same
/// two characters are confirmed with <c>StartsWith</c> (SearchValues says where, not which). All regexes in one
/// <c>RegexOptions.NonBacktracking</c> alternation as the pre-check; on a hit, each filter's own regexes locate it.
/// Word boundaries, wildcards and allow terms as the gateway has them; no normalisation.
/// </summary>
internal sealed class SearchValuesEngine
{
    private readonly SearchValues<string> _values;
    private readonly Dictionary<int, Term[]> _byFirstTwo;
    private readonly Dictionary<char, Term[]> _single;
    private readonly Regex? _any;
    private readonly FilterDefinition[] _filters;
    private readonly Regex[][] _regexes;
    private readonly List<(int Filter, int Start, int End)> _hits = new();
    private readonly List<(int Filter, int Start, int End)> _allows = new();

    /// <summary>
    /// NonBacktracking refuses a pattern whose automaton would exceed 10,000 nodes; 100 moderation regexes in one
    /// alternation exceed it, so the obvious approach raises the process-wide cap (read when a Regex is constructed).
    /// </summary>
    public const string MaxAutomataSizeSwitch = "REGEX_NONBACKTRACKING_MAX_AUTOMATA_SIZE";

    public SearchValuesEngine(IReadOnlyList<FilterDefinition> definitions)
    {
        AppContext.SetData(MaxAutomataSizeSwitch, 1_000_000);
        _filters = RuleView.Ordered(definitions);
        var terms = new List<Term>();
        for (var fi = 0; fi < _filters.Length; fi++)
        {
            foreach (var k in _filters[fi].Keywords)
            {
                var (core, mode) = RuleView.Parse(k);
                terms.Add(new Term(core, fi, mode, IsAllow: false));
            }

            foreach (var a in _filters[fi].Allow)
            {
                var (core, mode) = RuleView.Parse(a);
                terms.Add(new Term(core, fi, mode, IsAllow: true));
            }
        }

        _values = SearchValues.Create(terms.Select(t => t.Core).Distinct().ToArray(), StringComparison.OrdinalIgnoreCase);
        _byFirstTwo = terms.Where(t => t.Core.Length >= 2).GroupBy(t => Key(t.Core[0], t.Core[1])).ToDictionary(g => g.Key, g => g.ToArray());
        _single = terms.Where(t => t.Core.Length == 1).GroupBy(t => t.Core[0]).ToDictionary(g => g.Key, g => g.ToArray());
        var options = RegexOptions.NonBacktracking | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;
        _regexes = _filters.Select(f => f.Regexes.Select(p => new Regex(p, options)).ToArray()).ToArray();
        var all = _filters.SelectMany(f => f.Regexes).ToList();
        _any = all.Count == 0 ? null : new Regex(string.Join('|', all.Select(p => "(?:" + p + ")")), options);
    }

    /// <summary>The literal stage alone: every keyword/allow occurrence, confirmed; returns how many.</summary>
    public int MatchLiterals(ReadOnlySpan<char> text)
    {
        var n = 0;
        var pos = 0;
        while (pos < text.Length)
        {
            var i = text[pos..].IndexOfAny(_values);
            if (i < 0)
            {
                break;
            }

            var p = pos + i;
            foreach (var t in Candidates(text, p))
            {
                if (text[p..].StartsWith(t.Core, StringComparison.OrdinalIgnoreCase))
                {
                    n++;
                }
            }

            pos = p + 1;
        }

        return n;
    }

    public Outcome Evaluate(string text)
    {
        _hits.Clear();
        _allows.Clear();
        var span = text.AsSpan();
        var pos = 0;
        while (pos < span.Length)
        {
            var i = span[pos..].IndexOfAny(_values);
            if (i < 0)
            {
                break;
            }

            var p = pos + i;
            foreach (var t in Candidates(span, p))
            {
                if (!span[p..].StartsWith(t.Core, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var end = p + t.Core.Length;
                var checkStart = t.Mode is TermMode.Whole or TermMode.Prefix or TermMode.Phrase;
                var checkEnd = t.Mode is TermMode.Whole or TermMode.Suffix or TermMode.Phrase;
                if ((checkStart && p > 0 && RuleView.IsWordChar(span[p - 1]))
                    || (checkEnd && end < span.Length && RuleView.IsWordChar(span[end])))
                {
                    continue;
                }

                if (t.IsAllow)
                {
                    _allows.Add((t.Filter, p, end));
                    continue;
                }

                var s = p;
                var e = end;
                if (t.Mode is TermMode.Suffix or TermMode.Anywhere)
                {
                    while (s > 0 && RuleView.IsWordChar(span[s - 1]))
                    {
                        s--;
                    }
                }

                if (t.Mode is TermMode.Prefix or TermMode.Anywhere)
                {
                    while (e < span.Length && RuleView.IsWordChar(span[e]))
                    {
                        e++;
                    }
                }

                _hits.Add((t.Filter, s, e));
            }

            pos = p + 1;
        }

        if (_allows.Count > 0)
        {
            _hits.RemoveAll(h => _allows.Exists(a => a.Filter == h.Filter && a.Start <= h.Start && h.End <= a.End));
        }

        if (_any is not null && _any.IsMatch(span))
        {
            for (var fi = 0; fi < _filters.Length; fi++)
            {
                foreach (var rx in _regexes[fi])
                {
                    foreach (var m in rx.EnumerateMatches(span))
                    {
                        _hits.Add((fi, m.Index, m.Index + m.Length));
                    }
                }
            }
        }

        if (_hits.Count == 0)
        {
            return Outcome.Clean;
        }

        // Priority order is filter index order: the first drop/reject decides, censors accumulate.
        var decider = -1;
        var censor = false;
        foreach (var h in _hits)
        {
            var action = _filters[h.Filter].Action;
            if (action is FilterAction.Drop or FilterAction.Reject && (decider < 0 || h.Filter < decider))
            {
                decider = h.Filter;
            }

            censor |= action == FilterAction.Censor;
        }

        if (decider >= 0)
        {
            return new Outcome(_filters[decider].Action == FilterAction.Drop ? VerdictAction.Drop : VerdictAction.Reject, null, _hits.Count);
        }

        if (!censor)
        {
            return new Outcome(VerdictAction.Forward, null, _hits.Count);
        }

        var sb = new StringBuilder(text);
        foreach (var h in _hits)
        {
            if (_filters[h.Filter].Action == FilterAction.Censor)
            {
                for (var k = h.Start; k < h.End; k++)
                {
                    sb[k] = '*';
                }
            }
        }

        return new Outcome(VerdictAction.Censor, sb.ToString(), _hits.Count);
    }

    private ReadOnlySpan<Term> Candidates(ReadOnlySpan<char> text, int p)
    {
        if (p + 1 < text.Length && _byFirstTwo.TryGetValue(Key(text[p], text[p + 1]), out var two))
        {
            return two;
        }

        return _single.TryGetValue(char.ToLowerInvariant(text[p]), out var one) ? one : ReadOnlySpan<Term>.Empty;
    }

    private static int Key(char a, char b) => (char.ToLowerInvariant(a) << 16) | char.ToLowerInvariant(b);

    private sealed record Term(string Core, int Filter, TermMode Mode, bool IsAllow);
}
