using System.Text;
using System.Text.RegularExpressions;
using Gateway.Policy.Matching;
using Gateway.Policy.Text;

namespace Gateway.Policy.Rules;

/// <summary>Limits that keep a config from making the engine slow or huge.</summary>
public sealed record PolicyLimits
{
    public int MaxRegexCount { get; init; } = 1000;

    public int MaxRegexLength { get; init; } = 512;

    public int MaxKeywords { get; init; } = 200_000;
}

/// <summary>Thrown only for definitions that were not validated first; config loading validates with locations.</summary>
public sealed class PolicyCompileException(IReadOnlyList<string> errors)
    : Exception("invalid policy: " + string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

public static class PolicyCompiler
{
    /// <summary>
    /// Disguise variants (masked letters, '!'/'|' letters, doubled letters after a stretch) beyond this many are not
    /// generated: each costs automaton states, and a 10,000-term list would otherwise build a table of tens of MB.
    /// Keywords are taken in file order, so the first ones keep their variants.
    /// </summary>
    internal const int MaxVariantPatterns = 60_000;

    public static PolicySnapshot Compile(IReadOnlyList<FilterDefinition> definitions, PolicyLimits? limits = null)
    {
        limits ??= new PolicyLimits();
        var errors = new List<string>();
        var ordered = new List<(FilterDefinition Def, int Index)>();
        for (var i = 0; i < definitions.Count; i++)
        {
            if (definitions[i].Enabled)
            {
                ordered.Add((definitions[i], i));
            }
        }

        // Stable: priority descending, then file order.
        ordered.Sort(static (a, b) => a.Def.Priority != b.Def.Priority ? b.Def.Priority.CompareTo(a.Def.Priority) : a.Index.CompareTo(b.Index));

        var precompiled = CompileRegexes(ordered, limits);
        var filters = new CompiledFilter[ordered.Count];
        var patternTexts = new List<string>();
        var patterns = new List<PatternInfo>();
        var normalizedRegexes = new List<string>();
        var classGatedRegexes = new List<string>(); // their own pre-check, for long texts only (PolicySnapshot)
        var rawRegexes = new List<string>();
        var regexCount = 0;
        var compiledRegexes = 0; // global index of the next compiled regex
        var squeezedTexts = new List<string>();
        var squeezedGates = new List<int>();
        var keywordCount = 0;
        var variantTexts = new List<string>();
        var variantPatterns = new List<PatternInfo>();
        var classGates = new ClassGates.Builder();
        var alphabets = (Insensitive: new ClassAlphabet(caseSensitive: false), Sensitive: new ClassAlphabet(caseSensitive: true));
        for (var fi = 0; fi < ordered.Count; fi++)
        {
            var def = ordered[fi].Def;
            var regexes = new List<Regex>();
            var gated = new List<bool>();
            var regexBase = compiledRegexes;
            var ri = 0;
            foreach (var pattern in def.Regexes)
            {
                regexCount++;
                var (regex, error) = precompiled[fi][ri++];
                if (regex is not null)
                {
                    // A case-insensitive regex on normalised text with literal factors is gated by the automaton
                    // (it runs only when a factor occurs); the others share the always-run pre-check.
                    // Separator-tolerant ones ("k[\W_]*r[\W_]*o[\W_]*n") by a second automaton that squeezes
                    // separators out of the text.
                    var gateable = def.Normalize && !def.CaseSensitive;
                    var factors = gateable ? RegexFactors.Find(pattern) : null;
                    var squeezed = gateable && factors is null ? RegexFactors.FindSqueezed(pattern) : null;
                    var classGated = false;
                    if (factors is not null)
                    {
                        foreach (var factor in factors)
                        {
                            patternTexts.Add(factor);
                            patterns.Add(new PatternInfo(fi, IsAllow: false, CheckStart: false, CheckEnd: false,
                                ExtendStart: false, ExtendEnd: false, Term: pattern, Gate: compiledRegexes));
                        }
                    }
                    else if (squeezed is not null)
                    {
                        foreach (var factor in squeezed)
                        {
                            squeezedTexts.Add(factor);
                            squeezedGates.Add(compiledRegexes);
                        }
                    }
                    else
                    {
                        // A character-class gate (ClassGates) when one is worth its scan: the regex runs only when
                        // it passes. The others share the always-run NonBacktracking pre-check.
                        classGated = def.Normalize
                            && classGates.TryAdd(compiledRegexes, pattern, def.CaseSensitive ? alphabets.Sensitive : alphabets.Insensitive);
                        (classGated ? classGatedRegexes : def.Normalize ? normalizedRegexes : rawRegexes)
                            .Add(WrapForAlternation(pattern, def.CaseSensitive));
                    }

                    regexes.Add(regex!);
                    gated.Add(factors is not null || squeezed is not null || classGated);
                    compiledRegexes++;
                }
                else
                {
                    errors.Add($"filter \"{def.Name}\": {error}");
                }
            }

            AddTerms(def.Keywords, fi, isAllow: false, def.Name, patternTexts, patterns, errors, def.Normalize ? def.Forms : null,
                variantTexts, variantPatterns);
            AddTerms(def.Allow, fi, isAllow: true, def.Name, patternTexts, patterns, errors, def.Normalize ? def.Forms : null,
                variantTexts, variantPatterns);
            keywordCount += def.Keywords.Count;

            filters[fi] = new CompiledFilter
            {
                Definition = def,
                Regexes = regexes.ToArray(),
                RegexGated = gated.ToArray(),
                RegexBase = regexBase,
                RoomInclude = CompileGlobs(def.Rooms, def.Name, "rooms", errors),
                RoomExclude = CompileGlobs(def.ExcludeRooms, def.Name, "exclude_rooms", errors),
                ExemptUsers = CompileGlobs(def.ExemptUsers, def.Name, "exempt_users", errors),
            };
        }

        if (regexCount > limits.MaxRegexCount)
        {
            errors.Add($"{regexCount} regexes configured; the limit is {limits.MaxRegexCount} (limits.max_regex_count)");
        }

        if (keywordCount > limits.MaxKeywords)
        {
            errors.Add($"{keywordCount} keywords configured; the limit is {limits.MaxKeywords} (limits.max_keywords)");
        }

        if (errors.Count > 0)
        {
            throw new PolicyCompileException(errors);
        }

        var (automaton, variantAutomaton, squeezedAutomaton) = BuildAutomata(patternTexts, variantTexts, squeezedTexts);
        var squeezedPlain = squeezedTexts.Count == 0 ? null : KeywordAutomaton.Build(squeezedTexts); // see SqueezedText
        return new PolicySnapshot(filters, automaton, patterns.ToArray(),
            Combine(normalizedRegexes), Combine(rawRegexes), compiledRegexes, squeezedAutomaton, squeezedGates.ToArray(),
            variantAutomaton, variantPatterns.ToArray(),
            classGates: classGates.Build(), squeezedPlain: squeezedPlain)
        {
            KeywordCount = keywordCount,
            RegexCount = regexCount,
            ClassGatedPrecheck = Combine(classGatedRegexes),
        };
    }

    /// <summary>
    /// Every enabled filter's regexes, compiled up front and in parallel ([filter][regex]: the regex, or the error):
    /// NonBacktracking construction is most of what is left of a policy's compile time (about 1 s for 100 regexes),
    /// at startup and on every reload, and each regex is independent of the others.
    /// </summary>
    private static (Regex? Regex, string? Error)[][] CompileRegexes(List<(FilterDefinition Def, int Index)> ordered, PolicyLimits limits)
    {
        var result = new (Regex? Regex, string? Error)[ordered.Count][];
        var work = new List<(int Filter, int Regex)>();
        for (var fi = 0; fi < ordered.Count; fi++)
        {
            result[fi] = new (Regex?, string?)[ordered[fi].Def.Regexes.Count];
            for (var ri = 0; ri < result[fi].Length; ri++)
            {
                work.Add((fi, ri));
            }
        }

        Parallel.For(0, work.Count, k =>
        {
            var (fi, ri) = work[k];
            var def = ordered[fi].Def;
            var ok = RegexRules.TryCompile(def.Regexes[ri], def.CaseSensitive, limits.MaxRegexLength, out var regex, out var error);
            result[fi][ri] = (ok ? regex : null, error);
        });
        return result;
    }

    /// <summary>The main, disguise-variant and squeezed automata, built side by side (they share nothing).</summary>
    private static (KeywordAutomaton Main, KeywordAutomaton? Variants, KeywordAutomaton? Squeezed) BuildAutomata(
        List<string> patternTexts, List<string> variantTexts, List<string> squeezedTexts)
    {
        KeywordAutomaton? main = null;
        KeywordAutomaton? variants = null;
        KeywordAutomaton? squeezed = null;
        Parallel.Invoke(
            () => main = KeywordAutomaton.Build(patternTexts),
            () => variants = variantTexts.Count == 0 ? null : KeywordAutomaton.Build(variantTexts),
            () => squeezed = squeezedTexts.Count == 0 ? null : KeywordAutomaton.Build(squeezedTexts, RegexFactors.Separators));
        return (main!, variants, squeezed);
    }

    private static void AddTerms(IReadOnlyList<string> terms, int filter, bool isAllow, string filterName,
        List<string> texts, List<PatternInfo> patterns, List<string> errors, WordForms? variants,
        List<string> variantTexts, List<PatternInfo> variantPatterns)
    {
        foreach (var t in terms)
        {
            if (!KeywordTerm.TryParse(t, out var term, out var error))
            {
                errors.Add($"filter \"{filterName}\": {error}");
                continue;
            }

            var norm = term.Normalized;
            texts.Add(norm);
            patterns.Add(new PatternInfo(
                filter,
                isAllow,
                CheckStart: term.NeedsStartBoundary && NeedsBoundary(norm[0]),
                CheckEnd: term.NeedsEndBoundary && NeedsBoundary(norm[^1]),
                ExtendStart: term.Mode is KeywordMode.Suffix or KeywordMode.Anywhere,
                ExtendEnd: term.Mode is KeywordMode.Prefix or KeywordMode.Anywhere,
                Term: t));
            if (variants is not { } forms)
            {
                continue;
            }

            // Disguised and inflected forms (issue 18): extra patterns that report the configured term. Allow terms get
            // their forms too, so an allowed word stays allowed when inflected.
            foreach (var v in TermVariants.For(norm, term.Mode, forms))
            {
                // Inflections and a trailing '!'/'|' ("p@k!") go into the main automaton; masks, '!'/'|' inside a word
                // and doubled letters after a stretch into the second one, which runs only when the text has a mask
                // or a '!'/'|' after a letter, or a stretched run. Allow terms get their inflections only.
                var disguise = (v.Steps & (EvasionSteps.Masked | EvasionSteps.Stretched)) != 0 || v.Check == VariantCheck.BangLetter;
                if ((isAllow && v.Steps != EvasionSteps.Form) || (disguise && variantTexts.Count >= MaxVariantPatterns))
                {
                    continue;
                }

                (disguise ? variantTexts : texts).Add(v.Text);
                (disguise ? variantPatterns : patterns).Add(new PatternInfo(
                    filter,
                    isAllow,
                    CheckStart: term.NeedsStartBoundary && NeedsBoundary(v.Text[0]),
                    CheckEnd: term.NeedsEndBoundary && NeedsBoundary(v.Text[^1]),
                    ExtendStart: term.Mode is KeywordMode.Suffix or KeywordMode.Anywhere,
                    ExtendEnd: term.Mode is KeywordMode.Prefix or KeywordMode.Anywhere,
                    Term: t,
                    Steps: v.Steps,
                    Check: v.Check,
                    CheckAt: v.CheckAt));
            }
        }
    }

    /// <summary>
    /// Whole-word checks only make sense for word characters of scripts written with spaces: a term that starts
    /// with ":" or is written in Han, kana or Thai matches wherever it occurs.
    /// </summary>
    private static bool NeedsBoundary(char c) =>
        TextNormalizer.IsWordChar(c) && c is not (>= '\u2E80' and <= '\u9FFF') and not (>= '\u0E00' and <= '\u0EFF')
            and not (>= '\uF900' and <= '\uFAFF') and not (>= '\u1000' and <= '\u109F') and not (>= '\u1780' and <= '\u17FF');

    private static Regex? CompileGlobs(IReadOnlyList<string> globs, string filterName, string key, List<string> errors)
    {
        foreach (var g in globs)
        {
            if (!NameGlob.TryValidate(g, out var error))
            {
                errors.Add($"filter \"{filterName}\": {key}: {error}");
                return null;
            }
        }

        return NameGlob.CompileAny(globs);
    }

    private static string WrapForAlternation(string pattern, bool caseSensitive) =>
        caseSensitive ? "(?:" + pattern + ")" : "(?i:" + pattern + ")";

    /// <summary>
    /// One alternation of the pre-checked regexes answers "does anything match?" in a single linear pass; only on a
    /// hit are the filters' own regexes run to attribute and locate it. NonBacktracking refuses an automaton over its
    /// size cap (10,000 nodes by default; 100 moderation regexes in one alternation exceed it), so an alternation
    /// that is refused is split in halves until each part is accepted. (Before: one refusal meant "always look",
    /// running every regex on every message.) A single regex that still does not fit keeps the old "always look".
    /// </summary>
    private static Regex[] Combine(List<string> wrapped)
    {
        var parts = new List<Regex>();
        if (wrapped.Count > 0)
        {
            CombineInto(wrapped, 0, wrapped.Count, parts);
        }

        return parts.ToArray();
    }

    private static void CombineInto(List<string> wrapped, int start, int count, List<Regex> parts)
    {
        var sb = new StringBuilder();
        for (var i = start; i < start + count; i++)
        {
            if (i > start)
            {
                sb.Append('|');
            }

            sb.Append(wrapped[i]);
        }

        try
        {
            parts.Add(new Regex(sb.ToString(), RegexOptions.NonBacktracking | RegexOptions.CultureInvariant));
        }
        catch (NotSupportedException) when (count > 1)
        {
            var half = count / 2;
            CombineInto(wrapped, start, half, parts);
            CombineInto(wrapped, start + half, count - half, parts);
        }
        catch (NotSupportedException)
        {
            parts.Add(new Regex("(?s).", RegexOptions.NonBacktracking)); // "always look": the filter's own regex decides
        }
    }
}
