using System.Globalization;
using System.Text;

namespace Gateway.Policy.Text;

/// <summary>
/// Looks at the original characters behind a keyword hit, after the automaton found it (so a clean message never
/// pays for it): which normalisation steps produced the hit, and whether it is one of the innocent look-alikes of
/// issue 18 that must not count: a product code, road number or hex colour read as leetspeak ("A55", "C0CK-2231",
/// "#a55"), or a word of another language that only matches once its accents are removed ("râpé", "rapé", "cúm").
/// </summary>
public static class HitAnalysis
{
    /// <summary>
    /// The steps behind the hit on original characters [<paramref name="start"/>, <paramref name="end"/>) of
    /// <paramref name="text"/>; false when the hit is a code or a foreign word and must be dropped.
    /// </summary>
    public static bool Accept(string text, int start, int end, out EvasionSteps steps)
    {
        steps = EvasionSteps.None;

        // Nothing but lower-case ASCII letters (most hits): no step, no capitals, no accents, so nothing to refuse.
        if ((uint)start < (uint)end && end <= text.Length && !text.AsSpan(start, end - start).ContainsAnyExceptInRange('a', 'z'))
        {
            return true;
        }

        var precomposedAccents = 0;
        var prevLetter = false;
        var lower = false;
        for (var i = start; i < end && i < text.Length; i++)
        {
            var c = text[i];
            if (c < 128)
            {
                if (char.IsAsciiLetter(c))
                {
                    prevLetter = true;
                    lower |= char.IsAsciiLetterLower(c);
                    continue;
                }

                if (char.IsAsciiDigit(c) || c is '@' or '$' or '!' or '|')
                {
                    steps |= EvasionSteps.Leet;
                }
                else if (c is not ('*' or '#' or '%') && prevLetter)
                {
                    steps |= EvasionSteps.Spaced;
                }

                continue;
            }

            if (char.IsSurrogate(c))
            {
                steps |= EvasionSteps.Confusable;
                continue;
            }

            if (FoldTable.IsInvisible(c))
            {
                steps |= EvasionSteps.Invisible;
                continue;
            }

            var category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark)
            {
                steps |= EvasionSteps.Accent;
            }
            else if (IsAccentedLatin(c))
            {
                steps |= EvasionSteps.Accent;
                precomposedAccents++;
            }
            else if (c is '€' or '¢')
            {
                steps |= EvasionSteps.Leet;
            }
            else if (char.IsLetter(c))
            {
                steps |= EvasionSteps.Confusable;
            }
            else if (char.IsWhiteSpace(c) || char.IsPunctuation(c))
            {
                steps |= EvasionSteps.Spaced;
            }
        }

        // A lower-case letter inside the hit is inside its token, so the token is not all capitals: a text of nothing
        // but lower-case hits skips walking every hit's token.
        if ((steps & EvasionSteps.Leet) != 0 || (!lower && IsUpperToken(text, start, end)))
        {
            if (IsCode(text, start, end))
            {
                return false;
            }
        }

        if (precomposedAccents > 0 && IsForeignWord(text, start, end, precomposedAccents))
        {
            return false;
        }

        return true;
    }

    /// <summary>A Latin letter with a diacritic that NFD splits off (é, ã, ü, ơ); not ł, ø, ß (no decomposition).</summary>
    private static bool IsAccentedLatin(char c) =>
        c is >= '\u00C0' and <= '\u1EFF' && AccentedLatin[c - 0xC0];

    private static readonly bool[] AccentedLatin = BuildAccentedLatin();

    private static bool IsVowelBase(char c)
    {
        var d = FoldTable.Lookup(c);
        return d is 'a' or 'e' or 'i' or 'o' or 'u' or 'y';
    }

    private static bool[] BuildAccentedLatin()
    {
        var table = new bool[0x1EFF - 0xC0 + 1];
        for (var c = 0xC0; c <= 0x1EFF; c++)
        {
            table[c - 0xC0] = c is <= 0x24F or >= 0x1E00 && char.IsLetter((char)c)
                && ((char)c).ToString().Normalize(NormalizationForm.FormD).Length > 1;
        }

        return table;
    }

    private static (int Start, int End) TokenAround(ReadOnlySpan<char> text, int start, int end)
    {
        // Bounded: a code or a word is short, and a hit inside a 16 KB token must not cost 16 KB.
        var s = Math.Min(start, text.Length);
        var limit = Math.Max(0, s - MaxTokenReach);
        while (s > limit && IsTokenChar(text[s - 1]))
        {
            s--;
        }

        var e = Math.Min(end, text.Length);
        var stop = Math.Min(text.Length, e + MaxTokenReach);
        while (e < stop && IsTokenChar(text[e]))
        {
            e++;
        }

        return (s, e);
    }

    private const int MaxTokenReach = 64;

    private static bool IsTokenChar(char c) => char.IsLetterOrDigit(c) || c is '@' or '$';

    private static bool IsUpperToken(ReadOnlySpan<char> text, int start, int end)
    {
        var (s, e) = TokenAround(text, start, end);
        var letters = 0;
        for (var i = s; i < e; i++)
        {
            if (char.IsLetter(text[i]))
            {
                if (!char.IsUpper(text[i]))
                {
                    return false;
                }

                letters++;
            }
        }

        return letters > 0;
    }

    /// <summary>
    /// Codes and numbers, not words: a hex colour ("#a55"), or a capitals-and-digits
    /// token with as many digits as letters ("A55", "SH17") or joined by '-' or '/' to a number ("C0CK-2231",
    /// "FAG-200").
    /// </summary>
    private static bool IsCode(ReadOnlySpan<char> text, int start, int end)
    {
        var (s, e) = TokenAround(text, start, end);
        var token = text[s..e];
        int letters = 0, digits = 0, upper = 0;
        var hex = true;
        foreach (var c in token)
        {
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
            else if (char.IsLetter(c))
            {
                letters++;
                upper += char.IsUpper(c) ? 1 : 0;
            }

            hex &= char.IsAsciiHexDigit(c);
        }

        if (s > 0 && text[s - 1] == '#' && hex && digits > 0 && token.Length is 3 or 4 or 6 or 8)
        {
            return true;
        }

        if (letters == 0 || upper != letters)
        {
            return false;
        }

        var joinedToNumber = (e + 1 < text.Length && text[e] is '-' or '/' && char.IsAsciiDigit(text[e + 1]))
            || (s >= 2 && text[s - 1] is '-' or '/' && char.IsAsciiDigit(text[s - 2]));
        return joinedToNumber || (digits > 0 && digits >= letters);
    }

    /// <summary>Function words of French, Portuguese, Spanish, Italian, German and Vietnamese that English lacks.</summary>
    private static readonly HashSet<string> ForeignWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "le", "la", "les", "des", "du", "et", "est", "une", "pour", "avec", "sur", "je", "tu", "il", "elle", "nous",
        "vous", "sont", "pas", "mais", "de", "um", "uma", "em", "na", "para", "com", "não", "você", "eu", "ele", "os",
        "el", "los", "las", "del", "y", "en", "una", "con", "por", "es", "muy", "pero", "und", "ist", "nicht", "ein",
        "eine", "mit", "für", "ich", "wir", "sie", "auf", "das", "der", "di", "che", "non", "sono", "per", "và",
        "của", "là", "có", "không", "tôi", "bạn", "nên", "bị", "trên", "mù",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> ForeignLookup =
        ForeignWords.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>
    /// A word that matched only with its accents removed is taken for a word of another language when it carries two
    /// accents on vowels ("râpé") or another word of the message is marked as foreign (<see cref="IsMarked"/>). An
    /// English message with accented words ("you fück", repeated or not) or accented consonants ("śpäm") still matches.
    /// </summary>
    private static bool IsForeignWord(string text, int start, int end, int accentsInHit)
    {
        var (s, e) = TokenAround(text, start, end);
        var accentsInWord = 0;
        for (var i = s; i < e; i++)
        {
            if (IsAccentedLatin(text[i]))
            {
                // An accent on a consonant other than ç and ñ ("śpäm", "fúćk") is decoration, not spelling.
                if (!IsVowelBase(text[i]) && char.ToLowerInvariant(text[i]) is not ('ç' or 'ñ'))
                {
                    return false;
                }

                accentsInWord++;
            }
        }

        if (Math.Max(accentsInWord, accentsInHit) >= 2)
        {
            return true;
        }

        // The rest of the message is looked at once per text, not once per hit (a text of many accented hits would
        // otherwise cost hits × length): how many words carry an accent or are foreign function words, minus this one.
        var (marked, _) = MessageContext(text);
        var self = IsMarked(text.AsSpan(s, e - s)) ? 1 : 0;

        return marked - self > 0;
    }

    [ThreadStatic]
    private static string? t_contextText;

    [ThreadStatic]
    private static int t_contextMarked;

    /// <summary>
    /// A word that says "not English": a function word of another language, or a word with a letter only Vietnamese
    /// uses (ơ, ư, ă, đ, the stacked-tone vowels). Accents alone do not count: an evader repeats "fück".
    /// </summary>
    private static bool IsMarked(ReadOnlySpan<char> word)
    {
        foreach (var c in word)
        {
            if (c is (>= '\u1EA0' and <= '\u1EF9') or 'ơ' or 'ư' or 'ă' or 'đ' or 'Ơ' or 'Ư' or 'Ă' or 'Đ')
            {
                return true;
            }
        }

        return ForeignLookup.Contains(word);
    }

    /// <summary>Words of the text that <see cref="IsMarked"/> (cached for the last text).</summary>
    private static (int Marked, bool Cached) MessageContext(string text)
    {
        if (ReferenceEquals(t_contextText, text))
        {
            return (t_contextMarked, true);
        }

        var marked = 0;
        var i2 = 0;
        while (i2 < text.Length)
        {
            while (i2 < text.Length && !char.IsLetter(text[i2]))
            {
                i2++;
            }

            var ws = i2;
            while (i2 < text.Length && char.IsLetter(text[i2]))
            {
                i2++;
            }

            if (ws < i2 && IsMarked(text.AsSpan(ws, i2 - ws)))
            {
                marked++;
            }
        }

        t_contextText = text;
        t_contextMarked = marked;
        return (marked, false);
    }
}
