using Gateway.Benchmarks.Micro;

// make bench runs: engine (BenchmarkDotNet), http (wrk), ws (WebSocket relay), report (table + latest.json); see loadtests/bench.sh.
// verify checks the corpus against every engine; quick is a rough timer for trying an engine change.
var verb = args.Length > 0 ? args[0] : "";
string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

var raw = Option("--raw", "loadtests/results/raw");
switch (verb)
{
    case "verify":
        foreach (var line in BenchState.Shared.Verify())
        {
            Console.WriteLine(line);
        }

        return 0;
    case "quick":
        QuickTimer.Run(Option("--filter", ""));
        return 0;
    case "engine":
        return EngineRunner.Run(raw, Option("--filter", ""));
    case "http":
        return await Gateway.Benchmarks.Http.HttpRunner.RunAsync(raw, Option("--repo", "."),
            int.Parse(Option("--connections", "64"), System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(Option("--seconds", "10"), System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(Option("--warmup", "3"), System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(Option("--rounds", "3"), System.Globalization.CultureInfo.InvariantCulture),
            Option("--pin", "none") == "split");
    case "ws":
        return await Gateway.Benchmarks.Http.WsRunner.RunAsync(raw, Option("--repo", "."),
            int.Parse(Option("--connections", "200"), System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(Option("--seconds", "5"), System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(Option("--rounds", "3"), System.Globalization.CultureInfo.InvariantCulture));
    case "report":
        var wall = Option("--wall-seconds", "");
        return Gateway.Benchmarks.Report.ReportWriter.Run(raw, Option("--out", "loadtests/results/latest.json"),
            wall.Length == 0 ? null : double.Parse(wall, System.Globalization.CultureInfo.InvariantCulture));
    default:
        Console.Error.WriteLine("usage: Gateway.Benchmarks verify|quick|engine|http|ws|report [--raw DIR] ... (see loadtests/bench.sh)");
        return 2;
}
