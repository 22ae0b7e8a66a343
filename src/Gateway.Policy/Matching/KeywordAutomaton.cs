// Over 400 lines on purpose: building the DFA and scanning with it share one table layout (state x character class)
// and its output marks; keeping the build, the interleaved scan and its warm-up rules in one place keeps them in step.
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
public sealed partial class KeywordAutomaton
{
    private readonly ushort[] _classOf;      // char → alphabet class
    private readonly int[] _delta;           // (state * classes + class) → next state, already multiplied by classes
    private readonly int _classes;
    private readonly bool[] _hasOutput;      // indexed by state / classes
    private readonly StateOutput[] _stateOutputs; // per state: its own patterns and its dictionary link, together
    private readonly int[] _outputs;         // pairs: pattern index, pattern length
    private readonly int[] _patternLength;
    private readonly int _maxLength;
    private readonly int _transparentClass;  // -1: none
    private readonly int[] _depthStart;      // [d]: the first state of depth d (states are breadth-first), × classes; then the end

    private KeywordAutomaton(ushort[] classOf, int[] delta, int classes, bool[] hasOutput, int[] outputStart,
        int[] outputCount, int[] outputs, int[] dictLink, int[] patternLength, int transparentClass, int[] depthStart)
    {
        _depthStart = depthStart;
        _transparentClass = transparentClass;
        _classOf = classOf;
        _delta = delta;
        _classes = classes;
        _hasOutput = hasOutput;
        // Emit reads one state's record, then one (pattern, length) pair per pattern: in a text of nothing but hits
        // that is two cache lines per output instead of five scattered arrays.
        _stateOutputs = new StateOutput[outputStart.Length];
        for (var st = 0; st < outputStart.Length; st++)
        {
            _stateOutputs[st] = new StateOutput(outputStart[st], outputCount[st], dictLink[st]);
        }

        _outputs = new int[2 * outputs.Length];
        for (var k = 0; k < outputs.Length; k++)
        {
            _outputs[2 * k] = outputs[k];
            _outputs[(2 * k) + 1] = patternLength[outputs[k]];
        }

        _patternLength = patternLength;
        foreach (var length in patternLength)
        {
            _maxLength = Math.Max(_maxLength, length);
        }

        (_byteClasses, _asciiLow, _asciiHigh) = ByteClassTables(classOf, classes);
    }

    public int PatternCount => _patternLength.Length;

    public int StateCount => _hasOutput.Length;

    /// <summary>The longest pattern's length (0 when there are none).</summary>
    internal int MaxPatternLength => _maxLength;

    public static KeywordAutomaton Empty { get; } = Build(Array.Empty<string>());

    /// <summary>In a pattern: any one of <see cref="MaskCharacters"/> (a private-use character no text folds to).</summary>
    internal const char MaskSlot = '\uF8FF';

    /// <summary>Characters people put in place of a letter to mask it.</summary>
    internal const string MaskCharacters = "*#%";

    /// <summary>Builds the automaton. Patterns must be non-empty and already normalised.</summary>
    public static KeywordAutomaton Build(IReadOnlyList<string> patterns) => Build(patterns, transparent: null);

    /// <summary>
    /// Builds the automaton. With <paramref name="transparent"/>, the characters it marks (which no pattern may
    /// contain) leave the state unchanged: the automaton then finds the patterns in the text with those characters
    /// squeezed out ("k-r.o n" contains "kron"). The regex gating uses that for separator-tolerant patterns.
    /// </summary>
    internal static KeywordAutomaton Build(IReadOnlyList<string> patterns, bool[]? transparent)
    {
        var (classOf, classes, transparentClass) = Alphabet(patterns, transparent);
        return BuildFlat(patterns, classOf, classes, transparentClass);
    }

    /// <summary>
    /// Alphabet compression: every character a pattern uses gets a class, the others share class 0; the mask
    /// characters share the mask slot's class; the transparent characters get a class of their own.
    /// </summary>
    private static (ushort[] ClassOf, int Classes, int TransparentClass) Alphabet(IReadOnlyList<string> patterns, bool[]? transparent)
    {
        var classOf = new ushort[65536];
        var classes = 1;
        foreach (var p in patterns)
        {
            foreach (var c in p)
            {
                if (transparent is not null && transparent[c])
                {
                    throw new ArgumentException("a pattern contains a transparent character", nameof(patterns));
                }

                if (classOf[c] == 0)
                {
                    classOf[c] = (ushort)classes++;
                }
            }
        }

        // A pattern character MaskSlot stands for one masking character ("f*ck", "sh#t"): the mask characters share
        // its class, unless a pattern uses one of them literally (then that one keeps its own class).
        if (classOf[MaskSlot] != 0)
        {
            foreach (var m in MaskCharacters)
            {
                if (classOf[m] == 0)
                {
                    classOf[m] = classOf[MaskSlot];
                }
            }
        }

        var transparentClass = -1;
        if (transparent is not null)
        {
            transparentClass = classes++;
            for (var c = 0; c < 65536; c++)
            {
                if (transparent[c])
                {
                    classOf[c] = (ushort)transparentClass;
                }
            }
        }

        return (classOf, classes, transparentClass);
    }

    /// <summary>True when any pattern occurs in the text (no hit details; the clean-message fast path).</summary>
    public bool ContainsAny(ReadOnlySpan<char> text) => Scan(text, null);

    /// <summary>Reports every occurrence (overlapping ones included) to <paramref name="hits"/>, in end order.</summary>
    public void FindAll(ReadOnlySpan<char> text, List<LiteralHit> hits) => Scan(text, hits);

    /// <summary>
    /// Reports the occurrences that lie entirely inside [<paramref name="from"/>, <paramref name="to"/>) of the text,
    /// with positions in the whole text, in the order <see cref="FindAll(ReadOnlySpan{char}, List{LiteralHit})"/>
    /// reports them (a scan that starts at <paramref name="from"/> reaches, at each end, a suffix-link ancestor of
    /// the whole scan's state, whose output chain is the tail of the whole scan's one).
    /// </summary>
    internal void FindAll(ReadOnlySpan<char> text, int from, int to, List<LiteralHit> hits)
    {
        var first = hits.Count;
        Scan(text[from..to], hits);
        if (from != 0)
        {
            var added = CollectionsMarshal.AsSpan(hits)[first..];
            for (var k = 0; k < added.Length; k++)
            {
                added[k] = new LiteralHit(added[k].Pattern, added[k].Start + from, added[k].End + from);
            }
        }
    }

    /// <summary>
    /// <see cref="FindAll(ReadOnlySpan{char}, List{LiteralHit})"/> without the interleaving: the reference the
    /// differential tests and <c>PolicySnapshot.Exhaustive</c> compare the fast scan with.
    /// </summary>
    internal void FindAllOneStream(ReadOnlySpan<char> text, List<LiteralHit> hits) => ScanOneStream(text, hits);

    /// <summary>Texts shorter than this are scanned as one stream: the warm-ups would cost more than they save.</summary>
    private const int InterleaveMinLength = 256;

    /// <summary>How many stretches of the text one interleaved scan walks side by side.</summary>
    private const int Chains = 8;

    [ThreadStatic]
    private static List<LiteralHit>[]? t_chainHits;

    /// <summary>
    /// Scans the text; with <paramref name="hits"/> null, stops at the first output and says whether there was one.
    /// <para>
    /// A DFA scan is a chain of dependent table loads, one per character, so it runs at memory latency, not at the
    /// CPU's throughput. Cutting the text into eight stretches scanned in one loop gives the CPU eight independent
    /// chains to overlap (on a 1 KB message 8 chains took 0.62 µs where 4 took 0.79 and one stream ~2). Each chain
    /// starts a warm-up of at least <see cref="_maxLength"/> characters that move the automaton before its stretch:
    /// the automaton's state is the longest suffix of the text read so far that is a pattern prefix, never longer
    /// than the longest pattern, so from its stretch's first character on it is exactly the state one stream would
    /// have. A chain reports only the occurrences that end inside its own stretch (a mark during the warm-up, or
    /// past the stretch for the first chain, which runs on into the next one, is the next chain's or the previous
    /// one's); the stretches report into their own lists, appended in order: the same hits in the same order as one
    /// stream. All chains run the same number of steps, so the warm-ups cost no loop of their own.
    /// </para>
    /// </summary>
    private bool Scan(ReadOnlySpan<char> text, List<LiteralHit>? hits, ScanPath path = ScanPath.Auto)
    {
        var n = text.Length;
        var len = n / Chains;
        var warm = n < InterleaveMinLength ? -1 : WarmUp(text, len);
        if (warm < 0)
        {
            return ScanOneStream(text, hits);
        }

        if (_byteClasses && _transparentClass < 0 && path != ScanPath.Direct)
        {
            return ScanTranslated(text, hits, len, vector: path == ScanPath.Auto);
        }

        ref var delta = ref MemoryMarshal.GetArrayDataReference(_delta);
        ref var classOf = ref MemoryMarshal.GetArrayDataReference(_classOf);
        ref var t0 = ref MemoryMarshal.GetReference(text);
        ref var t1 = ref Unsafe.Add(ref t0, 1 * len - warm);
        ref var t2 = ref Unsafe.Add(ref t0, 2 * len - warm);
        ref var t3 = ref Unsafe.Add(ref t0, 3 * len - warm);
        ref var t4 = ref Unsafe.Add(ref t0, 4 * len - warm);
        ref var t5 = ref Unsafe.Add(ref t0, 5 * len - warm);
        ref var t6 = ref Unsafe.Add(ref t0, 6 * len - warm);
        ref var t7 = ref Unsafe.Add(ref t0, 7 * len - warm);
        var s0 = 0; var s1 = 0; var s2 = 0; var s3 = 0; var s4 = 0; var s5 = 0; var s6 = 0; var s7 = 0;
        var steps = len + warm;
        var cleared = false;
        for (var j = 0; j < steps; j++)
        {
            s0 = Unsafe.Add(ref delta, s0 + Unsafe.Add(ref classOf, Unsafe.Add(ref t0, j)));
            s1 = Unsafe.Add(ref delta, s1 + Unsafe.Add(ref classOf, Unsafe.Add(ref t1, j)));
            s2 = Unsafe.Add(ref delta, s2 + Unsafe.Add(ref classOf, Unsafe.Add(ref t2, j)));
            s3 = Unsafe.Add(ref delta, s3 + Unsafe.Add(ref classOf, Unsafe.Add(ref t3, j)));
            s4 = Unsafe.Add(ref delta, s4 + Unsafe.Add(ref classOf, Unsafe.Add(ref t4, j)));
            s5 = Unsafe.Add(ref delta, s5 + Unsafe.Add(ref classOf, Unsafe.Add(ref t5, j)));
            s6 = Unsafe.Add(ref delta, s6 + Unsafe.Add(ref classOf, Unsafe.Add(ref t6, j)));
            s7 = Unsafe.Add(ref delta, s7 + Unsafe.Add(ref classOf, Unsafe.Add(ref t7, j)));
            if ((s0 | s1 | s2 | s3 | s4 | s5 | s6 | s7) < 0)
            {
                // Any mark is an occurrence in the text (a chain reports only what lies inside what it read).
                if (hits is null)
                {
                    return true;
                }

                var lists = ChainLists(ref cleared);
                EmitInside(ref s0, j + 1, 0, len, hits);
                EmitInside(ref s1, 1 * len - warm + j + 1, 1 * len, 2 * len, lists[0]);
                EmitInside(ref s2, 2 * len - warm + j + 1, 2 * len, 3 * len, lists[1]);
                EmitInside(ref s3, 3 * len - warm + j + 1, 3 * len, 4 * len, lists[2]);
                EmitInside(ref s4, 4 * len - warm + j + 1, 4 * len, 5 * len, lists[3]);
                EmitInside(ref s5, 5 * len - warm + j + 1, 5 * len, 6 * len, lists[4]);
                EmitInside(ref s6, 6 * len - warm + j + 1, 6 * len, 7 * len, lists[5]);
                EmitInside(ref s7, 7 * len - warm + j + 1, 7 * len, n, lists[6]);
            }
        }

        // The last chain also owns the n % 8 characters left over.
        for (var i = 8 * len; i < n; i++)
        {
            s7 = Unsafe.Add(ref delta, s7 + Unsafe.Add(ref classOf, Unsafe.Add(ref t0, i)));
            if (s7 < 0)
            {
                if (hits is null)
                {
                    return true;
                }

                EmitInside(ref s7, i + 1, 0, n, ChainLists(ref cleared)[6]);
            }
        }

        if (hits is null || !cleared)
        {
            return false;
        }

        foreach (var list in t_chainHits!)
        {
            hits.AddRange(list);
        }

        return true;
    }

    /// <summary>The lists of chains 1..7, cleared the first time a scan needs them.</summary>
    private static List<LiteralHit>[] ChainLists(ref bool cleared)
    {
        var lists = t_chainHits ??= CreateChainLists();
        if (!cleared)
        {
            cleared = true;
            foreach (var list in lists)
            {
                list.Clear();
            }
        }

        return lists;
    }

    private static List<LiteralHit>[] CreateChainLists()
    {
        var lists = new List<LiteralHit>[Chains - 1];
        for (var k = 0; k < lists.Length; k++)
        {
            lists[k] = new List<LiteralHit>();
        }

        return lists;
    }

    /// <summary>
    /// How many characters before its stretch each chain must start so that at least <see cref="_maxLength"/> of them
    /// move the automaton (transparent ones do not); -1 when that is more than half a stretch (one stream is then
    /// cheaper).
    /// </summary>
    private int WarmUp(ReadOnlySpan<char> text, int len)
    {
        if (_transparentClass < 0)
        {
            return 2 * _maxLength <= len ? _maxLength : -1;
        }

        var warm = 0;
        for (var k = 1; k < Chains; k++)
        {
            var from = k * len;
            for (var counted = 0; from > 0 && counted < _maxLength;)
            {
                from--;
                counted += _classOf[text[from]] != _transparentClass ? 1 : 0;
            }

            warm = Math.Max(warm, k * len - from);
        }

        return 2 * warm <= len ? warm : -1;
    }

    private bool ScanOneStream(ReadOnlySpan<char> text, List<LiteralHit>? hits)
    {
        ref var delta = ref MemoryMarshal.GetArrayDataReference(_delta);
        ref var classOf = ref MemoryMarshal.GetArrayDataReference(_classOf);
        ref var t = ref MemoryMarshal.GetReference(text);
        var s = 0;
        var any = false;
        for (var i = 0; i < text.Length; i++)
        {
            s = Unsafe.Add(ref delta, s + Unsafe.Add(ref classOf, Unsafe.Add(ref t, i)));
            if (s < 0)
            {
                if (hits is null)
                {
                    return true;
                }

                s = ~s;
                any = true;
                Emit(s / _classes, i + 1, hits);
            }
        }

        return any;
    }

    /// <summary>Clears a chain's output mark and reports its occurrences when they end inside (lo, hi].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EmitInside(ref int state, int end, int lo, int hi, List<LiteralHit> hits)
    {
        if (state < 0)
        {
            state = ~state;
            if (end > lo && end <= hi)
            {
                Emit(state / _classes, end, hits);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Emit(int s, int end, List<LiteralHit> hits)
    {
        while (s >= 0)
        {
            var o = _stateOutputs[s];
            for (var k = 2 * o.Start; k < 2 * (o.Start + o.Count); k += 2)
            {
                hits.Add(new LiteralHit(_outputs[k], end - _outputs[k + 1], end));
            }

            s = o.Link;
        }
    }

    /// <summary>One state's own patterns (<see cref="_outputs"/> pairs [Start, Start + Count)) and its dictionary link:
    /// the nearest proper suffix state with output, or -1.</summary>
    private readonly record struct StateOutput(int Start, int Count, int Link);
}
