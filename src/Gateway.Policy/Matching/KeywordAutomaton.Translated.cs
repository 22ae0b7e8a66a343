// Over 400 lines because the translated scan, its seam fix-ups and the vector translation share one block layout
// (eight chains, step by step) and one set of reporting rules; split, each would need the others to be read.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gateway.Policy.Matching;

/// <summary>
/// The interleaved scan over a translated copy of the text. The plain interleaved loop reads, per character and
/// chain, the chain's text pointer (eight of them do not fit in registers), the character, its class and the next
/// state: a clean 1 KB message ran at the CPU's load throughput, not at memory latency (a text of one repeated
/// character, whose table reads all hit one cache line, took exactly as long). Here the characters of the eight
/// stretches are first turned into their class bytes, 64 at a time with two AVX-512 byte permutes (a 128-entry
/// table lookup and an 8 × 8 transpose), into a small block laid out step by step: the eight chains' classes for
/// one step are eight adjacent bytes. The scan loop then reads one class byte and one table entry per character,
/// all from one pointer, with the eight states in registers.
/// </summary>
public sealed partial class KeywordAutomaton
{
    /// <summary>Steps translated at a time: 8 × 256 bytes, which stay in L1 while the loop reads them.</summary>
    private const int Block = 256;

    /// <summary>Every class fits in a byte (at most 256 classes): the translated scan applies.</summary>
    private readonly bool _byteClasses;

    /// <summary>The classes of U+0000–U+007F as two 64-byte tables for the permute (when AVX-512 VBMI is there).</summary>
    private readonly Vector512<byte> _asciiLow;
    private readonly Vector512<byte> _asciiHigh;

    /// <summary>Byte k × 8 + j (chain k, step j) goes to j × 8 + k.</summary>
    private static readonly Vector512<byte> Transpose = CreateTranspose();

    [ThreadStatic]
    private static byte[]? t_classBlock;

    /// <summary>How the interleaved scan reads the text (the benchmarks and tests compare them).</summary>
    internal enum ScanPath
    {
        /// <summary>Translated when the classes fit in a byte, with AVX-512 when the CPU has it.</summary>
        Auto,

        /// <summary>The eight chains reading the text and the class table directly.</summary>
        Direct,

        /// <summary>Translated without vector instructions.</summary>
        TranslatedScalar,
    }

    /// <summary>AVX-512 VBMI (byte permutes) and BW (word-to-byte narrowing) are both there.</summary>
    private static bool VectorTranslate => Avx512Vbmi.IsSupported && Avx512BW.IsSupported;

    /// <summary><see cref="FindAll(ReadOnlySpan{char}, List{LiteralHit})"/> along a chosen path.</summary>
    internal void FindAll(ReadOnlySpan<char> text, List<LiteralHit> hits, ScanPath path) => Scan(text, hits, path);

    private static (bool Fits, Vector512<byte> Low, Vector512<byte> High) ByteClassTables(ushort[] classOf, int classes)
    {
        if (classes > 256)
        {
            return (false, default, default);
        }

        var table = new byte[128];
        for (var c = 0; c < 128; c++)
        {
            table[c] = (byte)classOf[c];
        }

        return (true, Vector512.Create(table.AsSpan(0, 64)), Vector512.Create(table.AsSpan(64, 64)));
    }

    private static Vector512<byte> CreateTranspose()
    {
        var index = new byte[64];
        for (var o = 0; o < 64; o++)
        {
            index[o] = (byte)((o % Chains * Chains) + (o / Chains));
        }

        return Vector512.Create(index);
    }

    /// <summary>The eight chains' states between blocks.</summary>
    private struct ChainStates
    {
        public nint S0;
        public nint S1;
        public nint S2;
        public nint S3;
        public nint S4;
        public nint S5;
        public nint S6;
        public nint S7;
    }

    /// <summary>Per marked step: the step, then the eight chains' states as read (marked ones negative).</summary>
    private const int MarkRecord = 1 + Chains;

    [ThreadStatic]
    private static int[]? t_marks;

    /// <summary>
    /// <see cref="Scan"/> over translated blocks, with seam fix-ups instead of warm-ups: chain k starts at the root at
    /// its stretch's first character, so it finds every occurrence that starts inside its stretch, and only those
    /// (and reads exactly its stretch, 127 steps on 1 KB instead of 150). What it misses are the occurrences that
    /// start before its stretch and end inside it; <see cref="FixSeam"/> finds them afterwards from chain k − 1's
    /// final state, which is the one-stream state at the seam. Same hits, same order as one stream.
    /// </summary>
    private bool ScanTranslated(ReadOnlySpan<char> text, List<LiteralHit>? hits, int len, bool vector)
    {
        var n = text.Length;
        var block = t_classBlock ??= new byte[Chains * Block];
        var marks = t_marks ??= new int[MarkRecord * Block];
        ref var delta = ref MemoryMarshal.GetArrayDataReference(_delta);
        var states = default(ChainStates);
        var cleared = false;
        for (var from = 0; from < len; from += Block)
        {
            var count = Math.Min(Block, len - from);
            Translate(text, len, from, count, block, vector);
            var recorded = Run(ref delta, ref MemoryMarshal.GetArrayDataReference(block), count, ref states,
                ref MemoryMarshal.GetArrayDataReference(marks));
            if (recorded == 0)
            {
                continue;
            }

            // Every mark is an occurrence in the text (each chain reads from the root, inside the text).
            if (hits is null)
            {
                return true;
            }

            Report(marks, recorded, from, len, hits, ref cleared);
        }

        // The last chain also owns the n % 8 characters left over.
        var ends = MemoryMarshal.CreateReadOnlySpan(ref states.S0, Chains);
        ref var classOf = ref MemoryMarshal.GetArrayDataReference(_classOf);
        var s7 = (int)states.S7;
        for (var i = 8 * len; i < n; i++)
        {
            s7 = Unsafe.Add(ref delta, s7 + Unsafe.Add(ref classOf, text[i]));
            if (s7 < 0)
            {
                if (hits is null)
                {
                    return true;
                }

                s7 = ~s7;
                Emit(s7 / _classes, i + 1, ChainLists(ref cleared)[6]);
            }
        }

        for (var k = 1; k < Chains; k++)
        {
            if (ends[k - 1] != 0 && FixSeam(text, k * len, (int)ends[k - 1], hits is null ? null : ChainLists(ref cleared)[k - 1]))
            {
                if (hits is null)
                {
                    return true;
                }
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

    [ThreadStatic]
    private static List<LiteralHit>? t_seamHits;

    /// <summary>
    /// The occurrences that start before <paramref name="seam"/> and end after it, found by scanning on from the
    /// one-stream state there (<paramref name="state"/>) until that state's depth is no more than the characters
    /// read since the seam: from then on it is the state the chain that started at the root at the seam has, and
    /// every occurrence still to come starts inside the stretch. The ones found are merged into the chain's list
    /// (<paramref name="list"/>, in end order): at one end, the longer occurrences come first, as in one stream.
    /// Returns whether there was one.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool FixSeam(ReadOnlySpan<char> text, int seam, int state, List<LiteralHit>? list)
    {
        var found = t_seamHits ??= [];
        found.Clear();
        var s = state;
        for (var pos = seam; pos < text.Length; pos++)
        {
            s = _delta[s + _classOf[text[pos]]];
            var read = pos + 1 - seam;
            if (s < 0)
            {
                s = ~s;
                for (var o = s / _classes; o >= 0; o = _stateOutputs[o].Link)
                {
                    var record = _stateOutputs[o];
                    if (record.Count > 0 && _outputs[(2 * record.Start) + 1] <= read)
                    {
                        break; // this state's patterns and all shorter ones start inside the stretch
                    }

                    if (list is null && record.Count > 0)
                    {
                        return true;
                    }

                    for (var k = 2 * record.Start; k < 2 * (record.Start + record.Count); k += 2)
                    {
                        found.Add(new LiteralHit(_outputs[k], pos + 1 - _outputs[k + 1], pos + 1));
                    }
                }
            }

            if (read + 1 >= _depthStart.Length || s < _depthStart[read + 1])
            {
                break;
            }
        }

        if (found.Count == 0 || list is null)
        {
            return false;
        }

        var at = 0;
        foreach (var h in found)
        {
            while (at < list.Count && list[at].End < h.End)
            {
                at++;
            }

            list.Insert(at++, h);
        }

        return true;
    }

    /// <summary>
    /// Reports the recorded marks of one block: chain k read text[k × len + j] at step j and reports what ends
    /// there, in step order (chain 0 into the result, the others into their own lists).
    /// </summary>
    private void Report(int[] marks, int recorded, int from, int len, List<LiteralHit> hits, ref bool cleared)
    {
        var lists = ChainLists(ref cleared);
        for (var r = 0; r < recorded; r++)
        {
            var record = marks.AsSpan(r * MarkRecord, MarkRecord);
            var j = from + record[0];
            for (var k = 0; k < Chains; k++)
            {
                var state = record[1 + k];
                if (state < 0)
                {
                    Emit(~state / _classes, (k * len) + j + 1, k == 0 ? hits : lists[k - 1]);
                }
            }
        }
    }

    /// <summary>
    /// Steps the eight chains over one block. A step that reaches a marked state is recorded (the step and all eight
    /// states, for <see cref="Report"/>) and the marks are cleared without a branch per chain; nothing in the loop
    /// calls out, so the states stay in registers. Returns how many steps were recorded.
    /// </summary>
    private static int Run(ref int delta, ref byte p, int count, ref ChainStates states, ref int marks)
    {
        var s0 = states.S0;
        var s1 = states.S1;
        var s2 = states.S2;
        var s3 = states.S3;
        var s4 = states.S4;
        var s5 = states.S5;
        var s6 = states.S6;
        var s7 = states.S7;
        var recorded = 0;
        for (var j = 0; j < count; j++)
        {
            s0 = Unsafe.Add(ref delta, s0 + Unsafe.Add(ref p, 0));
            s1 = Unsafe.Add(ref delta, s1 + Unsafe.Add(ref p, 1));
            s2 = Unsafe.Add(ref delta, s2 + Unsafe.Add(ref p, 2));
            s3 = Unsafe.Add(ref delta, s3 + Unsafe.Add(ref p, 3));
            s4 = Unsafe.Add(ref delta, s4 + Unsafe.Add(ref p, 4));
            s5 = Unsafe.Add(ref delta, s5 + Unsafe.Add(ref p, 5));
            s6 = Unsafe.Add(ref delta, s6 + Unsafe.Add(ref p, 6));
            s7 = Unsafe.Add(ref delta, s7 + Unsafe.Add(ref p, 7));
            p = ref Unsafe.Add(ref p, Chains);
            if ((s0 | s1 | s2 | s3 | s4 | s5 | s6 | s7) < 0)
            {
                ref var r = ref Unsafe.Add(ref marks, recorded * MarkRecord);
                r = j;
                Unsafe.Add(ref r, 1) = (int)s0;
                Unsafe.Add(ref r, 2) = (int)s1;
                Unsafe.Add(ref r, 3) = (int)s2;
                Unsafe.Add(ref r, 4) = (int)s3;
                Unsafe.Add(ref r, 5) = (int)s4;
                Unsafe.Add(ref r, 6) = (int)s5;
                Unsafe.Add(ref r, 7) = (int)s6;
                Unsafe.Add(ref r, 8) = (int)s7;
                recorded++;

                // ~s for a marked state, s for the others: s XOR (its sign spread over all bits).
                s0 ^= s0 >> 63;
                s1 ^= s1 >> 63;
                s2 ^= s2 >> 63;
                s3 ^= s3 >> 63;
                s4 ^= s4 >> 63;
                s5 ^= s5 >> 63;
                s6 ^= s6 >> 63;
                s7 ^= s7 >> 63;
            }
        }

        states.S0 = s0;
        states.S1 = s1;
        states.S2 = s2;
        states.S3 = s3;
        states.S4 = s4;
        states.S5 = s5;
        states.S6 = s6;
        states.S7 = s7;
        return recorded;
    }

    /// <summary>
    /// Writes the classes of steps [<paramref name="from"/>, <paramref name="from"/> + <paramref name="count"/>) of
    /// the eight chains into the block, step by step. Groups of eight steps whose characters are all ASCII take the
    /// vector path; the others (and the last partial group) are looked up one by one.
    /// </summary>
    private void Translate(ReadOnlySpan<char> text, int len, int from, int count, byte[] block, bool vector)
    {
        Span<int> starts = stackalloc int[Chains];
        for (var k = 0; k < Chains; k++)
        {
            starts[k] = (k * len) + from;
        }

        if (!vector || !VectorTranslate || count < Chains)
        {
            for (var g = 0; g < count; g += Chains)
            {
                TranslateGroup(text, starts, g, Math.Min(Chains, count - g), block);
            }

            return;
        }

        ref var t = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text));
        ref var b = ref MemoryMarshal.GetArrayDataReference(block);
        var low = _asciiLow;
        var high = _asciiHigh;
        var transpose = Transpose;
        var ascii = Vector512.Create((ushort)0x7F);
        for (var next = 0; next < count; next += Chains)
        {
            // The last group ends at the block's end, overlapping the one before (it writes the same bytes again).
            var g = Math.Min(next, count - Chains);
            var w0 = Vector512.Create(
                Vector256.Create(Vector128.LoadUnsafe(ref t, (nuint)(starts[0] + g)), Vector128.LoadUnsafe(ref t, (nuint)(starts[1] + g))),
                Vector256.Create(Vector128.LoadUnsafe(ref t, (nuint)(starts[2] + g)), Vector128.LoadUnsafe(ref t, (nuint)(starts[3] + g))));
            var w1 = Vector512.Create(
                Vector256.Create(Vector128.LoadUnsafe(ref t, (nuint)(starts[4] + g)), Vector128.LoadUnsafe(ref t, (nuint)(starts[5] + g))),
                Vector256.Create(Vector128.LoadUnsafe(ref t, (nuint)(starts[6] + g)), Vector128.LoadUnsafe(ref t, (nuint)(starts[7] + g))));
            var bytes = Vector512.Create(Avx512BW.ConvertToVector256Byte(w0), Avx512BW.ConvertToVector256Byte(w1));
            var classes = Avx512Vbmi.PermuteVar64x8x2(low, bytes, high);
            Avx512Vbmi.PermuteVar64x8(classes, transpose).StoreUnsafe(ref b, (nuint)(g * Chains));
            if (Vector512.GreaterThanAny(w0 | w1, ascii))
            {
                // Lane k × 8 + j is chain k's step g + j; the non-ASCII ones are looked up one by one.
                var other = Vector512.GreaterThan(w0, ascii).ExtractMostSignificantBits()
                    | ((ulong)Vector512.GreaterThan(w1, ascii).ExtractMostSignificantBits() << 32);
                while (other != 0)
                {
                    var lane = BitOperations.TrailingZeroCount(other);
                    other &= other - 1;
                    var k = lane / Chains;
                    var j = g + (lane % Chains);
                    Unsafe.Add(ref b, (j * Chains) + k) = (byte)_classOf[text[starts[k] + j]];
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void TranslateGroup(ReadOnlySpan<char> text, ReadOnlySpan<int> starts, int g, int steps, byte[] block)
    {
        for (var j = g; j < g + steps; j++)
        {
            for (var k = 0; k < Chains; k++)
            {
                block[(j * Chains) + k] = (byte)_classOf[text[starts[k] + j]];
            }
        }
    }
}
