using System.Globalization;
using System.Text;
using Gateway.Policy.Rules;

namespace Gateway.Benchmarks.Corpus;

/// <summary>How a generated keyword sits in text (Discord AutoMod syntax once rendered).</summary>
internal enum TermMode
{
    Whole,
    Prefix,
    Suffix,
    Anywhere,
    Phrase,
}

internal sealed record GeneratedTerm(string Core, TermMode Mode)
{
    public string Syntax => Mode switch
    {
        TermMode.Prefix => Core + "*",
        TermMode.Suffix => "*" + Core,
        TermMode.Anywhere => "*" + Core + "*",
        _ => Core,
    };
}

/// <summary>A generated regex and, for the templated ones, a text it matches (used to put regex hits in messages).</summary>
internal sealed record GeneratedRegex(string Pattern, string? Sample);

internal sealed record FilterSpec(string Name, FilterAction Action, int Priority, int Keywords, int Regexes, int Allow, bool Report, string? Notice);

/// <summary>
/// The fixed benchmark corpus, generated from one seed: five filters with 10,000 keywords (whole words, wildcards,
/// phrases), 100 moderation-style regexes and allow-list terms; chat messages of 1 KB and 16 KB, clean and with
/// hits; and four 16 KB hostile texts. Filter terms are made-up words checked against the message vocabulary, so a
/// clean message is clean by construction (the engine benchmarks verify it once more before measuring).
/// </summary>
internal sealed class BenchCorpus
{
    public const ulong Seed = 0x6761_7465_7761_79; // "gateway"

    private static readonly FilterSpec[] Specs =
    [
        new("profanity", FilterAction.Censor, 0, 5000, 30, 80, false, null),
        new("slurs", FilterAction.Censor, 5, 2000, 10, 40, true, null),
        new("spam", FilterAction.Drop, 10, 1500, 35, 0, false, "Advertising is not allowed here."),
        new("scams", FilterAction.Reject, 20, 1000, 20, 0, true, "This looks like a scam and was not sent."),
        new("watchlist", FilterAction.Forward, 0, 500, 5, 0, true, null),
    ];

    // Regexes without a literal a prefilter could key on: phone numbers, wallets, cards, shouting punctuation, ...
    private static readonly string[] Unkeyed =
    [
        @"\b\d{3}[-. ]\d{3}[-. ]\d{4}\b",
        @"\(\d{3}\)\s*\d{3}[-. ]\d{4}",
        @"\+\d{1,3}[\s-]?\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}",
        @"\b(?:bc1|[13])[a-hj-np-z0-9]{25,39}\b",
        @"\b0x[0-9a-f]{40}\b",
        @"\b(?:\d{4}[ -]?){3}\d{4}\b",
        @"\b[a-z]{2}\d{2}(?:\s?[a-z0-9]{4}){3,7}\b",
        @"\b(?:\d{1,3}\.){3}\d{1,3}\b",
        @"\b\d{9,}\b",
        @"[!?]{6,}",
        @"(?:@\w+\s*){6,}",
        @"[a-z]{28,}",
        @"(?:\b\w\b[\W_]*){8,}",
        @"[#$%&*]{6,}",
        @"(?:\.\s*){10,}",
    ];

    private readonly Rng _rng = new(Seed);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly HashSet<string> _vocabulary = new(Vocabulary.Words.Concat(Vocabulary.Names), StringComparer.Ordinal);

    private BenchCorpus()
    {
    }

    public IReadOnlyList<FilterDefinition> Filters { get; private set; } = [];

    /// <summary>Per filter (same order as <see cref="Filters"/>): the generated keywords and allow terms.</summary>
    public IReadOnlyList<(List<GeneratedTerm> Keywords, List<string> Allow, List<GeneratedRegex> Regexes)> Parts { get; private set; } = [];

    /// <summary>clean-1k, hits-1k, clean-16k, hits-16k.</summary>
    public IReadOnlyList<(string Name, string Text)> Messages { get; private set; } = [];

    /// <summary>16 KB texts built to hurt: near-miss, evasion, regex-bomb, dense-hits.</summary>
    public IReadOnlyList<(string Name, string Text)> Hostile { get; private set; } = [];

    /// <summary>Whole-word keywords of the censoring profanity filter: what the HTTP load's 5 % hits use.</summary>
    public IReadOnlyList<string> HitWords { get; private set; } = [];

    public int KeywordCount => Filters.Sum(f => f.Keywords.Count);

    public int RegexCount => Filters.Sum(f => f.Regexes.Count);

    public int AllowCount => Filters.Sum(f => f.Allow.Count);

    public string Message(string name) => Messages.Concat(Hostile).First(m => m.Name == name).Text;

    public static BenchCorpus Create()
    {
        var c = new BenchCorpus();
        c.Generate();
        return c;
    }

    private void Generate()
    {
        var regexes = GenerateRegexes();
        var parts = new List<(List<GeneratedTerm>, List<string>, List<GeneratedRegex>)>();
        var filters = new List<FilterDefinition>();
        var next = 0;
        foreach (var spec in Specs)
        {
            var keywords = new List<GeneratedTerm>(spec.Keywords);
            for (var i = 0; i < spec.Keywords; i++)
            {
                var roll = _rng.Next(100);
                var mode = roll switch
                {
                    < 70 => TermMode.Whole,
                    < 82 => TermMode.Prefix,
                    < 90 => TermMode.Suffix,
                    < 95 => TermMode.Anywhere,
                    _ => TermMode.Phrase,
                };
                keywords.Add(NewTerm(mode));
            }

            // Allow terms are words that contain a wildcard keyword ("smartwatch" for "*twat*").
            var allow = new List<string>(spec.Allow);
            foreach (var k in keywords)
            {
                if (allow.Count == spec.Allow)
                {
                    break;
                }

                if (k.Mode is TermMode.Prefix)
                {
                    allow.Add(k.Core + _rng.Pick(["ington", "ery", "ledge", "ward"]));
                }
                else if (k.Mode is TermMode.Anywhere)
                {
                    allow.Add(_rng.Pick(Vocabulary.Onsets) + _rng.Pick(Vocabulary.Vowels) + k.Core + "s");
                }
            }

            var own = regexes.GetRange(next, spec.Regexes);
            next += spec.Regexes;
            parts.Add((keywords, allow, own));
            filters.Add(new FilterDefinition
            {
                Name = spec.Name,
                Action = spec.Action,
                Priority = spec.Priority,
                Report = spec.Report,
                Notice = spec.Notice,
                Keywords = keywords.Select(k => k.Syntax).ToArray(),
                Allow = allow.ToArray(),
                Regexes = own.Select(r => r.Pattern).ToArray(),
            });
        }

        Filters = filters;
        Parts = parts;
        HitWords = parts[0].Item1.Where(k => k.Mode == TermMode.Whole).Take(50).Select(k => k.Core).ToArray();
        Messages =
        [
            ("clean-1k", Chat(new Rng(Seed + 1), 1024, hits: false)),
            ("hits-1k", Chat(new Rng(Seed + 1), 1024, hits: true)),
            ("clean-16k", Chat(new Rng(Seed + 2), 16384, hits: false)),
            ("hits-16k", Chat(new Rng(Seed + 2), 16384, hits: true)),
        ];
        Hostile =
        [
            ("hostile-nearmiss", NearMiss(16384)),
            ("hostile-evasion", Evasion(16384)),
            ("hostile-regex", RegexBomb(16384)),
            ("hostile-densehits", DenseHits(16384)),
        ];
    }

    private string PseudoWord(int minLength, int maxLength)
    {
        while (true)
        {
            var sb = new StringBuilder();
            var syllables = _rng.Next(2, 4);
            for (var s = 0; s < syllables; s++)
            {
                sb.Append(_rng.Pick(Vocabulary.Onsets)).Append(_rng.Pick(Vocabulary.Vowels)).Append(_rng.Pick(Vocabulary.Codas));
            }

            if (sb.Length >= minLength && sb.Length <= maxLength)
            {
                return sb.ToString();
            }
        }
    }

    /// <summary>A fresh made-up word that cannot match the clean-message vocabulary in the given mode.</summary>
    private string NewCore(TermMode mode, int minLength = 4, int maxLength = 11)
    {
        while (true)
        {
            var w = PseudoWord(mode == TermMode.Anywhere ? Math.Max(6, minLength) : minLength, maxLength);
            if (_used.Contains(w) || CollidesWithVocabulary(w, mode))
            {
                continue;
            }

            _used.Add(w);
            return w;
        }
    }

    private GeneratedTerm NewTerm(TermMode mode) =>
        mode == TermMode.Phrase
            ? new GeneratedTerm(NewCore(TermMode.Whole) + " " + NewCore(TermMode.Whole), mode)
            : new GeneratedTerm(NewCore(mode), mode);

    private bool CollidesWithVocabulary(string w, TermMode mode)
    {
        foreach (var v in _vocabulary)
        {
            var hit = mode switch
            {
                TermMode.Prefix => v.StartsWith(w, StringComparison.Ordinal),
                TermMode.Suffix => v.EndsWith(w, StringComparison.Ordinal),
                TermMode.Anywhere => v.Contains(w, StringComparison.Ordinal),
                _ => v == w,
            };
            if (hit)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>100 regexes: 60 keyed on a made-up word (scam phrases, invite links, domains), 25 evasion-catchers
    /// with separators between letters, 15 with no literal at all (numbers, wallets, punctuation runs).</summary>
    private List<GeneratedRegex> GenerateRegexes()
    {
        var list = new List<GeneratedRegex>();
        for (var i = 0; i < 60; i++)
        {
            var w = NewCore(TermMode.Anywhere, 5, 9);
            var w2 = NewCore(TermMode.Anywhere, 5, 9);
            var w3 = NewCore(TermMode.Anywhere, 5, 9);
            list.Add((i % 10) switch
            {
                0 => new($@"\b{w}\s+(?:{w2}\s+)?(?:now|today|here)\b", $"{w} now"),
                1 => new($@"(?:https?://)?(?:www\.)?{w}\.(?:com|net|org|io|gg)\b", $"{w}.com"),
                2 => new($@"\b{w}[\W_]*{w2}\b", $"{w}_{w2}"),
                3 => new($@"\b{w}\.(?:gg|link|me)/[a-z0-9]{{4,}}", $"{w}.gg/ab12cd"),
                4 => new($@"\b(?:free|cheap)\s+{w}s?\b", $"free {w}s"),
                5 => new($@"\b{w}\d{{2,4}}\b", $"{w}2024"),
                6 => new($@"\b(?:{w}|{w2}|{w3})\s*(?:coin|token)s?\b", $"{w2} coins"),
                7 => new($@"\b[a-z0-9._%+-]+@{w}\.(?:com|net)\b", $"deals@{w}.com"),
                8 => new($@"\bbuy\s+(?:cheap\s+)?{w}s?\b", $"buy cheap {w}s"),
                _ => new($@"\b{w}(?:\s+\w+){{0,3}}\s+{w2}\b", $"{w} very much {w2}"),
            });
        }

        for (var i = 0; i < 25; i++)
        {
            var w = NewCore(TermMode.Anywhere, 5, 7);
            list.Add(new(string.Join(@"[\W_]*", w.Select(ch => ch.ToString())), string.Join("-", w.Select(ch => ch.ToString()))));
        }

        list.AddRange(Unkeyed.Select(p => new GeneratedRegex(p, null)));
        _rng.Shuffle(list);
        return list;
    }

    // ── Messages ──────────────────────────────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// Chat-like text of about <paramref name="target"/> characters: sentences of everyday words with commas, numbers,
    /// mentions, accents and emoji. With <paramref name="hits"/>, six words per KB become filter hits: a keyword, a
    /// prefix keyword inside a longer word, an anywhere keyword inside a word, an allow-listed word (no hit), a
    /// regex match and a phrase — all from the two censoring filters, so the verdict is "censor".
    /// </summary>
    private string Chat(Rng r, int target, bool hits)
    {
        var slots = new List<string>();
        var plain = new List<bool>();
        var seps = new List<string>();
        var length = 0;
        while (length < target)
        {
            var words = r.Next(5, 16);
            for (var i = 0; i < words; i++)
            {
                string w;
                var isPlain = false;
                var roll = r.Next(100);
                if (roll < 4)
                {
                    w = r.Next(10, 2030).ToString(CultureInfo.InvariantCulture);
                }
                else if (roll < 7)
                {
                    w = "@" + r.Pick(Vocabulary.Names);
                }
                else if (roll < 10)
                {
                    w = r.Pick(Vocabulary.Extras);
                }
                else
                {
                    w = r.Pick(Vocabulary.Words);
                    // Never two single letters in a row: three would read as a spaced-out word ("a b c").
                    if (w.Length == 1 && slots.Count > 0 && slots[^1].Length == 1)
                    {
                        w = "the";
                    }

                    isPlain = w.Length > 1;
                }

                if (i == 0)
                {
                    w = char.ToUpperInvariant(w[0]) + w[1..];
                }

                var sep = i == words - 1 ? r.Pick([". ", ". ", "! ", "? "]) : r.Chance(0.08) ? ", " : " ";
                slots.Add(w);
                plain.Add(isPlain && i > 0);
                seps.Add(sep);
                length += w.Length + sep.Length;
            }
        }

        if (hits)
        {
            var kinds = 6;
            var count = Math.Max(kinds, target / 1024 * kinds);
            for (var k = 0; k < count; k++)
            {
                var idx = (int)((k + 0.5) * slots.Count / count);
                while (!plain[idx])
                {
                    idx = (idx + 1) % slots.Count;
                }

                slots[idx] = HitText(k % kinds, k / kinds);
                plain[idx] = false;
            }
        }

        var sb = new StringBuilder(target + 64);
        for (var i = 0; i < slots.Count; i++)
        {
            sb.Append(slots[i]).Append(seps[i]);
            if (sb.Length >= target)
            {
                break;
            }
        }

        return sb.ToString().TrimEnd();
    }

    private string HitText(int kind, int round)
    {
        var profanity = Parts[0];
        var slurs = Parts[1];
        GeneratedTerm Nth(List<GeneratedTerm> terms, TermMode mode) => terms.Where(t => t.Mode == mode).ElementAt(round);
        switch (kind)
        {
            case 0:
                var w = Nth(profanity.Keywords, TermMode.Whole).Core;
                return char.ToUpperInvariant(w[0]) + w[1..];
            case 1:
                return Nth(profanity.Keywords, TermMode.Prefix).Core + "ing";
            case 2:
                return "mega" + Nth(slurs.Keywords, TermMode.Anywhere).Core + "s";
            case 3:
                return profanity.Allow[round % profanity.Allow.Count];
            case 4:
                // Digits next to letters are leetspeak to the normaliser ("x2024" reads "x2o2a"), so a sample with
                // digits would not match on the normalised text the gateway's regexes see.
                var keyed = profanity.Regexes.Where(x => x.Sample is not null && !x.Sample.Any(char.IsDigit)).ToList();
                return keyed[round % keyed.Count].Sample!;
            default:
                return Nth(slurs.Keywords, TermMode.Phrase).Core;
        }
    }

    /// <summary>Keywords with their last letter changed: the automaton walks deep into the trie and fails late.</summary>
    private string NearMiss(int target)
    {
        var r = new Rng(Seed + 10);
        var all = Parts.SelectMany(p => p.Keywords).Where(k => k.Mode != TermMode.Phrase).ToList();
        var sb = new StringBuilder(target + 32);
        while (sb.Length < target)
        {
            var core = r.Pick(all).Core;
            var last = core[^1];
            var swapped = (char)('a' + ((last - 'a' + 1 + r.Next(24)) % 26));
            var w = core[..^1] + swapped;
            w = r.Next(3) switch
            {
                0 => w.ToUpperInvariant(),
                1 => char.ToUpperInvariant(w[0]) + w[1..],
                _ => w,
            };
            sb.Append(w).Append(' ');
        }

        return sb.ToString(0, target);
    }

    /// <summary>Every evasion the normaliser undoes: zalgo marks, fullwidth, mathematical bold (surrogate pairs),
    /// spaced letters, leetspeak, zero-width characters, Cyrillic look-alikes.</summary>
    private static string Evasion(int target)
    {
        var r = new Rng(Seed + 11);
        var sb = new StringBuilder(target + 64);
        var kind = 0;
        while (sb.Length < target)
        {
            var w = r.Pick(Vocabulary.Words.Where(x => x.Length >= 4).ToArray());
            switch (kind++ % 7)
            {
                case 0:
                    foreach (var ch in w)
                    {
                        sb.Append(ch);
                        for (var m = r.Next(3, 7); m > 0; m--)
                        {
                            sb.Append((char)(0x0300 + r.Next(0x70)));
                        }
                    }

                    break;
                case 1:
                    foreach (var ch in w)
                    {
                        sb.Append((char)(ch - 'a' + 'Ａ'));
                    }

                    break;
                case 2:
                    foreach (var ch in w)
                    {
                        sb.Append(char.ConvertFromUtf32(0x1D41A + (ch - 'a'))); // MATHEMATICAL BOLD SMALL A..Z
                    }

                    break;
                case 3:
                    sb.AppendJoin(" . ", w.Select(ch => ch.ToString()));
                    break;
                case 4:
                    sb.Append(w.Replace('o', '0').Replace('e', '3').Replace('a', '4').Replace('s', '$'));
                    break;
                case 5:
                    sb.AppendJoin("\u200B", w.Select(ch => ch.ToString()));
                    break;
                default:
                    sb.Append(w.Replace('a', 'а').Replace('o', 'о').Replace('p', 'р').Replace('e', 'е')); // Cyrillic
                    break;
            }

            sb.Append(' ');
        }

        return TrimToChars(sb, target);
    }

    /// <summary>Text aimed at the regexes: dotted two-letter runs with no '@' (quadratic for a backtracking
    /// "[a-z0-9._%+-]+@" pattern), a regex's keyword repeated without its tail, near-miss phone numbers, mention runs
    /// one short of the limit, and separator runs between the letters an evasion-catcher wants.</summary>
    private string RegexBomb(int target)
    {
        var r = new Rng(Seed + 12);
        var keyed = Parts.SelectMany(p => p.Regexes).Where(x => x.Sample is not null).ToList();
        var sb = new StringBuilder(target + 64);
        var kind = 0;
        while (sb.Length < target)
        {
            var segment = sb.Length + 1024;
            switch (kind++ % 5)
            {
                case 0:
                    while (sb.Length < segment)
                    {
                        sb.Append((char)('a' + r.Next(26))).Append((char)('a' + r.Next(26))).Append('.');
                    }

                    break;
                case 1:
                    var word = r.Pick(keyed).Sample!.Split(' ', '.', '_', '-', '@')[0];
                    while (sb.Length < segment)
                    {
                        sb.Append(word).Append(' ');
                    }

                    break;
                case 2:
                    while (sb.Length < segment)
                    {
                        sb.Append(r.Next(100, 999)).Append(' ').Append(r.Next(100, 999)).Append(' ');
                    }

                    break;
                case 3:
                    while (sb.Length < segment)
                    {
                        sb.Append("@alex @sam @li @kai @eva hey ");
                    }

                    break;
                default:
                    var sample = r.Pick(keyed.Where(x => x.Pattern.Contains(@"[\W_]*", StringComparison.Ordinal)
                        && !x.Pattern.Contains(@"\b", StringComparison.Ordinal)).ToList()).Sample!;
                    var head = sample[..^1];
                    while (sb.Length < segment)
                    {
                        sb.Append(head).Append("-_-_-_-_").Append(' ');
                    }

                    break;
            }
        }

        return TrimToChars(sb, target);
    }

    /// <summary>Nothing but hits, with allow-listed words between them: every word is censored or excused.</summary>
    private string DenseHits(int target)
    {
        var r = new Rng(Seed + 13);
        var censoring = Parts[0].Keywords.Concat(Parts[1].Keywords).Where(k => k.Mode is TermMode.Whole or TermMode.Prefix).ToList();
        var allow = Parts[0].Allow.Concat(Parts[1].Allow).ToList();
        var sb = new StringBuilder(target + 32);
        while (sb.Length < target)
        {
            var k = r.Pick(censoring);
            sb.Append(k.Mode == TermMode.Prefix ? k.Core + "ed" : k.Core).Append(' ');
            sb.Append(r.Pick(allow)).Append(' ');
        }

        return TrimToChars(sb, target);
    }

    /// <summary>Cuts at <paramref name="target"/> characters without splitting a surrogate pair.</summary>
    private static string TrimToChars(StringBuilder sb, int target)
    {
        var n = Math.Min(target, sb.Length);
        if (n > 0 && char.IsHighSurrogate(sb[n - 1]))
        {
            n--;
        }

        return sb.ToString(0, n);
    }
}
