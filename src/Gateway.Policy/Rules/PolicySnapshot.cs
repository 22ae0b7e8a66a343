// Over 400 lines on purpose: the evaluation hot path of one immutable snapshot (scan, arm regexes, collect hits,
// decide, censor). The steps share the snapshot's private tables and thread-static buffers; split across files they
// would need wider visibility without becoming easier to follow. Compiled filter types live in CompiledFilter.cs.
using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Gateway.Policy.Matching;
using Gateway.Policy.Model;
using Gateway.Policy.Text;

namespace Gateway.Policy.Rules;

/// <summary>
/// Every filter of one config version compiled together: all keywords and allow terms of all filters in one
/// <see cref="KeywordAutomaton"/>, all regexes behind one combined NonBacktracking pre-check. Immutable; requests
/// read it through one reference and evaluate without locks.
/// </summary>
public sealed partial class PolicySnapshot
{
    private readonly CompiledFilter[] _filters;      // sorted: priority descending, then file order
    private readonly KeywordAutomaton _automaton;
    private readonly PatternInfo[] _patterns;
    private readonly Regex[] _anyNormalizedRegex;   // pre-check of the regexes the automaton does not gate
    private readonly Regex[] _anyRawRegex;
    private readonly int _regexCount;
    private readonly bool _hasAllow;
    private readonly bool _hasGates;
    private readonly KeywordAutomaton? _squeezed;   // squeezed factors of separator-tolerant regexes (RegexFactors)
    private readonly int[] _squeezedGates;          // per squeezed pattern: the regex it arms
    private readonly KeywordAutomaton? _variants;   // disguise variants of keywords (TermVariants)
    private readonly PatternInfo[] _variantPatterns;
    private readonly bool _exhaustive;              // tests: every shortcut off (see Exhaustive)
    private readonly ClassGates? _classGates;       // character-class gates of regexes without a literal factor
    private readonly KeywordAutomaton? _squeezedPlain; // the squeezed factors without transparent separators (SqueezedText)

    /// <summary>Original characters that can make a disguise variant match: masks, and '!'/'|' written for letters
    /// (see <see cref="MayHoldDisguise"/>).</summary>
    private static readonly SearchValues<char> VariantGate = SearchValues.Create(KeywordAutomaton.MaskCharacters + "!|");

    [ThreadStatic]
    private static NormalizedText? t_collapsed;

    [ThreadStatic]
    private static int[]? t_runs;

    [ThreadStatic]
    private static List<LiteralHit>? t_hits;

    [ThreadStatic]
    private static List<RawMatch>? t_matches;

    [ThreadStatic]
    private static List<(int Filter, int Start, int End)>? t_allows;

    [ThreadStatic]
    private static bool[]? t_armed;

    [ThreadStatic]
    private static List<LiteralHit>? t_squeezedHits;

    [ThreadStatic]
    private static int t_longestAllow; // the longest allow match in t_allows (original characters)

    internal PolicySnapshot(CompiledFilter[] filters, KeywordAutomaton automaton, PatternInfo[] patterns,
        Regex[] anyNormalizedRegex, Regex[] anyRawRegex, int regexCount, KeywordAutomaton? squeezed, int[] squeezedGates,
        KeywordAutomaton? variants = null, PatternInfo[]? variantPatterns = null, bool exhaustive = false,
        ClassGates? classGates = null, KeywordAutomaton? squeezedPlain = null)
    {
        _squeezedPlain = squeezedPlain;
        _exhaustive = exhaustive;
        _classGates = classGates;
        _variants = variants;
        _variantPatterns = variantPatterns ?? [];
        _squeezed = squeezed;
        _squeezedGates = squeezedGates;
        _filters = filters;
        _automaton = automaton;
        _patterns = patterns;
        _anyNormalizedRegex = anyNormalizedRegex;
        _anyRawRegex = anyRawRegex;
        _regexCount = regexCount;
        foreach (var p in patterns)
        {
            _hasAllow |= p.IsAllow;
            _hasGates |= p.Gate >= 0;
        }
    }

    /// <summary>
    /// The same policy with the speed shortcuts that skip work off (scan the whole collapsed copy, run every regex
    /// the pre-check lets through): the differential tests compare both on the same texts.
    /// </summary>
    internal PolicySnapshot Exhaustive() =>
        new(_filters, _automaton, _patterns, _anyNormalizedRegex, _anyRawRegex, _regexCount, _squeezed, _squeezedGates,
            _variants, _variantPatterns, exhaustive: true, _classGates, _squeezedPlain)
        {
            KeywordCount = KeywordCount,
            RegexCount = RegexCount,
            ClassGatedPrecheck = ClassGatedPrecheck,
        };

    public static PolicySnapshot Empty { get; } = PolicyCompiler.Compile(Array.Empty<FilterDefinition>());

    public int FilterCount => _filters.Length;

    public int KeywordCount { get; init; }

    public int RegexCount { get; init; }

    public int AutomatonStates => _automaton.StateCount;

    /// <summary>How many NonBacktracking alternations the always-run regex pre-check is split into.</summary>
    internal int PrecheckParts => _anyNormalizedRegex.Length + _anyRawRegex.Length;

    /// <summary>Regexes that run only when one of their literal factors occurs.</summary>
    internal int GatedRegexCount
    {
        get
        {
            var n = 0;
            foreach (var f in _filters)
            {
                foreach (var g in f.RegexGated)
                {
                    n += g ? 1 : 0;
                }
            }

            return n;
        }
    }

    public IEnumerable<string> FilterNames
    {
        get
        {
            foreach (var f in _filters)
            {
                yield return f.Definition.Name;
            }
        }
    }

    /// <summary>
    /// Evaluates one message that arrived through <paramref name="backend"/> (null: none, so filters scoped to
    /// backends do not apply). Allocation-free when nothing matches.
    /// </summary>
    public Verdict Evaluate(ChatMessage message, string? backend = null)
    {
        var n = _filters.Length;
        if (n == 0)
        {
            return Verdict.Clean;
        }

        Span<bool> active = n <= 512 ? stackalloc bool[n] : new bool[n];
        var activeFields = FieldSet.None;
        for (var i = 0; i < n; i++)
        {
            if (_filters[i].AppliesTo(message, backend))
            {
                active[i] = true;
                activeFields |= _filters[i].Definition.Fields;
            }
        }

        if (activeFields == FieldSet.None)
        {
            return Verdict.Clean;
        }

        var matches = t_matches ??= new List<RawMatch>();
        matches.Clear();
        var blocked = t_blocked ??= new List<(int Field, int Start, int End)>();
        blocked.Clear();
        var fields = message.Fields;
        for (var fi = 0; fi < fields.Count; fi++)
        {
            var field = fields[fi];
            if ((activeFields & (FieldSet)(1 << (int)field.Kind)) != 0 && field.Text.Length > 0)
            {
                ScanField(field, fi, active, matches);
            }
        }

        if (matches.Count == 0)
        {
            return Verdict.Clean;
        }

        if (blocked.Count > 0)
        {
            Recheck(message, active, matches, blocked);
        }

        return Decide(message, matches);
    }

    /// <summary>The normalised form of a text, as the matcher sees it (for the rule-test console).</summary>
    public static string Normalize(string text) => TextNormalizer.NormalizeToString(text);

    private void ScanField(MessageField field, int fieldIndex, ReadOnlySpan<bool> active, List<RawMatch> matches)
    {
        var text = field.Text;
        var fieldBit = (FieldSet)(1 << (int)field.Kind);
        var norm = TextNormalizer.ThreadBuffer();
        TextNormalizer.Normalize(text, norm);
        var span = norm.Span;

        var allows = t_allows ??= new List<(int Filter, int Start, int End)>();
        allows.Clear();
        t_longestAllow = 0;

        // armed[r]: a literal factor of gated regex r occurs in the text, so r may match (see RegexFactors).
        Span<bool> armed = _regexCount <= 1024 ? stackalloc bool[_regexCount] : RentArmed(_regexCount);
        var anyArmed = false;
        if (_automaton.PatternCount > 0)
        {
            var hits = t_hits ??= new List<LiteralHit>();
            hits.Clear();
            Find(_automaton, span, hits);
            if (hits.Count > 0)
            {
                if (_hasGates)
                {
                    anyArmed = Arm(hits, armed);
                }

                CollectAllows(hits, span, norm, active, allows);
                CollectLiteralHits(hits, _patterns, span, norm, null, text, active, fieldBit, allows, matches, field.Kind, fieldIndex);
            }

            ScanDisguises(text, span, norm, active, fieldBit, allows, matches, field.Kind, fieldIndex, hits);
        }

        if (_squeezed is not null)
        {
            var squeezedHits = t_squeezedHits ??= new List<LiteralHit>();
            squeezedHits.Clear();
            FindSqueezed(span, squeezedHits);
            foreach (var h in squeezedHits)
            {
                armed[_squeezedGates[h.Pattern]] = true;
                anyArmed = true;
            }
        }

        var ungated = AnyMatch(_anyNormalizedRegex, span);
        anyArmed |= ArmByClasses(span, armed);

        if (ungated || anyArmed)
        {
            CollectRegexHits(span, norm, normalized: true, active, fieldBit, allows, matches, field.Kind, fieldIndex, armed, ungated);
        }

        if (AnyMatch(_anyRawRegex, text))
        {
            CollectRegexHits(text, null, normalized: false, active, fieldBit, allows, matches, field.Kind, fieldIndex, default, runUngated: true);
        }
    }

    /// <summary>
    /// The disguise variants (masks, '!'/'|' letters) when the text has a character they need, and both automata
    /// again over a copy with stretched letters collapsed when the text has a run of three. A clean message pays a
    /// vectorised character search and a vectorised run check, nothing more.
    /// </summary>
    private void ScanDisguises(string text, ReadOnlySpan<char> span, NormalizedText norm, ReadOnlySpan<bool> active,
        FieldSet fieldBit, List<(int Filter, int Start, int End)> allows, List<RawMatch> matches, FieldKind kind, int fieldIndex,
        List<LiteralHit> hits)
    {
        if (_variants is not null && MayHoldDisguise(text))
        {
            hits.Clear();
            Find(_variants, span, hits);
            CollectLiteralHits(hits, _variantPatterns, span, norm, null, text, active, fieldBit, allows, matches, kind, fieldIndex);
        }

        if (!Stretch.HasRun(span))
        {
            return;
        }

        var collapsed = t_collapsed ??= new NormalizedText(256);
        var runs = t_runs ??= new int[256];
        Stretch.Collapse(norm, collapsed, ref runs);
        t_runs = runs;
        var cspan = collapsed.Span;
        hits.Clear();
        FindAroundRuns(_automaton, cspan, runs, hits);
        CollectLiteralHits(hits, _patterns, cspan, collapsed, runs, text, active, fieldBit, allows, matches, kind, fieldIndex);
        if (_variants is not null)
        {
            hits.Clear();
            FindAroundRuns(_variants, cspan, runs, hits);
            CollectLiteralHits(hits, _variantPatterns, cspan, collapsed, runs, text, active, fieldBit, allows, matches, kind, fieldIndex);
        }
    }

    /// <summary>The squeezed factors' hits (only their patterns count: they arm regexes): the plain automaton over the
    /// text with its separators taken out; with the shortcuts off, the squeezing automaton over the text itself.</summary>
    private void FindSqueezed(ReadOnlySpan<char> span, List<LiteralHit> hits)
    {
        if (_exhaustive || _squeezedPlain is null)
        {
            Find(_squeezed!, span, hits);
            return;
        }

        _squeezedPlain.FindAll(SqueezedText.Of(span), hits);
    }

    /// <summary>All hits of one automaton; with the shortcuts off, from the plain one-stream scan the interleaved one
    /// must agree with.</summary>
    private void Find(KeywordAutomaton automaton, ReadOnlySpan<char> span, List<LiteralHit> hits)
    {
        if (_exhaustive)
        {
            automaton.FindAllOneStream(span, hits);
        }
        else
        {
            automaton.FindAll(span, hits);
        }
    }

    /// <summary>
    /// The hits of <paramref name="automaton"/> in the collapsed copy that can count: only those over a collapsed run
    /// (<see cref="VariantHolds"/>), so only the stretches within one pattern length of a run are scanned, not the
    /// whole copy a second time (a 16 KB text with a few "sss" paid for two full scans of both automata). Same hits,
    /// in the same order, as a whole scan filtered to those over a run.
    /// </summary>
    private void FindAroundRuns(KeywordAutomaton automaton, ReadOnlySpan<char> cspan, int[] runs, List<LiteralHit> hits)
    {
        if (_exhaustive)
        {
            Find(automaton, cspan, hits);
            return;
        }

        var reach = automaton.MaxPatternLength;
        if (reach == 0)
        {
            return;
        }

        var n = cspan.Length;
        var from = -1;
        var to = -1;
        for (var k = 0; k < n; k++)
        {
            // Every character of the copy stands for 1 character or for a run of 3 or more.
            var next = runs.AsSpan(k, n - k).IndexOfAnyExcept(1);
            if (next < 0)
            {
                break;
            }

            k += next;

            // A hit over position k starts after k - reach and ends by k + reach.
            var ws = Math.Max(0, k - reach + 1);
            var we = Math.Min(n, k + reach);
            if (from >= 0 && ws <= to)
            {
                to = we;
                continue;
            }

            if (from >= 0)
            {
                automaton.FindAll(cspan, from, to, hits);
            }

            from = ws;
            to = we;
        }

        if (from >= 0)
        {
            automaton.FindAll(cspan, from, to, hits);
        }
    }

    /// <summary>
    /// Could a disguise variant match? Only with a mask character right after a letter ("f*ck", "a##hole") or a '!'/'|'
    /// between a letter and a letter, digit or leet symbol ("sh|t", "assho!e", "s!@g"); "100%", "#tag", "hello!" and
    /// "a | b" do not wake the second automaton.
    /// </summary>
    private static bool MayHoldDisguise(string text)
    {
        var from = 0;
        while (from < text.Length)
        {
            var i = text.AsSpan(from).IndexOfAny(VariantGate);
            if (i < 0)
            {
                return false;
            }

            var at = from + i;
            if (at > 0 && char.IsLetter(text[at - 1])
                && (text[at] is not ('!' or '|') || (at + 1 < text.Length && (char.IsLetterOrDigit(text[at + 1]) || text[at + 1] is '@' or '$'))))
            {
                return true;
            }

            from = at + 1;
        }

        return false;
    }

    /// <summary>Arms the regexes without a literal factor whose character-class gate passes (<see cref="ClassGates"/>):
    /// they are not in the shared pre-check, so a clean message pays the gates instead of a NonBacktracking pass;
    /// with the shortcuts off, all of them.</summary>
    private bool ArmByClasses(ReadOnlySpan<char> span, Span<bool> armed)
    {
        if (_classGates is null)
        {
            return false;
        }

        if (_exhaustive)
        {
            return _classGates.ArmAll(armed);
        }

        var count = _classGates.Arm(span, armed, out var allAnchored);
        if (count == 0)
        {
            return false;
        }

        // A long text passes a gate or two more often (a run of one-letter words somewhere in 16 KB of chat), and
        // each armed regex is its own pass: there one NonBacktracking pass over all of them decides first, as before.
        // Not when many pass: that is regex bait, where the combined pass is the slow one. Nor when every one that
        // passed needs a rare character: such a regex alone costs a few µs on 16 KB, the combined pass ~50.
        if (span.Length > LongText && count <= 2 && !allAnchored && !AnyMatch(ClassGatedPrecheck, span))
        {
            _classGates.Disarm(armed);
            return false;
        }

        return true;
    }

    /// <summary>Texts longer than this check the class-gated regexes' own pre-check once some gate passes.</summary>
    private const int LongText = 4096;

    /// <summary>The class-gated regexes in NonBacktracking alternations (see <see cref="ArmByClasses"/>).</summary>
    internal Regex[] ClassGatedPrecheck { get; init; } = [];

    private static bool AnyMatch(Regex[] prechecks, ReadOnlySpan<char> text)
    {
        foreach (var r in prechecks)
        {
            if (r.IsMatch(text))
            {
                return true;
            }
        }

        return false;
    }

    private static Span<bool> RentArmed(int count)
    {
        if (t_armed is null || t_armed.Length < count)
        {
            t_armed = new bool[count];
        }

        var span = t_armed.AsSpan(0, count);
        span.Clear();
        return span;
    }

    private bool Arm(List<LiteralHit> hits, Span<bool> armed)
    {
        var any = false;
        foreach (var h in hits)
        {
            var gate = _patterns[h.Pattern].Gate;
            if (gate >= 0)
            {
                armed[gate] = true;
                any = true;
            }
        }

        return any;
    }

    private void CollectAllows(List<LiteralHit> hits, ReadOnlySpan<char> span, NormalizedText norm,
        ReadOnlySpan<bool> active, List<(int Filter, int Start, int End)> allows)
    {
        if (_hasAllow)
        {
            foreach (var h in hits)
            {
                ref readonly var p = ref _patterns[h.Pattern];
                if (p.IsAllow && active[p.Filter] && BoundariesHold(p, span, h.Start, h.End, norm))
                {
                    var a = (p.Filter, norm.OriginalStart(h.Start), norm.OriginalEnd(h.End - 1));
                    allows.Add(a);
                    t_longestAllow = Math.Max(t_longestAllow, a.Item3 - a.Item2);
                }
            }
        }
    }

    /// <summary>
    /// Keyword hits of one automaton scan (<paramref name="patterns"/>: its pattern table) over a normalised view:
    /// the text itself, or (<paramref name="runs"/> set) its copy with stretched letters collapsed, where only hits
    /// over a collapsed run are new. Variant checks and <see cref="HitAnalysis"/> run per hit, after the scan.
    /// A text of nothing but hits pays this per hit, so the filters that can take a hit here are worked out once per
    /// call and the allow matches are walked with a cursor (hits come in text order) instead of searched per hit.
    /// </summary>
    private void CollectLiteralHits(List<LiteralHit> hits, PatternInfo[] patterns, ReadOnlySpan<char> span, NormalizedText norm,
        int[]? runs, string original, ReadOnlySpan<bool> active, FieldSet fieldBit, List<(int Filter, int Start, int End)> allows,
        List<RawMatch> matches, FieldKind kind, int fieldIndex)
    {
        if (_exhaustive)
        {
            CollectLiteralHitsReference(hits, patterns, span, norm, runs, original, active, fieldBit, allows, matches, kind, fieldIndex);
            return;
        }

        if (hits.Count == 0)
        {
            return;
        }

        var n = _filters.Length;
        Span<bool> usable = n <= 512 ? stackalloc bool[n] : new bool[n];
        for (var i = 0; i < n; i++)
        {
            usable[i] = active[i] && (_filters[i].Definition.Fields & fieldBit) != 0;
        }

        var cursor = new AllowCursor(allows);
        foreach (var h in CollectionsMarshal.AsSpan(hits))
        {
            ref readonly var p = ref patterns[h.Pattern];
            if (p.IsAllow || p.Gate >= 0 || !usable[p.Filter])
            {
                continue;
            }

            if (!HitStands(p, h, span, norm, runs, original, fieldIndex))
            {
                continue;
            }

            var os = norm.OriginalStart(h.Start);
            var oe = norm.OriginalEnd(h.End - 1);
            if (!HitAnalysis.Accept(original, os, oe, out var steps))
            {
                // A code or a foreign word: decided from its neighbours or the rest of the text.
                (t_blocked ??= []).Add((fieldIndex, -1, -1));
                continue;
            }

            if (cursor.IsAllowed(p.Filter, os, oe))
            {
                NoteBlocked(fieldIndex, norm, h.Start, h.End, span.Length);
                continue;
            }

            steps |= p.Steps | (runs is null ? EvasionSteps.None : EvasionSteps.Stretched);

            var (ns, ne) = WordRange(p, span, h.Start, h.End);
            var (start, end) = norm.OriginalRange(ns, ne);
            matches.Add(new RawMatch(p.Filter, kind, fieldIndex, p.Term, start, end, steps));
        }
    }

    /// <summary>
    /// <see cref="IsAllowed"/> for hits in text order: the first allow match ending at or after a hit's end only moves
    /// forward, so it is walked to instead of searched for (a search again when a hit ends before the last one).
    /// </summary>
    private ref struct AllowCursor(List<(int Filter, int Start, int End)> allows)
    {
        private readonly ReadOnlySpan<(int Filter, int Start, int End)> _allows = CollectionsMarshal.AsSpan(allows);
        private int _first;
        private int _lastEnd;

        public bool IsAllowed(int filter, int start, int end)
        {
            if (_allows.Length == 0)
            {
                return false;
            }

            var k = end < _lastEnd ? FirstAllowEndingFrom(_allows, end) : _first;
            _lastEnd = end;
            while (k < _allows.Length && _allows[k].End < end)
            {
                k++;
            }

            _first = k;
            return AllowCoversFrom(_allows, k, filter, start);
        }
    }

    /// <summary>
    /// A literal hit that stands as a word of its own and in its variant's form. One that sits inside a longer word
    /// (its variant holding) is noted as blocked: it may stand once a neighbouring hit is starred out (see Recheck).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool HitStands(in PatternInfo p, LiteralHit h, ReadOnlySpan<char> span, NormalizedText norm, int[]? runs, string original, int fieldIndex)
    {
        if (!BoundariesHold(p, span, h.Start, h.End, norm))
        {
            if (VariantHolds(p, h, norm, runs, original))
            {
                NoteBlocked(fieldIndex, norm, h.Start, h.End, span.Length);
            }

            return false;
        }

        return VariantHolds(p, h, norm, runs, original);
    }

    private static bool VariantHolds(in PatternInfo p, LiteralHit h, NormalizedText norm, int[]? runs, string original)
    {
        switch (p.Check)
        {
            case VariantCheck.Stretched:
                return runs is not null && runs[h.Start + p.CheckAt] >= 3;
            case VariantCheck.BangLetter:
                var o = norm.OriginalStart(h.Start + p.CheckAt);
                if (o >= original.Length || original[o] is not ('!' or '|'))
                {
                    return false;
                }

                goto default;
            default:
                if (runs is null)
                {
                    return true;
                }

                // In the collapsed copy only a hit over a collapsed run is new; the others were found in the text.
                for (var k = h.Start; k < h.End; k++)
                {
                    if (runs[k] >= 3)
                    {
                        return true;
                    }
                }

                return false;
        }
    }

    /// <summary>
    /// Runs the filters' own regexes to attribute and locate matches: a gated regex only when armed (without its
    /// factor it cannot match), the others only when their pre-check matched. Same matches as running them all.
    /// </summary>
    private void CollectRegexHits(ReadOnlySpan<char> span, NormalizedText? norm, bool normalized,
        ReadOnlySpan<bool> active, FieldSet fieldBit, List<(int Filter, int Start, int End)> allows,
        List<RawMatch> matches, FieldKind kind, int fieldIndex, ReadOnlySpan<bool> armed, bool runUngated)
    {
        for (var fi = 0; fi < _filters.Length; fi++)
        {
            var f = _filters[fi];
            if (!active[fi] || (f.Definition.Fields & fieldBit) == 0 || f.Definition.Normalize != normalized)
            {
                continue;
            }

            for (var ri = 0; ri < f.Regexes.Length; ri++)
            {
                if (f.RegexGated[ri] ? !armed[f.RegexBase + ri] : !runUngated)
                {
                    continue;
                }

                foreach (var m in f.Regexes[ri].EnumerateMatches(span))
                {
                    if (m.Length == 0)
                    {
                        continue;
                    }

                    var (start, end) = norm is null ? (m.Index, m.Index + m.Length) : norm.OriginalRange(m.Index, m.Index + m.Length);
                    if (!IsAllowed(allows, fi, start, end))
                    {
                        matches.Add(new RawMatch(fi, kind, fieldIndex, f.Definition.Regexes[ri], start, end));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Is [start, end) inside an allow match of the same filter? Allow matches are collected in the automaton's
    /// order, so their ends never decrease: binary-search the first that ends at or after <paramref name="end"/> and
    /// stop once one ends past <paramref name="start"/> plus the longest allow match (it cannot start early enough).
    /// A text of nothing but hits and allow terms would otherwise cost hits × allows.
    /// </summary>
    private static bool IsAllowed(List<(int Filter, int Start, int End)> allows, int filter, int start, int end)
    {
        var span = CollectionsMarshal.AsSpan(allows);
        return span.Length != 0 && AllowCoversFrom(span, FirstAllowEndingFrom(span, end), filter, start);
    }

    /// <summary>The index of the first allow match that ends at or after <paramref name="end"/> (binary search).</summary>
    private static int FirstAllowEndingFrom(ReadOnlySpan<(int Filter, int Start, int End)> allows, int end)
    {
        int lo = 0, hi = allows.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (allows[mid].End < end)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>
    /// From index <paramref name="k"/> on, an allow match of <paramref name="filter"/> that starts at or before
    /// <paramref name="start"/>; the walk stops at the first that ends too late for the longest allow match to reach back.
    /// </summary>
    private static bool AllowCoversFrom(ReadOnlySpan<(int Filter, int Start, int End)> allows, int k, int filter, int start)
    {
        var longest = t_longestAllow;
        for (; k < allows.Length && allows[k].End <= start + longest; k++)
        {
            ref readonly var a = ref allows[k];
            if (a.Filter == filter && a.Start <= start)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A wildcard hit's range grown to the whole word it sits in (a word character at a time, on the side its pattern
    /// is open): "***alog" would still say "catalog".
    /// </summary>
    private static (int Start, int End) WordRange(in PatternInfo p, ReadOnlySpan<char> span, int start, int end)
    {
        if (p.ExtendStart)
        {
            while (start > 0 && TextNormalizer.IsWordChar(span[start - 1]))
            {
                start--;
            }
        }

        if (p.ExtendEnd)
        {
            while (end < span.Length && TextNormalizer.IsWordChar(span[end]))
            {
                end++;
            }
        }

        return (start, end);
    }

    private static bool BoundariesHold(in PatternInfo p, ReadOnlySpan<char> text, int start, int end, NormalizedText norm)
    {
        if (p.CheckStart && start > 0 && TextNormalizer.IsWordChar(text[start - 1]) && !norm.IsSoftBoundary(start))
        {
            return false;
        }

        return !p.CheckEnd || end >= text.Length || !TextNormalizer.IsWordChar(text[end]) || norm.IsSoftBoundary(end);
    }

    private Verdict Decide(ChatMessage message, List<RawMatch> raw)
    {
        if (_exhaustive)
        {
            return DecideReference(message, raw);
        }

        // Priority order is filter index order (the compiler sorted them); within a filter, text order.
        SortByFilterThenStart(raw);
        CompiledFilter? decider = null;
        CompiledFilter? firstCensor = null;
        CompiledFilter? firstNotice = null;
        var report = false;
        var span = CollectionsMarshal.AsSpan(raw);
        for (var i = 0; i < span.Length; i++)
        {
            // Sorted by filter: what a filter contributes is known from its first match.
            var fi = span[i].Filter;
            if (i > 0 && span[i - 1].Filter == fi)
            {
                continue;
            }

            var def = _filters[fi].Definition;
            if (def.DryRun)
            {
                continue;
            }

            report |= def.Report;
            if (def.Action is FilterAction.Drop or FilterAction.Reject)
            {
                decider ??= _filters[fi];
            }
            else if (def.Action is FilterAction.Censor)
            {
                firstCensor ??= _filters[fi];
            }

            if (firstNotice is null && def.Notice is not null)
            {
                firstNotice = _filters[fi];
            }
        }

        var matches = new MatchList(_filters, raw.ToArray());
        return Conclude(message, raw, matches, decider, firstCensor, firstNotice, report);
    }

    private Verdict Conclude(ChatMessage message, List<RawMatch> raw, IReadOnlyList<FilterMatch> matches,
        CompiledFilter? decider, CompiledFilter? firstCensor, CompiledFilter? firstNotice, bool report)
    {
        if (decider is not null)
        {
            return new Verdict
            {
                Action = decider.Definition.Action == FilterAction.Drop ? VerdictAction.Drop : VerdictAction.Reject,
                DecidingFilter = decider.Definition.Name,
                Notice = decider.Definition.Notice,
                Report = report,
                Matches = matches,
            };
        }

        if (firstCensor is not null)
        {
            return new Verdict
            {
                Action = VerdictAction.Censor,
                DecidingFilter = firstCensor.Definition.Name,
                Notice = firstCensor.Definition.Notice ?? firstNotice?.Definition.Notice,
                Report = report,
                Matches = matches,
                Rewritten = Censor(message, raw),
            };
        }

        return new Verdict
        {
            Action = VerdictAction.Forward,
            DecidingFilter = firstNotice?.Definition.Name,
            Notice = firstNotice?.Definition.Notice,
            Report = report,
            Matches = matches,
        };
    }

    /// <summary>
    /// Stable sort by filter, then start: usually a no-op check (one filter, hits recorded in text order), otherwise
    /// a sort of packed keys with the recording order breaking ties, then one permutation. A comparison delegate over
    /// the 32-byte records cost a text of ~660 hits about 20 µs.
    /// </summary>
    internal static void SortByFilterThenStart(List<RawMatch> raw)
    {
        var span = CollectionsMarshal.AsSpan(raw);
        var sorted = true;
        for (var k = 1; k < span.Length; k++)
        {
            if (span[k - 1].Filter > span[k].Filter || (span[k - 1].Filter == span[k].Filter && span[k - 1].Start > span[k].Start))
            {
                sorted = false;
                break;
            }
        }

        if (sorted || SortByFilterIfStartsFollow(span))
        {
            return;
        }

        var n = span.Length;
        var keys = ArrayPool<long>.Shared.Rent(n);
        var order = ArrayPool<int>.Shared.Rent(n);
        var copy = ArrayPool<RawMatch>.Shared.Rent(n);
        for (var k = 0; k < n; k++)
        {
            keys[k] = ((long)span[k].Filter << 32) | (uint)span[k].Start;
            order[k] = k;
        }

        Array.Sort(keys, order, 0, n);

        // Equal keys: back into recording order (runs of equal keys are short).
        for (var k = 1; k < n; k++)
        {
            var o = order[k];
            var j = k - 1;
            while (j >= 0 && keys[j] == keys[k] && order[j] > o)
            {
                order[j + 1] = order[j];
                j--;
            }

            order[j + 1] = o;
        }

        span.CopyTo(copy);
        for (var k = 0; k < n; k++)
        {
            span[k] = copy[order[k]];
        }

        ArrayPool<long>.Shared.Return(keys);
        ArrayPool<int>.Shared.Return(order);
        ArrayPool<RawMatch>.Shared.Return(copy, clearArray: true);
    }

    /// <summary>
    /// The common unsorted case: several filters' matches interleaved, each filter's in text order (one scan records
    /// hits as they end). A stable counting sort by filter then finishes the job; false (nothing changed) when some
    /// filter's starts go backwards.
    /// </summary>
    private static bool SortByFilterIfStartsFollow(Span<RawMatch> span)
    {
        var filters = 0;
        foreach (ref readonly var r in span)
        {
            filters = Math.Max(filters, r.Filter + 1);
        }

        if (filters > 512)
        {
            return false;
        }

        Span<int> next = stackalloc int[filters];
        next.Clear();
        Span<int> lastStart = stackalloc int[filters];
        lastStart.Fill(int.MinValue);
        foreach (ref readonly var r in span)
        {
            if (r.Start < lastStart[r.Filter])
            {
                return false;
            }

            lastStart[r.Filter] = r.Start;
            next[r.Filter]++;
        }

        var offset = 0;
        for (var f = 0; f < filters; f++)
        {
            var count = next[f];
            next[f] = offset;
            offset += count;
        }

        var copy = ArrayPool<RawMatch>.Shared.Rent(span.Length);
        span.CopyTo(copy);
        for (var k = 0; k < span.Length; k++)
        {
            ref readonly var r = ref copy[k];
            span[next[r.Filter]++] = r;
        }

        ArrayPool<RawMatch>.Shared.Return(copy, clearArray: true);
        return true;
    }

    /// <summary>
    /// The decision as first written (with the shortcuts off, see <see cref="Exhaustive"/>): a stable sort through
    /// LINQ and every match record built up front. The differential tests hold the fast path to it.
    /// </summary>
    private Verdict DecideReference(ChatMessage message, List<RawMatch> raw)
    {
        var ordered = raw.OrderBy(static r => r.Filter).ThenBy(static r => r.Start).ToList();
        raw.Clear();
        raw.AddRange(ordered);
        var matches = new FilterMatch[raw.Count];
        CompiledFilter? decider = null;
        CompiledFilter? firstCensor = null;
        CompiledFilter? firstNotice = null;
        var report = false;
        for (var i = 0; i < raw.Count; i++)
        {
            var r = raw[i];
            var def = _filters[r.Filter].Definition;
            matches[i] = MatchList.Build(_filters, r);
            if (def.DryRun)
            {
                continue;
            }

            report |= def.Report;
            if (def.Action is FilterAction.Drop or FilterAction.Reject)
            {
                decider ??= _filters[r.Filter];
            }
            else if (def.Action is FilterAction.Censor)
            {
                firstCensor ??= _filters[r.Filter];
            }

            if (firstNotice is null && def.Notice is not null)
            {
                firstNotice = _filters[r.Filter];
            }
        }

        return Conclude(message, raw, matches, decider, firstCensor, firstNotice, report);
    }

    private IReadOnlyList<MessageField> Censor(ChatMessage message, List<RawMatch> raw)
    {
        var result = new MessageField[message.Fields.Count];
        for (var fi = 0; fi < message.Fields.Count; fi++)
        {
            var field = message.Fields[fi];
            if (!_exhaustive)
            {
                // The same stars from the merged ranges (what Recheck works on), in a reused list.
                var merged = t_ranges ??= [];
                CensorRanges(raw, fi, merged);
                result[fi] = merged.Count == 0 ? field : field with { Text = CensorText(field.Text, merged) };
                continue;
            }

            var ranges = new List<(int Start, int End)>();
            foreach (var r in raw)
            {
                if (r.FieldIndex == fi && _filters[r.Filter].Definition is { DryRun: false, Action: FilterAction.Censor })
                {
                    ranges.Add((r.Start, r.End));
                }
            }

            result[fi] = ranges.Count == 0 ? field : field with { Text = CensorText(field.Text, ranges) };
        }

        return result;
    }

    /// <summary>
    /// Replaces every user-perceived character (extended grapheme cluster) that overlaps a range with one '*'.
    /// Clusters made only of invisible characters inside a range are removed rather than starred.
    /// </summary>
    public static string CensorText(string text, List<(int Start, int End)> ranges) => CensorText(text, ranges, null);

    /// <summary>
    /// <see cref="CensorText(string, List{ValueTuple{int, int}})"/>, and with <paramref name="origin"/> the original
    /// index behind each output character, then the text's length (so [origin[s], origin[e]) is the original of an
    /// output range [s, e)).
    /// </summary>
    internal static string CensorText(string text, List<(int Start, int End)> ranges, List<int>? origin)
    {
        SortByStart(ranges);
        // Never longer than the text: each cluster is copied, starred (one character) or removed.
        var sb = new CensorBuffer(text.Length);
        var pos = 0;
        var ri = 0;
        while (pos < text.Length)
        {
            while (ri < ranges.Count && ranges[ri].End <= pos)
            {
                ri++;
            }

            // Up to the next range, a run of ASCII is copied whole: each of its characters is a cluster of its own
            // (see below), so the run ends on a cluster boundary unless a non-ASCII character or an LF after a CR
            // follows it, in which case its last character goes the per-cluster way.
            var limit = ri < ranges.Count ? Math.Min(ranges[ri].Start, text.Length) : text.Length;
            if (limit > pos)
            {
                var ascii = text.AsSpan(pos, limit - pos).IndexOfAnyExceptInRange('\0', '\u007F');
                var runEnd = ascii < 0 ? limit : pos + ascii;
                if (runEnd < text.Length && runEnd > pos && (text[runEnd] >= 0x80 || (text[runEnd - 1] == '\r' && text[runEnd] == '\n')))
                {
                    runEnd--;
                }

                if (runEnd > pos)
                {
                    sb.Append(text, pos, runEnd - pos);
                    for (var k = pos; origin is not null && k < runEnd; k++)
                    {
                        origin.Add(k);
                    }

                    pos = runEnd;
                    continue;
                }
            }

            if (ri < ranges.Count && ranges[ri].Start <= pos && StarPrintableRun(text, pos, ranges[ri].End, ref sb) is > 0 and var starred)
            {
                for (var k = pos; origin is not null && k < pos + starred; k++)
                {
                    origin.Add(k);
                }

                pos += starred;
                continue;
            }

            // An ASCII character followed by another one (or the end) is a cluster of its own, except CR LF: every
            // rule that joins characters into a cluster (GB9–GB13, UAX #29) involves a non-ASCII character. Skips
            // the general segmenter, which costs ~20× more, for the common case.
            var c = text[pos];
            var len = c < 0x80 && (pos + 1 == text.Length || (text[pos + 1] < 0x80 && !(c == '\r' && text[pos + 1] == '\n')))
                ? 1
                : StringInfo.GetNextTextElementLength(text, pos);
            if (len <= 0)
            {
                len = 1;
            }

            while (ri < ranges.Count && ranges[ri].End <= pos)
            {
                ri++;
            }

            var overlaps = ri < ranges.Count && ranges[ri].Start < pos + len;
            if (!overlaps)
            {
                sb.Append(text, pos, len);
                for (var k = pos; origin is not null && k < pos + len; k++)
                {
                    origin.Add(k);
                }
            }
            else if (!IsInvisibleCluster(text.AsSpan(pos, len)))
            {
                sb.Append('*');
                origin?.Add(pos);
            }

            pos += len;
        }

        origin?.Add(text.Length);
        return sb.ToStringAndReturn();
    }

    /// <summary>
    /// Inside a range: a run of printable ASCII (U+0020–U+007E) before <paramref name="rangeEnd"/> is one '*' per
    /// character, appended at once. Each is a cluster of its own (no grapheme rule joins two of them, and none is a CR
    /// or invisible); the run's last character is left to the per-cluster path when a non-ASCII character follows it,
    /// which may extend its cluster. A text of nothing but hits paid the per-cluster path for every starred letter.
    /// Returns how many characters were starred.
    /// </summary>
    private static int StarPrintableRun(string text, int pos, int rangeEnd, ref CensorBuffer sb)
    {
        var limit = Math.Min(rangeEnd, text.Length);
        if (limit <= pos)
        {
            return 0;
        }

        var other = text.AsSpan(pos, limit - pos).IndexOfAnyExceptInRange(' ', '~');
        var runEnd = other < 0 ? limit : pos + other;
        if (runEnd < text.Length && runEnd > pos && text[runEnd] >= 0x80)
        {
            runEnd--;
        }

        sb.Append('*', runEnd - pos);
        return runEnd - pos;
    }

    /// <summary>The censored text, written into a pooled array and copied once into the result string (a
    /// StringBuilder sized to the text cost a second text-sized buffer per censored field).</summary>
    private struct CensorBuffer(int capacity)
    {
        private readonly char[] _chars = ArrayPool<char>.Shared.Rent(Math.Max(1, capacity));
        private int _length;

        public void Append(string text, int start, int count)
        {
            text.AsSpan(start, count).CopyTo(_chars.AsSpan(_length));
            _length += count;
        }

        public void Append(char c, int count = 1)
        {
            _chars.AsSpan(_length, count).Fill(c);
            _length += count;
        }

        public string ToStringAndReturn()
        {
            var result = new string(_chars, 0, _length);
            ArrayPool<char>.Shared.Return(_chars);
            return result;
        }
    }

    private static bool IsInvisibleCluster(ReadOnlySpan<char> cluster)
    {
        foreach (var c in cluster)
        {
            if (!FoldTable.IsInvisible(c))
            {
                return false;
            }
        }

        return true;
    }

    internal readonly record struct RawMatch(int Filter, FieldKind Field, int FieldIndex, string Term, int Start, int End,
        EvasionSteps Steps = EvasionSteps.None);
}
