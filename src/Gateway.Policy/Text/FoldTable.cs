using System.Globalization;
using System.Text;

namespace Gateway.Policy.Text;

/// <summary>
/// Per-code-point folding built once per process: compatibility decomposition (NFKD), accent stripping for
/// Latin/Greek/Cyrillic, case folding and a table of common confusables. The normaliser looks every input
/// character up here, so the hot path is one array read per character.
/// </summary>
internal static class FoldTable
{
    /// <summary>The character is removed (zero-width, bidi control, variation selector, ...).</summary>
    internal const char Drop = '\u0000';

    /// <summary>The character expands to several characters: see <see cref="Expand"/>.</summary>
    internal const char Multi = '\uFFFF';

    /// <summary>A standalone combining mark: dropped after a Latin/Greek/Cyrillic base, kept otherwise.</summary>
    internal const char Mark = '\uFFFE';

    private static readonly char[] Single = new char[65536];
    private static readonly Dictionary<char, string> Expansions = new();
    private static readonly Dictionary<int, string> Astral = new();

    static FoldTable()
    {
        for (var c = 0; c < 65536; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF)
            {
                // Surrogates are handled by the caller as pairs. A lone one becomes U+FFFD: kept as itself, two lone
                // halves with an invisible character between them would pair up once it is dropped, and normalising
                // the output again would read a character the text never had (found by PolicyPropertyTests).
                Single[c] = '\uFFFD';
                continue;
            }

            var folded = FoldCodePoint(c, out var isMark);
            if (isMark)
            {
                Single[c] = Mark;
            }
            else if (folded.Length == 0)
            {
                Single[c] = Drop;
            }
            else if (folded.Length == 1 && folded[0] != Multi && folded[0] != Mark)
            {
                Single[c] = folded[0];
            }
            else
            {
                Single[c] = Multi;
                Expansions[(char)c] = folded;
            }
        }

        // Astral ranges that carry letter look-alikes: mathematical alphanumerics, enclosed alphanumerics,
        // segmented digits. Everything else above the BMP (emoji, historic scripts) passes through unchanged.
        AddAstral(0x1D400, 0x1D7FF);
        AddAstral(0x1F100, 0x1F1FF);
        AddAstral(0x1FBF0, 0x1FBF9);
        PrintableAsciiIsLowercaseOnly = CheckPrintableAscii();
    }

    internal static char Lookup(char c) => Single[c];

    /// <summary>
    /// True when printable ASCII (U+0020–U+007E) folds to itself with A–Z lower-cased, which lets the normaliser
    /// fold whole blocks of it with vector instructions. Checked against the table, not assumed, so a change to the
    /// folding rules switches the fast path off instead of making it wrong.
    /// </summary>
    internal static readonly bool PrintableAsciiIsLowercaseOnly;

    private static bool CheckPrintableAscii()
    {
        for (var c = (char)0x20; c <= 0x7E; c++)
        {
            var expected = c is >= 'A' and <= 'Z' ? (char)(c + 32) : c;
            if (Single[c] != expected)
            {
                return false;
            }
        }

        return true;
    }

    internal static string Expand(char c) => Expansions[c];

    /// <summary>Folds an astral code point; null means "keep the surrogate pair as it is".</summary>
    internal static string? LookupAstral(int codePoint)
    {
        if (codePoint is >= 0xE0000 and <= 0xE0FFF)
        {
            return string.Empty; // tag characters and variation selectors supplement: invisible
        }

        return Astral.TryGetValue(codePoint, out var s) ? s : null;
    }

    /// <summary>
    /// Removed by the normaliser, and removed rather than starred when censored: format characters that render as
    /// nothing, and control characters (Cc) other than whitespace. A control character inside a word would otherwise
    /// split it ("da\u0001mn"; issue 9). Tabs, line breaks and NEL are whitespace and still separate words.
    /// </summary>
    internal static bool IsInvisible(int c) =>
        (c <= 0x9F && IsNonWhitespaceControl(c)) || c is 0x00AD or 0x034F or 0x061C or 0x115F or 0x1160 or 0x17B4 or 0x17B5 or 0x3164 or 0xFEFF or 0xFFA0
            or (>= 0x180B and <= 0x180F) or (>= 0x200B and <= 0x200F) or (>= 0x202A and <= 0x202E)
            or (>= 0x2060 and <= 0x206F) or (>= 0xFE00 and <= 0xFE0F) or (>= 0x1D173 and <= 0x1D17A)
            or (>= 0xE0000 and <= 0xE0FFF);

    private static bool IsNonWhitespaceControl(int c) => (c < 0x20 || c >= 0x7F) && c is not (>= 0x09 and <= 0x0D) and not 0x85;

    /// <summary>Latin, Greek and Cyrillic letters lose their accents; other scripts keep their marks.</summary>
    internal static bool StripsMarks(char baseChar) => baseChar < 0x0530;

    private static void AddAstral(int from, int to)
    {
        for (var cp = from; cp <= to; cp++)
        {
            var folded = FoldCodePoint(cp, out _);
            var original = char.ConvertFromUtf32(cp);
            if (folded != original)
            {
                Astral[cp] = folded;
            }
        }
    }

    private static string FoldCodePoint(int cp, out bool isStandaloneMark)
    {
        isStandaloneMark = false;
        if (IsInvisible(cp))
        {
            return string.Empty;
        }

        string original;
        try
        {
            original = char.ConvertFromUtf32(cp);
        }
        catch (ArgumentOutOfRangeException)
        {
            return ((char)cp).ToString();
        }

        var category = CharUnicodeInfo.GetUnicodeCategory(cp);
        if (category is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator || (cp < 0x10000 && char.IsWhiteSpace((char)cp)))
        {
            return " ";
        }

        if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark)
        {
            isStandaloneMark = true;
            return original;
        }

        string decomposed;
        try
        {
            decomposed = original.Normalize(NormalizationForm.FormKD);
        }
        catch (ArgumentException)
        {
            decomposed = original; // unassigned code point: ICU refuses it, keep it verbatim
        }

        // A character whose compatibility form is only a mark (halfwidth "ﾞ" is U+3099) is a mark: folded to the bare
        // mark, a second pass would treat it as one and give another result (normalisation must be idempotent).
        if (decomposed.Length > 0 && decomposed.All(static d =>
                CharUnicodeInfo.GetUnicodeCategory(d) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark))
        {
            isStandaloneMark = true;
            return decomposed;
        }

        var sb = new StringBuilder(decomposed.Length);
        var baseChar = decomposed.Length > 0 ? decomposed[0] : '\0';
        foreach (var d in decomposed)
        {
            var dc = CharUnicodeInfo.GetUnicodeCategory(d);
            if (dc is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark && StripsMarks(baseChar))
            {
                continue;
            }

            if (char.IsWhiteSpace(d))
            {
                sb.Append(' ');
                continue;
            }

            var mapped = Confusables.Map(d) ?? Confusables.Map(char.ToLowerInvariant(d)) ?? char.ToLowerInvariant(d).ToString();
            sb.Append(mapped);
        }

        return sb.ToString();
    }
}
