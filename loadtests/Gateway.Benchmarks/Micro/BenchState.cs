using System.Diagnostics;
using System.Text;
using Gateway.Benchmarks.Corpus;
using Gateway.Benchmarks.Engines;
using Gateway.Policy.Matching;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Policy.Text;

namespace Gateway.Benchmarks.Micro;

/// <summary>One message prepared for every engine: the string, its UTF-8 bytes (Vectorscan), the chat message (the
/// gateway), its normalised form (the literal stage alone) and the ranges the gateway censors.</summary>
internal sealed class MessageData
{
    public required string Name { get; init; }

    public required string Text { get; init; }

    public required byte[] Utf8 { get; init; }

    public required ChatMessage Chat { get; init; }

    public required NormalizedText Normalized { get; init; }

    public required List<(int Start, int End)> CensorRanges { get; init; }
}

/// <summary>
/// Everything the benchmarks share, built once per process (the in-process toolchain runs every case in this
/// process): the corpus, the gateway's compiled policy, and the three baselines over the same filters.
/// </summary>
internal sealed class BenchState
{
    private static readonly Lazy<BenchState> Lazy = new(() => new BenchState());

    private BenchState()
    {
        Corpus = BenchCorpus.Create();
        // The gateway compiles first: the .NET baseline raises NonBacktracking's process-wide size cap, and the
        // gateway must be measured as it runs in its own process, with the default cap.
        var sw = Stopwatch.StartNew();
        Policy = PolicyCompiler.Compile(Corpus.Filters);
        PolicyCompileMs = sw.Elapsed.TotalMilliseconds;

        // The literal stage alone: the same normalised keywords and allow terms the policy's automaton holds.
        var literals = new List<string>();
        foreach (var f in Corpus.Filters)
        {
            foreach (var t in f.Keywords.Concat(f.Allow))
            {
                if (KeywordTerm.TryParse(t, out var term, out _))
                {
                    literals.Add(term.Normalized);
                }
            }
        }

        Literals = literals;
        Automaton = KeywordAutomaton.Build(literals);

        sw.Restart();
        Naive = new NaiveRegexEngine(Corpus.Filters);
        NaiveBuildMs = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        DotNet = new SearchValuesEngine(Corpus.Filters);
        DotNetBuildMs = sw.Elapsed.TotalMilliseconds;

        if (VectorscanDatabase.IsAvailable())
        {
            sw.Restart();
            VectorscanLiterals = VectorscanDatabase.Compile(literals.Select(l => (VectorscanDatabase.EscapeLiteral(l), VectorscanDatabase.Caseless)).ToList());
            VectorscanAll = VectorscanDatabase.Compile(literals.Select(l => (VectorscanDatabase.EscapeLiteral(l), VectorscanDatabase.Caseless))
                .Concat(Corpus.Filters.SelectMany(f => f.Regexes).Select(p => (p, VectorscanDatabase.Caseless | VectorscanDatabase.SingleMatch)))
                .ToList());
            VectorscanBuildMs = sw.Elapsed.TotalMilliseconds;
        }

        var data = new Dictionary<string, MessageData>(StringComparer.Ordinal);
        foreach (var (name, text) in Corpus.Messages.Concat(Corpus.Hostile))
        {
            var chat = new ChatMessage
            {
                Protocol = "bench",
                Sender = "@user:example.org",
                Room = "!room:example.org",
                Fields = [new MessageField(FieldKind.Body, text)],
            };
            var normalized = new NormalizedText(text.Length + 16);
            TextNormalizer.Normalize(text, normalized);
            var verdict = Policy.Evaluate(chat);
            var ranges = verdict.Matches.Where(m => m.Action == FilterAction.Censor && !m.DryRun).Select(m => (m.Start, m.End)).ToList();
            data[name] = new MessageData
            {
                Name = name,
                Text = text,
                Utf8 = Encoding.UTF8.GetBytes(text),
                Chat = chat,
                Normalized = normalized,
                CensorRanges = ranges,
            };
        }

        Messages = data;
    }

    public static BenchState Shared => Lazy.Value;

    public BenchCorpus Corpus { get; }

    public PolicySnapshot Policy { get; }

    public double PolicyCompileMs { get; }

    public IReadOnlyList<string> Literals { get; }

    public KeywordAutomaton Automaton { get; }

    public NaiveRegexEngine Naive { get; }

    public double NaiveBuildMs { get; }

    public SearchValuesEngine DotNet { get; }

    public double DotNetBuildMs { get; }

    public VectorscanDatabase? VectorscanLiterals { get; }

    public VectorscanDatabase? VectorscanAll { get; }

    public double VectorscanBuildMs { get; }

    public IReadOnlyDictionary<string, MessageData> Messages { get; }

    /// <summary>
    /// Every engine must agree before anything is timed: clean messages are clean and the hit messages are censored
    /// by all three full engines. Returns one line per message describing what each engine found.
    /// </summary>
    public IReadOnlyList<string> Verify()
    {
        var lines = new List<string>();
        foreach (var m in Messages.Values)
        {
            var g = Policy.Evaluate(m.Chat);
            var n = Naive.Evaluate(m.Text);
            var d = DotNet.Evaluate(m.Text);
            var vl = VectorscanLiterals?.Scan(m.Utf8) ?? -1;
            var hits = new List<LiteralHit>();
            Automaton.FindAll(m.Normalized.Span, hits);
            lines.Add($"{m.Name}: {m.Text.Length} chars, {m.Utf8.Length} UTF-8 bytes; gateway {g.Action} ({g.Matches.Count} matches, " +
                $"{hits.Count} literal hits), naive {n.Action} ({n.Hits}), dotnet {d.Action} ({d.Hits}), vectorscan {vl} literal hits");
            if (m.Name.StartsWith("clean", StringComparison.Ordinal)
                && (!g.IsClean || n.Action != VerdictAction.Forward || n.Hits != 0 || d.Action != VerdictAction.Forward || d.Hits != 0))
            {
                throw new InvalidOperationException("corpus: a clean message is not clean for every engine: " + lines[^1]);
            }

            if (m.Name.StartsWith("hits", StringComparison.Ordinal)
                && (g.Action != VerdictAction.Censor || n.Action != VerdictAction.Censor || d.Action != VerdictAction.Censor))
            {
                throw new InvalidOperationException("corpus: a hit message is not censored by every engine: " + lines[^1]);
            }
        }

        return lines;
    }
}
