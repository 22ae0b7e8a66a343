using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
    private readonly int _maxLength;

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
        foreach (var length in patternLength)
        {
            _maxLength = Math.Max(_maxLength, length);
        }
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
    public bool ContainsAny(ReadOnlySpan<char> text) => FirstSegmentWithOutput(text) >= 0;

    /// <summary>Reports every occurrence (overlapping ones included) to <paramref name="hits"/>, in end order.</summary>
    public void FindAll(ReadOnlySpan<char> text, List<LiteralHit> hits)
    {
        // Most messages have no hit at all: prove that with the interleaved scan, and walk the text one character at
        // a time (reporting) only from the first quarter that has an output.
        var from = FirstSegmentWithOutput(text);
        if (from < 0)
        {
            return;
        }

        var state = Resync(text, from);
        var classes = _classes;
        ref var delta = ref MemoryMarshal.GetArrayDataReference(_delta);
        ref var classOf = ref MemoryMarshal.GetArrayDataReference(_classOf);
        for (var i = from; i < text.Length; i++)
        {
            state = Unsafe.Add(ref delta, state + Unsafe.Add(ref classOf, text[i]));
            if (state < 0)
            {
                state = ~state;
                Emit(state / classes, i + 1, hits);
            }
        }
    }

    /// <summary>Texts shorter than this are scanned as one stream: the warm-ups would cost more than they save.</summary>
    private const int InterleaveMinLength = 256;

    /// <summary>
    /// Where the first output can be: -1 when the text contains no pattern at all, otherwise the start of the first
    /// of four equal segments in which an output transition occurs (0 for short texts that had one).
    /// <para>
    /// A DFA scan is a chain of dependent table loads, one per character, so it runs at memory latency, not at the
    /// CPU's throughput. Scanning four segments in one loop gives the CPU four independent chains to overlap (2–3×
    /// on a 1 KB message). Each segment after the first starts <see cref="_maxLength"/> characters early without
    /// reporting: the automaton's state is the longest suffix of the text read so far that is a pattern prefix,
    /// never longer than the longest pattern, so after that warm-up it is exactly the state a single scan would have.
    /// </para>
    /// </summary>
    private int FirstSegmentWithOutput(ReadOnlySpan<char> text)
    {
        ref var delta = ref MemoryMarshal.GetArrayDataReference(_delta);
        ref var classOf = ref MemoryMarshal.GetArrayDataReference(_classOf);
        ref var t = ref MemoryMarshal.GetReference(text);
        var n = text.Length;
        if (n < InterleaveMinLength || n < 8 * _maxLength)
        {
            var s = 0;
            for (var i = 0; i < n; i++)
            {
                s = Unsafe.Add(ref delta, s + Unsafe.Add(ref classOf, Unsafe.Add(ref t, i)));
                if (s < 0)
                {
                    return 0;
                }
            }

            return -1;
        }

        var len = n / 4;
        int b1 = len, b2 = 2 * len, b3 = 3 * len;
        var s0 = 0;
        var s1 = Resync(text, b1);
        var s2 = Resync(text, b2);
        var s3 = Resync(text, b3);
        var hit = 0; // bit k: segment k had an output
        for (var j = 0; j < len; j++)
        {
            s0 = Unsafe.Add(ref delta, s0 + Unsafe.Add(ref classOf, Unsafe.Add(ref t, j)));
            s1 = Unsafe.Add(ref delta, s1 + Unsafe.Add(ref classOf, Unsafe.Add(ref t, b1 + j)));
            s2 = Unsafe.Add(ref delta, s2 + Unsafe.Add(ref classOf, Unsafe.Add(ref t, b2 + j)));
            s3 = Unsafe.Add(ref delta, s3 + Unsafe.Add(ref classOf, Unsafe.Add(ref t, b3 + j)));
            if ((s0 | s1 | s2 | s3) < 0)
            {
                hit |= (s0 < 0 ? 1 : 0) | (s1 < 0 ? 2 : 0) | (s2 < 0 ? 4 : 0) | (s3 < 0 ? 8 : 0);
                if ((hit & 1) != 0)
                {
                    return 0; // nothing earlier to prove clean
                }

                s0 = s0 < 0 ? ~s0 : s0;
                s1 = s1 < 0 ? ~s1 : s1;
                s2 = s2 < 0 ? ~s2 : s2;
                s3 = s3 < 0 ? ~s3 : s3;
            }
        }

        // The last segment also owns the n % 4 characters left over.
        for (var i = 4 * len; i < n && (hit & 8) == 0; i++)
        {
            s3 = Unsafe.Add(ref delta, s3 + Unsafe.Add(ref classOf, Unsafe.Add(ref t, i)));
            if (s3 < 0)
            {
                hit |= 8;
            }
        }

        return hit == 0 ? -1 : (hit & 2) != 0 ? b1 : (hit & 4) != 0 ? b2 : b3;
    }

    /// <summary>The state a scan from the start would be in at <paramref name="position"/>, computed from the last
    /// <see cref="_maxLength"/> characters before it (outputs there are ignored: they belong to earlier text).</summary>
    private int Resync(ReadOnlySpan<char> text, int position)
    {
        ref var delta = ref MemoryMarshal.GetArrayDataReference(_delta);
        ref var classOf = ref MemoryMarshal.GetArrayDataReference(_classOf);
        var s = 0;
        for (var i = Math.Max(0, position - _maxLength); i < position; i++)
        {
            s = Unsafe.Add(ref delta, s + Unsafe.Add(ref classOf, text[i]));
            s ^= s >> 31; // ~s when negative: the state without its output mark
        }

        return s;
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
