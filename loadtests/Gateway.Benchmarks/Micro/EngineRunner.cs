using System.Diagnostics;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Gateway.Benchmarks.Report;
using Perfolizer.Horology;

namespace Gateway.Benchmarks.Micro;

/// <summary>One measured case: an engine's stage on one message.</summary>
internal sealed record EngineResult(string Suite, string Engine, string Stage, string Message, int Chars, int Utf8Bytes,
    double MeanNs, double MedianNs, double StdDevNs, long? AllocatedBytes)
{
    public double MeanUs => MeanNs / 1000;

    public double MBPerSecond => Utf8Bytes / (MeanNs / 1e9) / 1e6;
}

internal sealed record CorpusInfo(ulong Seed, int Filters, int Keywords, int AllowTerms, int Regexes, int AutomatonStates,
    double PolicyCompileMs, int NaiveRegexCount, double VectorscanCompileMs, string VectorscanVersion);

internal sealed record EngineRun(CorpusInfo Corpus, IReadOnlyList<string> Verification, IReadOnlyList<EngineResult> Results,
    double WallSeconds, string Job);

/// <summary>
/// Runs the engine micro-benchmarks with BenchmarkDotNet in this process (in-process toolchain: no generated project
/// to build, and the corpus and compiled engines are built once for every case), a short fixed job, the memory
/// diagnoser, and writes <c>engine.json</c> plus BenchmarkDotNet's own log and reports into the raw folder.
/// </summary>
internal static class EngineRunner
{
    public const string JobDescription = "BenchmarkDotNet 0.15.8, in-process, 1 launch, 3 warm-up + 8 measured iterations of ~100 ms, no forced GC between iterations, no overhead subtraction, MemoryDiagnoser";

    public static int Run(string rawDir, string? filter)
    {
        var sw = Stopwatch.StartNew();
        Directory.CreateDirectory(rawDir);
        var state = BenchState.Shared;
        var verification = state.Verify();
        foreach (var line in verification)
        {
            Console.WriteLine("  corpus " + line);
        }

        WarmUp();

        var job = new Job("short")
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(8)
            .WithIterationTime(TimeInterval.FromMilliseconds(100))
            // The shared state (10k-keyword automaton, compiled regexes) makes a forced full GC cost ~0.2 s, and
            // BenchmarkDotNet forces one around every iteration by default: that alone would take ten minutes.
            .WithGcForce(false)
            // Every case takes hundreds of nanoseconds or more; the ~2 ns call overhead is not worth 20 iterations.
            .WithEvaluateOverhead(false);
        var logPath = Path.Combine(rawDir, "engine-benchmarkdotnet.log");
        using var log = new ProgressLogger(logPath);
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddExporter(MarkdownExporter.GitHub)
            .AddLogger(log)
            .WithArtifactsPath(Path.Combine(rawDir, "benchmarkdotnet"))
            .WithOptions(ConfigOptions.DisableLogFile);
        if (!string.IsNullOrEmpty(filter))
        {
            // Several globs separated by '|' select the union (e.g. the gateway and Vectorscan cases of one stage).
            config = config.AddFilter(new BenchmarkDotNet.Filters.GlobFilter(filter.Split('|')));
        }

        var summaries = BenchmarkRunner.Run([typeof(Stages), typeof(Censoring), typeof(Hostile), typeof(Protections)], config);
        var results = new List<EngineResult>();
        foreach (var summary in summaries)
        {
            foreach (var report in summary.Reports)
            {
                var c = report.BenchmarkCase;
                var message = (string)c.Parameters["Message"];
                var data = state.Messages[message];
                var (engine, stage) = Split(c.Descriptor.WorkloadMethod.Name);
                var stats = report.ResultStatistics;
                if (stats is null)
                {
                    Console.Error.WriteLine($"  no result for {c.Descriptor.Type.Name}.{c.Descriptor.WorkloadMethod.Name}({message})");
                    continue;
                }

                results.Add(new EngineResult(c.Descriptor.Type.Name, engine, stage, message, data.Text.Length, data.Utf8.Length,
                    stats.Mean, stats.Median, stats.StandardDeviation, report.GcStats.GetBytesAllocatedPerOperation(c)));
            }
        }

        var corpus = new CorpusInfo(Corpus.BenchCorpus.Seed, state.Corpus.Filters.Count, state.Corpus.KeywordCount, state.Corpus.AllowCount,
            state.Corpus.RegexCount, state.Automaton.StateCount, state.PolicyCompileMs, state.Naive.RegexCount, state.VectorscanBuildMs,
            Engines.VectorscanDatabase.IsAvailable() ? Engines.VectorscanDatabase.Version : "not installed");
        var run = new EngineRun(corpus, verification, results, sw.Elapsed.TotalSeconds, JobDescription);
        Json.Write(Path.Combine(rawDir, "engine.json"), run);
        Console.WriteLine($"  engine: {results.Count} cases in {sw.Elapsed.TotalSeconds:F0} s");
        return results.Count > 0 ? 0 : 1;
    }

    /// <summary>
    /// Every benchmark method on every message for a while before BenchmarkDotNet starts, then a pause: the cases
    /// share one process, and without this the first ones ran partly on tier-0 code while the JIT was still busy
    /// (a gateway is a long-running process; its steady state is what counts). bench.sh also sets
    /// DOTNET_TC_CallCountingDelayMs=0 so methods are promoted as soon as they are hot.
    /// </summary>
    private static void WarmUp()
    {
        var sw = Stopwatch.StartNew();
        foreach (var type in new[] { typeof(Stages), typeof(Censoring), typeof(Hostile), typeof(Protections) })
        {
            var messages = (string[])type.GetProperty("Message")!.GetCustomAttributes(typeof(BenchmarkDotNet.Attributes.ParamsAttribute), false)
                .Cast<BenchmarkDotNet.Attributes.ParamsAttribute>().Single().Values.Cast<string>().ToArray();
            foreach (var message in messages)
            {
                var instance = Activator.CreateInstance(type)!;
                type.GetProperty("Message")!.SetValue(instance, message);
                type.GetMethod("Setup")!.Invoke(instance, null);
                foreach (var method in type.GetMethods().Where(m => m.GetCustomAttributes(typeof(BenchmarkDotNet.Attributes.BenchmarkAttribute), false).Length > 0))
                {
                    var clock = Stopwatch.StartNew();
                    for (var i = 0; i < 3 || (clock.ElapsedMilliseconds < 60 && i < 20_000); i++)
                    {
                        method.Invoke(instance, null);
                    }
                }
            }
        }

        Thread.Sleep(1000); // let the background tier-1 compilations finish
        Console.WriteLine($"  warm-up: {sw.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>"GatewayNormalize" → ("gateway", "normalise").</summary>
    private static (string Engine, string Stage) Split(string method)
    {
        foreach (var (prefix, engine) in new[] { ("Gateway", "gateway"), ("Naive", "naive-regex-loop"), ("DotNet", "dotnet-searchvalues-nb"), ("Vectorscan", "vectorscan") })
        {
            if (method.StartsWith(prefix, StringComparison.Ordinal))
            {
                var stage = method[prefix.Length..] switch
                {
                    "Normalize" => "normalise",
                    "Match" => "match",
                    "Evaluate" => "evaluate",
                    "Censor" => "censor",
                    "ScanAll" => "scan-all",
                    var s => s.ToLowerInvariant(),
                };
                return (engine, stage);
            }
        }

        return ("?", method);
    }

    /// <summary>Everything BenchmarkDotNet says goes to a file; the console gets one line per case.</summary>
    private sealed class ProgressLogger(string path) : ILogger, IDisposable
    {
        private readonly StreamWriter _file = new(path);
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _case;

        public string Id => "progress";

        public int Priority => 0;

        public void Write(LogKind logKind, string text) => _file.Write(text);

        public void WriteLine() => _file.WriteLine();

        public void WriteLine(LogKind logKind, string text)
        {
            _file.Write(_clock.Elapsed.TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture));
            _file.Write(' ');
            _file.WriteLine(text);
            if (text.StartsWith("// Benchmark: ", StringComparison.Ordinal))
            {
                Console.WriteLine($"  [{++_case}] {text["// Benchmark: ".Length..]}");
            }
        }

        public void Flush() => _file.Flush();

        public void Dispose() => _file.Dispose();
    }
}
