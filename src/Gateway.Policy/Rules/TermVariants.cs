using Gateway.Policy.Matching;
using Gateway.Policy.Text;

namespace Gateway.Policy.Rules;

/// <summary>What a variant pattern needs confirmed in the original text before its hit counts.</summary>
internal enum VariantCheck : byte
{
    None = 0,

    /// <summary>The character at the position came from a stretched run ("fuuuck" collapsed to one 'u').</summary>
    Stretched = 1,

    /// <summary>The character at the position was written '!' or '|' ("sh|t" normalises to "shlt").</summary>
    BangLetter = 2,
}

/// <summary>One extra automaton pattern derived from a keyword, with the normalisation step it stands for.</summary>
internal readonly record struct TermVariant(string Text, EvasionSteps Steps, VariantCheck Check = VariantCheck.None, int CheckAt = -1);

/// <summary>
/// Patterns derived from a normalised keyword at compile time, so the recall features of issue 18 cost nothing on
/// a clean message: English inflections (opt-in per filter), one or two masked letters ("f*ck", "f**k"), a doubled
/// letter written once after a stretched run was collapsed ("asssss" → "as"), and '!'/'|' written for i or l.
/// </summary>
internal static class TermVariants
{
    private const string Vowels = "aeiou";

    /// <summary>Suffixes of <see cref="WordForms.English"/>.</summary>
    private static readonly string[] EnglishSuffixes = ["s", "ing", "er", "ers", "ed", "y"];

    /// <summary>The English inflections of a lower-case word (the word itself excluded).</summary>
    internal static IEnumerable<string> EnglishForms(string w)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { w };
        foreach (var suffix in EnglishSuffixes)
        {
            foreach (var f in Inflect(w, suffix))
            {
                if (seen.Add(f))
                {
                    yield return f;
                }
            }
        }
    }

    private static IEnumerable<string> Inflect(string w, string suffix)
    {
        var n = w.Length;
        if (n < 2 || !IsAsciiLetters(w))
        {
            yield break;
        }

        if (suffix == "s")
        {
            if (w[^1] is 's' or 'x' or 'z' || w.EndsWith("ch", StringComparison.Ordinal) || w.EndsWith("sh", StringComparison.Ordinal))
            {
                yield return w + "es";
            }
            else if (w[^1] == 'y' && !IsVowel(w[^2]))
            {
                yield return w[..^1] + "ies";
            }
            else
            {
                yield return w + "s";
            }

            yield break;
        }

        if (w[^1] == 'e')
        {
            yield return w[..^1] + suffix; // rape → raping, raped, raper
            yield break;
        }

        if (w[^1] == 'y' && !IsVowel(w[^2]) && suffix != "ing")
        {
            yield return w[..^1] + "i" + suffix;
            yield break;
        }

        // Doubling after one short vowel before a final consonant (fag → faggot's "fagging", twat → twatted).
        if (n >= 3 && !IsVowel(w[n - 1]) && w[n - 1] is not ('w' or 'x' or 'y') && IsVowel(w[n - 2]) && !IsVowel(w[n - 3]))
        {
            yield return w + w[n - 1] + suffix;
        }

        yield return w + suffix;
    }

    /// <summary>Where Debian's English word list (package wamerican) lives.</summary>
    internal const string EnglishWordList = "/usr/share/dict/words";

    /// <summary>
    /// The installed English word list, lower-cased (null when none is installed). A generated form that is a word of
    /// its own while the term is not ("spicy", "spiced" from "spic") is not taken for a form of the term.
    /// </summary>
    private static readonly Lazy<HashSet<string>?> EnglishWords = new(() =>
    {
        try
        {
            if (!File.Exists(EnglishWordList))
            {
                return null;
            }

            var set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var line in File.ReadLines(EnglishWordList))
            {
                set.Add(line.Trim().ToLowerInvariant());
            }

            return set;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    });

    /// <summary>The variants of one normalised keyword.</summary>
    internal static List<TermVariant> For(string normalized, KeywordMode mode, WordForms forms)
    {
        var result = new List<TermVariant>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { normalized };
        void Add(TermVariant v)
        {
            if (seen.Add(v.Text))
            {
                result.Add(v);
            }
        }

        var bases = new List<(string Text, EvasionSteps Steps)> { (normalized, EvasionSteps.None) };
        if (forms == WordForms.English && mode is KeywordMode.WholeWord or KeywordMode.Suffix && IsAsciiLetters(normalized))
        {
            var dictionary = EnglishWords.Value;
            var baseIsWord = dictionary is null || dictionary.Contains(normalized);
            foreach (var f in EnglishForms(normalized))
            {
                if (!baseIsWord && dictionary!.Contains(f))
                {
                    continue; // "spic" + y is "spicy", a word of its own: not a form of the term
                }

                Add(new TermVariant(f, EvasionSteps.Form));
                bases.Add((f, EvasionSteps.Form));
            }
        }

        foreach (var (b, steps) in bases)
        {
            if (!IsAsciiLetters(b))
            {
                continue;
            }

            // A stretched run collapses to one letter, so a doubled letter must be found single there.
            for (var i = 1; i < b.Length; i++)
            {
                if (b[i] == b[i - 1] && (i + 1 == b.Length || b[i + 1] != b[i]))
                {
                    Add(new TermVariant(b.Remove(i, 1), steps | EvasionSteps.Stretched, VariantCheck.Stretched, i - 1));
                }
            }

            // '!' or '|' inside a word reads as i or l by leetspeak; either may stand for the other letter.
            for (var i = 0; i < b.Length; i++)
            {
                if (b[i] is 'i' or 'l')
                {
                    var other = b[i] == 'i' ? 'l' : 'i';
                    if (i > 0)
                    {
                        Add(new TermVariant(b[..i] + other + b[(i + 1)..], steps | EvasionSteps.Leet, VariantCheck.BangLetter, i));
                    }

                    // At the end of a word a '!' or '|' stays punctuation in the text ("p@k!"): match it as written.
                    if (i == b.Length - 1 && i >= 2)
                    {
                        Add(new TermVariant(b[..i] + "!", steps | EvasionSteps.Leet));
                        Add(new TermVariant(b[..i] + "|", steps | EvasionSteps.Leet));
                    }
                }
            }

            if (steps != EvasionSteps.None)
            {
                continue; // masks on the keyword as written only: forms × masks would multiply the automaton
            }

            // One masked letter anywhere after the first (not the last of a three-letter word); two neighbouring ones
            // between the first and the last letter ("f**k").
            for (var i = 1; i < b.Length && b.Length >= 3; i++)
            {
                if (i == b.Length - 1 && b.Length < 4)
                {
                    continue;
                }

                Add(new TermVariant(Mask(b, i, 1), EvasionSteps.Masked));
                if (b.Length >= 4 && i + 1 < b.Length - 1)
                {
                    Add(new TermVariant(Mask(b, i, 2), EvasionSteps.Masked));
                }
            }
        }

        return result;
    }

    private static string Mask(string b, int at, int count) =>
        string.Concat(b.AsSpan(0, at), new string(KeywordAutomaton.MaskSlot, count), b.AsSpan(at + count));

    private static bool IsVowel(char c) => Vowels.Contains(c, StringComparison.Ordinal);

    private static bool IsAsciiLetters(string s)
    {
        foreach (var c in s)
        {
            if (c is < 'a' or > 'z')
            {
                return false;
            }
        }

        return s.Length > 0;
    }
}
