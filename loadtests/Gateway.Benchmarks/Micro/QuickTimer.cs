using System.Diagnostics;
using System.Text.RegularExpressions;
using Gateway.Policy.Matching;
using Gateway.Policy.Rules;
using Gateway.Policy.Text;

namespace Gateway.Benchmarks.Micro;

/// <summary>
/// Rough Stopwatch loops for development (`quick [--filter NAME|regex]`): the gateway's stages per message, or the
/// regex pre-check on its own. `engine` is the real measurement; this is for trying a change in a minute.
/// </summary>
internal static class QuickTimer
{
    public static void Run(string filter)
    {
        // A silent first pass: tiered compilation needs every path called for a while before the timings mean much.
        var console = Console.Out;
        Console.SetOut(TextWriter.Null);
        RunOnce(filter);
        Console.SetOut(console);
        Thread.Sleep(2000); // and a pause, so the background tier-1 compilations it queued can finish
        RunOnce(filter);
    }

    private static void RunOnce(string filter)
    {
        var s = BenchState.Shared;
        if (filter == "regex")
        {
            Regexes(s);
            return;
        }

        if (filter.StartsWith("loop:", StringComparison.Ordinal))
        {
            // For a profiler (perf record): evaluate one message over and over for about ten seconds.
            var m = s.Messages[filter["loop:".Length..]];
            Console.WriteLine($"{m.Name} evaluate {Time(() => s.Policy.Evaluate(m.Chat)),9:F2} µs");
            var end = Stopwatch.StartNew();
            while (end.ElapsedMilliseconds < 10_000)
            {
                s.Policy.Evaluate(m.Chat);
            }

            return;
        }

        if (filter == "dumplit")
        {
            File.WriteAllLines("/tmp/lit.txt", s.Literals);
            foreach (var m in s.Messages.Values)
            {
                File.WriteAllText("/tmp/msg-" + m.Name + ".txt", m.Normalized.ToString());
            }

            return;
        }

        if (filter == "compile")
        {
            // Policy compile time (startup and every reload); the automaton build, flat against the previous one
            // (BuildReference), over the bench's literals and over every disguise variant of its keywords.
            var variants = new List<string>();
            foreach (var t in s.Corpus.Filters.SelectMany(f => f.Keywords))
            {
                if (KeywordTerm.TryParse(t, out var term, out _))
                {
                    variants.AddRange(TermVariants.For(term.Normalized, term.Mode, WordForms.None).Select(v => v.Text));
                }
            }

            for (var round = 0; round < 3; round++)
            {
                var sw = Stopwatch.StartNew();
                var policy = PolicyCompiler.Compile(s.Corpus.Filters);
                var compile = sw.Elapsed.TotalMilliseconds;
                var line = $"compile {compile,5:F0} ms ({policy.AutomatonStates} states)";
                foreach (var (label, set) in new[] { ("literals", (IReadOnlyList<string>)s.Literals), ("variants", variants) })
                {
                    sw.Restart();
                    var built = KeywordAutomaton.Build(set);
                    var flat = sw.Elapsed.TotalMilliseconds;
                    sw.Restart();
                    KeywordAutomaton.BuildReference(set, null);
                    line += $"; {set.Count} {label} ({built.StateCount} states): build {flat,4:F0} ms, previous build {sw.Elapsed.TotalMilliseconds,5:F0} ms";
                }

                Console.WriteLine(line);
            }

            return;
        }

        if (filter == "probe")
        {
            var clean = s.Messages["clean-1k"].Normalized.ToString();
            var found = new List<LiteralHit>(4096);
            var ring = new int[64];
            for (var k = 0; k < 64; k++)
            {
                ring[k] = (k + 17) % 64;
            }

            var x = 0;
            var hop = Stopwatch.StartNew();
            for (var k = 0; k < 100_000_000; k++)
            {
                x = ring[x];
            }

            Console.WriteLine($"L1 hop {hop.Elapsed.TotalNanoseconds / 1e8:F3} ns ({x})");
            foreach (var (label, t) in new[] { ("clean", clean), ("digits", new string('5', clean.Length)), ("aaaa", new string('a', clean.Length)) })
            {
                Console.WriteLine($"{label}: {Time(() => { found.Clear(); s.Automaton.FindAll(t, found); }):F3} us");
            }

            return;
        }

        if (filter == "lit")
        {
            Literal(s);
            return;
        }

        if (filter.StartsWith("matchloop:", StringComparison.Ordinal))
        {
            // The literal stage alone, over and over for about ten seconds (perf stat / perf record).
            var m = s.Messages[filter["matchloop:".Length..]];
            var found = new List<LiteralHit>(4096);
            var end = Stopwatch.StartNew();
            while (end.ElapsedMilliseconds < 10_000)
            {
                found.Clear();
                s.Automaton.FindAll(m.Normalized.Span, found);
            }

            return;
        }

        if (filter.StartsWith("dump:", StringComparison.Ordinal))
        {
            Console.WriteLine(s.Messages[filter["dump:".Length..]].Text);
            return;
        }

        if (filter.StartsWith("gates:", StringComparison.Ordinal))
        {
            Gates(s, filter["gates:".Length..]);
            return;
        }

        if (filter.StartsWith("rxpath:", StringComparison.Ordinal))
        {
            RegexPath(s, filter["rxpath:".Length..]);
            return;
        }

        if (filter.StartsWith("parts:", StringComparison.Ordinal))
        {
            Parts(s, filter["parts:".Length..]);
            return;
        }

        if (filter.StartsWith("regexhits:", StringComparison.Ordinal))
        {
            RegexHits(s, filter["regexhits:".Length..]);
            return;
        }

        if (filter.StartsWith("hitstats:", StringComparison.Ordinal))
        {
            HitStats(s, filter["hitstats:".Length..]);
            return;
        }

        if (filter.StartsWith("segments:", StringComparison.Ordinal))
        {
            Segments(s, filter["segments:".Length..]);
            return;
        }

        var hits = new List<LiteralHit>(4096);
        foreach (var m in s.Messages.Values)
        {
            if (filter.Length > 0 && !m.Name.Contains(filter, StringComparison.Ordinal))
            {
                continue;
            }

            var norm = new NormalizedText(m.Text.Length + 16);
            Console.WriteLine($"{m.Name,-18} normalise {Time(() => TextNormalizer.Normalize(m.Text, norm)),9:F2} µs" +
                $"  match {Time(() => { hits.Clear(); s.Automaton.FindAll(m.Normalized.Span, hits); }),9:F2} µs" +
                $"  evaluate {Time(() => s.Policy.Evaluate(m.Chat)),9:F2} µs" +
                $"  censor {Time(() => PolicySnapshot.CensorText(m.Text, m.CensorRanges)),9:F2} µs" +
                $"  vectorscan {Time(() => s.VectorscanLiterals!.Scan(m.Utf8)),9:F2} µs" +
                $"  dotnet-evaluate {Time(() => s.DotNet.Evaluate(m.Text)),9:F2} µs");
        }
    }

    /// <summary>The character-class gate of each regex without a literal factor (ClassGates): its factors, count and
    /// estimated likelihood, whether it passes on the message, and what the gate and the regex cost there.</summary>
    private static void Gates(BenchState s, string name)
    {
        var text = s.Messages[name].Normalized.ToString();
        var options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.IgnoreCase;
        var all = new ClassGates.Builder();
        var shared = new ClassAlphabet(caseSensitive: false);
        var index = 0;
        foreach (var p in s.Corpus.Filters.SelectMany(f => f.Regexes))
        {
            if (RegexFactors.Find(p) is null && RegexFactors.FindSqueezed(p) is null)
            {
                all.TryAdd(index++, p, shared);
            }
        }

        var unkeyed = s.Corpus.Filters.SelectMany(f => f.Regexes).Where(p => RegexFactors.Find(p) is null && RegexFactors.FindSqueezed(p) is null).ToList();
        for (var skip = 0; skip <= unkeyed.Count; skip++)
        {
            var rest = unkeyed.Where((_, i) => i != skip).Select(p => "(?i:" + p + ")");
            var alternation = new Regex(string.Join('|', rest), RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
            Console.WriteLine($"alternation without /{(skip < unkeyed.Count ? unkeyed[skip] : "-")}/: {Time(() => alternation.IsMatch(text)):F2} µs");
        }

        var set = all.Build()!;
        var armed = new bool[index];
        Console.WriteLine($"all {all.Count} gates together: {Time(() => { Array.Clear(armed); set.Arm(text, armed); }):F2} µs");
        foreach (var p in s.Corpus.Filters.SelectMany(f => f.Regexes))
        {
            if (RegexFactors.Find(p) is not null || RegexFactors.FindSqueezed(p) is not null)
            {
                continue;
            }

            var alphabet = new ClassAlphabet(caseSensitive: false);
            var found = RegexFactors.FindClasses(p, alphabet);
            var builder = new ClassGates.Builder();
            var gated = builder.TryAdd(0, p, alphabet);
            var describe = found is { } f
                ? string.Join(" | ", f.Factors.Select(x => string.Concat(x.Select(c => c == ClassAlphabet.Boundary ? "\\b" : alphabet.Get(c).Source))))
                    + $" ×{f.Count}{(f.Gap is null ? "" : " run, gaps " + string.Concat(f.Gap.Select(x => alphabet.Get(x).Source)))}"
                    + $" p={alphabet.Likelihood(f.Factors, f.Count, f.Gap):F3}"
                : "none";
            var regex = new Regex(p, options);
            var gate = builder.Build();
            Console.WriteLine($"/{p}/ {describe} gated={gated} passes={gate?.Passes(0, text)} matches={regex.IsMatch(text)}" +
                $" gate {(gate is null ? 0 : Time(() => gate.Passes(0, text))):F2} µs regex {Time(() => regex.IsMatch(text)):F2} µs");
        }
    }

    /// <summary>The literal stage with the scan variants side by side (same process, same machine load), each beside
    /// Vectorscan, and a check that every variant reports the same hits.</summary>
    private static void Literal(BenchState s)
    {
        foreach (var name in new[] { "clean-1k", "hits-1k", "clean-16k", "hits-16k", "hostile-densehits" })
        {
            var m = s.Messages[name];
            var found = new List<LiteralHit>(4096);
            var line = $"{name,-18}";
            List<LiteralHit>? first = null;
            foreach (var path in new[] { "one stream", "direct", "scalar", "auto" })
            {
                Action scan = path switch
                {
                    "one stream" => () => s.Automaton.FindAllOneStream(m.Normalized.Span, found),
                    "direct" => () => s.Automaton.FindAll(m.Normalized.Span, found, KeywordAutomaton.ScanPath.Direct),
                    "scalar" => () => s.Automaton.FindAll(m.Normalized.Span, found, KeywordAutomaton.ScanPath.TranslatedScalar),
                    _ => () => s.Automaton.FindAll(m.Normalized.Span, found, KeywordAutomaton.ScanPath.Auto),
                };
                found.Clear();
                scan();
                if (first is null)
                {
                    first = [.. found];
                }
                else if (!first.SequenceEqual(found))
                {
                    line += " MISMATCH";
                }

                line += $"  {path}: {Time(() => { found.Clear(); scan(); }),7:F2} µs";
            }

            Console.WriteLine(line + $"  vectorscan {Time(() => s.VectorscanLiterals!.Scan(m.Utf8)),7:F2} µs");
        }
    }

    /// <summary>The policy's automata one by one over one message (their sizes and hit counts): where a literal-heavy
    /// evaluation spends its scans.</summary>
    private static void Parts(BenchState s, string name)
    {
        var m = s.Messages[name];
        var span = m.Normalized.ToString();
        foreach (var field in new[] { "_automaton", "_squeezed", "_variants" })
        {
            var a = typeof(PolicySnapshot).GetField(field, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
                .GetValue(s.Policy) as KeywordAutomaton;
            if (a is null)
            {
                Console.WriteLine($"{name} {field}: none");
                continue;
            }

            var hits = new List<LiteralHit>(4096);
            var us = Time(() => { hits.Clear(); a.FindAll(span, hits); });
            Console.WriteLine($"{name} {field}: {a.PatternCount} patterns, {a.StateCount} states, {hits.Count} hits, {us:F2} µs" +
                $" (contains-any {Time(() => a.ContainsAny(span)):F2} µs)");
        }

        var main = (KeywordAutomaton)typeof(PolicySnapshot).GetField("_automaton", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .GetValue(s.Policy)!;
        var classes = (int)typeof(KeywordAutomaton).GetField("_classes", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(main)!;
        var h2 = new List<LiteralHit>(4096);
        Console.WriteLine($"{name} classes {classes}; evaluate {Time(() => s.Policy.Evaluate(m.Chat)):F2} µs;" +
            $" evaluate + main scan {Time(() => { s.Policy.Evaluate(m.Chat); h2.Clear(); main.FindAll(span, h2); }):F2} µs");
    }

    /// <summary>The regex side of one evaluation piece by piece (the policy's own pre-check alternations, class gates
    /// and squeezed automaton), beside the whole evaluation: what a clean message pays for regexes.</summary>
    private static void RegexPath(BenchState s, string name)
    {
        const System.Reflection.BindingFlags Private = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance;
        var m = s.Messages[name];
        var span = m.Normalized.ToString();
        var precheck = (Regex[])typeof(PolicySnapshot).GetField("_anyNormalizedRegex", Private)!.GetValue(s.Policy)!;
        var gates = typeof(PolicySnapshot).GetField("_classGates", Private)!.GetValue(s.Policy) as ClassGates;
        var squeezed = typeof(PolicySnapshot).GetField("_squeezed", Private)!.GetValue(s.Policy) as KeywordAutomaton;
        var squeezedPlain = typeof(PolicySnapshot).GetField("_squeezedPlain", Private)!.GetValue(s.Policy) as KeywordAutomaton;
        var armed = new bool[4096];
        var hits = new List<LiteralHit>(4096);
        var norm = new NormalizedText(m.Text.Length + 16);
        Console.WriteLine($"{name}: normalise {Time(() => TextNormalizer.Normalize(m.Text, norm)):F2} µs" +
            $"  main automaton {Time(() => { hits.Clear(); s.Automaton.FindAll(span, hits); }):F2} µs" +
            $"  squeezed automaton {(squeezed is null ? 0 : Time(() => { hits.Clear(); squeezed.FindAll(span, hits); })):F2} µs" +
            $" (squeezed copy + plain automaton {(squeezedPlain is null ? 0 : Time(() => { hits.Clear(); squeezedPlain.FindAll(SqueezedText.Of(span), hits); })):F2} µs)" +
            $"  pre-check ({precheck.Length} parts) {Time(() => { foreach (var r in precheck) { r.IsMatch(span); } }):F2} µs" +
            $"  class gates ({gates?.Count ?? 0}) {(gates is null ? 0 : Time(() => { Array.Clear(armed); gates.Arm(span, armed); })):F2} µs" +
            $" (armed {armed.Count(a => a)}; rows alone {(gates is null ? 0 : Time(() => gates.Prepare(span))):F2} µs;" +
            $" gates over read rows:\n   {GateTimes(gates, span)})  evaluate {Time(() => s.Policy.Evaluate(m.Chat)):F2} µs  dotnet-evaluate {Time(() => s.DotNet.Evaluate(m.Text)):F2} µs");
        // Long texts: the class-gated regexes' combined pre-check (run once some gate passes) beside each regex alone.
        var classGated = s.Policy.ClassGatedPrecheck;
        var options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.IgnoreCase;
        Console.WriteLine($"  class-gated pre-check ({classGated.Length} parts) {Time(() => { foreach (var r in classGated) { r.IsMatch(span); } }):F2} µs; alone:");
        foreach (var p in Unkeyed(s))
        {
            var one = new Regex(p, options);
            Console.WriteLine($"   /{p}/ {Time(() => one.IsMatch(span)):F2} µs, all matches {Time(() => { foreach (var x in one.EnumerateMatches(span)) { } }):F2} µs");
        }
    }

    private static IEnumerable<string> Unkeyed(BenchState s) =>
        s.Corpus.Filters.SelectMany(f => f.Regexes).Where(p => RegexFactors.Find(p) is null && RegexFactors.FindSqueezed(p) is null);

    private static string GateTimes(ClassGates? gates, string span)
    {
        if (gates is null)
        {
            return "";
        }

        var times = new double[gates.Count];
        for (var i = 0; i < gates.Count; i++)
        {
            var gate = i;
            gates.Prepare(span);
            times[i] = Time(() => gates.PassesAgain(gate, span));
        }

        const System.Reflection.BindingFlags Private = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance;
        var filters = (Array)typeof(PolicySnapshot).GetField("_filters", Private)!.GetValue(BenchState.Shared.Policy)!;
        var patterns = new List<string>();
        foreach (var f in filters)
        {
            var def = (Gateway.Policy.Rules.FilterDefinition)f.GetType().GetProperty("Definition")!.GetValue(f)!;
            patterns.AddRange(def.Regexes);
        }

        return string.Join("\n   ", times.Select((t, i) => $"/{patterns[gates.RegexOf(i)]}/ " + t.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>Each of the policy's own compiled regexes over one normalised message: gated or not, armed by a
    /// literal factor or not, its matches and what enumerating them costs (what a hit-rich text pays per regex).</summary>
    private static void RegexHits(BenchState s, string name)
    {
        const System.Reflection.BindingFlags Private = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance;
        var text = s.Messages[name].Normalized.ToString();
        var filters = (CompiledFilter[])typeof(PolicySnapshot).GetField("_filters", Private)!.GetValue(s.Policy)!;
        var total = 0.0;
        foreach (var f in filters)
        {
            for (var ri = 0; ri < f.Regexes.Length; ri++)
            {
                var rx = f.Regexes[ri];
                var p = f.Definition.Regexes[ri];
                var factors = RegexFactors.Find(p);
                var armed = factors is not null && factors.Any(x => text.Contains(x, StringComparison.Ordinal));
                var count = 0;
                foreach (var _ in rx.EnumerateMatches(text))
                {
                    count++;
                }

                var us = Time(() => { foreach (var _ in rx.EnumerateMatches(text)) { } });
                total += armed ? us : 0;
                Console.WriteLine($"{f.Definition.Name,-12} gated {f.RegexGated[ri],-5} armed {armed,-5} matches {count,4} {us,8:F2} µs /{p}/");
            }
        }

        Console.WriteLine($"armed by literal factors: {total:F2} µs; evaluate {Time(() => s.Policy.Evaluate(s.Messages[name].Chat)):F2} µs");
    }

    /// <summary>What one evaluation of a message leaves in the engine's per-thread buffers: literal hits of the last
    /// scan, recorded matches (and how many share filter and span), allow matches, refused candidates noted for the
    /// censor recheck; then the verdict's size and the allocation of one evaluation.</summary>
    private static void HitStats(BenchState s, string name)
    {
        const System.Reflection.BindingFlags Private = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static;
        var m = s.Messages[name];
        var v = s.Policy.Evaluate(m.Chat);
        int Count(string field) => typeof(PolicySnapshot).GetField(field, Private)?.GetValue(null) is System.Collections.ICollection c ? c.Count : -1;
        var distinct = v.Matches.Select(x => (x.Filter, x.FieldIndex, x.Start, x.End)).Distinct().Count();
        for (var k = 0; k < 200; k++)
        {
            s.Policy.Evaluate(m.Chat);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var k = 0; k < 100; k++)
        {
            s.Policy.Evaluate(m.Chat);
        }

        var bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
        Console.WriteLine($"{name}: {v.Action} by {v.DecidingFilter}; last scan {Count("t_hits")} hits, {Count("t_matches")} raw matches," +
            $" {Count("t_allows")} allows, {Count("t_blocked")} blocked notes; verdict {v.Matches.Count} matches ({distinct} distinct filter/span)," +
            $" {v.Matches.Count(x => x.Steps.Count > 0)} with steps; {bytes} B allocated per evaluation");
    }

    /// <summary>One message cut into 1 KB pieces, each timed on its own: finds the part of a hostile text that is slow.</summary>
    private static void Segments(BenchState s, string name)
    {
        var text = s.Messages[name].Text;
        var norm = new NormalizedText(2048);
        for (var at = 0; at < text.Length; at += 1024)
        {
            var piece = text.Substring(at, Math.Min(1024, text.Length - at));
            var chat = new Gateway.Policy.Model.ChatMessage
            {
                Protocol = "bench",
                Sender = "@user:example.org",
                Room = "!room:example.org",
                Fields = [new Gateway.Policy.Model.MessageField(Gateway.Policy.Model.FieldKind.Body, piece)],
            };
            Console.WriteLine($"{name}[{at,5}] normalise {Time(() => TextNormalizer.Normalize(piece, norm)),9:F2} µs" +
                $"  evaluate {Time(() => s.Policy.Evaluate(chat)),9:F2} µs  {piece[..Math.Min(40, piece.Length)].Replace('\n', ' ')}");
        }

        var unkeyed = new Regex(string.Join('|', s.Corpus.Filters.SelectMany(f => f.Regexes)
            .Where(p => RegexFactors.Find(p) is null && RegexFactors.FindSqueezed(p) is null).Select(p => "(?i:" + p + ")")),
            RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        for (var length = 1024; length < 2 * text.Length; length *= 2)
        {
            var prefix = text[..Math.Min(length, text.Length)];
            var chat = new Gateway.Policy.Model.ChatMessage
            {
                Protocol = "bench",
                Sender = "@user:example.org",
                Room = "!room:example.org",
                Fields = [new Gateway.Policy.Model.MessageField(Gateway.Policy.Model.FieldKind.Body, prefix)],
            };
            var norm2 = new NormalizedText(prefix.Length + 16);
            TextNormalizer.Normalize(prefix, norm2);
            var ntext = norm2.ToString();
            var hits = new List<LiteralHit>();
            Console.WriteLine($"{name}[..{prefix.Length,5}] evaluate {Time(() => s.Policy.Evaluate(chat)),9:F2} µs" +
                $"  literal {Time(() => { hits.Clear(); s.Automaton.FindAll(ntext, hits); }),9:F2} µs ({hits.Count} hits)" +
                $"  unkeyed regex {Time(() => unkeyed.IsMatch(ntext)),9:F2} µs");
        }
    }

    /// <summary>Which regexes the gateway can gate by literal factors, what matches where, and what a
    /// NonBacktracking alternation of each group costs on the clean 1 KB message.</summary>
    private static void Regexes(BenchState s)
    {
        var all = s.Corpus.Filters.SelectMany(f => f.Regexes).ToList();
        var ungated = all.Where(p => RegexFactors.Find(p) is null).ToList();
        var separated = ungated.Where(p => p.Contains(@"[\W_]*", StringComparison.Ordinal)).ToList();
        var others = ungated.Except(separated).ToList();
        var options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;
        foreach (var name in new[] { "hits-1k", "hostile-regex", "hostile-densehits" })
        {
            var text = s.Messages[name].Normalized.ToString();
            foreach (var p in all)
            {
                var factors = RegexFactors.Find(p);
                var armed = factors is not null && factors.Any(f => text.Contains(f, StringComparison.Ordinal));
                var matches = new Regex(p, options | RegexOptions.IgnoreCase).Count(text);
                if (matches > 0 || armed)
                {
                    Console.WriteLine($"{name}: /{p}/ matches {matches}, factors {(factors is null ? "none" : string.Join(",", factors))}, armed {armed}");
                }
            }
        }

        var clean = s.Messages["clean-1k"].Normalized.ToString();
        var sum = 0.0;
        foreach (var p in ungated)
        {
            var one = new Regex(p, options | RegexOptions.IgnoreCase);
            var us = Time(() => one.IsMatch(clean));
            sum += us;
            Console.WriteLine($"  {us,6:F2} µs  /{p}/");
        }

        Console.WriteLine($"  {sum,6:F2} µs  all ungated one by one");
        AppContext.SetData(Engines.SearchValuesEngine.MaxAutomataSizeSwitch, 1_000_000);
        foreach (var (name, set) in new[] { ("all", all), ("ungated", ungated), ("separated", separated), ("others", others) })
        {
            var rx = new Regex(string.Join('|', set.Select(p => "(?i:" + p + ")")), options);
            Console.WriteLine($"{name,-9} {set.Count,3} regexes: one alternation {Time(() => rx.IsMatch(clean)):F2} µs on clean-1k");
        }
    }

    /// <summary>Fastest of 40 rounds of ~5 ms each, in µs per call: on a shared machine the minimum is the least
    /// disturbed figure (the engine run reports BenchmarkDotNet's means instead).</summary>
    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        while (sw.ElapsedMilliseconds < 200)
        {
            action();
        }

        sw.Restart();
        var n = 0;
        while (sw.ElapsedMilliseconds < 5)
        {
            action();
            n++;
        }

        var best = double.MaxValue;
        for (var r = 0; r < 40; r++)
        {
            sw.Restart();
            for (var i = 0; i < n; i++)
            {
                action();
            }

            best = Math.Min(best, sw.Elapsed.TotalMilliseconds * 1000 / n);
        }

        return best;
    }
}
