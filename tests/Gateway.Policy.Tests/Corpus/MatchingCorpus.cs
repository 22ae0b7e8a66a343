using System.Text;

namespace Gateway.Policy.Tests.Corpus;

/// <summary>
/// The recall corpus of issue 18, built here: our own term list, one generator per disguise class, and short chat
/// carriers. Deterministic (fixed seed) so a failure names the same case every run. The acceptance corpus is a
/// different one built from the same classes, so the generators vary separators, positions, mask characters and
/// carriers instead of repeating one shape.
/// </summary>
internal static class MatchingCorpus
{
    /// <summary>Whole-word terms (common English profanities and slurs), written as an operator would.</summary>
    public static readonly string[] Terms =
    [
        "fuck", "shit", "bitch", "cunt", "dick", "cock", "pussy", "asshole", "bastard", "slut", "whore", "fag",
        "faggot", "nigger", "retard", "twat", "wanker", "bollocks", "prick", "piss", "crap", "douche", "jizz", "cum",
        "tits", "boobs", "penis", "vagina", "dildo", "anal", "rape", "porn", "nazi", "paki", "spic", "kike", "chink",
        "dyke", "tranny", "skank", "motherfucker", "bullshit", "blowjob", "horny", "milf", "slag",
    ];

    /// <summary>Short chat sentences; {0} is the disguised term.</summary>
    private static readonly string[] Carriers =
    [
        "you are such a {0} today", "{0}, I swear", "lol what a {0}", "omg {0}!!", "stop being a {0} ok",
        "that was {0} honestly", "i think he is a {0} tbh", "{0}", "dude {0} off", "he said {0} and left",
        "well {0} then", "a {0} is what i see", "no way, {0}.", "seriously {0}?", "ugh {0} again",
    ];

    /// <summary>Carriers where a one-letter word stands right next to the spaced-out term.</summary>
    private static readonly string[] OneLetterCarriers =
    [
        "such a {0} today", "{0} I swear", "what a {0}", "I {0} it", "you a {0}", "{0} a lot", "i said {0} i know",
        "he is a {0}, I think", "a {0} a day",
    ];

    public sealed record Case(string Class, string Term, string Text);

    public static List<Case> Build(int seed = 18)
    {
        var r = new Random(seed);
        var cases = new List<Case>();
        foreach (var term in Terms)
        {
            for (var k = 0; k < 3; k++)
            {
                Add(cases, r, "spaced", term, Spaced(r, term), OneLetterCarriers);
                Add(cases, r, "underscored", term, Underscored(r, term), Carriers);
                Add(cases, r, "stretched", term, Stretched(r, term), Carriers);
                Add(cases, r, "masked", term, Masked(r, term, 1), Carriers);
                if (term.Length >= 5)
                {
                    Add(cases, r, "masked2", term, Masked(r, term, 2), Carriers);
                }

                if (BangLetter(r, term) is { } bang)
                {
                    Add(cases, r, "bang-letter", term, bang, Carriers);
                }

                Add(cases, r, "out-of-table", term, OutOfTable(r, term), Carriers);
                Add(cases, r, "inflected", term, Inflect(r, term), Carriers);
                Add(cases, r, "leet", term, Leet(r, term), Carriers);
                Add(cases, r, "confusable", term, Confusable(r, term), Carriers);
                Add(cases, r, "accent", term, Accent(r, term), Carriers);
                Add(cases, r, "plain-spaced", term, string.Join(" ", term.ToCharArray()), Carriers);
                Add(cases, r, "case", term, RandomCase(r, term), Carriers);
            }
        }

        return cases;
    }

    private static void Add(List<Case> cases, Random r, string cls, string term, string disguised, string[] carriers)
    {
        var carrier = carriers[r.Next(carriers.Length)];
        cases.Add(new Case(cls, term, string.Format(System.Globalization.CultureInfo.InvariantCulture, carrier, disguised)));
    }

    private static readonly string[] SpacedSeparators = [" ", ".", "-", "_", " . ", ". "];

    private static string Spaced(Random r, string term) => string.Join(SpacedSeparators[r.Next(SpacedSeparators.Length)], term.ToCharArray());

    private static string Underscored(Random r, string term)
    {
        var s = string.Join("_", term.ToCharArray());
        return r.Next(2) == 0 ? s + "!" : s;
    }

    private static string Stretched(Random r, string term)
    {
        var i = r.Next(term.Length);
        return term[..i] + new string(term[i], r.Next(3, 7)) + term[(i + 1)..];
    }

    private static readonly char[] MaskChars = ['*', '#', '%', '*'];

    /// <summary>One or two neighbouring letters inside the word replaced by one mask character each.</summary>
    private static string Masked(Random r, string term, int count)
    {
        var at = 1 + r.Next(Math.Max(1, term.Length - 1 - count));
        var sb = new StringBuilder(term);
        var mask = MaskChars[r.Next(MaskChars.Length)];
        for (var k = 0; k < count && at + k < term.Length; k++)
        {
            sb[at + k] = mask;
        }

        return sb.ToString();
    }

    /// <summary>An 'i' or 'l' written as '!' or '|' ("p@k!", "p|zza"); null when the term has neither.</summary>
    private static string? BangLetter(Random r, string term)
    {
        var positions = Enumerable.Range(0, term.Length).Where(i => term[i] is 'i' or 'l').ToArray();
        if (positions.Length == 0)
        {
            return null;
        }

        var i = positions[r.Next(positions.Length)];
        var sb = new StringBuilder(term);
        sb[i] = r.Next(2) == 0 ? '!' : '|';
        // Sometimes with other leet as well ("p@k!").
        if (r.Next(2) == 0)
        {
            var a = term.IndexOf('a', StringComparison.Ordinal);
            if (a > 0)
            {
                sb[a] = '@';
            }
        }

        return sb.ToString();
    }

    /// <summary>Letters outside the usual fold tables: hooked, stroked, small-capital and turned Latin letters.</summary>
    private static readonly Dictionary<char, string> Exotic = new()
    {
        ['a'] = "ɐᴀ",
        ['b'] = "ɓƀʙ",
        ['c'] = "ƈȼᴄ",
        ['d'] = "ɗᴅ",
        ['e'] = "ɇᴇ",
        ['f'] = "ƒꜰ",
        ['g'] = "ɠǥɢ",
        ['h'] = "ɦʜ",
        ['i'] = "ɨ",
        ['j'] = "ʝɉᴊ",
        ['k'] = "ƙᴋ",
        ['l'] = "ɬʟ",
        ['m'] = "ɱᴍ",
        ['n'] = "ɲɴ",
        ['o'] = "ɵᴏ",
        ['p'] = "ƥᴘ",
        ['r'] = "ɽʀ",
        ['s'] = "ʂꜱ",
        ['t'] = "ƭᴛ",
        ['u'] = "ʉᴜ",
        ['v'] = "ʋᴠ",
        ['w'] = "ᴡ",
        ['y'] = "ƴɏ",
        ['z'] = "ȥƶᴢ",
        ['q'] = "ʠ",
        ['x'] = "ẋ",
    };

    private static string OutOfTable(Random r, string term)
    {
        var i = r.Next(term.Length);
        var choices = Exotic[term[i]];
        return term[..i] + choices[r.Next(choices.Length)] + term[(i + 1)..];
    }

    /// <summary>An English inflection with the spelling rules (doubling after a short vowel, silent e dropped).</summary>
    public static string Inflect(Random r, string term)
    {
        var suffixes = new[] { "s", "ing", "er", "ed", "y", "ers" };
        var suffix = suffixes[r.Next(suffixes.Length)];
        return EnglishForm(term, term.EndsWith('y') && suffix == "y" ? "s" : suffix);
    }

    public static string EnglishForm(string w, string suffix)
    {
        if (suffix == "s")
        {
            return w.EndsWith('s') || w.EndsWith('x') || w.EndsWith("ch", StringComparison.Ordinal) || w.EndsWith("sh", StringComparison.Ordinal) || w.EndsWith('z') ? w + "es"
                : w.EndsWith('y') && w.Length > 1 && !"aeiou".Contains(w[^2], StringComparison.Ordinal) ? w[..^1] + "ies" : w + "s";
        }

        if (w.EndsWith('e'))
        {
            return w[..^1] + suffix;
        }

        if (w.EndsWith('y') && suffix is "ed" or "er" or "ers" && !"aeiou".Contains(w[^2], StringComparison.Ordinal))
        {
            return w[..^1] + "i" + suffix;
        }

        var n = w.Length;
        if (n >= 3 && !"aeiou".Contains(w[n - 1], StringComparison.Ordinal) && "aeiou".Contains(w[n - 2], StringComparison.Ordinal)
            && !"aeiou".Contains(w[n - 3], StringComparison.Ordinal) && w[n - 1] is not ('w' or 'x' or 'y') && (n <= 4 || !"aeiou".Contains(w[n - 4], StringComparison.Ordinal) || n == 3))
        {
            return w + w[n - 1] + suffix;
        }

        return w + suffix;
    }

    private static string Leet(Random r, string term)
    {
        var map = new Dictionary<char, char> { ['a'] = '4', ['e'] = '3', ['i'] = '1', ['o'] = '0', ['s'] = '$', ['t'] = '7' };
        var sb = new StringBuilder(term);
        var changed = false;
        for (var i = 0; i < sb.Length; i++)
        {
            if (map.TryGetValue(sb[i], out var l) && (r.Next(2) == 0 || !changed))
            {
                sb[i] = i == 0 && l == '$' ? 's' : l;
                changed = true;
            }
        }

        if (!changed)
        {
            sb[^1] = char.ToUpperInvariant(sb[^1]);
        }

        return sb.ToString();
    }

    private static string Confusable(Random r, string term)
    {
        var map = new Dictionary<char, char> { ['a'] = 'а', ['e'] = 'е', ['o'] = 'о', ['p'] = 'р', ['c'] = 'с', ['x'] = 'х', ['y'] = 'у', ['i'] = 'і', ['s'] = 'ѕ' };
        var sb = new StringBuilder(term);
        var any = false;
        for (var i = 0; i < sb.Length; i++)
        {
            if (map.TryGetValue(sb[i], out var l) && r.Next(2) == 0)
            {
                sb[i] = l;
                any = true;
            }
        }

        if (!any)
        {
            // Fullwidth letters for terms without a Cyrillic look-alike drawn.
            var i = r.Next(sb.Length);
            sb[i] = (char)(sb[i] - 'a' + 'ａ');
        }

        return sb.ToString();
    }

    private static string Accent(Random r, string term)
    {
        var map = new Dictionary<char, string> { ['a'] = "áàâä", ['e'] = "éèêë", ['i'] = "íìîï", ['o'] = "óòôö", ['u'] = "úùûü", ['c'] = "ç", ['n'] = "ñ" };
        var positions = Enumerable.Range(0, term.Length).Where(i => map.ContainsKey(term[i])).ToArray();
        if (positions.Length == 0)
        {
            return term[0] + "\u0336" + term[1..]; // a combining stroke instead
        }

        var p = positions[r.Next(positions.Length)];
        var choices = map[term[p]];
        return term[..p] + choices[r.Next(choices.Length)] + term[(p + 1)..];
    }

    private static string RandomCase(Random r, string term) =>
        new(term.Select(c => r.Next(2) == 0 ? char.ToUpperInvariant(c) : c).ToArray());
}
