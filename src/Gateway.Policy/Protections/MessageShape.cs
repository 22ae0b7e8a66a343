using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Gateway.Policy.Model;

namespace Gateway.Policy.Protections;

/// <summary>
/// What the shape protections look at in a message: its links (with their hosts decoded and folded), its mentions,
/// its share of capitals and symbols. Pure functions of the message, no state.
/// </summary>
public static partial class MessageShape
{
    private static readonly IdnMapping Idn = new() { AllowUnassigned = true };

    /// <summary>Top-level domains common enough that a bare <c>name.tld</c> is read as a link (scheme and www. forms always are).</summary>
    private static readonly HashSet<string> CommonTlds = new(StringComparer.Ordinal)
    {
        "com", "net", "org", "io", "co", "info", "biz", "me", "app", "dev", "gg", "xyz", "top", "club", "online", "site",
        "shop", "store", "live", "link", "click", "ly", "to", "cc", "tv", "us", "uk", "ru", "de", "fr", "nl", "cn", "su",
        "tk", "ml", "ga", "cf", "gq", "pw", "ws", "fun", "icu", "vip", "win", "bid", "loan", "men", "work", "cam",
        "tech", "space", "website", "page", "blog", "news", "social", "chat", "im", "is", "ai", "sh", "am", "fm", "eu",
    };

    /// <summary>Every link in the message's text fields, as folded hosts; invisible characters and IDN tricks undone.</summary>
    public static IReadOnlyList<LinkHost> Links(ChatMessage message)
    {
        List<LinkHost>? found = null;
        foreach (var field in message.Fields)
        {
            if (field.Text.Length == 0 || field.Text.IndexOf('.') < 0 && field.Text.IndexOf('\u3002') < 0 && field.Text.IndexOf('\uFF0E') < 0
                && field.Text.IndexOf('\uFF61') < 0)
            {
                continue;
            }

            var text = Clean(field.Text);
            var i = 0;
            while (i < text.Length)
            {
                while (i < text.Length && IsBreak(text[i]))
                {
                    i++;
                }

                var start = i;
                while (i < text.Length && !IsBreak(text[i]))
                {
                    i++;
                }

                if (i > start && TryLink(text.AsSpan(start, i - start), out var link))
                {
                    (found ??= new List<LinkHost>()).Add(link);
                }
            }
        }

        return found ?? (IReadOnlyList<LinkHost>)Array.Empty<LinkHost>();
    }

    /// <summary>The distinct users the message mentions: the protocol's list when it gives one, else <c>@name</c> forms in the text.</summary>
    public static int MentionCount(ChatMessage message)
    {
        if (message.Mentions is null)
        {
            var any = false;
            foreach (var field in message.Fields)
            {
                any |= field.Kind == FieldKind.Body && field.Text.Contains('@', StringComparison.Ordinal);
            }

            if (!any)
            {
                return 0;
            }
        }

        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (message.Mentions is { } listed)
        {
            foreach (var m in listed)
            {
                set.Add(m);
            }
        }

        foreach (var field in message.Fields)
        {
            if (field.Kind != FieldKind.Body || field.Text.IndexOf('@') < 0)
            {
                continue;
            }

            foreach (Match m in MentionPattern().Matches(field.Text))
            {
                // "bob@example.com" is an address, not a mention of example.com.
                if (m.Index > 0 && (char.IsLetterOrDigit(field.Text[m.Index - 1]) || field.Text[m.Index - 1] is '_' or '@' or '.'))
                {
                    continue;
                }

                set.Add(m.Value.TrimEnd('.', ':', '-'));
            }
        }

        return set.Count;
    }

    /// <summary>Percent of letters that are capitals, when the bodies have at least <paramref name="minLetters"/> letters; else -1.</summary>
    public static double CapitalsPercent(ChatMessage message, int minLetters)
    {
        var letters = 0;
        var upper = 0;
        foreach (var field in message.Fields)
        {
            if (field.Kind != FieldKind.Body)
            {
                continue;
            }

            foreach (var r in field.Text.EnumerateRunes())
            {
                if (Rune.IsLetter(r))
                {
                    letters++;
                    if (Rune.IsUpper(r))
                    {
                        upper++;
                    }
                }
            }
        }

        return letters < minLetters || letters == 0 ? -1 : upper * 100.0 / letters;
    }

    /// <summary>Percent of non-space characters (runes) that are symbols, punctuation or emoji, with at least <paramref name="minLength"/> of them; else -1.</summary>
    public static double SymbolsPercent(ChatMessage message, int minLength)
    {
        var total = 0;
        var symbols = 0;
        foreach (var field in message.Fields)
        {
            if (field.Kind != FieldKind.Body)
            {
                continue;
            }

            foreach (var r in field.Text.EnumerateRunes())
            {
                if (Rune.IsWhiteSpace(r) || Rune.GetUnicodeCategory(r) is UnicodeCategory.Format or UnicodeCategory.NonSpacingMark
                    or UnicodeCategory.EnclosingMark)
                {
                    continue;
                }

                total++;
                if (!Rune.IsLetterOrDigit(r))
                {
                    symbols++;
                }
            }
        }

        return total < minLength || total == 0 ? -1 : symbols * 100.0 / total;
    }

    /// <summary>Invisible characters removed and ideographic full stops made dots, as IDNA maps them.</summary>
    internal static string Clean(string text)
    {
        StringBuilder? sb = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var replacement = c switch
            {
                '\u3002' or '\uFF0E' or '\uFF61' => '.',
                '\u00AD' or '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF' or '\u180E' => '\0',
                _ => c,
            };
            if (replacement == c)
            {
                sb?.Append(c);
                continue;
            }

            sb ??= new StringBuilder(text.Length).Append(text, 0, i);
            if (replacement != '\0')
            {
                sb.Append(replacement);
            }
        }

        return sb?.ToString() ?? text;
    }

    /// <summary>A host as written (lower-cased, punycode decoded) and folded (confusables, accents, leetspeak undone per label).</summary>
    internal static LinkHost? Host(string written)
    {
        var raw = written.TrimEnd('.').ToLowerInvariant();
        if (raw.Length == 0 || raw.Length > 253)
        {
            return null;
        }

        var labels = raw.Split('.');
        var folded = new string[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            var label = labels[i];
            if (label.Length == 0)
            {
                return null;
            }

            if (label.StartsWith("xn--", StringComparison.Ordinal))
            {
                try
                {
                    label = Idn.GetUnicode(label);
                    labels[i] = label;
                }
                catch (ArgumentException)
                {
                    // Not valid punycode: keep it as written.
                }
            }

            var f = Text.TextNormalizer.NormalizeToString(label).Replace(" ", "", StringComparison.Ordinal);
            folded[i] = f.Length == 0 ? label : f;
        }

        return new LinkHost(string.Join('.', labels), string.Join('.', folded));
    }

    private static bool IsBreak(char c) =>
        char.IsWhiteSpace(c) || c is '<' or '>' or '(' or ')' or '[' or ']' or '{' or '}' or '"' or '\'' or '`' or ',' or ';' or '|' or '*' or '!';

    /// <summary>Reads one whitespace-delimited token as a link: optional scheme, optional user info, a dotted host, a path.</summary>
    private static bool TryLink(ReadOnlySpan<char> token, out LinkHost link)
    {
        link = null!;
        token = token.TrimEnd(".,:?!");
        var scheme = token.IndexOf("://", StringComparison.Ordinal);
        var explicitLink = false;
        if (scheme > 0 && scheme <= 16)
        {
            token = token[(scheme + 3)..];
            explicitLink = true;
        }

        var hostEnd = token.IndexOfAny("/?#");
        var host = hostEnd < 0 ? token : token[..hostEnd];
        var path = hostEnd < 0 ? "" : token[hostEnd..].ToString();
        var at = host.LastIndexOf('@');
        if (at >= 0)
        {
            if (!explicitLink)
            {
                return false; // an e-mail address or a mention, not a link
            }

            host = host[(at + 1)..];
        }

        var colon = host.LastIndexOf(':');
        if (colon > 0 && int.TryParse(host[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            host = host[..colon];
        }

        var dots = 0;
        var labelLength = 0;
        foreach (var c in host)
        {
            if (c == '.')
            {
                if (labelLength == 0)
                {
                    return false;
                }

                dots++;
                labelLength = 0;
            }
            else if (char.IsLetterOrDigit(c) || c == '-' || char.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
                         or UnicodeCategory.Surrogate)
            {
                if (++labelLength > 63)
                {
                    return false;
                }
            }
            else
            {
                return false;
            }
        }

        if (dots == 0 || labelLength < 2)
        {
            return false;
        }

        var tld = host[(host.LastIndexOf('.') + 1)..];
        var tldIsName = tld.StartsWith("xn--", StringComparison.OrdinalIgnoreCase);
        if (!tldIsName)
        {
            tldIsName = true;
            foreach (var c in tld)
            {
                tldIsName &= char.IsLetter(c) || char.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
            }
        }

        if (!tldIsName || Host(host.ToString()) is not { } parsed)
        {
            return false;
        }

        var rawTld = parsed.Raw[(parsed.Raw.LastIndexOf('.') + 1)..];
        var foldedTld = parsed.Folded[(parsed.Folded.LastIndexOf('.') + 1)..];
        var likely = explicitLink || parsed.Raw.StartsWith("www.", StringComparison.Ordinal) || CommonTlds.Contains(rawTld)
            || CommonTlds.Contains(foldedTld) || tld.StartsWith("xn--", StringComparison.OrdinalIgnoreCase) || rawTld.Any(c => c > 127);
        link = parsed with { Likely = likely, Path = path };
        return true;
    }

    [GeneratedRegex(@"@[\p{L}\p{N}_.=\-]+(?:[:@][\p{L}\p{N}.\-]+(?::\d+)?)?", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking)]
    private static partial Regex MentionPattern();
}

/// <summary>A link's host: <see cref="Raw"/> as written (lower case, punycode decoded), <see cref="Folded"/> with look-alikes undone.</summary>
public sealed record LinkHost(string Raw, string Folded)
{
    /// <summary>Written the way people write links (scheme, www., a common top-level domain), not just a dotted word.</summary>
    public bool Likely { get; init; } = true;

    public string Path { get; init; } = "";
}
