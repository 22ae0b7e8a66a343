using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Gateway.Policy.Text;

namespace Gateway.Policy.Rules;

/// <summary>How a keyword's ends must sit in the text.</summary>
public enum KeywordMode
{
    /// <summary>"cat": a whole word (or phrase).</summary>
    WholeWord = 0,

    /// <summary>"cat*": starts a word.</summary>
    Prefix = 1,

    /// <summary>"*cat": ends a word.</summary>
    Suffix = 2,

    /// <summary>"*cat*": anywhere, even inside a word.</summary>
    Anywhere = 3,
}

/// <summary>A keyword in Discord AutoMod syntax, parsed and normalised.</summary>
public readonly record struct KeywordTerm(string Original, string Normalized, KeywordMode Mode)
{
    public bool NeedsStartBoundary => Mode is KeywordMode.WholeWord or KeywordMode.Prefix;

    public bool NeedsEndBoundary => Mode is KeywordMode.WholeWord or KeywordMode.Suffix;

    public static bool TryParse(string text, out KeywordTerm term, out string? error)
    {
        term = default;
        var core = text.AsSpan().Trim();
        var prefixStar = core.Length > 0 && core[0] == '*';
        var suffixStar = core.Length > 1 && core[^1] == '*';
        if (prefixStar)
        {
            core = core[1..];
        }

        if (suffixStar && core.Length > 0)
        {
            core = core[..^1];
        }

        if (core.Trim().IsEmpty)
        {
            error = $"keyword \"{text}\" is empty once its wildcards are removed";
            return false;
        }

        var normalized = TextNormalizer.NormalizeToString(core.ToString()).Trim(' ');
        if (normalized.Length == 0)
        {
            error = $"term \"{text}\" normalises to nothing (only invisible characters, controls or marks)";
            return false;
        }

        if (!HasLetterDigitOrSymbol(normalized))
        {
            // Punctuation is what the normaliser treats as separators and leet ("s.p.a.m", "sh!t"), and a lone mark
            // joins the character before it: such a term matches by accident if at all (issue 9).
            error = $"term \"{text}\" has no letter, digit or symbol once normalised (\"{normalized}\"): punctuation and combining marks alone cannot be matched reliably";
            return false;
        }

        if (!MatchesInRunningText(core, normalized))
        {
            error = $"term \"{text}\" normalises to \"{normalized}\" on its own but never to that inside a message (a leading combining mark joins the space before it)";
            return false;
        }

        var mode = (prefixStar, suffixStar) switch
        {
            (false, false) => KeywordMode.WholeWord,
            (false, true) => KeywordMode.Prefix,
            (true, false) => KeywordMode.Suffix,
            _ => KeywordMode.Anywhere,
        };
        term = new KeywordTerm(text, normalized, mode);
        error = null;
        return true;
    }

    private static bool HasLetterDigitOrSymbol(string normalized)
    {
        for (var i = 0; i < normalized.Length; i++)
        {
            var category = char.GetUnicodeCategory(normalized, i);
            if (category is <= UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber
                or UnicodeCategory.OtherNumber or (>= UnicodeCategory.MathSymbol and <= UnicodeCategory.OtherSymbol))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Does the term, written between two ordinary words, still normalise to what it normalises to alone? The
    /// message text is normalised with its surroundings, the term without them; a term that only the bare form
    /// produces can never be found. Config load only: allocation does not matter here.
    /// </summary>
    private static bool MatchesInRunningText(ReadOnlySpan<char> core, string normalized)
    {
        var context = TextNormalizer.NormalizeToString(string.Concat("zz ", core, " zz"));
        return context.Contains(normalized, StringComparison.Ordinal);
    }
}

/// <summary>Validation and compilation of configured regular expressions.</summary>
public static class RegexRules
{
    public const RegexOptions BaseOptions = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    public static RegexOptions OptionsFor(bool caseSensitive) =>
        caseSensitive ? BaseOptions : BaseOptions | RegexOptions.IgnoreCase;

    public static bool TryCompile(string pattern, bool caseSensitive, int maxLength, out Regex? regex, out string? error)
    {
        regex = null;
        if (pattern.Length == 0)
        {
            error = "regex is empty";
            return false;
        }

        if (pattern.Length > maxLength)
        {
            error = $"regex is {pattern.Length} characters long; the limit is {maxLength} (limits.max_regex_length)";
            return false;
        }

        try
        {
            var r = new Regex(pattern, OptionsFor(caseSensitive));
            if (r.IsMatch(string.Empty))
            {
                error = $"regex /{pattern}/ matches the empty string, so it would match every message";
                return false;
            }

            regex = r;
            error = null;
            return true;
        }
        catch (NotSupportedException ex)
        {
            error = $"regex /{pattern}/ is not supported by the linear-time engine: {FirstSentence(ex.Message)}";
            return false;
        }
        catch (ArgumentException ex)
        {
            error = $"regex /{pattern}/ is invalid: {FirstSentence(ex.Message)}";
            return false;
        }
    }

    private static string FirstSentence(string message)
    {
        var m = message.Replace(Environment.NewLine, " ", StringComparison.Ordinal);
        return m.Length > 200 ? m[..200] : m;
    }
}

/// <summary>Room and user globs: '*' any run, '?' one character, case-insensitive, whole string.</summary>
public static class NameGlob
{
    public static bool TryValidate(string glob, out string? error)
    {
        if (string.IsNullOrWhiteSpace(glob))
        {
            error = "glob is empty";
            return false;
        }

        if (glob.Length > 512)
        {
            error = "glob is longer than 512 characters";
            return false;
        }

        foreach (var c in glob)
        {
            if (char.IsControl(c))
            {
                error = $"glob \"{glob}\" contains a control character";
                return false;
            }
        }

        error = null;
        return true;
    }

    /// <summary>One anchored regex matching any of the globs; null when the list is empty.</summary>
    public static Regex? CompileAny(IReadOnlyList<string> globs)
    {
        if (globs.Count == 0)
        {
            return null;
        }

        var sb = new StringBuilder("^(?:");
        for (var i = 0; i < globs.Count; i++)
        {
            if (i > 0)
            {
                sb.Append('|');
            }

            AppendGlob(sb, globs[i]);
        }

        sb.Append(")$");
        return new Regex(sb.ToString(), RegexOptions.NonBacktracking | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }

    private static void AppendGlob(StringBuilder sb, string glob)
    {
        var lastStar = false;
        foreach (var c in glob)
        {
            if (c == '*')
            {
                if (!lastStar)
                {
                    sb.Append(".*");
                }

                lastStar = true;
                continue;
            }

            lastStar = false;
            if (c == '?')
            {
                sb.Append('.');
            }
            else
            {
                sb.Append(Regex.Escape(c.ToString()));
            }
        }
    }
}
