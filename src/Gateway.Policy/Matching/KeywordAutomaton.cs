using System.Runtime.CompilerServices;

namespace Gateway.Policy.Matching;

/// <summary>One literal occurrence found by the automaton: pattern index and normalised range [Start, End).</summary>
public readonly record struct LiteralHit(int Pattern, int Start, int End);

/// <summary>
/// Aho–Corasick compiled to a dense DFA over a compressed alphabet: every character a pattern uses gets a class,
/// every other character shares class 0. Scanning is one table read per input character with no branches on
/// pattern count, so 10 or 100,000 terms cost the same per byte (memory grows with states × classes).
/// Built once per policy snapshot; immutable and thread-safe afterwards.
/// </summary>
public sealed class KeywordAutomaton
{
    private readonly ushort[] _classOf;      // char → alphabet class
    private readonly int[] _delta;           // (state * classes + class) → next state, already multiplied by classes
    private readonly int _classes;
    private readonly bool[] _hasOutput;      // indexed by state / classes
    private readonly int[] _outputStart;     // per state: range in _outputs of its own patterns
    private readonly int[] _outputCount;
    private readonly int[] _outputs;         // pattern indices
    private readonly int[] _dictLink;        // per state: nearest proper suffix state with output, or -1
    private readonly int[] _patternLength;

    private KeywordAutomaton(ushort[] classOf, int[] delta, int classes, bool[] hasOutput, int[] outputStart,
        int[] outputCount, int[] outputs, int[] dictLink, int[] patternLength)
    {
        _classOf = classOf;
        _delta = delta;
        _classes = classes;
        _hasOutput = hasOutput;
        _outputStart = outputStart;
        _outputCount = outputCount;
        _outputs = outputs;
        _dictLink = dictLink;
        _patternLength = patternLength;
    }

    public int PatternCount => _patternLength.Length;

    public int StateCount => _hasOutput.Length;

    public static KeywordAutomaton Empty { get; } = Build(Array.Empty<string>());

    /// <summary>Builds the automaton. Patterns must be non-empty and already normalised.</summary>
    public static KeywordAutomaton Build(IReadOnlyList<string> patterns)
    {
        // 1. Alphabet compression.
        var classOf = new ushort[65536];
        var classes = 1;
        foreach (var p in patterns)
        {
            foreach (var c in p)
            {
                if (classOf[c] == 0)
                {
                    classOf[c] = (ushort)classes++;
                }
            }
        }

        // 2. Trie with sparse children while building.
        var children = new List<Dictionary<int, int>?> { null };
        var ownOutputs = new List<List<int>?> { null };
        var patternLength = new int[patterns.Count];
        for (var pi = 0; pi < patterns.Count; pi++)
        {
            var p = patterns[pi];
            if (p.Length == 0)
            {
                throw new ArgumentException("empty pattern", nameof(patterns));
            }

            patternLength[pi] = p.Length;
            var s = 0;
            foreach (var c in p)
            {
                var cls = classOf[c];
                var map = children[s] ??= new Dictionary<int, int>();
                if (!map.TryGetValue(cls, out var next))
                {
                    next = children.Count;
                    children.Add(null);
                    ownOutputs.Add(null);
                    map[cls] = next;
                }

                s = next;
            }

            (ownOutputs[s] ??= new List<int>()).Add(pi);
        }

        var stateCount = children.Count;
        var delta = new int[checked(stateCount * classes)];
        var fail = new int[stateCount];
        var dictLink = new int[stateCount];
        var hasOutput = new bool[stateCount];
        Array.Fill(dictLink, -1);

        // 3. BFS: failure links folded into a complete transition table.
        var queue = new Queue<int>();
        for (var cls = 0; cls < classes; cls++)
        {
            if (children[0] is { } rootMap && rootMap.TryGetValue(cls, out var child))
            {
                delta[cls] = child * classes;
                fail[child] = 0;
                queue.Enqueue(child);
            }
            else
            {
                delta[cls] = 0;
            }
        }

        while (queue.Count > 0)
        {
            var s = queue.Dequeue();
            var f = fail[s];
            dictLink[s] = ownOutputs[f] is not null ? f : dictLink[f];
            hasOutput[s] = ownOutputs[s] is not null || dictLink[s] >= 0;
            var map = children[s];
            for (var cls = 0; cls < classes; cls++)
            {
                if (map is not null && map.TryGetValue(cls, out var child))
                {
                    delta[s * classes + cls] = child * classes;
                    fail[child] = delta[f * classes + cls] / classes;
                    queue.Enqueue(child);
                }
                else
                {
                    delta[s * classes + cls] = delta[f * classes + cls];
                }
            }
        }

        // Mark transitions into output states with the sign bit so the scan loop tests one comparison.
        for (var k = 0; k < delta.Length; k++)
        {
            if (hasOutput[delta[k] / classes])
            {
                delta[k] = ~delta[k];
            }
        }

        // 4. Flatten outputs.
        var outputStart = new int[stateCount];
        var outputCount = new int[stateCount];
        var outputs = new List<int>();
        for (var s = 0; s < stateCount; s++)
        {
            outputStart[s] = outputs.Count;
            if (ownOutputs[s] is { } own)
            {
                outputs.AddRange(own);
                outputCount[s] = own.Count;
            }
        }

        return new KeywordAutomaton(classOf, delta, classes, hasOutput, outputStart, outputCount, outputs.ToArray(),
            dictLink, patternLength);
    }

    /// <summary>True when any pattern occurs in the text (no hit details; the clean-message fast path).</summary>
    public bool ContainsAny(ReadOnlySpan<char> text)
    {
        var state = 0;
        var delta = _delta;
        var classOf = _classOf;
        foreach (var c in text)
        {
            state = delta[state + classOf[c]];
            if (state < 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reports every occurrence (overlapping ones included) to <paramref name="hits"/>.</summary>
    public void FindAll(ReadOnlySpan<char> text, List<LiteralHit> hits)
    {
        var state = 0;
        var classes = _classes;
        var delta = _delta;
        var classOf = _classOf;
        for (var i = 0; i < text.Length; i++)
        {
            state = delta[state + classOf[text[i]]];
            if (state < 0)
            {
                state = ~state;
                Emit(state / classes, i + 1, hits);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Emit(int s, int end, List<LiteralHit> hits)
    {
        while (s >= 0)
        {
            var start = _outputStart[s];
            var count = _outputCount[s];
            for (var k = 0; k < count; k++)
            {
                var p = _outputs[start + k];
                hits.Add(new LiteralHit(p, end - _patternLength[p], end));
            }

            s = _dictLink[s];
        }
    }
}
