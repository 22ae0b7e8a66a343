using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Gateway.Policy.Matching;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Policy.Text;

namespace Gateway.Policy.Tests;

/// <summary>
/// The engine's fast paths (vector folding, skipped passes, interleaved automaton scan, regex gating by literal
/// factors, split pre-checks, the ASCII grapheme shortcut, the allow-list search) must give exactly what the plain
/// algorithms give. Each is checked against a straightforward reference on generated inputs.
/// </summary>
public sealed class FastPathTests
{
    // ── Normaliser ────────────────────────────────────────────────────────────────────────────────────────────────

    private static readonly string[] Pieces =
    [
        "a", "b", "s", "Z", "Hello", "WORLD", "spam", "free", "x", "I", "0", "1", "3", "4", "5", "7", "2024", "@", "$", "!",
        "|", "€", "¢", " ", " ", " ", "  ", "\t", "\n", "\r\n", ".", "-", "_", "*", ",", "/", "\\", "~", "+", "=", ":", ";",
        "·", "•", "'", "\"", "`", "^", "?", "(", ")", "é", "e\u0301", "\u0336", "z̷̢a̶", "ｓｐａｍ", "𝐬𝐩𝐚𝐦", "ⓢ", "ѕра",
        "Ηη", "\u200B", "\u202E", "\u00AD", "ﬁ", "ß", "日本", "👍🏽", "👍", "\uD800", "\uDC00", "🇩🇪", "s p a m", "s.p.a.m",
        "h3ll0", "sh1t", "$hit", "a b", "1 2 3 4", "@alice", "hello!", "n!ce", "l|ne", "\u007F", "\u0001", "İ", "K",
        "!!", "||", "!!!", "!|", "d!!mn", "\u0000", "\u0085", "\u009F", "\u001F",
        // Long runs that are rejected as a whole (one letter repeated, no letters, a formula after): the normaliser
        // copies them in one step instead of trying every later start.
        "s s s s s s s ", "x.x.x.x.x", "1 2 3 4 5 6 ", "a n a l y s e + ", "( b a d w o r d ", "u.s s s s s ", "k!",
    ];

    private static string RandomText(Random r, int pieces)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < pieces; i++)
        {
            sb.Append(Pieces[r.Next(Pieces.Length)]);
        }

        return sb.ToString();
    }

    public static TheoryData<int> Seeds() => new(Enumerable.Range(1, 8));

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Normalize_GeneratedText_SameAsThreePassReference(int seed)
    {
        var r = new Random(seed);
        var buffer = new NormalizedText(16);
        for (var round = 0; round < 400; round++)
        {
            // Mostly short texts; some long ones with long plain-ASCII stretches for the block path.
            var text = round % 10 == 0
                ? string.Concat(Enumerable.Range(0, 20).Select(_ => r.Next(3) == 0 ? RandomText(r, 5) : "Plain ascii words, Here and THERE 42 ok. "))
                : RandomText(r, r.Next(0, 40));
            TextNormalizer.Normalize(text, buffer);
            var (chars, starts, ends) = ReferenceNormalizer.Normalize(text);
            Assert.Equal(chars, buffer.ToString());
            for (var k = 0; k < chars.Length; k++)
            {
                Assert.Equal(starts[k], buffer.OriginalStart(k));
                Assert.Equal(ends[k], buffer.OriginalEnd(k));
            }
        }
    }

    [Fact]
    public void Normalize_AnyCharacter_NeverOutputsWhatIgnoreCaseEquatesWithAnAsciiLetter()
    {
        // Regex gating relies on it: a factor "abc" is searched exactly, the regex matches case-insensitively.
        var letter = new Regex("^[a-z]$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        for (var c = 0; c < 0x10000; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            foreach (var d in TextNormalizer.NormalizeToString(((char)c).ToString()))
            {
                Assert.False(letter.IsMatch(d.ToString()) && d is not (>= 'a' and <= 'z'), $"U+{c:X4} normalises to U+{(int)d:X4}");
            }
        }
    }

    [Fact]
    public void FoldTable_PrintableAscii_IsLowercaseOnly()
    {
        Assert.True(FoldTable.PrintableAsciiIsLowercaseOnly);
    }

    // ── Keyword automaton ─────────────────────────────────────────────────────────────────────────────────────────

    [Theory]
    [MemberData(nameof(Seeds))]
    public void FindAll_LongAndShortTexts_SameAsBruteForce(int seed)
    {
        var r = new Random(seed);
        var patterns = Enumerable.Range(0, 60).Select(_ => Word(r, r.Next(1, 7))).Distinct().ToList();
        patterns.Add(new string('q', 40)); // longer than a segment's warm-up would need for the others
        var automaton = KeywordAutomaton.Build(patterns);
        var hits = new List<LiteralHit>();
        for (var round = 0; round < 60; round++)
        {
            var length = round % 3 == 0 ? r.Next(0, 100) : r.Next(256, 3000);
            var sb = new StringBuilder();
            while (sb.Length < length)
            {
                sb.Append(r.Next(8) == 0 ? patterns[r.Next(patterns.Count)] : Word(r, r.Next(1, 9))).Append(r.Next(4) == 0 ? "" : " ");
            }

            // Sometimes only one hit, placed in one of the four segments.
            var text = round % 4 == 1 ? Clean(sb.ToString(), patterns, r) : sb.ToString();
            hits.Clear();
            automaton.FindAll(text, hits);
            var expected = BruteForce(text, patterns);
            Assert.Equal(expected, hits);
            Assert.Equal(expected.Count > 0, automaton.ContainsAny(text));
        }
    }

    private static string Word(Random r, int length) =>
        new(Enumerable.Range(0, length).Select(_ => (char)('a' + r.Next(6))).ToArray());

    /// <summary>Text over letters no pattern uses, with one pattern at a random place (or none).</summary>
    private static string Clean(string text, List<string> patterns, Random r)
    {
        var chars = text.Select(c => c == ' ' ? ' ' : (char)('t' + (c % 6))).ToArray();
        var clean = new string(chars);
        if (r.Next(3) == 0)
        {
            return clean;
        }

        var p = patterns[r.Next(patterns.Count)];
        var at = r.Next(0, Math.Max(1, clean.Length - p.Length));
        return clean[..at] + p + clean[Math.Min(clean.Length, at + p.Length)..];
    }

    private static List<LiteralHit> BruteForce(string text, List<string> patterns)
    {
        var hits = new List<LiteralHit>();
        for (var end = 1; end <= text.Length; end++)
        {
            // The automaton reports, per end position, the longest pattern first, then its suffixes.
            foreach (var (p, i) in patterns.Select((p, i) => (p, i)).OrderByDescending(x => x.p.Length).ThenBy(x => x.i))
            {
                if (p.Length <= end && string.CompareOrdinal(text, end - p.Length, p, 0, p.Length) == 0)
                {
                    hits.Add(new LiteralHit(i, end - p.Length, end));
                }
            }
        }

        return hits;
    }

    // ── Regex factors and gating ──────────────────────────────────────────────────────────────────────────────────

    [Theory]
    [InlineData(@"buy\s+(cheap\s+)?followers", "followers")]
    [InlineData(@"(free|cheap)\s+nitro", "nitro")]
    [InlineData(@"\bfree\s*v-?bucks", "v-bucks|vbucks")]
    [InlineData(@"fr[e3][e3]\s+stuff", "stuff")]
    [InlineData(@"fr[e3][e3]", "fr33|fr3e|fre3|free")]
    [InlineData(@"(?:https?://)?(?:www\.)?example\.(?:com|net)\b", "example.com|example.net")]
    [InlineData(@"\b[a-z0-9._%+-]+@spam\.(?:com|net)\b", "@spam.com|@spam.net")]
    [InlineData(@"(?i:SCAM)\s+LINK", "scam")]           // equally good: the first wins
    [InlineData(@"(?<name>abc)d", "abcd")]
    [InlineData(@"x(?#comment)yz", "xyz")]
    [InlineData(@"a\x62c", "abc")]
    [InlineData(@"(?:ab){3}", "ababab")]
    [InlineData(@"(?:abc)+", "abc")]
    [InlineData(@"foo|barbaz", "barbaz|foo")]
    [InlineData(@"\bdiscord\.gg/\w+", "discord.gg/")]
    [InlineData(@"a{2,3}bcd", "bcd")]
    [InlineData(@"x{,3}yz", "x{,3}yz")]       // "{,3}" is not a quantifier in .NET: literal characters
    [InlineData(@"café\s+bar", "caf")]         // a non-ASCII literal ends the factor (case rules not modelled)
    public void RegexFactors_ModerationPatterns_RequiredLiterals(string pattern, string expected)
    {
        Assert.Equal(expected.Split('|'), RegexFactors.Find(pattern));
    }

    [Theory]
    [InlineData(@"\d{3}-\d{4}")]             // no literal of three characters
    [InlineData(@"k[\W_]*r[\W_]*o[\W_]*n")]  // letters apart
    [InlineData(@"(?:abc)?d")]               // optional
    [InlineData(@"abc|d")]                   // one branch too short
    [InlineData(@"abc|\w+")]                 // one branch unknown
    [InlineData(@"(?=abc)abc")]              // lookahead: not modelled
    [InlineData(@"(?-i:abc)")]               // option switched off: not modelled
    [InlineData(@"(?x)a b c")]               // whitespace ignored: not modelled
    [InlineData(@"é\s+ab")]                  // non-ASCII literal: case rules not modelled
    [InlineData(@"ab[^c]de")]
    [InlineData(@"[abcde]fg")]               // five-character class: not exact
    [InlineData(@"abc)")]                    // unbalanced
    [InlineData(@"(abc")]
    public void RegexFactors_NothingProvable_Null(string pattern)
    {
        Assert.Null(RegexFactors.Find(pattern));
    }

    [Theory]
    [InlineData(@"k[\W_]*r[\W_]*o[\W_]*n", "kron")]
    [InlineData(@"\bf\W*r\W*e\W*e\b", "free")]
    [InlineData(@"b[\s.-]*a[\s.-]*d", "bad")]
    [InlineData(@"n[\W_]{0,3}[i1!][\W_]{0,3}c[\W_]{0,3}e", "n1ce|nce|nice")] // '!' is a separator: squeezed out
    [InlineData(@"x[ .]*y[ .]*z", "xyz")]
    public void RegexFactors_SeparatorsBetweenLetters_SqueezedFactors(string pattern, string expected)
    {
        Assert.Null(RegexFactors.Find(pattern));
        Assert.Equal(expected.Split('|'), RegexFactors.FindSqueezed(pattern));
    }

    [Theory]
    [InlineData(@"k.*r.*o.*n")]        // anything between: not only separators
    [InlineData(@"k\w*r\w*o")]
    [InlineData(@"k[^a]*r[^a]*o")]     // negated class: not modelled
    [InlineData(@"\d{3}[-. ]\d{4}")]
    public void RegexFactors_NotOnlySeparatorsBetween_NoSqueezedFactors(string pattern)
    {
        Assert.Null(RegexFactors.FindSqueezed(pattern));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void FindAll_TransparentSeparators_SameAsSearchingTheSqueezedText(int seed)
    {
        var r = new Random(seed);
        var separators = RegexFactors.Separators;
        var patterns = Enumerable.Range(0, 30).Select(_ => Word(r, r.Next(2, 6))).Distinct().ToList();
        var automaton = KeywordAutomaton.Build(patterns, separators);
        var fillers = new[] { " ", "-", ".", "_", "  ", "\u200B", "😀", "é", "x", "1" };
        var hits = new List<LiteralHit>();
        for (var round = 0; round < 40; round++)
        {
            var sb = new StringBuilder();
            var length = round % 2 == 0 ? r.Next(0, 80) : r.Next(300, 2500);
            while (sb.Length < length)
            {
                sb.Append(r.Next(3) == 0 ? string.Join(fillers[r.Next(fillers.Length)], patterns[r.Next(patterns.Count)].Select(c => c.ToString())) : Word(r, r.Next(1, 5)))
                    .Append(fillers[r.Next(fillers.Length)]);
            }

            var text = sb.ToString();
            var squeezed = new string(text.Where(c => !separators[c]).ToArray());
            hits.Clear();
            automaton.FindAll(text, hits);
            var expected = patterns.Select((p, i) => (p, i)).Where(x => squeezed.Contains(x.p, StringComparison.Ordinal)).Select(x => x.i).Order();
            Assert.Equal(expected, hits.Select(h => h.Pattern).Distinct().Order());
        }
    }

    public static TheoryData<string> GatingTexts() => new()
    {
        "nothing to see here",
        "buy cheap followers today",
        "BUY   FOLLOWERS",
        "get fr33 nitro and fr3e stuff",
        "mail deals@spam.com or info@spam.net now",
        "a.b.c.d but no at sign",
        "k-r-o-n and kron",
        "call 555-1234 or 555 1234",
        "smartwatch followers",
        "ｆｏｌｌｏｗｅｒｓ for sale, buy ｆｏｌｌｏｗｅｒｓ",
        "k . . . . r o n, k_r_o_n, kr0n, k\u200Bron, k😀r o n, xk-r-o-nx",
        "k . . . . r o n a k r o",
    };

    [Theory]
    [MemberData(nameof(GatingTexts))]
    public void Evaluate_GatedAndPrecheckedRegexes_SameMatchesAsRunningEveryRegex(string text)
    {
        var regexes = new[]
        {
            @"buy\s+(cheap\s+)?followers", @"fr[e3][e3]\s+nitro", @"fr[e3][e3]", @"\b[a-z0-9._%+-]+@spam\.(?:com|net)\b",
            @"k[\W_]*r[\W_]*o[\W_]*n", @"\d{3}[- ]\d{4}", @"followers", @"(?:a\.){3}",
        };
        var filter = new FilterDefinition { Name = "r", Regexes = regexes, Allow = ["smartwatch followers"] };
        var verdict = PolicyCompiler.Compile([filter]).Evaluate(Msg(text));

        // Reference: every regex over the normalised text, mapped back, minus what the allow term covers.
        var norm = new NormalizedText();
        TextNormalizer.Normalize(text, norm);
        var allow = norm.ToString().Contains("smartwatch followers", StringComparison.Ordinal);
        var expected = new List<(string, int, int)>();
        foreach (var p in regexes)
        {
            foreach (var m in new Regex(p, RegexRules.OptionsFor(false)).EnumerateMatches(norm.Span))
            {
                // Mapped back widened to whole joined words (a match cutting into "ronakro" censors all of it).
                var (s, e) = norm.OriginalRange(m.Index, m.Index + m.Length);
                if (!(allow && text.Contains("smartwatch followers", StringComparison.Ordinal)
                        && s >= text.IndexOf("smartwatch followers", StringComparison.Ordinal)
                        && e <= text.IndexOf("smartwatch followers", StringComparison.Ordinal) + "smartwatch followers".Length))
                {
                    expected.Add((p, s, e));
                }
            }
        }

        Assert.Equal(expected.OrderBy(x => x.Item2).ThenBy(x => x.Item1, StringComparer.Ordinal),
            verdict.Matches.Select(m => (m.Term, m.Start, m.End)).OrderBy(x => x.Start).ThenBy(x => x.Term, StringComparer.Ordinal));
    }

    [Fact]
    public void Compile_HundredRegexesOverTheSizeCap_SplitsThePrecheckInsteadOfAlwaysLooking()
    {
        // Separator-tolerant patterns have no literal factor and a large automaton each: one alternation of 100 of
        // them is refused by NonBacktracking's default size cap.
        var words = Enumerable.Range(0, 100).Select(i => $"w{(char)('a' + i / 26)}{(char)('a' + i % 26)}qz").ToArray();
        var regexes = words.Select(w => string.Join(".{0,2}", w.Select(ch => ch.ToString())) + @"[\W_]{0,5}[a-z0-9]{3,40}\b").ToArray();
        Assert.Throws<NotSupportedException>(() => new Regex(string.Join('|', regexes), RegexOptions.NonBacktracking));
        // On raw text: on normalised text they would also get character-class gates (ClassGates).
        var snapshot = PolicyCompiler.Compile([new FilterDefinition { Name = "f", Regexes = regexes, Normalize = false }]);
        Assert.True(snapshot.PrecheckParts > 1);
        Assert.Equal(0, snapshot.GatedRegexCount);
        Assert.True(snapshot.Evaluate(Msg("hello there")).IsClean);
        Assert.False(snapshot.Evaluate(Msg("wad qz xyzzy")).IsClean);
    }

    [Fact]
    public void Compile_RegexesWithFactors_AreGated()
    {
        var snapshot = PolicyCompiler.Compile([
            new FilterDefinition { Name = "a", Regexes = [@"buy\s+followers", @"\d{3}-\d{4}"] },
            new FilterDefinition { Name = "b", Regexes = [@"buy\s+followers"], Normalize = false },
            new FilterDefinition { Name = "c", Regexes = [@"buy\s+followers"], CaseSensitive = true },
        ]);
        // Raw-text regexes are never gated; on normalised text a literal factor gates "buy\s+followers" (a), and
        // character classes gate the rest (ClassGates): "\d{3}-\d{4}", and the case-sensitive one (c).
        Assert.Equal(3, snapshot.GatedRegexCount);
        Assert.Equal(3, snapshot.Evaluate(Msg("BUY FOLLOWERS")).Matches.Count); // c too: normalised text is lower case
    }

    // ── Allow lists and censoring ─────────────────────────────────────────────────────────────────────────────────

    [Fact]
    public void Evaluate_ManyHitsAndAllowTerms_SameAsOneAtATime()
    {
        var filter = new FilterDefinition { Name = "a", Keywords = ["*twat*", "bad", "*ass"], Allow = ["smartwatch", "bad apple", "grass", "twats are birds"] };
        var snapshot = PolicyCompiler.Compile([filter]);
        var words = new[] { "smartwatch", "twat", "bad", "bad apple", "grass", "ass", "twats are birds", "twats", "fine" };
        var r = new Random(7);
        var parts = Enumerable.Range(0, 400).Select(_ => words[r.Next(words.Length)]).ToArray();
        var verdict = snapshot.Evaluate(Msg(string.Join(' ', parts)));

        // Each word evaluated on its own, shifted to its offset, must give the same matches.
        var expected = new List<(string, int, int)>();
        var offset = 0;
        foreach (var p in parts)
        {
            expected.AddRange(snapshot.Evaluate(Msg(p)).Matches.Select(m => (m.Term, m.Start + offset, m.End + offset)));
            offset += p.Length + 1;
        }

        Assert.Equal(expected, verdict.Matches.Select(m => (m.Term, m.Start, m.End)).OrderBy(x => x.Item2).ThenBy(x => x.Term, StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void CensorText_GeneratedText_SameAsGraphemeReference(int seed)
    {
        var r = new Random(seed);
        for (var round = 0; round < 300; round++)
        {
            var text = RandomText(r, r.Next(1, 30));
            var ranges = new List<(int Start, int End)>();
            for (var k = r.Next(0, 4); k > 0; k--)
            {
                var s = r.Next(0, text.Length);
                ranges.Add((s, Math.Min(text.Length, s + r.Next(1, 6))));
            }

            Assert.Equal(ReferenceCensor(text, [.. ranges]), PolicySnapshot.CensorText(text, ranges));

            // The origin map the censor recheck uses: one original index per output character, increasing, each
            // kept character the original one, then the text's length.
            var origin = new List<int>();
            var output = PolicySnapshot.CensorText(text, ranges, origin);
            Assert.Equal(output.Length + 1, origin.Count);
            Assert.Equal(text.Length, origin[^1]);
            for (var k = 0; k < output.Length; k++)
            {
                Assert.True(origin[k] < origin[k + 1]);
                Assert.True(output[k] == '*' || output[k] == text[origin[k]]);
            }
        }
    }

    /// <summary>The censoring rule with the general segmenter for every cluster.</summary>
    private static string ReferenceCensor(string text, List<(int Start, int End)> ranges)
    {
        ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
        var sb = new StringBuilder();
        var pos = 0;
        while (pos < text.Length)
        {
            var len = Math.Max(1, StringInfo.GetNextTextElementLength(text, pos));
            var overlaps = ranges.Exists(x => x.Start < pos + len && x.End > pos);
            if (!overlaps)
            {
                sb.Append(text, pos, len);
            }
            else if (!text.AsSpan(pos, len).ToArray().All(c => FoldTable.IsInvisible(c)))
            {
                sb.Append('*');
            }

            pos += len;
        }

        return sb.ToString();
    }

    private static ChatMessage Msg(string text) => new()
    {
        Protocol = "test",
        Fields = [new MessageField(FieldKind.Body, text)],
    };
}
