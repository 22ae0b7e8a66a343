using System.Text;
using System.Text.RegularExpressions;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Policy.Text;

namespace Gateway.Policy.Tests;

/// <summary>
/// Issue 18 part 4 (regex half): regexes without a literal factor run only when their character-class gate
/// (<see cref="ClassGates"/>) passes. A gate must be a necessary condition: whenever the regex matches a text, its
/// gate passes on that text. Checked on moderation patterns and on generated regexes with texts built to match them
/// (and near misses), ASCII and not, case-sensitive and not.
/// </summary>
public sealed class ClassGateTests
{
    /// <summary>The kinds of regex moderators write without a fixed word (the benchmark's list has the same kinds).</summary>
    private static readonly string[] Moderation =
    [
        @"\b\d{3}[-. ]\d{3}[-. ]\d{4}\b", @"\(\d{3}\)\s*\d{3}[-. ]\d{4}", @"\+\d{1,3}[\s-]?\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}",
        @"\b(?:bc1|[13])[a-hj-np-z0-9]{25,39}\b", @"\b0x[0-9a-f]{40}\b", @"\b(?:\d{4}[ -]?){3}\d{4}\b",
        @"\b[a-z]{2}\d{2}(?:\s?[a-z0-9]{4}){3,7}\b", @"\b(?:\d{1,3}\.){3}\d{1,3}\b", @"\b\d{9,}\b", @"[!?]{6,}",
        @"(?:@\w+\s*){6,}", @"[a-z]{28,}", @"(?:\b\w\b[\W_]*){8,}", @"[#$%&*]{6,}", @"(?:\.\s*){10,}",
    ];

    private static ClassGates GateOf(string pattern, bool caseSensitive = false)
    {
        var builder = new ClassGates.Builder();
        Assert.True(builder.TryAdd(0, pattern, new ClassAlphabet(caseSensitive)), $"no gate for /{pattern}/");
        return builder.Build()!;
    }

    [Fact]
    public void Compile_ModerationPatterns_AllClassGated()
    {
        var policy = PolicyCompiler.Compile([new FilterDefinition { Name = "f", Regexes = Moderation, Action = FilterAction.Drop }]);
        Assert.Equal(Moderation.Length, policy.GatedRegexCount);
    }

    [Theory]
    [InlineData(@"\b\d{3}[-. ]\d{3}[-. ]\d{4}\b", "call 555-123-4567 now", "call 555 123 456 now, 1234 5678")]
    [InlineData(@"[a-z]{28,}", "x pneumonoultramicroscopicsilicovolcanoconiosis", "many ordinary words but none so long, really")]
    [InlineData(@"(?:\b\w\b[\W_]*){8,}", "so s p a c e d o u t here", "a word, i think, a b c and x y then")]
    [InlineData(@"(?:\b\w\b[\W_]*){8,}", "x s.p.a.c.e.d-o.u.t", "a b c d and e f g h i, then j k l m n o p")]
    [InlineData(@"(?:\b\w\b[\W_]*){8,}", "é é é é é é é é", "I think a cat is a pet I saw, a b, I, a, x y z")]
    [InlineData(@"(?:@\w+\s*){6,}", "@a @b @c @d @e @f", "@a @b @c @d @e hey")]
    [InlineData(@"(?:@\w+\s*){6,}", "@a @b @c @d @e @f", "@a @b @c @d @e, @f @g @h")]
    [InlineData(@"(?:\.\s*){10,}", "wait . . . . . . . . . . .", "one. two. three. four. five. six. seven. eight. nine. ten. eleven.")]
    [InlineData(@"(?:ab){4,}", "xxababababxx", "ab ab ab ab abab abab")]
    [InlineData(@"[!?]{6,}", "what?!?!?!", "what?! really?! no!")]
    public void Gate_MatchPasses_NearMissFails(string pattern, string match, string nearMiss)
    {
        var gate = GateOf(pattern);
        Assert.Matches(new Regex(pattern, RegexRules.OptionsFor(false)), match);
        Assert.True(gate.Passes(0, match));
        Assert.DoesNotMatch(new Regex(pattern, RegexRules.OptionsFor(false)), nearMiss);
        Assert.False(gate.Passes(0, nearMiss), $"/{pattern}/ gate passed on \"{nearMiss}\"");
    }

    [Fact]
    public void Gate_ModerationPatterns_NeverRejectsAMatch()
    {
        var r = new Random(7);
        foreach (var pattern in Moderation)
        {
            var gate = GateOf(pattern);
            var regex = new Regex(pattern, RegexRules.OptionsFor(false));
            for (var round = 0; round < 400; round++)
            {
                CheckNecessary(gate, regex, RandomText(r), pattern);
            }
        }
    }

    public static TheoryData<int> Seeds() => new(Enumerable.Range(1, 8));

    /// <summary>Random regexes from a small grammar (classes, literals, \b, groups, alternation, quantifiers), each
    /// with texts that contain a string it generates, cut or not, between random pieces.</summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Gate_GeneratedRegexes_NeverRejectsAMatch(int seed)
    {
        var r = new Random(seed);
        var gated = 0;
        for (var round = 0; round < 150; round++)
        {
            var caseSensitive = r.Next(3) == 0;
            var (pattern, samples) = GenerateRegex(r, depth: 0);
            Regex regex;
            try
            {
                regex = new Regex(pattern, RegexRules.OptionsFor(caseSensitive));
            }
            catch (ArgumentException)
            {
                continue;
            }

            var builder = new ClassGates.Builder();
            if (!builder.TryAdd(0, pattern, new ClassAlphabet(caseSensitive)))
            {
                continue;
            }

            gated++;
            var gate = builder.Build()!;
            for (var t = 0; t < 60; t++)
            {
                var sample = samples[r.Next(samples.Count)];
                if (r.Next(4) == 0 && sample.Length > 1)
                {
                    sample = sample.Remove(r.Next(sample.Length), 1); // a near miss
                }

                var text = RandomText(r, 6) + (r.Next(2) == 0 ? sample : sample.ToUpperInvariant()) + RandomText(r, 6);
                CheckNecessary(gate, regex, text, pattern);
                CheckNecessary(gate, regex, TextNormalizer.NormalizeToString(text), pattern);
            }
        }

        Assert.True(gated > 20, $"only {gated} generated regexes got a gate");
    }

    /// <summary>The policy with gates and the one with every shortcut off agree on texts built from the patterns' own
    /// matches, near misses and long runs (the differential the part-4 brief asks for).</summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Evaluate_GatedRegexes_SameAsExhaustive(int seed)
    {
        var fast = PolicyCompiler.Compile([new FilterDefinition { Name = "f", Regexes = Moderation, Action = FilterAction.Censor }]);
        var slow = fast.Exhaustive();
        var r = new Random(seed);
        for (var round = 0; round < 200; round++)
        {
            var text = RandomText(r, round % 10 == 0 ? 200 : 20);
            var a = fast.Evaluate(Msg(text));
            var b = slow.Evaluate(Msg(text));
            Assert.Equal(b.Action, a.Action);
            Assert.Equal(b.Matches.Select(m => (m.Term, m.Start, m.End)), a.Matches.Select(m => (m.Term, m.Start, m.End)));
        }
    }

    /// <summary>
    /// Gate on against gate off over generated repeated groups (<c>(?:P F Q){n,}</c>: the run gates) and the
    /// moderation patterns, on texts made of the groups' own iterations, runs cut short or broken by a word, spaced
    /// letters (ASCII and not), near misses and random pieces: a gate that is not a necessary condition (a run that
    /// asks for less between two occurrences than the regex allows, an occurrence missed) changes a verdict here.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Evaluate_RunGates_SameAsGatesOff(int seed)
    {
        var r = new Random(seed * 7919);
        var runGates = 0;
        for (var round = 0; round < 40; round++)
        {
            var (pattern, iterations) = GenerateRepeatedGroup(r);
            var alphabet = new ClassAlphabet(caseSensitive: false);
            if (RegexFactors.FindClasses(pattern, alphabet) is { Gap: not null })
            {
                runGates++;
            }

            var fast = PolicyCompiler.Compile([new FilterDefinition { Name = "f", Regexes = [pattern, .. Moderation.Take(3)], Action = FilterAction.Censor }]);
            var slow = fast.Exhaustive();
            var regex = new Regex(pattern, RegexRules.OptionsFor(false));
            for (var t = 0; t < 40; t++)
            {
                var sb = new StringBuilder(RandomText(r, 4));
                var n = r.Next(1, 12);
                for (var i = 0; i < n; i++)
                {
                    sb.Append(iterations[r.Next(iterations.Count)]);
                    var roll = r.Next(10);
                    if (roll == 0)
                    {
                        sb.Append(" word "); // a run broken by a word
                    }
                    else if (roll == 1)
                    {
                        sb.Append(Pieces[r.Next(Pieces.Length)]);
                    }
                }

                sb.Append(RandomText(r, 4));
                var text = sb.ToString();
                var a = fast.Evaluate(Msg(text));
                var b = slow.Evaluate(Msg(text));
                Assert.True(b.Action == a.Action, $"/{pattern}/ on \"{text}\": {a.Action} with gates, {b.Action} without");
                Assert.Equal(b.Matches.Select(m => (m.Term, m.Start, m.End)), a.Matches.Select(m => (m.Term, m.Start, m.End)));

                // And the gate alone, on the text and its normal form, whenever the regex matches.
                var builder = new ClassGates.Builder();
                if (builder.TryAdd(0, pattern, new ClassAlphabet(false)))
                {
                    CheckNecessary(builder.Build()!, regex, text, pattern);
                    CheckNecessary(builder.Build()!, regex, TextNormalizer.NormalizeToString(text), pattern);
                }
            }
        }

        Assert.True(runGates > 10, $"only {runGates} generated groups got a run gate");
    }

    /// <summary>
    /// The one-pass read (AVX-512 VBMI: every class from one table lookup per 8 classes) with its per-text summary
    /// (member counts, longest runs) against the class-by-class read without one: the same answer for every gate on
    /// every text, short and past 64 blocks, ASCII and not (a summary that is not a necessary condition of the gate,
    /// or a row read differently, changes one here). Skips the comparison where the machine has no VBMI.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Gate_OnePassSummary_SameAsClassByClass(int seed)
    {
        var r = new Random(seed * 104729);
        var patterns = new List<(string Pattern, bool CaseSensitive)>(Moderation.Select(p => (p, false)));
        for (var i = 0; patterns.Count < Moderation.Length + 60 && i < 2000; i++)
        {
            var cs = r.Next(3) == 0;
            var (generated, _) = i % 2 == 0 ? GenerateRegex(r, depth: 0) : GenerateRepeatedGroup(r);
            patterns.Add((generated, cs));
        }

        var compared = 0;
        foreach (var (pattern, caseSensitive) in patterns)
        {
            var builder = new ClassGates.Builder();
            try
            {
                if (!builder.TryAdd(0, pattern, new ClassAlphabet(caseSensitive)))
                {
                    continue;
                }
            }
            catch (ArgumentException)
            {
                continue;
            }

            var fast = builder.Build()!;
            var reference = fast.ClassByClass();
            for (var t = 0; t < 30; t++)
            {
                var text = t % 10 == 9 ? RandomLong(r) : RandomText(r, t % 3 == 0 ? 60 : 20);
                foreach (var variant in new[] { text, TextNormalizer.NormalizeToString(text) })
                {
                    Assert.True(reference.Passes(0, variant) == fast.Passes(0, variant),
                        $"/{pattern}/ on \"{variant}\": one pass {fast.Passes(0, variant)}, class by class {reference.Passes(0, variant)}");
                    compared++;
                }
            }
        }

        Assert.True(compared > 1000, $"only {compared} comparisons");
    }

    /// <summary>A text past 64 blocks (4 KB), sometimes a whole number of blocks long.</summary>
    private static string RandomLong(Random r)
    {
        var sb = new StringBuilder();
        while (sb.Length < 4200 + r.Next(600))
        {
            sb.Append(Pieces[r.Next(Pieces.Length)]);
        }

        return r.Next(2) == 0 ? sb.ToString(0, (sb.Length / 64) * 64) : sb.ToString();
    }

    /// <summary>A clean chat kilobyte (numbers, mentions, one-letter words, accents, emoji) through the class gates
    /// (no shared pre-check in front of them any more) allocates nothing.</summary>
    [Fact]
    public void Evaluate_CleanChat_AllocatesNothing()
    {
        var policy = PolicyCompiler.Compile([new FilterDefinition { Name = "f", Regexes = Moderation, Action = FilterAction.Drop }]);
        var sb = new StringBuilder();
        var r = new Random(3);
        string[] words = ["room", "build", "is", "a", "I", "1603", "résumé", "déjà", "vu", "@eva", "hey!", "what?", "🙂", "2001,", "ok.", "x", "thanks"];
        while (sb.Length < 1000)
        {
            sb.Append(words[r.Next(words.Length)]).Append(' ');
        }

        var message = Msg(sb.ToString());
        Assert.Equal(VerdictAction.Forward, policy.Evaluate(message).Action);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 200; i++)
        {
            policy.Evaluate(message);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>A run gate is a run, not a count: eight one-letter words spread over a chat message do not pass it,
    /// eight in a row (with any non-word characters between) do.</summary>
    [Fact]
    public void Gate_SpacedLetters_IsARunNotACount()
    {
        var gate = GateOf(@"(?:\b\w\b[\W_]*){8,}");
        Assert.False(gate.Passes(0, "a b c d e f g and h i j k l m n, then o p q r s t u"));
        Assert.True(gate.Passes(0, "a b c d e f g h"));
        Assert.True(gate.Passes(0, "so, a-b.c.d/e f\tg…h!"));
        Assert.False(gate.Passes(0, "a b c d e f g 12 h i j"));
        Assert.True(gate.Passes(0, "a b c d e f g 1 h"));
    }

    private static readonly string[] GroupCores = [@"\b\w\b", @"\w", @"@\w+", @"\d", @"[a-z]", @"ab", @"\.", @"[!?]", @"x\d", @"\b[a-z]\b", @"\p{L}"];

    private static readonly string[] GroupSides = ["", "", @"[\W_]*", @"\W*", @"\s*", @"\s?", @"[ -]?", @"\d*", @"[\W_]+", @"\.?"];

    /// <summary>(pattern, strings that are one iteration of its group, or close to one).</summary>
    private static (string Pattern, List<string> Iterations) GenerateRepeatedGroup(Random r)
    {
        var before = GroupSides[r.Next(GroupSides.Length)];
        var core = GroupCores[r.Next(GroupCores.Length)];
        var after = GroupSides[r.Next(GroupSides.Length)];
        var min = r.Next(2, 9);
        var pattern = $"(?:{before}{core}{after}){{{min},}}";
        var coreSamples = core switch
        {
            @"\b\w\b" or @"\w" or @"\b[a-z]\b" or @"[a-z]" or @"\p{L}" => new[] { "a", "x", "I", "é", "7", "_", "ab" },
            @"@\w+" => ["@a", "@kai", "@é", "@"],
            @"\d" => ["1", "٣", "12", "a"],
            "ab" => ["ab", "a", "abab"],
            @"\." => [".", ",", ".."],
            @"[!?]" => ["!", "?", "!?"],
            @"x\d" => ["x1", "x", "1"],
            _ => ["a"],
        };
        var sideSamples = new[] { "", " ", "  ", ".", "-", "_", ". ", ", ", "\t", "…", "1", "\u00A0" };
        var iterations = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            iterations.Add(sideSamples[r.Next(sideSamples.Length)] + coreSamples[r.Next(coreSamples.Length)] + sideSamples[r.Next(sideSamples.Length)]);
        }

        return (pattern, iterations);
    }

    private static ChatMessage Msg(string text) => new() { Protocol = "test", Fields = [new MessageField(FieldKind.Body, text)] };

    private static void CheckNecessary(ClassGates gate, Regex regex, string text, string pattern)
    {
        if (regex.IsMatch(text))
        {
            Assert.True(gate.Passes(0, text), $"/{pattern}/ matches \"{text}\" but its gate failed");
        }
    }

    private static readonly string[] Pieces =
    [
        " ", " ", "  ", ". ", ", ", "!", "?", "!!!", "?!?!", "@kai ", "@li", "#", "$", "%", "&", "*", "-", "_", ".", "...",
        "555-123-4567", "(555) 123-4567", "+44 20 7946 0958", "4111 1111 1111 1111", "10.0.0.1", "123456789", "0x",
        "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b", "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "de89370400440532013000",
        "a", "i", "x", "q", "a b c d", "s p a c e", "d d d d d d", "hello", "world", "the", "Word", "WORD",
        "abcdefghijklmnopqrstuvwxyzabcdefgh", "é", "ü", "日本", "😀", "\u200B", "\u200D", "\u0301", "ǅ", "Ⅻ", "٣", "K",
        "ſ", "İ", "\n", "\t", "\u00A0", "é é é é é é é é",
    ];

    private static string RandomText(Random r, int maxPieces = 30)
    {
        var sb = new StringBuilder();
        for (var i = r.Next(0, maxPieces); i > 0; i--)
        {
            sb.Append(Pieces[r.Next(Pieces.Length)]);
            if (r.Next(3) == 0)
            {
                sb.Append(' ');
            }
        }

        return sb.ToString();
    }

    /// <summary>(class source, characters to sample from: members and non-members alike, the regex decides).</summary>
    private static readonly string[] Classes =
    [
        @"\d", @"\w", @"\s", @"\W", @"\D", @"\S", @"[a-z]", @"[0-9a-f]", @"[-. ]", @"[!?]", @"[#$%&*]", @"[\W_]", @"[^a-z]",
        @"[a-hj-np-z0-9]", @"\p{L}", @"\p{Lu}", @"[A-Z]", @"[ -]", @"[\s-]", @"[aeiou]", @"[éü]", ".",
    ];

    private const string SampleChars = "abcxyzAZ0123456789 .-_!?#@$%&*(),\téüÉ日😀\u200D٣Kſİ";

    private static (string Pattern, List<string> Samples) GenerateRegex(Random r, int depth)
    {
        var parts = new List<(string Pattern, List<string> Samples)>();
        for (var n = r.Next(1, depth == 0 ? 5 : 3); n > 0; n--)
        {
            parts.Add(GenerateItem(r, depth));
        }

        var pattern = string.Concat(parts.Select(p => p.Pattern));
        var samples = new List<string>();
        for (var k = 0; k < 6; k++)
        {
            samples.Add(string.Concat(parts.Select(p => p.Samples[r.Next(p.Samples.Count)])));
        }

        return (pattern, samples);
    }

    private static (string Pattern, List<string> Samples) GenerateItem(Random r, int depth)
    {
        (string Pattern, List<string> Samples) atom;
        var roll = r.Next(10);
        if (roll < 5)
        {
            var cls = Classes[r.Next(Classes.Length)];
            var members = Members(cls);
            atom = (cls, Enumerable.Range(0, 6).Select(_ => members.Length == 0 ? "" : members[r.Next(members.Length)].ToString()).ToList());
        }
        else if (roll < 7)
        {
            var c = "abxz09@#.!-_ é"[r.Next(14)];
            atom = (Regex.Escape(c.ToString()), [c.ToString()]);
        }
        else if (roll < 8)
        {
            return (@"\b", [""]);
        }
        else if (depth < 2)
        {
            var a = GenerateRegex(r, depth + 1);
            var b = r.Next(2) == 0 ? GenerateRegex(r, depth + 1) : (Pattern: (string?)null, Samples: new List<string>());
            atom = b.Pattern is null ? ("(?:" + a.Pattern + ")", a.Samples) : ("(?:" + a.Pattern + "|" + b.Pattern + ")", [.. a.Samples, .. b.Samples]);
        }
        else
        {
            atom = ("x", ["x"]);
        }

        var (min, max, text) = r.Next(6) switch
        {
            0 => (0, 1, "?"),
            1 => (0, 3, "*"),
            2 => (1, 4, "+"),
            3 => (3, 3, "{3}"),
            4 => (2, 5, "{2,}"),
            _ => (1, 1, ""),
        };
        var samples = new List<string>();
        for (var k = 0; k < 6; k++)
        {
            var sb = new StringBuilder();
            for (var i = r.Next(min, max + 1); i > 0; i--)
            {
                sb.Append(atom.Samples[r.Next(atom.Samples.Count)]);
            }

            samples.Add(sb.ToString());
        }

        return (atom.Pattern + text, samples);
    }

    private static string Members(string cls)
    {
        var regex = new Regex("^" + cls + "$", RegexOptions.CultureInvariant);
        return string.Concat(SampleChars.Where(c => regex.IsMatch(c.ToString())));
    }
}
