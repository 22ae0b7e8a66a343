using System.Text.RegularExpressions;

namespace Gateway.Policy.Rules;

/// <summary>
/// The character classes of regexes read in class mode (<see cref="RegexFactors.FindClasses"/>), one private-use
/// symbol each, so class strings go through the same factor algebra as literal strings. Which characters a class
/// holds is asked of the regex engine itself (the class alone, compiled with the regex's options, run over every
/// UTF-16 unit), so the gate and the regex cannot disagree about <c>\w</c>, <c>\d</c>, case or culture.
/// <see cref="Boundary"/> stands for <c>\b</c>: zero-width, it constrains the characters on either side.
/// </summary>
internal sealed class ClassAlphabet
{
    public const char Boundary = '\uE000';
    private const char FirstClass = '\uE001';
    private const char LastClass = '\uF8FF';

    /// <summary>Classes with at most this many members keep their member list (for a vectorised anchor search).</summary>
    private const int MaxListedMembers = 4096;

    private static readonly Lazy<string> AllChars = new(() =>
    {
        var chars = new char[65536];
        for (var c = 0; c < chars.Length; c++)
        {
            chars[c] = (char)c;
        }

        return new string(chars);
    });

    /// <summary>Rough share of each ASCII character in chat text (lower-case letters by English frequency).</summary>
    private static readonly double[] AsciiWeight = BuildWeights();

    private readonly Dictionary<string, char> _bySource = new(StringComparer.Ordinal);
    private readonly List<CharClass> _classes = [];
    private readonly RegexOptions _options;

    public ClassAlphabet(bool caseSensitive)
    {
        CaseSensitive = caseSensitive;
        _options = RegexRules.OptionsFor(caseSensitive);
    }

    public bool CaseSensitive { get; }

    /// <summary>'.' (any character; with or without <c>s</c>, a superset is sound for a necessary condition).</summary>
    public char Any => Class("(?s:.)");

    public char Literal(char c) => Class(Regex.Escape(c.ToString()));

    public static bool HasClassSymbol(string s)
    {
        foreach (var c in s)
        {
            if (c != Boundary)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The symbol for a class written as <paramref name="source"/> (a bracket expression, an escape, a
    /// literal); <see cref="RegexFactors"/> catches the exception that too many classes raise.</summary>
    public char Class(string source)
    {
        if (_bySource.TryGetValue(source, out var symbol))
        {
            return symbol;
        }

        if (FirstClass + _classes.Count > LastClass)
        {
            throw new InvalidOperationException("too many character classes");
        }

        var regex = new Regex(source, _options);
        ulong lo = 0, hi = 0;
        var nonAscii = 0;
        var surrogate = false;
        var members = new List<char>();
        foreach (var m in regex.EnumerateMatches(AllChars.Value))
        {
            if (m.Length != 1)
            {
                throw new InvalidOperationException("not a single-character class: " + source);
            }

            var c = (char)m.Index;
            if (c < 64)
            {
                lo |= 1UL << c;
            }
            else if (c < 128)
            {
                hi |= 1UL << (c - 64);
            }
            else
            {
                nonAscii++;
                surrogate |= char.IsSurrogate(c);
            }

            if (members.Count <= MaxListedMembers)
            {
                members.Add(c);
            }
        }

        var weight = nonAscii * (0.01 / 65408);
        for (var c = 0; c < 128; c++)
        {
            if (((c < 64 ? lo >> c : hi >> (c - 64)) & 1) != 0)
            {
                weight += AsciiWeight[c];
            }
        }

        symbol = (char)(FirstClass + _classes.Count);
        _classes.Add(new CharClass(source, lo, hi, nonAscii > 0, members.Count <= MaxListedMembers ? members.ToArray() : null,
            Math.Min(1.0, weight), surrogate));
        _bySource[source] = symbol;
        return symbol;
    }

    public CharClass Get(char symbol) => _classes[symbol - FirstClass];

    /// <summary>Estimated share of positions where the symbol's condition holds (assertions: a word edge).</summary>
    public double Weight(char symbol) => symbol == Boundary ? 0.1 : Get(symbol).Weight;

    /// <summary>What <see cref="RegexFactors"/> minimises in class mode: the likelihood, plus the rate of each
    /// factor's rarest class (what checking it costs: "\+\d" beats six digits in a row, equally rare but found by
    /// looking at every digit).</summary>
    public double Score(string[] factors, int count, IReadOnlyCollection<char>? gap = null)
    {
        var cost = 0.0;
        foreach (var f in factors)
        {
            var rarest = 1.0;
            foreach (var s in f)
            {
                if (s != Boundary)
                {
                    rarest = Math.Min(rarest, Weight(s));
                }
            }

            cost += rarest;
        }

        if (gap is not null && count >= 2)
        {
            // A run is walked occurrence by occurrence: "[a-z]{28,}" as 28 letters in a row costs a few masks per
            // block, as a run of single letters a step per letter.
            cost += Rate(factors) * 4;
        }

        return Likelihood(factors, count, gap) + cost;
    }

    /// <summary>Expected occurrences per character of any of the factors (each a sequence of class symbols).</summary>
    private double Rate(string[] factors)
    {
        var rate = 0.0;
        foreach (var f in factors)
        {
            var p = 1.0;
            foreach (var s in f)
            {
                p *= Weight(s);
            }

            rate += p;
        }

        return rate;
    }

    /// <summary>How likely a kilobyte of chat holds <paramref name="count"/> occurrences of the factors: a Poisson
    /// tail over the estimated rate, only to compare alternatives, not to decide correctness. With a
    /// <paramref name="gap"/> the occurrences must come in a run (only gap characters between them): each next one
    /// must come before a character outside the gap classes.</summary>
    public double Likelihood(string[] factors, int count, IReadOnlyCollection<char>? gap = null)
    {
        var rate = Rate(factors);
        var lambda = 1024 * rate;
        var term = Math.Exp(-lambda);
        var below = 0.0;
        for (var k = 0; k < count && k < 2000; k++)
        {
            below += term;
            term *= lambda / (k + 1);
        }

        var poisson = Math.Clamp(1 - below, 0, 1);
        if (gap is null || count < 2 || rate <= 0)
        {
            return poisson;
        }

        var inGap = 0.0;
        foreach (var s in gap)
        {
            inGap += Weight(s);
        }

        var breaks = Math.Max(1e-6, 1 - Math.Min(1, inGap));
        var next = rate / (rate + breaks);
        var runs = 1024 * rate * Math.Pow(next, Math.Min(count, 2000) - 1);
        return Math.Min(poisson, Math.Clamp(1 - Math.Exp(-runs), 0, 1));
    }

    private static double[] BuildWeights()
    {
        var w = new double[128];
        for (var c = 0; c < 128; c++)
        {
            w[c] = c < 32 ? 0.00005 : 0.0005;
        }

        double[] letters = [8.2, 1.5, 2.8, 4.3, 12.7, 2.2, 2.0, 6.1, 7.0, 0.15, 0.77, 4.0, 2.4, 6.7, 7.5, 1.9, 0.095, 6.0, 6.3, 9.1, 2.8, 0.98, 2.4, 0.15, 2.0, 0.074];
        for (var i = 0; i < 26; i++)
        {
            w['a' + i] = letters[i] / 100 * 0.75;
            w['A' + i] = letters[i] / 100 * 0.03;
        }

        for (var d = '0'; d <= '9'; d++)
        {
            w[d] = 0.002;
        }

        w[' '] = 0.16;
        w['.'] = 0.01;
        w[','] = 0.008;
        w['!'] = w['?'] = w['\''] = 0.003;
        w['@'] = w['\n'] = w['-'] = 0.002;
        return w;
    }
}

/// <summary>One class: its ASCII members as a 128-bit set, whether any non-ASCII character belongs, the member list
/// when short, and its estimated share of chat text.</summary>
/// <param name="HasSurrogate">A surrogate code unit is a member (\W, '.'; not \w, \d or letters): without one, a class
/// row leaves out the halves of emoji and other astral characters.</param>
internal sealed record CharClass(string Source, ulong AsciiLo, ulong AsciiHi, bool HasNonAscii, char[]? Members, double Weight,
    bool HasSurrogate = true);
