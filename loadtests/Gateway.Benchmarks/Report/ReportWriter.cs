using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Gateway.Benchmarks.Http;
using Gateway.Benchmarks.Micro;

namespace Gateway.Benchmarks.Report;

internal sealed record MachineInfo(string Cpu, int LogicalCores, double MemoryGb, string Os, string Kernel, string Dotnet,
    string Vectorscan, string Nginx, string Wrk, string LoadAverageAtEnd);

/// <summary>One goal from the performance issue: the ratio (or figure) measured in this run against its target.</summary>
internal sealed record Goal(string Name, string Target, double Measured, string Unit, bool Met, string Detail);

internal sealed record EngineRow(string Engine, string Stage, string Message, int Utf8Bytes, double MeanUs, double MBPerSecond,
    long? AllocatedBytesPerMessage);

internal sealed record LatestResults(string Generated, MachineInfo Machine, double? MakeBenchSeconds, CorpusInfo Corpus,
    string EngineJob, IReadOnlyList<EngineRow> Engine, HttpRun? Http, IReadOnlyDictionary<string, double> Ratios,
    IReadOnlyList<Goal> Goals, IReadOnlyList<string> Notes);

/// <summary>Reads the raw engine and HTTP results, computes the issue's ratios, writes latest.json and prints the tables.</summary>
internal static class ReportWriter
{
    public static int Run(string rawDir, string outPath, double? wallSeconds)
    {
        var engine = Json.Read<EngineRun>(Path.Combine(rawDir, "engine.json"));
        var httpPath = Path.Combine(rawDir, "http.json");
        var http = File.Exists(httpPath) ? Json.Read<HttpRun>(httpPath) : null;

        var rows = engine.Results
            .Select(r => new EngineRow(r.Engine, r.Stage, r.Message, r.Utf8Bytes, Math.Round(r.MeanNs / 1000, 3), Math.Round(r.MBPerSecond, 1), r.AllocatedBytes))
            .ToList();
        double Us(string engineName, string stage, string message) =>
            rows.FirstOrDefault(r => r.Engine == engineName && r.Stage == stage && r.Message == message)?.MeanUs ?? double.NaN;
        long? Alloc(string engineName, string stage, string message) =>
            rows.FirstOrDefault(r => r.Engine == engineName && r.Stage == stage && r.Message == message)?.AllocatedBytesPerMessage;

        var ratios = new Dictionary<string, double>(StringComparer.Ordinal);
        var goals = new List<Goal>();
        void Ratio(string name, double value) => ratios[name] = Math.Round(value, 3);

        // Engine goals.
        var literal = Us("gateway", "match", "clean-1k") / Us("vectorscan", "match", "clean-1k");
        Ratio("literal_stage_1k_clean_gateway_over_vectorscan", literal);
        Ratio("literal_stage_1k_hits_gateway_over_vectorscan", Us("gateway", "match", "hits-1k") / Us("vectorscan", "match", "hits-1k"));
        Ratio("literal_stage_1k_clean_dotnet_searchvalues_over_vectorscan", Us("dotnet-searchvalues-nb", "match", "clean-1k") / Us("vectorscan", "match", "clean-1k"));
        goals.Add(new Goal("Literal stage, 10k keywords, 1 KB clean message: gateway ÷ Vectorscan", "≤ 1.5", ratios["literal_stage_1k_clean_gateway_over_vectorscan"], "×",
            literal <= 1.5, $"{Us("gateway", "match", "clean-1k"):F2} µs vs {Us("vectorscan", "match", "clean-1k"):F2} µs"));

        var evaluate = Us("gateway", "evaluate", "clean-1k") / Us("dotnet-searchvalues-nb", "evaluate", "clean-1k");
        Ratio("evaluate_1k_clean_gateway_over_dotnet", evaluate);
        Ratio("evaluate_1k_hits_gateway_over_dotnet", Us("gateway", "evaluate", "hits-1k") / Us("dotnet-searchvalues-nb", "evaluate", "hits-1k"));
        Ratio("evaluate_1k_clean_naive_over_gateway", Us("naive-regex-loop", "evaluate", "clean-1k") / Us("gateway", "evaluate", "clean-1k"));
        Ratio("evaluate_1k_hits_naive_over_gateway", Us("naive-regex-loop", "evaluate", "hits-1k") / Us("gateway", "evaluate", "hits-1k"));
        goals.Add(new Goal("Whole evaluation, 1 KB clean message: gateway ÷ SearchValues + NonBacktracking alternation", "≤ 0.5",
            ratios["evaluate_1k_clean_gateway_over_dotnet"], "×", evaluate <= 0.5,
            $"{Us("gateway", "evaluate", "clean-1k"):F2} µs vs {Us("dotnet-searchvalues-nb", "evaluate", "clean-1k"):F2} µs; " +
            $"the naive regex loop takes {ratios["evaluate_1k_clean_naive_over_gateway"]:F0}× the gateway's time"));

        var cleanAlloc = (Alloc("gateway", "evaluate", "clean-1k") ?? -1) + (Alloc("gateway", "evaluate", "clean-16k") ?? -1);
        goals.Add(new Goal("Allocations evaluating a clean message (1 KB + 16 KB)", "0 B", cleanAlloc, "B", cleanAlloc == 0,
            $"1 KB: {Alloc("gateway", "evaluate", "clean-1k")} B, 16 KB: {Alloc("gateway", "evaluate", "clean-16k")} B"));

        var censor = Us("gateway", "evaluate", "hits-1k") / Us("gateway", "evaluate", "clean-1k");
        Ratio("evaluate_1k_hits_over_clean", censor);
        Ratio("censor_step_1k_over_evaluate_clean_1k", Us("gateway", "censor", "hits-1k") / Us("gateway", "evaluate", "clean-1k"));
        goals.Add(new Goal("Censoring: evaluating the 1 KB message with hits ÷ the clean one", "≤ 2", ratios["evaluate_1k_hits_over_clean"], "×", censor <= 2,
            $"{Us("gateway", "evaluate", "hits-1k"):F2} µs vs {Us("gateway", "evaluate", "clean-1k"):F2} µs (the rewrite alone: {Us("gateway", "censor", "hits-1k"):F2} µs)"));

        var hostile = rows.Where(r => r.Engine == "gateway" && r.Stage == "evaluate" && r.Message.StartsWith("hostile", StringComparison.Ordinal)).ToList();
        var worst = hostile.Count == 0 ? double.NaN : hostile.Max(r => r.MeanUs);
        Ratio("evaluate_16k_clean_over_1k_clean", Us("gateway", "evaluate", "clean-16k") / Us("gateway", "evaluate", "clean-1k"));
        goals.Add(new Goal("Worst case: a hostile 16 KB body, whole evaluation", "≤ 200 µs", Math.Round(worst, 1), "µs", worst <= 200,
            string.Join(", ", hostile.Select(r => $"{r.Message["hostile-".Length..]} {r.MeanUs:F0} µs"))));

        // HTTP goals.
        var notes = new List<string>
        {
            "Memory: the conversation context store is measured on its own by loadtests/ContextMemory (see loadtests/README.md), not in this run.",
            "Vectorscan scans UTF-8 bytes prepared in advance and reports matches only (no normalisation, word boundaries or censoring).",
            "The .NET baselines do not normalise (no folding, leetspeak or spaced-letter joining): less work than the gateway does.",
        };
        if (http is not null)
        {
            HttpScenario? S(string name, string load) => http.Scenarios.FirstOrDefault(s => s.Name == name && s.Load == load);
            var yarp = S("bare-yarp", "full")!;
            foreach (var s in http.Scenarios.Where(s => s.Load == "full" && s.Name != "bare-yarp"))
            {
                Ratio($"rps_{s.Name}_over_bare_yarp", s.RequestsPerSecond / yarp.RequestsPerSecond);
            }

            var pass = ratios["rps_gateway-passthrough_over_bare_yarp"];
            goals.Add(new Goal("HTTP: passthrough route ÷ bare YARP, requests/s", "≥ 0.95", pass, "×", pass >= 0.95,
                $"{S("gateway-passthrough", "full")!.RequestsPerSecond:F0} vs {yarp.RequestsPerSecond:F0} req/s; nginx {S("nginx", "full")!.RequestsPerSecond:F0}"));
            foreach (var name in new[] { "gateway-message-clean", "gateway-message-5pct-hits" })
            {
                var r = ratios[$"rps_{name}_over_bare_yarp"];
                goals.Add(new Goal($"HTTP: message route, 10k keywords + 100 regexes ({(name.EndsWith("hits", StringComparison.Ordinal) ? "5 % hits" : "clean")}) ÷ bare YARP, requests/s",
                    "≥ 0.80", r, "×", r >= 0.80, $"{S(name, "full")!.RequestsPerSecond:F0} vs {yarp.RequestsPerSecond:F0} req/s"));
            }

            var yarpHalf = S("bare-yarp", "half")!;
            foreach (var name in new[] { "gateway-passthrough", "gateway-message-clean", "gateway-message-5pct-hits", "nginx" })
            {
                Ratio($"p99_added_ms_half_load_{name}_over_bare_yarp", S(name, "half")!.LatencyP99Ms - yarpHalf.LatencyP99Ms);
            }

            var added = Math.Max(ratios["p99_added_ms_half_load_gateway-message-clean_over_bare_yarp"], ratios["p99_added_ms_half_load_gateway-message-5pct-hits_over_bare_yarp"]);
            goals.Add(new Goal("HTTP: p99 added over bare YARP at half load (message route, worse of clean and 5 % hits)", "≤ 0.5 ms", Math.Round(added, 2), "ms", added <= 0.5,
                $"bare YARP p99 {yarpHalf.LatencyP99Ms:F2} ms at {yarpHalf.RequestsPerSecond:F0} req/s; message route {S("gateway-message-clean", "half")!.LatencyP99Ms:F2} / {S("gateway-message-5pct-hits", "half")!.LatencyP99Ms:F2} ms; nginx {S("nginx", "half")!.LatencyP99Ms:F2} ms"));

            var gw = http.Memory.FirstOrDefault(m => m.Process == "gateway");
            if (gw is not null)
            {
                notes.Add($"Gateway working set after the full-load runs: {gw.RssMb:F0} MB (peak {gw.PeakRssMb:F0} MB); bare YARP {http.Memory.First(m => m.Process == "bare-yarp").RssMb:F0} MB, nginx {http.Memory.First(m => m.Process == "nginx").RssMb:F0} MB.");
            }
        }

        var machine = Machine(engine.Corpus.VectorscanVersion, http);
        var latest = new LatestResults(TimeProvider.System.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), machine, wallSeconds,
            engine.Corpus, engine.Job, rows, http, ratios, goals, notes);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
        Json.Write(outPath, latest);
        Console.WriteLine(Markdown(latest));
        Console.WriteLine($"Written: {outPath}");
        return 0;
    }

    /// <summary>The tables as Markdown: printed by make bench and pasted into README.md's Performance section.</summary>
    public static string Markdown(LatestResults r)
    {
        var sb = new StringBuilder();
        var m = r.Machine;
        sb.AppendLine(CultureInfo.InvariantCulture, $"Machine: {m.Cpu}, {m.LogicalCores} logical cores, {m.MemoryGb:F0} GB; {m.Os}; {m.Dotnet}; {m.Vectorscan}; {m.Nginx}; {m.Wrk}. Load average after the HTTP runs: {m.LoadAverageAtEnd}.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Corpus (seed {r.Corpus.Seed}): {r.Corpus.Keywords:N0} keywords + {r.Corpus.AllowTerms} allow terms in {r.Corpus.Filters} filters, {r.Corpus.Regexes} regexes; automaton {r.Corpus.AutomatonStates:N0} states, policy compiled in {r.Corpus.PolicyCompileMs:F0} ms.");
        sb.AppendLine();
        sb.AppendLine("Engine, µs per message (MB/s; bytes allocated per message). Lower is better.");
        sb.AppendLine();
        sb.AppendLine("| stage | message | gateway | naive regex loop | SearchValues + NonBacktracking | Vectorscan |");
        sb.AppendLine("|---|---|---|---|---|---|");
        string Cell(string engine, string stage, string message)
        {
            var row = r.Engine.FirstOrDefault(x => x.Engine == engine && x.Stage == stage && x.Message == message);
            return row is null ? "—" : $"{Num(row.MeanUs)} ({Num(row.MBPerSecond)} MB/s; {row.AllocatedBytesPerMessage?.ToString(CultureInfo.InvariantCulture) ?? "?"} B)";
        }

        foreach (var (stage, messages) in new[]
        {
            ("normalise", new[] { "clean-1k", "clean-16k" }),
            ("match", new[] { "clean-1k", "hits-1k", "clean-16k", "hits-16k" }),
            ("censor", new[] { "hits-1k", "hits-16k" }),
            ("evaluate", new[] { "clean-1k", "hits-1k", "clean-16k", "hits-16k" }),
            ("evaluate", new[] { "hostile-nearmiss", "hostile-evasion", "hostile-regex", "hostile-densehits" }),
        })
        {
            foreach (var msg in messages)
            {
                var vectorscanStage = stage == "evaluate" ? "scan-all" : stage;
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {stage} | {msg} | {Cell("gateway", stage, msg)} | {Cell("naive-regex-loop", stage, msg)} | {Cell("dotnet-searchvalues-nb", stage, msg)} | {Cell("vectorscan", vectorscanStage, msg)} |");
            }
        }

        sb.AppendLine();
        sb.AppendLine("(Vectorscan's \"evaluate\" cells are one scan of its combined literal + regex database: matching only.)");
        if (r.Http is { } h)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"HTTP on loopback: wrk, {h.Connections} connections, {h.Rounds} rounds of {h.DurationSeconds:F0} s per scenario (median shown), pinning: {h.Pinning}. Half load: a pause of ~{h.HalfLoadPauseMs} ms per connection between requests, calibrated to half of bare YARP's full-load rate.");
            sb.AppendLine();
            sb.AppendLine("| scenario | load | requests/s | ÷ bare YARP | p50 ms | p99 ms | proxy CPU µs/request |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var load in new[] { "full", "half" })
            {
                var yarp = h.Scenarios.First(s => s.Name == "bare-yarp" && s.Load == load);
                foreach (var s in h.Scenarios.Where(s => s.Load == load))
                {
                    sb.AppendLine(CultureInfo.InvariantCulture, $"| {s.Name} | {load} | {s.RequestsPerSecond:F0} | {s.RequestsPerSecond / yarp.RequestsPerSecond:F2} | {s.LatencyP50Ms:F2} | {s.LatencyP99Ms:F2} | {(s.ProxyCpuUsPerRequest is { } c ? c.ToString("F0", CultureInfo.InvariantCulture) : "—")} |");
                }
            }

            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Hit check: {h.HitCheck}. Memory (RSS after the full-load runs, peak): {string.Join(", ", h.Memory.Select(x => $"{x.Process} {x.RssMb:F0} MB ({x.PeakRssMb:F0})"))}.");
        }

        sb.AppendLine();
        sb.AppendLine("| goal | target | this run | met |");
        sb.AppendLine("|---|---|---|---|");
        foreach (var g in r.Goals)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {g.Name} | {g.Target} | {Num(g.Measured)} {g.Unit} ({g.Detail}) | {(g.Met ? "yes" : "**no**")} |");
        }

        sb.AppendLine();
        foreach (var n in r.Notes)
        {
            sb.AppendLine("- " + n);
        }

        if (r.MakeBenchSeconds is { } w)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"- `make bench` took {w / 60:F1} minutes.");
        }

        return sb.ToString();
    }

    private static string Num(double v) => v switch
    {
        double.NaN => "—",
        0 => "0",
        >= 1000 => v.ToString("N0", CultureInfo.InvariantCulture),
        >= 100 => v.ToString("F0", CultureInfo.InvariantCulture),
        >= 10 => v.ToString("F1", CultureInfo.InvariantCulture),
        _ => v.ToString("F2", CultureInfo.InvariantCulture),
    };

    private static MachineInfo Machine(string vectorscan, HttpRun? http)
    {
        string First(string path, string prefix)
        {
            try
            {
                var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
                return line is null ? "?" : line[(line.IndexOf(line.Contains(':', StringComparison.Ordinal) ? ':' : '=') + 1)..].Trim().Trim('"');
            }
            catch (IOException)
            {
                return "?";
            }
        }

        var cores = File.ReadLines("/proc/cpuinfo").Count(l => l.StartsWith("processor", StringComparison.Ordinal));
        var memKb = double.Parse(First("/proc/meminfo", "MemTotal").Split(' ')[0], CultureInfo.InvariantCulture);
        return new MachineInfo(First("/proc/cpuinfo", "model name"), cores, Math.Round(memKb / 1024 / 1024, 1),
            First("/etc/os-release", "PRETTY_NAME"), File.ReadAllText("/proc/sys/kernel/osrelease").Trim(),
            RuntimeInformation.FrameworkDescription, "Vectorscan " + vectorscan.Trim(), http?.NginxVersion ?? "?", http?.WrkVersion.Split(' ')[0] + " " + (http?.WrkVersion.Split(' ').ElementAtOrDefault(1) ?? ""),
            http?.LoadAverageAfter ?? File.ReadAllText("/proc/loadavg").Trim()); // as the run left it
    }
}
