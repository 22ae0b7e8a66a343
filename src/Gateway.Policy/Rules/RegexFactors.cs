// Over 400 lines on purpose: a small reader of .NET regex syntax (the private Parser) and the factor algebra over
// what it reads. They change together whenever a construct is modelled, and nothing else may use the parser.
namespace Gateway.Policy.Rules;

/// <summary>
/// Literal factors of a regex: a few strings, one of which every match must contain
/// (<c>buy\s+(cheap\s+)?followers</c> → {"followers"}; <c>(free|cheap)\s+nitro</c> → {"nitro"};
/// <c>fr[e3][e3]</c> → {"free", "fre3", "fr3e", "fr33"}). The compiler adds them to the keyword automaton, so such
/// a regex runs only when the text contains one of its factors: the prefilter idea of RE2 and Hyperscan, reduced to
/// what moderation patterns look like. A regex with no factor stays in the always-run NonBacktracking pre-check.
/// <para>
/// Sound by construction: every construct it does not model (lookarounds, backreferences, conditionals, inline
/// option changes other than i/m/n/s, non-ASCII literals) yields "no factor" rather than a guess. Factors are
/// lower-case ASCII and are only used for case-insensitive regexes matched against normalised text, which never
/// contains upper-case ASCII or any other character that IgnoreCase would equate with an ASCII letter (asserted by
/// the normaliser tests).
/// </para>
/// </summary>
internal static class RegexFactors
{
    /// <summary>Shorter factors would arm their regex on almost every message.</summary>
    public const int MinFactorLength = 3;

    private const int MaxSetSize = 16;
    private const int MaxStringLength = 64;
    private const int MaxCount = 1000;

    /// <summary>The factors of <paramref name="pattern"/>, or null when none can be proven.</summary>
    public static string[]? Find(string pattern) => Find(pattern, squeezed: false);

    /// <summary>
    /// Factors of the text with every separator character (<see cref="Separators"/>: what <c>[\W_]</c> matches)
    /// squeezed out, for patterns that put separators between letters to catch "k-r.o n" as "kron":
    /// <c>k[\W_]*r[\W_]*o[\W_]*n</c> → {"kron"}. Every match, squeezed, contains a factor, so the squeezed text
    /// does. Only letters and digits remain in these factors.
    /// </summary>
    public static string[]? FindSqueezed(string pattern) => Find(pattern, squeezed: true);

    /// <summary>The characters <c>[\W_]</c> matches with the options gated regexes have, one flag per UTF-16 unit:
    /// what the squeezing automaton passes over. Taken from the regex engine itself so the two cannot disagree.</summary>
    internal static bool[] Separators => LazySeparators.Value;

    private static readonly Lazy<bool[]> LazySeparators = new(() =>
    {
        var separator = new System.Text.RegularExpressions.Regex(@"[\W_]", RegexRules.OptionsFor(caseSensitive: false));
        var table = new bool[65536];
        Span<char> one = stackalloc char[1];
        for (var c = 0; c < table.Length; c++)
        {
            one[0] = (char)c;
            table[c] = separator.IsMatch(one);
        }

        return table;
    });

    /// <summary>
    /// Class factors (see <see cref="ClassAlphabet"/>): strings of character-class symbols, <c>Count</c> of which
    /// (at distinct start positions) every match contains — the same algebra over classes instead of letters, so a
    /// regex without a literal still has a cheap necessary condition (<c>\d{3}[-. ]\d{4}</c>: a digit run and a
    /// separator; <c>[a-z]{28,}</c>: 28 letters in a row; <c>(?:\b\w\b\W*){8,}</c>: eight one-letter words in
    /// a row, with only <c>Gap</c>'s classes between them — a run, not a total count).
    /// </summary>
    public static (string[] Factors, int Count, char[]? Gap)? FindClasses(string pattern, ClassAlphabet alphabet)
    {
        try
        {
            var parser = new Parser(pattern, squeezed: false, alphabet);
            var node = parser.ParseAlternation();
            if (!parser.AtEnd)
            {
                return null;
            }

            var (factors, count, _, gap) = parser.Algebra.RequiredOf(node);
            return factors is null ? null : (factors, count, count >= 2 && gap is not null ? [.. gap.Order()] : null);
        }
        catch (Exception e) when (e is UnsupportedException or InvalidOperationException or ArgumentException)
        {
            return null; // not modelled, too many classes, or a class the engine reads differently alone
        }
    }

    private static string[]? Find(string pattern, bool squeezed)
    {
        try
        {
            var parser = new Parser(pattern, squeezed, null);
            var node = parser.ParseAlternation();
            if (!parser.AtEnd)
            {
                return null; // an unbalanced ')': the regex compiler decides what that is, not us
            }

            var factors = parser.Algebra.RequiredOf(node).Factors;
            if (factors is null)
            {
                return null;
            }

            foreach (var f in factors)
            {
                if (f.Length < MinFactorLength)
                {
                    return null;
                }
            }

            return factors;
        }
        catch (UnsupportedException)
        {
            return null;
        }
    }

    /// <summary>What is known about a sub-pattern.</summary>
    /// <param name="Exact">It matches exactly one of these (lower-case) strings; null when unknown or too many.</param>
    /// <param name="Required">Every match contains one of these; null when nothing is known.</param>
    /// <param name="Count">Every match contains this many occurrences of <paramref name="Required"/>, at distinct
    /// start positions (class mode only; 1 otherwise).</param>
    /// <param name="Prefix">Class mode: every match starts with one of these (set when not exact); null when unknown.</param>
    /// <param name="Suffix">Class mode: every match ends with one of these; null when unknown.</param>
    /// <param name="Alphabet">Class mode: every character of every match belongs to one of these classes (no
    /// <see cref="ClassAlphabet.Boundary"/>); null when unknown.</param>
    /// <param name="Around">Class mode, <paramref name="Count"/> 1: every match is u·f·v with f an occurrence of
    /// <paramref name="Required"/> and every character of u and v in one of these classes; null: use the alphabet.</param>
    /// <param name="Gap">Class mode, <paramref name="Count"/> ≥ 2: the occurrences come in order and every character
    /// between the end of one and the start of the next is in one of these classes (a run: "(\b\w\b[\W_]*){8,}" is
    /// eight one-letter words with only non-word characters between them); null: use the alphabet.</param>
    private sealed record Info(HashSet<string>? Exact, string[]? Required, int Count = 1,
        HashSet<string>? Prefix = null, HashSet<string>? Suffix = null, HashSet<char>? Alphabet = null,
        HashSet<char>? Around = null, HashSet<char>? Gap = null)
    {
        public static readonly Info Unknown = new(null, null);

        public static Info Empty => new(new HashSet<string>(StringComparer.Ordinal) { "" }, null, Alphabet: []);

        public static Info Char(char c) => new(new HashSet<string>(StringComparer.Ordinal) { c.ToString() }, null,
            Alphabet: c == ClassAlphabet.Boundary ? [] : [c]);
    }

    /// <summary>A necessary condition: <see cref="Count"/> occurrences of <see cref="Factors"/>; with one, the rest of
    /// the match is made of <see cref="Around"/>'s classes; with more, what lies between consecutive ones is made of
    /// <see cref="Gap"/>'s (each null when unknown). See <see cref="Info"/>.</summary>
    private readonly record struct Req(string[]? Factors, int Count = 1, HashSet<char>? Around = null, HashSet<char>? Gap = null);

    /// <summary>
    /// The factor algebra. Literal mode (no alphabet): strings of lower-case ASCII letters, judged by length. Class
    /// mode: strings of <see cref="ClassAlphabet"/> symbols with occurrence counts, judged by estimated frequency.
    /// </summary>
    private sealed class FactorAlgebra(ClassAlphabet? classes)
    {
        public Req RequiredOf(Info info)
        {
            if (info.Exact is not null)
            {
                return CandidateReq(info.Exact);
            }

            if (info.Required is null)
            {
                return new Req(null);
            }

            return info.Count == 1
                ? new Req(info.Required, 1, info.Around ?? info.Alphabet)
                : new Req(info.Required, info.Count, info.Alphabet, info.Gap ?? info.Alphabet);
        }

        /// <summary>The factors of an exact set, with what surrounds them: a string dropped as redundant holds a
        /// kept one somewhere inside, so its other characters are "around".</summary>
        private Req CandidateReq(HashSet<string> set)
        {
            var factors = Candidate(set);
            if (factors is null || classes is null)
            {
                return new Req(factors);
            }

            var around = new HashSet<char>();
            foreach (var s in set)
            {
                if (Array.IndexOf(factors, s) < 0)
                {
                    AddSymbols(around, s);
                }
            }

            return new Req(factors, 1, around);
        }

        private static void AddSymbols(HashSet<char> set, string s)
        {
            foreach (var c in s)
            {
                if (c != ClassAlphabet.Boundary)
                {
                    set.Add(c);
                }
            }
        }

        private static HashSet<char>? Union(HashSet<char>? a, HashSet<char>? b)
        {
            if (a is null || b is null)
            {
                return null;
            }

            var u = new HashSet<char>(a);
            u.UnionWith(b);
            return u;
        }

        /// <summary>A set usable as factors: none empty (in class mode: none without a class symbol, since an
        /// assertion alone has no position of its own); strings that contain another member are redundant.</summary>
        public string[]? Candidate(HashSet<string> set)
        {
            if (set.Count == 0 || set.Contains(""))
            {
                return null;
            }

            var list = new List<string>();
            foreach (var s in set)
            {
                if (classes is not null && !ClassAlphabet.HasClassSymbol(s))
                {
                    return null;
                }

                var redundant = false;
                foreach (var t in set)
                {
                    if (!ReferenceEquals(s, t) && t.Length < s.Length && s.Contains(t, StringComparison.Ordinal))
                    {
                        redundant = true;
                        break;
                    }
                }

                if (!redundant)
                {
                    list.Add(s);
                }
            }

            list.Sort(StringComparer.Ordinal);
            return list.ToArray();
        }

        /// <summary>Literal mode: prefers the set whose shortest factor is longest (rarer in text), then the smaller
        /// set. Class mode: the set (with its count) least likely to occur in a kilobyte of chat.</summary>
        public Req Better(Req a, Req b)
        {
            if (a.Factors is null)
            {
                return b;
            }

            if (b.Factors is null)
            {
                return a;
            }

            if (classes is not null)
            {
                var sa = classes.Score(a.Factors, a.Count, a.Gap);
                var sb = classes.Score(b.Factors, b.Count, b.Gap);
                return sb < sa || (sb == sa && b.Factors.Length < a.Factors.Length) ? b : a;
            }

            var ma = a.Factors.Min(s => s.Length);
            var mb = b.Factors.Min(s => s.Length);
            return mb > ma || (mb == ma && b.Factors.Length < a.Factors.Length) ? b : a;
        }

        public static HashSet<string>? Cross(HashSet<string> left, HashSet<string> right)
        {
            if ((long)left.Count * right.Count > MaxSetSize)
            {
                return null;
            }

            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (var l in left)
            {
                foreach (var r in right)
                {
                    if (l.Length + r.Length > MaxStringLength)
                    {
                        return null;
                    }

                    result.Add(l + r);
                }
            }

            return result;
        }

        public Info Concat(List<Info> items)
        {
            // Class mode: the alphabets of the items before i and from i on, so a candidate covering items
            // [from, to) knows what the rest of the match is made of.
            var n = items.Count;
            var before = new HashSet<char>?[n + 1];
            var after = new HashSet<char>?[n + 1];
            if (classes is not null)
            {
                before[0] = [];
                after[n] = [];
                for (var i = 0; i < n; i++)
                {
                    before[i + 1] = Union(before[i], items[i].Alphabet);
                    after[n - 1 - i] = Union(after[n - i], items[n - 1 - i].Alphabet);
                }
            }

            HashSet<char>? Outside(int from, int to) => classes is null ? null : Union(before[from], after[to]);

            Req Covering(HashSet<string> set, int from, int to)
            {
                var r = CandidateReq(set);
                return r with { Around = Union(r.Around, Outside(from, to)) };
            }

            var run = Info.Empty.Exact!;
            var runFrom = 0; // the run covers items [runFrom, current) whole
            var best = new Req(null);
            var allExact = true;
            HashSet<string>? prefix = null;
            var prefixKnown = true;
            for (var i = 0; i < n; i++)
            {
                var item = items[i];
                if (item.Exact is not null)
                {
                    var product = Cross(run, item.Exact);
                    if (product is not null)
                    {
                        run = product;
                        continue;
                    }

                    // Too many combinations: what came before is one candidate, and a new run starts here.
                    best = Better(best, Covering(run, runFrom, i));
                    if (allExact)
                    {
                        prefix = run;
                    }

                    run = new HashSet<string>(item.Exact, StringComparer.Ordinal);
                    runFrom = i;
                    allExact = false;
                    prefixKnown = false;
                    continue;
                }

                // Class mode: the run goes on into the item's known start ("\d{1,3}\." → "d."), and the item's
                // known end starts the next run.
                var into = item.Prefix is null ? null : Cross(run, item.Prefix);
                if (allExact && prefixKnown)
                {
                    prefix = into ?? run;
                }

                allExact = false;
                best = Better(best, Covering(run, runFrom, i));
                if (into is not null)
                {
                    best = Better(best, Covering(into, runFrom, i));
                }

                var own = RequiredOf(item);
                if (own.Factors is not null && classes is not null)
                {
                    var others = Outside(i, i + 1);
                    own = own.Count == 1 ? own with { Around = Union(own.Around, others) } : own;
                }

                best = Better(best, own);
                run = item.Suffix is null ? Info.Empty.Exact! : new HashSet<string>(item.Suffix, StringComparer.Ordinal);
                runFrom = i + 1;
            }

            best = Better(best, Covering(run, runFrom, n));
            var count = best.Factors is null ? 1 : best.Count;
            if (allExact)
            {
                return new Info(run, best.Factors, count, Alphabet: before[n]);
            }

            return new Info(null, best.Factors, count,
                classes is null ? null : NonEmpty(prefix), classes is null ? null : NonEmpty(run), before[n],
                count == 1 ? best.Around : null, count >= 2 ? best.Gap : null);
        }

        private static HashSet<string>? NonEmpty(HashSet<string>? set) => set is null || set.Contains("") ? null : set;

        public Info Alternate(List<Info> branches)
        {
            HashSet<string>? exact = new(StringComparer.Ordinal);
            var required = new HashSet<string>(StringComparer.Ordinal);
            var count = int.MaxValue;
            HashSet<char>? alphabet = [];
            HashSet<char>? around = [];
            HashSet<char>? gap = [];
            foreach (var b in branches)
            {
                alphabet = Union(alphabet, b.Alphabet);
                if (exact is not null && b.Exact is not null && exact.Count + b.Exact.Count <= MaxSetSize)
                {
                    exact.UnionWith(b.Exact);
                }
                else
                {
                    exact = null;
                }

                var r = RequiredOf(b);
                if (r.Factors is null || required is null)
                {
                    required = null;
                    continue;
                }

                // Each branch has c occurrences of its own set, so every match has min(c) of the union; one of them
                // has the branch's surroundings (or, from a longer run, its alphabet), and a run of min(c) of them
                // the branch's gaps.
                count = Math.Min(count, r.Count);
                around = Union(around, r.Count == 1 ? r.Around : b.Alphabet);
                gap = Union(gap, r.Gap);
                required.UnionWith(r.Factors);
                if (required.Count > MaxSetSize)
                {
                    required = null;
                }
            }

            var factors = required is null ? null : Candidate(required);
            if (factors is null || classes is null)
            {
                return new Info(exact, factors, factors is null ? 1 : count, Alphabet: alphabet);
            }

            // Candidate may drop a factor that holds another: that one's other characters are around it too.
            var dropped = new HashSet<char>();
            foreach (var s in required!)
            {
                if (Array.IndexOf(factors, s) < 0)
                {
                    AddSymbols(dropped, s);
                }
            }

            return count == 1
                ? new Info(exact, factors, 1, Alphabet: alphabet, Around: Union(around, dropped))
                : new Info(exact, factors, count, Alphabet: alphabet, Gap: dropped.Count == 0 ? gap : null);
        }

        public Info Repeat(Info item, int min, int max)
        {
            if (item.Exact is { Count: 1 } only && only.Contains(""))
            {
                return Info.Empty; // repeating what matches only "" (an anchor, squeezed separators) still matches only ""
            }

            if (min == 0)
            {
                // "x?" is {"", x}: still exact, and useful inside a concatenation ("https?" → {"http", "https"}).
                if (max == 1 && item.Exact is not null)
                {
                    var set = new HashSet<string>(item.Exact, StringComparer.Ordinal) { "" };
                    return new Info(set, null, Alphabet: item.Alphabet);
                }

                return Info.Unknown with { Alphabet = item.Alphabet };
            }

            HashSet<string>? exact = null;
            if (min == max && item.Exact is not null && min <= MaxStringLength)
            {
                exact = Power(item.Exact, min);
            }

            var required = RequiredOf(item);
            HashSet<string>? ends = null;
            if (classes is not null && exact is null)
            {
                // The first min iterations start every match and the last min end it.
                ends = item.Exact is not null ? NonEmpty(Power(item.Exact, min)) : null;
            }

            if (classes is not null && required.Factors is not null)
            {
                // Class mode: min iterations, each with its own occurrences (iterations are disjoint and, holding a
                // class symbol, not empty), or the first min iterations written out ("[a-z]{28,}": 28 letters in a
                // row), whichever is rarer. One occurrence per iteration, taken in order, has between it and the
                // next only what surrounds an occurrence in an iteration (the end of one, the start of the next).
                var total = (int)Math.Min(MaxCount, (long)required.Count * min);
                var counted = total == 1
                    ? new Req(required.Factors, 1, Union(required.Around, item.Alphabet))
                    : new Req(required.Factors, total, item.Alphabet, required.Count == 1 ? required.Around : item.Alphabet);
                var written = item.Exact is not null && min > 1 && min <= MaxStringLength ? Power(item.Exact, min) : null;
                var writtenReq = written is null ? new Req(null) : CandidateReq(written) is var w && w.Factors is not null
                    ? w with { Around = Union(w.Around, item.Alphabet) }
                    : new Req(null);
                required = Better(counted, writtenReq);
            }

            var count = required.Factors is null ? 1 : required.Count;
            return new Info(exact, required.Factors, count,
                ends ?? (min >= 1 && exact is null ? item.Prefix : null), ends ?? (min >= 1 && exact is null ? item.Suffix : null),
                item.Alphabet, count == 1 ? required.Around : null, count >= 2 ? required.Gap : null);
        }

        private static HashSet<string>? Power(HashSet<string> set, int n)
        {
            HashSet<string>? result = Info.Empty.Exact!;
            for (var i = 0; i < n && result is not null; i++)
            {
                result = Cross(result, set);
            }

            return result;
        }
    }

    private sealed class UnsupportedException : Exception
    {
    }

    /// <summary>Recursive descent over .NET regex syntax, modelling only what factors need.</summary>
    private sealed class Parser(string pattern, bool squeezed, ClassAlphabet? classes)
    {
        public FactorAlgebra Algebra { get; } = new(classes);

        /// <summary>In squeezed mode an ASCII character other than a letter or digit is a separator: it is squeezed
        /// out of the text, so as a literal it matches "" there.</summary>
        private bool IsSqueezedOut(char c) => squeezed && c < 128 && !char.IsAsciiLetterOrDigit(c);

        private int _pos;

        public bool AtEnd => _pos >= pattern.Length;

        private char Peek => pattern[_pos];

        public Info ParseAlternation()
        {
            var branches = new List<Info> { ParseConcat() };
            while (!AtEnd && Peek == '|')
            {
                _pos++;
                branches.Add(ParseConcat());
            }

            return branches.Count == 1 ? branches[0] : Algebra.Alternate(branches);
        }

        private Info ParseConcat()
        {
            var items = new List<Info>();
            while (!AtEnd && Peek != '|' && Peek != ')')
            {
                var atom = ParseAtom();
                items.Add(ParseQuantifiers(atom));
            }

            return Algebra.Concat(items);
        }

        private Info ParseQuantifiers(Info atom)
        {
            while (!AtEnd)
            {
                int min;
                int max;
                switch (Peek)
                {
                    case '*':
                        (min, max) = (0, int.MaxValue);
                        _pos++;
                        break;
                    case '+':
                        (min, max) = (1, int.MaxValue);
                        _pos++;
                        break;
                    case '?':
                        (min, max) = (0, 1);
                        _pos++;
                        break;
                    case '{' when TryBraces(out min, out max):
                        break;
                    default:
                        return atom;
                }

                if (!AtEnd && Peek == '?')
                {
                    _pos++; // lazy: same strings
                }

                atom = Algebra.Repeat(atom, min, max);
            }

            return atom;
        }

        /// <summary>"{n}", "{n,}", "{n,m}"; anything else is a literal '{' in .NET.</summary>
        private bool TryBraces(out int min, out int max)
        {
            min = max = 0;
            var p = _pos + 1;
            if (!ReadNumber(ref p, out min))
            {
                return false;
            }

            max = min;
            if (p < pattern.Length && pattern[p] == ',')
            {
                p++;
                if (!ReadNumber(ref p, out max))
                {
                    max = int.MaxValue;
                }
            }

            if (p >= pattern.Length || pattern[p] != '}')
            {
                return false;
            }

            _pos = p + 1;
            return true;
        }

        private bool ReadNumber(ref int p, out int value)
        {
            value = 0;
            var start = p;
            while (p < pattern.Length && char.IsAsciiDigit(pattern[p]))
            {
                value = (int)Math.Min(int.MaxValue, (long)value * 10 + (pattern[p] - '0'));
                p++;
            }

            return p > start;
        }

        private Info ParseAtom()
        {
            var c = pattern[_pos++];
            switch (c)
            {
                case '(':
                    return ParseGroup();
                case '[':
                    return ParseClass();
                case '.':
                    return classes is null ? Info.Unknown : Info.Char(classes.Any);
                case '^' or '$':
                    return Info.Empty;
                case '\\':
                    return ParseEscape();
                case '*' or '+' or '?':
                    throw new UnsupportedException(); // a quantifier with nothing before it: invalid anyway
                case '{':
                    _pos--;
                    if (TryBraces(out _, out _))
                    {
                        throw new UnsupportedException();
                    }

                    _pos++;
                    return Literal('{');
                default:
                    return Literal(c);
            }
        }

        private Info Literal(char c) =>
            classes is not null ? Info.Char(classes.Literal(c))
            : IsSqueezedOut(c) ? Info.Empty
            : c < 128 ? Info.Char(char.ToLowerInvariant(c))
            : Info.Unknown; // non-ASCII: case rules we do not model

        private Info ParseGroup()
        {
            if (!AtEnd && Peek == '?')
            {
                _pos++;
                if (AtEnd)
                {
                    throw new UnsupportedException();
                }

                var k = pattern[_pos];
                if (k == ':')
                {
                    _pos++;
                }
                else if (k == '#')
                {
                    var end = pattern.IndexOf(')', _pos);
                    if (end < 0)
                    {
                        throw new UnsupportedException();
                    }

                    _pos = end + 1;
                    return Info.Empty;
                }
                else if (k is '<' or '\'' && _pos + 1 < pattern.Length && pattern[_pos + 1] is not ('=' or '!'))
                {
                    // Named group: (?<name>...) or (?'name'...). Balancing groups (?<a-b>...) are not modelled.
                    var close = k == '<' ? '>' : '\'';
                    var end = pattern.IndexOf(close, _pos + 1);
                    if (end < 0 || pattern.AsSpan(_pos + 1, end - _pos - 1).Contains('-'))
                    {
                        throw new UnsupportedException();
                    }

                    _pos = end + 1;
                }
                else if (char.IsAsciiLetter(k))
                {
                    // Inline options. i, m, n and s do not change which strings match case-insensitively; x and any
                    // "-" (turning an option off) do, so they are not modelled.
                    var p = _pos;
                    while (p < pattern.Length && pattern[p] is 'i' or 'm' or 'n' or 's')
                    {
                        if (pattern[p] == 'i' && classes is { CaseSensitive: true })
                        {
                            throw new UnsupportedException(); // classes are computed with the regex's own options
                        }

                        p++;
                    }

                    if (p >= pattern.Length || pattern[p] is not (':' or ')'))
                    {
                        throw new UnsupportedException();
                    }

                    _pos = p + 1;
                    if (pattern[p] == ')')
                    {
                        return Info.Empty;
                    }
                }
                else
                {
                    throw new UnsupportedException(); // lookarounds, atomic groups, conditionals
                }
            }

            var inner = ParseAlternation();
            if (AtEnd || Peek != ')')
            {
                throw new UnsupportedException();
            }

            _pos++;
            return inner;
        }

        private Info ParseEscape()
        {
            if (AtEnd)
            {
                throw new UnsupportedException();
            }

            var c = pattern[_pos++];
            switch (c)
            {
                case 'W' or 's' when squeezed:
                    return Info.Empty; // only separators: squeezed out
                case 'd' or 'D' or 'w' or 'W' or 's' or 'S':
                    return classes is null ? Info.Unknown : Info.Char(classes.Class(pattern.Substring(_pos - 2, 2)));
                case 'p' or 'P':
                    var from = _pos - 2;
                    SkipProperty();
                    return classes is null ? Info.Unknown : Info.Char(classes.Class(pattern[from.._pos]));
                case 'b' when classes is not null:
                    return Info.Char(ClassAlphabet.Boundary);
                case 'b' or 'B' or 'A' or 'z' or 'Z' or 'G':
                    return Info.Empty;
                case 'x':
                    return Literal(ReadHex(2));
                case 'u':
                    return Literal(ReadHex(4));
                case 't':
                    return Literal('\t');
                case 'n':
                    return Literal('\n');
                case 'r':
                    return Literal('\r');
                case 'f':
                    return Literal('\f');
                case 'v':
                    return Literal('\v');
                case 'e':
                    return Literal('\u001B');
                case 'a':
                    return Literal('\u0007');
                default:
                    if (char.IsAsciiLetterOrDigit(c))
                    {
                        throw new UnsupportedException(); // backreferences, \k<name>, \c, octal
                    }

                    return Literal(c);
            }
        }

        private void SkipProperty()
        {
            if (AtEnd || Peek != '{')
            {
                throw new UnsupportedException();
            }

            var end = pattern.IndexOf('}', _pos);
            if (end < 0)
            {
                throw new UnsupportedException();
            }

            _pos = end + 1;
        }

        private char ReadHex(int digits)
        {
            if (_pos + digits > pattern.Length)
            {
                throw new UnsupportedException();
            }

            var value = 0;
            for (var i = 0; i < digits; i++)
            {
                var h = pattern[_pos++];
                var d = char.IsAsciiDigit(h) ? h - '0' : char.IsAsciiHexDigitLower(h) ? h - 'a' + 10
                    : char.IsAsciiHexDigitUpper(h) ? h - 'A' + 10 : throw new UnsupportedException();
                value = value * 16 + d;
            }

            return (char)value;
        }

        /// <summary>A class of up to four ASCII characters (case folded) is exact ("[e3]", "[sz]"); others are not.</summary>
        private Info ParseClass()
        {
            var classStart = _pos - 1;
            var negated = !AtEnd && Peek == '^';
            if (negated)
            {
                _pos++;
            }

            var set = new HashSet<string>(StringComparer.Ordinal);
            var big = negated;
            var first = true;
            char? previous = null;
            while (true)
            {
                if (AtEnd)
                {
                    throw new UnsupportedException();
                }

                var c = pattern[_pos++];
                if (c == ']' && !first)
                {
                    break;
                }

                first = false;
                if (c == '[')
                {
                    throw new UnsupportedException(); // subtraction "-[...]" or a nested class: not modelled
                }

                if (c == '-' && previous is not null && !AtEnd && Peek != ']')
                {
                    var hi = pattern[_pos++];
                    if (hi == '\\')
                    {
                        hi = ClassEscape() ?? throw new UnsupportedException();
                    }

                    if (hi < previous.Value)
                    {
                        throw new UnsupportedException();
                    }

                    for (var x = (char)(previous.Value + 1); x <= hi && !big; x++)
                    {
                        big |= !AddClassChar(set, x);
                    }

                    previous = null;
                    continue;
                }

                if (c == '\\')
                {
                    if (squeezed && !AtEnd && pattern[_pos] is 'W' or 's')
                    {
                        _pos++;
                        set.Add(""); // separators only: squeezed out
                        previous = null;
                        continue;
                    }

                    var e = ClassEscape();
                    if (e is null)
                    {
                        big = true;
                        previous = null;
                        continue;
                    }

                    c = e.Value;
                }

                big |= !AddClassChar(set, c);
                previous = c;
            }

            if (classes is not null)
            {
                return Info.Char(classes.Class(pattern[classStart.._pos]));
            }

            return big || set.Count == 0 ? Info.Unknown : new Info(set, null);
        }

        private bool AddClassChar(HashSet<string> set, char c)
        {
            if (c >= 128)
            {
                return false;
            }

            set.Add(IsSqueezedOut(c) ? "" : char.ToLowerInvariant(c).ToString());
            return set.Count <= 4;
        }

        /// <summary>An escape inside a class: the character, or null for a shorthand class (\d, \w, \p{..}).</summary>
        private char? ClassEscape()
        {
            if (AtEnd)
            {
                throw new UnsupportedException();
            }

            var c = pattern[_pos++];
            switch (c)
            {
                case 'd' or 'D' or 'w' or 'W' or 's' or 'S':
                    return null;
                case 'p' or 'P':
                    SkipProperty();
                    return null;
                case 'x':
                    return ReadHex(2);
                case 'u':
                    return ReadHex(4);
                case 't':
                    return '\t';
                case 'n':
                    return '\n';
                case 'r':
                    return '\r';
                case 'f':
                    return '\f';
                case 'v':
                    return '\v';
                case 'e':
                    return '\u001B';
                case 'a':
                    return '\u0007';
                case 'b':
                    return '\b'; // backspace inside a class
                default:
                    if (char.IsAsciiLetterOrDigit(c))
                    {
                        throw new UnsupportedException();
                    }

                    return c;
            }
        }
    }
}
