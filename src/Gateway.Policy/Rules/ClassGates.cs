// Over 400 lines on purpose: one gate evaluator (vector block reads, class rows, shifted-mask factor checks) and its
// builder; the builder decides the constraint layout the evaluator reads, so they change together.
using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gateway.Policy.Rules;

/// <summary>
/// Gates for regexes without a literal factor (phone numbers, wallets, runs of punctuation, spaced letters): when
/// their shared NonBacktracking pre-check matches, each runs only if the text holds its class factors
/// (<see cref="RegexFactors.FindClasses"/>) the required number of times, instead of all of them running. The text is read 64
/// characters at a time into one bit mask per class (vectorised nibble lookups, computed only for the blocks and
/// classes a gate asks about), and a factor is the AND of its classes' masks shifted by their offsets, so a clean
/// kilobyte costs a few hundred instructions rather than a DFA step per character per regex.
/// <para>
/// Each condition is necessary, never sufficient: masks are supersets (a non-ASCII character counts as a member
/// of any class that has a non-ASCII member), and <c>\b</c> only rules out a position when both neighbours are
/// surely word characters (ASCII letters, digits, '_') or surely not (other ASCII, or outside the text). A gate that
/// passes lets the regex itself decide.
/// </para>
/// </summary>
internal sealed class ClassGates
{
    private const int WordClass = 0;

    private readonly Gate[] _gates;
    private readonly CharClass[] _classes;
    private readonly Vector256<byte>[] _tables; // per class: for each low nibble, a bit per high nibble 0..7
    private readonly Vector512<byte>[]? _lookup; // per 8 classes: ASCII 0..63 and 64..127 → a bit per class (VBMI)

    private static readonly Vector256<byte> HighBits = Vector256.Create(
        (byte)1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0);

    [ThreadStatic]
    private static Scratch? t_scratch;

    private ClassGates(Gate[] gates, CharClass[] classes, bool oneRead = true)
    {
        _gates = gates;
        _classes = classes;
        if (oneRead && Avx512Vbmi.IsSupported && Avx512BW.IsSupported)
        {
            // One 128-entry byte table per 8 classes: a block of 64 characters is one table lookup (vpermi2b) per 8
            // classes, then a bit test per class, instead of a nibble lookup per class over stored nibble vectors.
            _lookup = new Vector512<byte>[2 * ((classes.Length + 7) / 8)];
            for (var g = 0; 8 * g < classes.Length; g++)
            {
                var t = new byte[128];
                for (var k = 0; k < 8 && (8 * g) + k < classes.Length; k++)
                {
                    for (var c = 0; c < 128; c++)
                    {
                        if (IsAsciiMember(classes[(8 * g) + k], (char)c))
                        {
                            t[c] |= (byte)(1 << k);
                        }
                    }
                }

                _lookup[2 * g] = Vector512.Create(t.AsSpan(0, 64));
                _lookup[(2 * g) + 1] = Vector512.Create(t.AsSpan(64, 64));
            }
        }

        _tables = new Vector256<byte>[classes.Length];
        for (var i = 0; i < classes.Length; i++)
        {
            var t = new byte[32];
            for (var c = 0; c < 128; c++)
            {
                if (IsAsciiMember(classes[i], (char)c))
                {
                    t[c & 15] |= (byte)(1 << (c >> 4));
                    t[16 + (c & 15)] |= (byte)(1 << (c >> 4));
                }
            }

            _tables[i] = Vector256.Create(t);
        }
    }

    public int Count => _gates.Length;

    /// <summary>For tests: the same gates reading each class row on its own (nibble lookups, or scalar without AVX2)
    /// and without the per-text summary: the path every machine without AVX-512 VBMI takes, to compare with.</summary>
    internal ClassGates ClassByClass() => new(_gates, _classes, oneRead: false);

    /// <summary>Whether this machine reads every class row in one pass (and checks the summary first).</summary>
    internal bool ReadsInOnePass => _lookup is not null;

    /// <summary>Sets <paramref name="armed"/> for every regex whose gate passes on <paramref name="text"/>; returns
    /// how many.</summary>
    public int Arm(ReadOnlySpan<char> text, Span<bool> armed) => Arm(text, armed, out _);

    /// <summary><see cref="Arm(ReadOnlySpan{char}, Span{bool})"/>; <paramref name="allAnchored"/>: every gate that
    /// passed needs a rare character (a short member list, see <see cref="Gate.Anchored"/>), so its regex alone is a
    /// quick pass (on a clean 16 KB: 0.3–6 µs, where the combined pass of all class-gated regexes takes ~50 µs).</summary>
    public int Arm(ReadOnlySpan<char> text, Span<bool> armed, out bool allAnchored)
    {
        allAnchored = true;
        if (text.IsEmpty)
        {
            return 0;
        }

        var s = t_scratch ??= new Scratch();
        s.Begin(text.Length, _classes.Length);
        var any = 0;
        foreach (var g in _gates)
        {
            if (!armed[g.Regex] && Passes(g, text, s))
            {
                armed[g.Regex] = true;
                allAnchored &= g.Anchored;
                any++;
            }
        }

        return any;
    }

    /// <summary>Clears every regex this set gates (none has another way to be armed).</summary>
    public void Disarm(Span<bool> armed)
    {
        foreach (var g in _gates)
        {
            armed[g.Regex] = false;
        }
    }

    /// <summary>The regexes this set gates (for <see cref="PolicySnapshot.Exhaustive"/>: all of them armed).</summary>
    public bool ArmAll(Span<bool> armed)
    {
        foreach (var g in _gates)
        {
            armed[g.Regex] = true;
        }

        return _gates.Length > 0;
    }

    /// <summary>For the bench's timer: reads the text into every class row, no gate checked.</summary>
    internal void Prepare(ReadOnlySpan<char> text)
    {
        var s = t_scratch ??= new Scratch();
        s.Begin(text.Length, _classes.Length);
        for (var c = 0; c < _classes.Length; c++)
        {
            Ensure(text, s, c);
        }
    }

    /// <summary>For the bench's timer: gate <paramref name="gate"/> over the rows <see cref="Prepare"/> read from the
    /// same text.</summary>
    internal bool PassesAgain(int gate, ReadOnlySpan<char> text) => Passes(_gates[gate], text, t_scratch!);

    /// <summary>For the bench's timer: the regex gate <paramref name="gate"/> guards.</summary>
    internal int RegexOf(int gate) => _gates[gate].Regex;

    /// <summary>For tests: does the gate of regex <paramref name="regex"/> pass on the text?</summary>
    internal bool Passes(int regex, ReadOnlySpan<char> text)
    {
        var s = t_scratch ??= new Scratch();
        s.Begin(text.Length, _classes.Length);
        foreach (var g in _gates)
        {
            if (g.Regex == regex)
            {
                return !text.IsEmpty && Passes(g, text, s);
            }
        }

        return true;
    }

    private bool Passes(Gate g, ReadOnlySpan<char> text, Scratch s)
    {
        if (_lookup is not null && !Summary(g, text, s))
        {
            return false;
        }

        var startBlock = 0;
        var candidates = ulong.MaxValue;
        if (s.Blocks <= 64)
        {
            // Texts of up to 64 blocks first read only the first (rarest) class of the common part and of each factor,
            // and visit only the blocks where a start can have them at their offsets (a member in block B is at offset
            // o of a start in block B - o/64 or the one before); no such block, no occurrence, nothing else read.
            if (g.Common.Length > 0 && !g.Common[0].IsBoundary)
            {
                Ensure(text, s, g.Common[0].Class);
                candidates = Starts(s, g.Common[0]);
            }

            ulong starts = 0;
            foreach (var f in g.Factors)
            {
                if (f.Constraints.Length == 0)
                {
                    starts = ulong.MaxValue;
                    break;
                }

                var c = f.Constraints[0];
                Ensure(text, s, c.IsBoundary ? WordClass : c.Class);
                starts |= Starts(s, c);
            }

            candidates &= starts;
            if (candidates == 0)
            {
                return false;
            }

            startBlock = BitOperations.TrailingZeroCount(candidates);
        }
        else if (g.Anchored)
        {
            // Every factor has a rare class with a short member list: no member, no occurrence.
            var first = int.MaxValue;
            foreach (var f in g.Factors)
            {
                var i = text.IndexOfAny(f.Anchor!);
                if (i >= 0)
                {
                    first = Math.Min(first, Math.Max(0, i - f.AnchorOffset));
                }
            }

            if (first == int.MaxValue)
            {
                return false;
            }

            startBlock = first >> 6;
        }

        foreach (var c in g.Needs)
        {
            Ensure(text, s, c);
        }

        if (g.Gap is not null)
        {
            s.ChainLength = 0;
            s.ChainLast = int.MinValue;
        }

        var stride = s.Blocks + 2;
        var masks = s.Masks;
        var nonWord = _classes.Length * stride; // the NonWord pseudo-class, after the real ones
        var found = 0;
        for (var b = startBlock; b < s.Blocks; b++)
        {
            if (b < 64)
            {
                var next = candidates & (ulong.MaxValue << b);
                if (next == 0)
                {
                    break;
                }

                b = BitOperations.TrailingZeroCount(next);
            }

            var common = Holds(g.Common, ulong.MaxValue, masks, stride, nonWord, b);
            if (common == 0)
            {
                continue;
            }

            ulong any = 0;
            foreach (var f in g.Factors)
            {
                any |= Holds(f.Constraints, common, masks, stride, nonWord, b);
            }

            if (any == 0)
            {
                continue;
            }

            if (g.Gap is not null)
            {
                if (Chain(g, s, b, any))
                {
                    return true;
                }

                continue;
            }

            found += BitOperations.PopCount(any);
            if (found >= g.Count)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A necessary condition of the gate read off counts the one-pass read (<see cref="ReadAllRows"/>) keeps per
    /// class: some spelling of the factor must have every class it spells present, and every run of one class it
    /// spells ("\d{9}": nine digits in a row, "[a-z]{28}") somewhere in the text. The occurrences the gate counts are
    /// distinct starts, each with a member of every class of its spelling at its own position, so a spelling has at
    /// most as many as its rarest class has members; the sum over spellings must reach the gate's count. Most gates
    /// fail here on chat (no 28-letter run, no nine digits, three '@' where six are needed) without a block visited.
    /// </summary>
    private bool Summary(Gate g, ReadOnlySpan<char> text, Scratch s)
    {
        foreach (var (first, second) in g.Pairs)
        {
            Ensure(text, s, first);
            Ensure(text, s, second);
            if (!PairOccurs(s, first, second))
            {
                return false;
            }
        }

        long total = 0;
        foreach (var sp in g.Spellings)
        {
            long least = int.MaxValue;
            foreach (var c in sp.Classes)
            {
                Ensure(text, s, c);
                least = Math.Min(least, s.Counts[c]);
                if (least == 0)
                {
                    break;
                }
            }

            if (least > 0 && sp.Edges != 0)
            {
                Ensure(text, s, WordClass);
                least = Math.Min(least, Bounded(s, sp.Classes[0], sp.Edges));
            }

            if (least == 0)
            {
                continue;
            }

            var runs = true;
            foreach (var (c, length) in sp.Runs)
            {
                if (!HasRun(s, c, length))
                {
                    runs = false;
                    break;
                }
            }

            foreach (var (c, count, small) in sp.Windows)
            {
                if (!runs)
                {
                    break;
                }

                MostInWindow(s, c);
                runs = (small ? s.MostInSmallWindow[c] : s.MostInWindow[c]) >= count;
            }

            if (runs && (total += least * sp.Times) >= g.Count)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Does the text hold <paramref name="length"/> members of class <paramref name="cls"/> in a row? From
    /// the class's longest run, found once per text.</summary>
    private static bool HasRun(Scratch s, int cls, int length)
    {
        if (s.RunStamps[cls] != s.Stamp)
        {
            s.LongestRun[cls] = LongestRun(s, cls);
            s.RunStamps[cls] = s.Stamp;
        }

        return s.LongestRun[cls] >= length;
    }

    /// <summary>Members of class <paramref name="cls"/> where a <c>\b</c> can be before (<paramref name="edges"/> bit 1)
    /// and after (bit 2), by the test the gate's own boundary constraints use: the occurrences of a one-character
    /// spelling ("\b\w\b") the gate can count at most.</summary>
    private int Bounded(Scratch s, int cls, int edges)
    {
        var stride = s.Blocks + 2;
        var masks = s.Masks;
        var row = cls * stride;
        var w = WordClass * stride;
        var nw = _classes.Length * stride;
        var count = 0;
        for (var b = 0; b < s.Blocks; b++)
        {
            var m = masks[row + b + 1];
            if (m == 0)
            {
                continue;
            }

            if ((edges & 1) != 0)
            {
                m &= ~((At(masks, w, b, -1) & At(masks, w, b, 0)) | (At(masks, nw, b, -1) & At(masks, nw, b, 0)));
            }

            if ((edges & 2) != 0)
            {
                m &= ~((At(masks, w, b, 0) & At(masks, w, b, 1)) | (At(masks, nw, b, 0) & At(masks, nw, b, 1)));
            }

            count += BitOperations.PopCount(m);
        }

        return count;
    }

    /// <summary>Is a member of class <paramref name="first"/> right before one of <paramref name="second"/> somewhere?</summary>
    private static bool PairOccurs(Scratch s, int first, int second)
    {
        var stride = s.Blocks + 2;
        var a = (first * stride) + 1;
        var b = (second * stride) + 1;
        for (var k = 0; k < s.Blocks; k++)
        {
            // Row pads are 0, so the word after the last block is too.
            if ((s.Masks[a + k] & ((s.Masks[b + k] >> 1) | (s.Masks[b + k + 1] << 63))) != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The most members of class <paramref name="cls"/> in one of the 64-character windows that start at
    /// multiples of 32 (any stretch of up to 33 characters lies inside one) and in one of the 32-character windows
    /// that start at multiples of 16 (up to 17), found once per text: sums of neighbouring 16-bit quarters' counts.</summary>
    private static void MostInWindow(Scratch s, int cls)
    {
        if (s.WindowStamps[cls] == s.Stamp)
        {
            return;
        }

        var row = (cls * (s.Blocks + 2)) + 1;
        var best = 0;
        var bestSmall = 0;
        var q3Before = 0; // the previous block's top quarter
        var halfBefore = 0; // and its top half
        for (var b = 0; b < s.Blocks; b++)
        {
            var m = s.Masks[row + b];
            var q0 = BitOperations.PopCount(m & 0xFFFF);
            var q1 = BitOperations.PopCount((m >> 16) & 0xFFFF);
            var q2 = BitOperations.PopCount((m >> 32) & 0xFFFF);
            var q3 = BitOperations.PopCount(m >> 48);
            var small = Math.Max(Math.Max(q3Before + q0, q0 + q1), Math.Max(q1 + q2, q2 + q3));
            bestSmall = Math.Max(bestSmall, small);
            best = Math.Max(best, Math.Max(q0 + q1 + q2 + q3, halfBefore + q0 + q1));
            q3Before = q3;
            halfBefore = q2 + q3;
        }

        s.MostInWindow[cls] = best;
        s.MostInSmallWindow[cls] = bestSmall;
        s.WindowStamps[cls] = s.Stamp;
    }

    /// <summary>The longest run of members of class <paramref name="cls"/>: per block, the run carried in from the
    /// blocks before plus the members at the block's bottom, the runs inside (each step of x &amp;= x &gt;&gt; 1 shortens
    /// every run by one), then the members at the block's top carried on.</summary>
    private static int LongestRun(Scratch s, int cls)
    {
        var row = (cls * (s.Blocks + 2)) + 1;
        var carry = 0;
        var best = 0;
        for (var b = 0; b < s.Blocks; b++)
        {
            var m = s.Masks[row + b];
            if (m == ulong.MaxValue)
            {
                carry += 64;
                continue;
            }

            best = Math.Max(best, carry + BitOperations.TrailingZeroCount(~m));
            var inside = 0;
            for (var x = m; x != 0; x &= x >> 1)
            {
                inside++;
            }

            best = Math.Max(best, inside);
            carry = BitOperations.LeadingZeroCount(~m);
        }

        return Math.Max(best, carry);
    }

    /// <summary>
    /// (AVX-512 VBMI) Every class row, the NonWord row, presence and member counts in one pass: per block of 64
    /// characters two loads, a saturating narrow, one 128-entry table lookup per 8 classes and a bit test per class.
    /// The same rows <see cref="Ensure"/> computes class by class: ASCII characters by the class's table, non-ASCII
    /// ones (whatever the narrow made of them) members exactly of the classes that have a non-ASCII member.
    /// </summary>
    private void ReadBits(ReadOnlySpan<char> text, Scratch s)
    {
        var blocks = s.Blocks;
        var lookup = _lookup!;
        var groups = lookup.Length / 2;
        if (s.Bits.Length < groups * blocks)
        {
            s.Bits = new Vector512<byte>[Math.Max(groups * blocks, 64)];
        }

        // First the text: per block its non-ASCII positions and, per 8 classes, a byte of class bits per character.
        ref var src = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text));
        ref var bitsOut = ref MemoryMarshal.GetArrayDataReference(s.Bits);
        ref var nonAsciiOut = ref MemoryMarshal.GetArrayDataReference(s.NonAscii);
        Span<ushort> padded = stackalloc ushort[64];
        var top = Vector512.Create((ushort)0x80);
        for (var b = 0; b < blocks; b++)
        {
            var from = b << 6;
            Vector512<ushort> v0, v1;
            if (from + 64 <= text.Length)
            {
                v0 = Vector512.LoadUnsafe(ref src, (nuint)from);
                v1 = Vector512.LoadUnsafe(ref src, (nuint)(from + 32));
            }
            else
            {
                padded.Clear();
                MemoryMarshal.Cast<char, ushort>(text[from..]).CopyTo(padded);
                v0 = Vector512.Create((ReadOnlySpan<ushort>)padded[..32]);
                v1 = Vector512.Create((ReadOnlySpan<ushort>)padded[32..]);
            }

            Unsafe.Add(ref nonAsciiOut, b) = (Vector512.GreaterThanOrEqual(v0, top).ExtractMostSignificantBits()
                | (Vector512.GreaterThanOrEqual(v1, top).ExtractMostSignificantBits() << 32)) & s.Valid(b);
            var high5 = Vector512.Create((ushort)0xF800);
            var d8 = Vector512.Create((ushort)0xD800);
            s.Surrogate[b] = Vector512.Equals(v0 & high5, d8).ExtractMostSignificantBits()
                | (Vector512.Equals(v1 & high5, d8).ExtractMostSignificantBits() << 32);
            var bytes = Vector512.Create(Avx512BW.ConvertToVector256ByteWithSaturation(v0), Avx512BW.ConvertToVector256ByteWithSaturation(v1));
            for (var g = 0; g < groups; g++)
            {
                Unsafe.Add(ref bitsOut, (g * blocks) + b) = Avx512Vbmi.PermuteVar64x8x2(lookup[2 * g], bytes, lookup[(2 * g) + 1]);
            }
        }

        s.BitsStamp = s.Stamp;
    }

    /// <summary>The row of class <paramref name="cls"/> from its bit in <see cref="ReadBits"/>' bytes: ASCII
    /// positions by the table, non-ASCII ones by whether the class has a non-ASCII member; its member count and
    /// block presence on the way (and, for the word class, the NonWord row).</summary>
    private void RowFromBits(Scratch s, int cls)
    {
        var blocks = s.Blocks;
        var stride = blocks + 2;
        ref var nonAsciiIn = ref MemoryMarshal.GetArrayDataReference(s.NonAscii);
        ref var masks = ref MemoryMarshal.GetArrayDataReference(s.Masks);
        var lastValid = s.Valid(blocks - 1);
        ref var row = ref Unsafe.Add(ref masks, cls * stride);
        ref var bits = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s.Bits), (cls >> 3) * blocks);
        var bit = Vector512.Create((byte)(1 << (cls & 7)));
        var withNonAscii = _classes[cls].HasNonAscii;
        var withSurrogates = _classes[cls].HasSurrogate;
        var count = 0;
        ulong presence = 0;
        row = 0;
        for (var b = 0; b < blocks; b++)
        {
            var nonAscii = Unsafe.Add(ref nonAsciiIn, b);
            var m = Vector512.GreaterThan(Unsafe.Add(ref bits, b) & bit, Vector512<byte>.Zero).ExtractMostSignificantBits() & ~nonAscii;
            if (withNonAscii)
            {
                m |= withSurrogates ? nonAscii : nonAscii & ~s.Surrogate[b];
            }

            if (b == blocks - 1)
            {
                m &= lastValid;
            }

            Unsafe.Add(ref row, b + 1) = m;
            count += BitOperations.PopCount(m);
            if (m != 0 && b < 64)
            {
                presence |= 1UL << b;
            }
        }

        Unsafe.Add(ref row, blocks + 1) = 0;
        s.Counts[cls] = count;
        s.Presence[cls] = presence;
        s.ClassStamps[cls] = s.Stamp;
        if (cls == WordClass)
        {
            var nonWord = _classes.Length * stride;
            s.Masks[nonWord] = ulong.MaxValue;
            s.Masks[nonWord + stride - 1] = ulong.MaxValue;
            for (var b = 0; b < blocks; b++)
            {
                var valid = s.Valid(b);
                s.Masks[nonWord + b + 1] = (~s.Masks[(WordClass * stride) + b + 1] & ~s.NonAscii[b] & valid) | ~valid;
            }
        }
    }

    /// <summary>
    /// A run gate: occurrences (the bits of <paramref name="any"/>, block <paramref name="b"/>) taken in order, each
    /// continuing the run of the one before when nothing outside the gap classes lies between that one's end and its
    /// start, else starting a new run. Sound with the longest factor's length for every occurrence: the run ending
    /// at an occurrence is at least as long as any run of the regex's iterations ending there (shorter gaps are
    /// checked over less text; an earlier predecessor that links also lets every later one link).
    /// </summary>
    private bool Chain(Gate g, Scratch s, int b, ulong any)
    {
        while (any != 0)
        {
            var q = (b << 6) + BitOperations.TrailingZeroCount(any);
            any &= any - 1;
            var end = s.ChainLast + g.Length;
            s.ChainLength = s.ChainLast == int.MinValue || (end < q && AnyOutsideGap(g, s, end, q)) ? 1 : s.ChainLength + 1;
            s.ChainLast = q;
            if (s.ChainLength >= g.Count)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Is a character in [<paramref name="from"/>, <paramref name="to"/>) surely in none of the gap's
    /// classes? (Rows are supersets, so "not in the row" is sure.)</summary>
    private bool AnyOutsideGap(Gate g, Scratch s, int from, int to)
    {
        var stride = s.Blocks + 2;
        var last = (to - 1) >> 6;
        for (var b = from >> 6; b <= last; b++)
        {
            ulong inGap = 0;
            foreach (var c in g.Gap!)
            {
                inGap |= s.Masks[(c * stride) + b + 1];
            }

            var lo = b == from >> 6 ? from & 63 : 0;
            var hi = b == last ? (to - 1) & 63 : 63;
            var range = (ulong.MaxValue << lo) & (ulong.MaxValue >> (63 - hi));
            if ((~inGap & range) != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Blocks where a start can satisfy <paramref name="c"/> (a class constraint), from the class's presence.</summary>
    private static ulong Starts(Scratch s, Constraint c)
    {
        if (c.IsBoundary)
        {
            return ulong.MaxValue;
        }

        var p = s.Presence[c.Class];
        var near = c.Offset >> 6;
        var far = (c.Offset + 63) >> 6;
        return (near >= 64 ? 0 : p >> near) | (far >= 64 ? 0 : p >> far);
    }

    /// <summary>The starts in block <paramref name="b"/>, among <paramref name="m"/>, where every constraint holds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Holds(Constraint[] constraints, ulong m, ulong[] masks, int stride, int nonWord, int b)
    {
        foreach (var c in constraints)
        {
            if (m == 0)
            {
                break;
            }

            if (c.IsBoundary)
            {
                // No \b before offset j: both neighbours surely word characters, or both surely not.
                var w = WordClass * stride;
                var wa = At(masks, w, b, c.Offset - 1);
                var wb = At(masks, w, b, c.Offset);
                var na = At(masks, nonWord, b, c.Offset - 1);
                var nb = At(masks, nonWord, b, c.Offset);
                m &= ~((wa & wb) | (na & nb));
            }
            else if (c.Length > 1)
            {
                m &= Run(masks, c.Class * stride, b, c.Offset, c.Length);
            }
            else
            {
                m &= At(masks, c.Class * stride, b, c.Offset);
            }
        }

        return m;
    }

    /// <summary>Starts in block <paramref name="b"/> with the class at every offset from <paramref name="o"/> to
    /// o + <paramref name="length"/> − 1 (length ≤ 64): the 128 bits from the first offset on, ANDed with themselves
    /// shifted 1, 2, 4, ... (each step doubles the length every set bit vouches for), then by the rest.</summary>
    private static ulong Run(ulong[] masks, int row, int b, int o, int length)
    {
        var lo = Bits(masks, row, b, o);
        var hi = Bits(masks, row, b, o + 64);
        var have = 1;
        while (have * 2 <= length)
        {
            lo &= (lo >> have) | (hi << (64 - have));
            hi &= hi >> have;
            have *= 2;
        }

        var rest = length - have;
        if (rest > 0)
        {
            lo &= (lo >> rest) | (hi << (64 - rest));
        }

        return lo;
    }

    /// <summary>Bits of a class for starts in block <paramref name="b"/> at offset <paramref name="o"/> (0..127); past
    /// the row's pad block the bits are not the class's, only ever read for starts that cannot fit in the text.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Bits(ulong[] masks, int row, int b, int o)
    {
        var i = row + b + 1 + (o >> 6);
        var k = o & 63;
        return k == 0 ? masks[i] : (masks[i] >> k) | (masks[i + 1] << (64 - k));
    }

    /// <summary>Bits of a class for starts in block <paramref name="b"/> at offset <paramref name="o"/> (−1..64);
    /// the class's row begins at <paramref name="row"/> with one pad block on each side.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong At(ulong[] masks, int row, int b, int o)
    {
        var i = row + b + 1;
        return o switch
        {
            < 0 => (masks[i] << 1) | (masks[i - 1] >> 63),
            0 => masks[i],
            64 => masks[i + 1],
            _ => (masks[i] >> o) | (masks[i + 1] << (64 - o)),
        };
    }

    /// <summary>Computes the row of class <paramref name="cls"/> over the whole text once per text (and, with the
    /// word class, the NonWord row: surely not a word character, ASCII outside [A-Za-z0-9_] or outside the text).</summary>
    private void Ensure(ReadOnlySpan<char> text, Scratch s, int cls)
    {
        if (s.ClassStamps[cls] == s.Stamp)
        {
            return;
        }

        if (_lookup is not null)
        {
            if (s.BitsStamp != s.Stamp)
            {
                ReadBits(text, s);
            }

            RowFromBits(s, cls);
            return;
        }

        if (s.BlocksStamp != s.Stamp)
        {
            ReadBlocks(text, s);
        }

        var stride = s.Blocks + 2;
        var row = s.Masks.AsSpan(cls * stride, stride);
        var c = _classes[cls];
        var table = _tables[cls];
        row[0] = 0;
        row[^1] = 0;
        ulong presence = 0;
        for (var b = 0; b < s.Blocks; b++)
        {
            ulong m;
            if (Avx2.IsSupported)
            {
                var r0 = Avx2.Shuffle(table, s.Low[2 * b]) & s.High[2 * b];
                var r1 = Avx2.Shuffle(table, s.Low[(2 * b) + 1]) & s.High[(2 * b) + 1];
                m = ~(Vector256.Equals(r0, Vector256<byte>.Zero).ExtractMostSignificantBits()
                    | ((ulong)Vector256.Equals(r1, Vector256<byte>.Zero).ExtractMostSignificantBits() << 32));
            }
            else
            {
                m = 0;
                var from = b << 6;
                var to = Math.Min(text.Length, from + 64);
                for (var i = from; i < to; i++)
                {
                    if (text[i] < 128 && IsAsciiMember(c, text[i]))
                    {
                        m |= 1UL << (i - from);
                    }
                }
            }

            if (c.HasNonAscii)
            {
                m |= c.HasSurrogate ? s.NonAscii[b] : s.NonAscii[b] & ~s.Surrogate[b];
            }

            m &= s.Valid(b);
            row[b + 1] = m;
            if (m != 0 && b < 64)
            {
                presence |= 1UL << b;
            }
        }

        s.Presence[cls] = presence;
        s.ClassStamps[cls] = s.Stamp;
        if (cls == WordClass)
        {
            var nonWord = s.Masks.AsSpan(_classes.Length * stride, stride);
            nonWord[0] = ulong.MaxValue;
            nonWord[^1] = ulong.MaxValue;
            for (var b = 0; b < s.Blocks; b++)
            {
                var valid = s.Valid(b);
                nonWord[b + 1] = (~row[b + 1] & ~s.NonAscii[b] & valid) | ~valid;
            }
        }
    }

    /// <summary>Reads the text once: per block its non-ASCII positions and (AVX2) its characters as nibble vectors,
    /// non-ASCII ones clamped to 0x80 (a high nibble no table row has).</summary>
    private static void ReadBlocks(ReadOnlySpan<char> text, Scratch s)
    {
        var chars = MemoryMarshal.Cast<char, ushort>(text);
        Span<ushort> padded = stackalloc ushort[64];
        for (var b = 0; b < s.Blocks; b++)
        {
            var from = b << 6;
            scoped ReadOnlySpan<ushort> block;
            if (from + 64 <= chars.Length)
            {
                block = chars.Slice(from, 64);
            }
            else
            {
                padded.Clear();
                chars[from..].CopyTo(padded);
                block = padded;
            }

            ulong nonAscii = 0;
            ulong surrogate = 0;
            if (Avx2.IsSupported)
            {
                var top = Vector256.Create((ushort)0x80);
                for (var h = 0; h < 2; h++)
                {
                    var v0 = Vector256.Create(block.Slice(32 * h, 16));
                    var v1 = Vector256.Create(block.Slice((32 * h) + 16, 16));
                    var sur = Vector256.Equals(v0 & Vector256.Create((ushort)0xF800), Vector256.Create((ushort)0xD800)).ExtractMostSignificantBits()
                        | (Vector256.Equals(v1 & Vector256.Create((ushort)0xF800), Vector256.Create((ushort)0xD800)).ExtractMostSignificantBits() << 16);
                    surrogate |= (ulong)sur << (32 * h);
                    var bits = Vector256.GreaterThanOrEqual(v0, top).ExtractMostSignificantBits()
                        | (Vector256.GreaterThanOrEqual(v1, top).ExtractMostSignificantBits() << 16);
                    nonAscii |= (ulong)bits << (32 * h);
                    var bytes = Vector256.Narrow(Vector256.Min(v0, top), Vector256.Min(v1, top));
                    s.Low[(2 * b) + h] = bytes & Vector256.Create((byte)0x0F);
                    var high = Vector256.ShiftRightLogical(bytes.AsUInt16(), 4).AsByte() & Vector256.Create((byte)0x0F);
                    s.High[(2 * b) + h] = Avx2.Shuffle(HighBits, high);
                }
            }
            else
            {
                for (var i = 0; i < 64; i++)
                {
                    if (block[i] >= 0x80)
                    {
                        nonAscii |= 1UL << i;
                    }

                    if (char.IsSurrogate((char)block[i]))
                    {
                        surrogate |= 1UL << i;
                    }
                }
            }

            s.NonAscii[b] = nonAscii & s.Valid(b);
            s.Surrogate[b] = surrogate;
        }

        s.BlocksStamp = s.Stamp;
    }

    private static bool IsAsciiMember(CharClass c, char ch) =>
        ((ch < 64 ? c.AsciiLo >> ch : c.AsciiHi >> (ch - 64)) & 1) != 0;

    /// <param name="Length">More than 1: a run, the class at every offset from <paramref name="Offset"/> on.</param>
    private readonly record struct Constraint(int Class, int Offset, bool IsBoundary, int Length = 1);

    private sealed record Factor(Constraint[] Constraints, SearchValues<char>? Anchor, int AnchorOffset);

    /// <param name="Gap">Run gates: the classes allowed between consecutive occurrences; null: a plain count.</param>
    /// <param name="Length">The longest factor, in characters.</param>
    /// <param name="Spellings">Per factor: its classes and its runs of one class (length ≥ 2), for <see cref="Summary"/>.</param>
    /// <param name="Pairs">Classes every spelling has at neighbouring offsets (the rarest two such pairs).</param>
    private sealed record Gate(int Regex, Constraint[] Common, Factor[] Factors, int Count, int[]? Gap, int Length, Spelling[] Spellings,
        (int First, int Second)[] Pairs)
    {
        /// <summary>Every class row the gate reads (boundaries read the word class).</summary>
        public int[] Needs { get; } = [.. Common.Concat(Factors.SelectMany(f => f.Constraints))
            .Select(c => c.IsBoundary ? WordClass : c.Class).Concat(Gap ?? []).Distinct()];

        public bool Anchored { get; } = Factors.All(f => f.Anchor is not null);
    }

    /// <param name="Times">How many of the gate's factors spell the same classes and runs.</param>
    /// <param name="Runs">Per class: the longest stretch of the spelling whose classes all lie within it.</param>
    /// <param name="Windows">Per class, for spellings of at most <see cref="WindowSpan"/> characters: how many of its
    /// classes lie within it (so many members in one stretch of the spelling's length).</param>
    /// <param name="Edges">For a spelling of one character: 1, <c>\b</c> before it; 2, after it (both: a word of its own).</param>
    private sealed record Spelling(int[] Classes, (int Class, int Length)[] Runs, (int Class, int Count, bool Small)[] Windows, int Times = 1,
        int Edges = 0);

    /// <summary>A stretch this long lies inside one of the text's 64-character windows starting at multiples of 32.</summary>
    private const int WindowSpan = 33;

    /// <summary>A stretch this long lies inside one of the text's 32-character windows starting at multiples of 16.</summary>
    private const int SmallWindowSpan = 17;

    /// <summary>Per-thread buffers for one text: block vectors and class rows, valid while their stamp is current.</summary>
    private sealed class Scratch
    {
        public int Stamp;
        public int BlocksStamp;
        public int BitsStamp;
        public int Blocks;
        public int Length;
        public Vector256<byte>[] Low = [];
        public Vector256<byte>[] High = [];
        public Vector512<byte>[] Bits = [];   // one-pass read: per 8 classes, per block, a byte of class bits per character
        public ulong[] NonAscii = [];
        public ulong[] Surrogate = [];
        public ulong[] Masks = [];
        public int[] ClassStamps = [];
        public ulong[] Presence = []; // per class: which of the first 64 blocks hold a member
        public int[] Counts = [];     // per class: members in the text (one-pass read only)
        public int[] LongestRun = []; // per class: its longest run, valid while RunStamps says so
        public int[] RunStamps = [];
        public int[] MostInWindow = [];
        public int[] MostInSmallWindow = [];
        public int[] WindowStamps = [];
        public int ChainLength;
        public int ChainLast;

        public void Begin(int length, int classes)
        {
            Length = length;
            Blocks = (length + 63) >> 6;
            if (NonAscii.Length < Blocks)
            {
                var size = Math.Max(Blocks, 32);
                Low = new Vector256<byte>[2 * size];
                High = new Vector256<byte>[2 * size];
                NonAscii = new ulong[size];
                Surrogate = new ulong[size];
            }

            // One row per class and one for NonWord, each with a pad block on either side.
            var need = (classes + 1) * (Blocks + 2);
            if (Masks.Length < need)
            {
                Masks = new ulong[Math.Max(need, 1024)];
            }

            if (ClassStamps.Length < classes)
            {
                ClassStamps = new int[Math.Max(classes, 64)];
                Presence = new ulong[ClassStamps.Length];
                Counts = new int[ClassStamps.Length];
                LongestRun = new int[ClassStamps.Length];
                RunStamps = new int[ClassStamps.Length];
                MostInWindow = new int[ClassStamps.Length];
                MostInSmallWindow = new int[ClassStamps.Length];
                WindowStamps = new int[ClassStamps.Length];
            }

            if (++Stamp == int.MaxValue)
            {
                Array.Clear(ClassStamps);
                Array.Clear(RunStamps);
                Array.Clear(WindowStamps);
                BlocksStamp = 0;
                BitsStamp = 0;
                Stamp = 1;
            }
        }

        /// <summary>The bits of block <paramref name="b"/> that are inside the text.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ulong Valid(int b)
        {
            var left = Length - (b << 6);
            return left >= 64 ? ulong.MaxValue : (1UL << left) - 1;
        }
    }

    /// <summary>Collects the gates of one policy; classes from both alphabets (case-sensitive or not) share one table.</summary>
    internal sealed class Builder
    {
        /// <summary>A gate whose factors a kilobyte of chat likely holds anyway is not worth its scan: the regex stays
        /// in the shared pre-check.</summary>
        public const double MaxLikelihood = 0.75;

        private const int MaxConstraints = 256;
        private const int MaxRun = 64;
        private const int MinRun = 4;
        private const double DenseWeight = 0.1; // a class this common in chat is a run's candidate

        private readonly List<CharClass> _classes =
        [
            new CharClass("[A-Za-z0-9_]", 0x03FF_0000_0000_0000UL, 0x07FF_FFFE_87FF_FFFEUL, false, null, 0.8),
        ];

        private readonly Dictionary<CharClass, int> _index = new(ReferenceEqualityComparer.Instance);
        private readonly List<Gate> _gates = [];

        public int Count => _gates.Count;

        /// <summary>Adds the gate of regex <paramref name="regex"/> when it has one worth using.</summary>
        public bool TryAdd(int regex, string pattern, ClassAlphabet alphabet)
        {
            if (RegexFactors.FindClasses(pattern, alphabet) is not var (factors, count, gapSymbols)
                || alphabet.Likelihood(factors, count, gapSymbols) > MaxLikelihood
                || factors.Sum(f => f.Length) > MaxConstraints)
            {
                return false;
            }

            // Per offset first; constraints every factor has (card numbers: "\b\d\d\d\d" in all eight spellings)
            // are checked once per block, before the factors' own; then runs are merged and the order chosen.
            var raw = factors.Select(f => Spell(f, alphabet)).ToArray();
            var commonRaw = raw.Length > 1 ? raw[0].Where(c => raw.All(f => f.Contains(c))).ToList() : [];
            var common = Order(commonRaw);
            var compiled = new Factor[factors.Length];
            for (var i = 0; i < factors.Length; i++)
            {
                var all = raw[i];
                var rarest = all.Where(c => !c.IsBoundary).MinBy(c => _classes[c.Class].Weight);
                var rc = _classes[rarest.Class];
                var anchor = rc.Members is { } members && rc.Weight < 0.05 ? SearchValues.Create(members) : null;
                compiled[i] = new Factor(Order([.. all.Where(c => !commonRaw.Contains(c))]), anchor, rarest.Offset);
            }

            int[]? gap = null;
            if (gapSymbols is not null && !gapSymbols.Any(x => alphabet.Get(x) is { AsciiLo: ulong.MaxValue, AsciiHi: ulong.MaxValue, HasNonAscii: true }))
            {
                gap = [.. gapSymbols.Select(x => IndexOf(alphabet.Get(x)))];
            }

            var length = factors.Max(f => f.Count(x => x != ClassAlphabet.Boundary));
            _gates.Add(new Gate(regex, common, compiled, count, gap, length, Group([.. raw.Select(SpellingOf)]), CommonPairs(raw)));
            foreach (var sp in _gates[^1].Spellings)
            {
                Array.Sort(sp.Classes, (a, b) => _classes[a].Weight.CompareTo(_classes[b].Weight));
            }

            return true;
        }

        private int IndexOf(CharClass c)
        {
            if (!_index.TryGetValue(c, out var index))
            {
                index = _classes.Count;
                _classes.Add(c);
                _index[c] = index;
            }

            return index;
        }

        public ClassGates? Build() => _gates.Count == 0 ? null : new ClassGates(_gates.ToArray(), _classes.ToArray());

        /// <summary>Spellings with the same classes and runs once, with how many factors have them (the sum in
        /// <see cref="Summary"/> is the same, read once).</summary>
        private static Spelling[] Group(Spelling[] spellings) =>
        [
            .. spellings
                .GroupBy(x => string.Join(",", x.Classes.Order()) + ";" + string.Join(",", x.Runs.Select(r => $"{r.Class}x{r.Length}").Order())
                    + ";" + string.Join(",", x.Windows.Select(r => $"{r.Class}x{r.Count}{r.Small}").Order()) + ";" + x.Edges)
                .Select(g => g.First() with { Times = g.Count() })
                .OrderBy(x => x.Runs.Length == 0 ? 1 : 0),
        ];

        /// <summary>A factor's classes, and its runs of one class at consecutive offsets (<c>\b</c> between them is zero-width).</summary>
        private Spelling SpellingOf(List<Constraint> spelled)
        {
            // Offsets are consecutive (one class symbol each), so the span is the symbol count.
            var symbols = spelled.Where(c => !c.IsBoundary).OrderBy(c => c.Offset).Select(c => c.Class).ToList();
            var classes = symbols.Distinct().ToArray();
            var runs = new List<(int Class, int Length)>();
            var windows = new List<(int Class, int Count, bool Small)>();
            foreach (var x in classes)
            {
                var best = 0;
                var current = 0;
                var inside = 0;
                foreach (var c in symbols)
                {
                    current = Within(c, x) ? current + 1 : 0;
                    inside += current > 0 ? 1 : 0;
                    best = Math.Max(best, current);
                }

                if (best >= 2)
                {
                    runs.Add((x, best));
                }

                if (symbols.Count <= WindowSpan && inside >= 2)
                {
                    windows.Add((x, inside, symbols.Count <= SmallWindowSpan));
                }
            }

            var edges = symbols.Count != 1 ? 0
                : (spelled.Any(c => c.IsBoundary && c.Offset == 0) ? 1 : 0) | (spelled.Any(c => c.IsBoundary && c.Offset == 1) ? 2 : 0);
            return new Spelling(classes, [.. runs.OrderByDescending(r => r.Length)], [.. windows], Edges: edges);
        }

        /// <summary>Pairs of different classes at neighbouring offsets in every spelling, the two rarest (a start of
        /// any spelling puts a member of the first right before a member of the second).</summary>
        private (int First, int Second)[] CommonPairs(List<Constraint>[] spelled)
        {
            HashSet<(int, int)>? common = null;
            foreach (var f in spelled)
            {
                var symbols = f.Where(c => !c.IsBoundary).OrderBy(c => c.Offset).ToList();
                var pairs = new HashSet<(int, int)>();
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i].Class != symbols[i + 1].Class && symbols[i + 1].Offset == symbols[i].Offset + 1)
                    {
                        pairs.Add((symbols[i].Class, symbols[i + 1].Class));
                    }
                }

                if (common is null)
                {
                    common = pairs;
                }
                else
                {
                    common.IntersectWith(pairs);
                }
            }

            return [.. (common ?? []).OrderBy(p => _classes[p.Item1].Weight * _classes[p.Item2].Weight).Take(2)];
        }

        /// <summary>Is every character class <paramref name="a"/>'s row can hold also in class <paramref name="b"/>'s
        /// row? (Rows: ASCII by the class's bits, non-ASCII by whether it has a non-ASCII member.)</summary>
        private bool Within(int a, int b)
        {
            var (x, y) = (_classes[a], _classes[b]);
            return a == b || ((x.AsciiLo & ~y.AsciiLo) == 0 && (x.AsciiHi & ~y.AsciiHi) == 0 && (!x.HasNonAscii || y.HasNonAscii));
        }

        /// <summary>One constraint per class symbol (at its offset) and per <c>\b</c> (before the next symbol).</summary>
        private List<Constraint> Spell(string factor, ClassAlphabet alphabet)
        {
            var list = new List<Constraint>();
            var offset = 0;
            foreach (var symbol in factor)
            {
                if (symbol == ClassAlphabet.Boundary)
                {
                    list.Add(new Constraint(WordClass, offset, IsBoundary: true));
                    continue;
                }

                list.Add(new Constraint(IndexOf(alphabet.Get(symbol)), offset, IsBoundary: false));
                offset++;
            }

            return list;
        }

        /// <summary>
        /// The order a block is checked in. The class of the rarest character first (its presence picks the blocks
        /// to visit); a common class at four or more consecutive offsets as one run ("[a-z]{28}": checked by doubling,
        /// a few shifts, where a mask per offset of a common class removes little each); then the rarest (a run as
        /// rare as its characters together), among equals each next the farthest from those taken ("\d\d\d.\d\d\d"
        /// tests both ends before the middle); boundaries last.
        /// </summary>
        private Constraint[] Order(List<Constraint> spelled)
        {
            var classes = new List<(Constraint C, double Weight)>();
            foreach (var c in spelled.Where(c => !c.IsBoundary).OrderBy(c => c.Offset))
            {
                var w = _classes[c.Class].Weight;
                if (w >= DenseWeight && classes.Count > 0 && classes[^1].C is { Length: < MaxRun } last && last.Class == c.Class
                    && last.Offset + last.Length == c.Offset)
                {
                    classes[^1] = (last with { Length = last.Length + 1 }, classes[^1].Weight * w);
                }
                else
                {
                    classes.Add((c, w));
                }
            }

            // A run of a rare class is cheaper as two or three masks at its ends ("\d{9}": a year fails at offset 8).
            for (var i = 0; i < classes.Count; i++)
            {
                if (classes[i].C.Length is > 1 and < MinRun)
                {
                    var (run, w) = classes[i];
                    classes.RemoveAt(i);
                    for (var k = 0; k < run.Length; k++)
                    {
                        classes.Insert(i + k, (run with { Offset = run.Offset + k, Length = 1 }, Math.Pow(w, 1.0 / run.Length)));
                    }

                    i += run.Length - 1;
                }
            }

            var ordered = new List<(Constraint C, double Weight)>();
            if (classes.Count > 0)
            {
                var first = classes.MinBy(x => (_classes[x.C.Class].Weight, -x.C.Length));
                ordered.Add(first);
                classes.Remove(first);
            }

            classes.Sort(static (a, b) => a.Weight.CompareTo(b.Weight));
            for (var from = 0; from < classes.Count;)
            {
                var to = from;
                while (to < classes.Count && classes[to].Weight == classes[from].Weight)
                {
                    to++;
                }

                var tier = classes.GetRange(from, to - from);
                while (tier.Count > 0)
                {
                    var pick = 0;
                    var bestDistance = -1;
                    for (var i = 0; i < tier.Count; i++)
                    {
                        var distance = int.MaxValue;
                        foreach (var o in ordered)
                        {
                            distance = Math.Min(distance, Math.Abs(o.C.Offset - tier[i].C.Offset));
                        }

                        if (distance > bestDistance)
                        {
                            (pick, bestDistance) = (i, distance);
                        }
                    }

                    ordered.Add(tier[pick]);
                    tier.RemoveAt(pick);
                }

                from = to;
            }

            return [.. ordered.Select(x => x.C), .. spelled.Where(c => c.IsBoundary)];
        }
    }
}
