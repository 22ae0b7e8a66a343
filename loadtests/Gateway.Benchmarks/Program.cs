using Gateway.Benchmarks.Micro;

// make bench runs: engine (BenchmarkDotNet), http (wrk), report (table + latest.json). See loadtests/README.md.
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
    case "engine":
        return EngineRunner.Run(raw, Option("--filter", ""));
    default:
        Console.Error.WriteLine("usage: Gateway.Benchmarks verify|engine|http|report [--raw DIR] ...");
        return 2;
}
