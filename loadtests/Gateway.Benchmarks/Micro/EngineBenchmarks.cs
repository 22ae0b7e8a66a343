using BenchmarkDotNet.Attributes;
using Gateway.Benchmarks.Engines;
using Gateway.Policy.Matching;
using Gateway.Policy.Rules;
using Gateway.Policy.Text;

namespace Gateway.Benchmarks.Micro;

// Method names are parsed by EngineRunner: <Engine><Stage>. Each returns its result so nothing is optimised away.

/// <summary>Every engine's stages on ordinary chat: 1 KB and 16 KB, clean and with hits.</summary>
public class Stages
{
    private MessageData _m = null!;
    private BenchState _s = null!;
    private NormalizedText _norm = null!;
    private readonly List<LiteralHit> _hits = new(4096);

    [Params("clean-1k", "hits-1k", "clean-16k", "hits-16k")]
    public string Message { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _s = BenchState.Shared;
        _m = _s.Messages[Message];
        _norm = new NormalizedText(_m.Text.Length + 16);
    }

    [Benchmark]
    public int GatewayNormalize()
    {
        TextNormalizer.Normalize(_m.Text, _norm);
        return _norm.Length;
    }

    [Benchmark]
    public int GatewayMatch()
    {
        _hits.Clear();
        _s.Automaton.FindAll(_m.Normalized.Span, _hits);
        return _hits.Count;
    }

    [Benchmark]
    public Verdict GatewayEvaluate() => _s.Policy.Evaluate(_m.Chat);

    [Benchmark]
    public int NaiveMatch() => _s.Naive.MatchLiterals(_m.Text);

    [Benchmark]
    public Outcome NaiveEvaluate() => _s.Naive.Evaluate(_m.Text);

    [Benchmark]
    public int DotNetMatch() => _s.DotNet.MatchLiterals(_m.Text);

    [Benchmark]
    public Outcome DotNetEvaluate() => _s.DotNet.Evaluate(_m.Text);

    [Benchmark]
    public int VectorscanMatch() => _s.VectorscanLiterals!.Scan(_m.Utf8);

    [Benchmark]
    public int VectorscanScanAll() => _s.VectorscanAll!.Scan(_m.Utf8);
}

/// <summary>Censoring alone: the gateway's grapheme-aware rewrite of the ranges its evaluation found.</summary>
public class Censoring
{
    private MessageData _m = null!;

    [Params("hits-1k", "hits-16k", "hostile-densehits")]
    public string Message { get; set; } = "";

    [GlobalSetup]
    public void Setup() => _m = BenchState.Shared.Messages[Message];

    [Benchmark]
    public string GatewayCensor() => PolicySnapshot.CensorText(_m.Text, _m.CensorRanges);
}

/// <summary>16 KB built to hurt: near-misses, evasions, regex bait, nothing but hits.</summary>
public class Hostile
{
    private MessageData _m = null!;
    private BenchState _s = null!;
    private NormalizedText _norm = null!;
    private readonly List<LiteralHit> _hits = new(4096);

    [Params("hostile-nearmiss", "hostile-evasion", "hostile-regex", "hostile-densehits")]
    public string Message { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _s = BenchState.Shared;
        _m = _s.Messages[Message];
        _norm = new NormalizedText(_m.Text.Length + 16);
    }

    [Benchmark]
    public int GatewayNormalize()
    {
        TextNormalizer.Normalize(_m.Text, _norm);
        return _norm.Length;
    }

    [Benchmark]
    public int GatewayMatch()
    {
        _hits.Clear();
        _s.Automaton.FindAll(_m.Normalized.Span, _hits);
        return _hits.Count;
    }

    [Benchmark]
    public Verdict GatewayEvaluate() => _s.Policy.Evaluate(_m.Chat);

    [Benchmark]
    public Outcome NaiveEvaluate() => _s.Naive.Evaluate(_m.Text);

    [Benchmark]
    public Outcome DotNetEvaluate() => _s.DotNet.Evaluate(_m.Text);

    [Benchmark]
    public int VectorscanScanAll() => _s.VectorscanAll!.Scan(_m.Utf8);
}
