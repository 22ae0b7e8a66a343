using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Gateway.Policy.Text;

/// <summary>
/// Stretched letters ("fuuuuck", "shiiiit"): a run of three or more of the same letter in the normalised text. The
/// check is vectorised (three shifted compares per 16 characters) so a clean message pays almost nothing; only a
/// text that has such a run gets a collapsed copy, which the same automaton scans again (issue 18).
/// </summary>
public static class Stretch
{
    /// <summary>Does the text contain three identical ASCII letters in a row?</summary>
    public static bool HasRun(ReadOnlySpan<char> text) => NextRun(text, 0) >= 0;

    /// <summary>Where the first run of three identical ASCII letters at or after <paramref name="from"/> starts, or -1.</summary>
    internal static int NextRun(ReadOnlySpan<char> text, int from)
    {
        var n = text.Length;
        var i = from;
        if (Vector256.IsHardwareAccelerated && n - from >= 18)
        {
            ref var src = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<char, ushort>(text));
            for (; i + 18 <= n; i += 16)
            {
                var v0 = Vector256.LoadUnsafe(ref src, (nuint)i);
                var v1 = Vector256.LoadUnsafe(ref src, (nuint)(i + 1));
                var v2 = Vector256.LoadUnsafe(ref src, (nuint)(i + 2));
                var run = Vector256.Equals(v0, v1) & Vector256.Equals(v1, v2)
                    & Vector256.LessThan(v0 - Vector256.Create((ushort)'a'), Vector256.Create((ushort)26));
                if (run != Vector256<ushort>.Zero)
                {
                    return i + System.Numerics.BitOperations.TrailingZeroCount(run.ExtractMostSignificantBits());
                }
            }
        }

        for (; i + 2 < n; i++)
        {
            var c = text[i];
            if (c is >= 'a' and <= 'z' && text[i + 1] == c && text[i + 2] == c)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="target"/> with every run of three or more identical ASCII
    /// letters written once; the one character covers the whole run's original range. <paramref name="runs"/>[k] is
    /// how many source characters target character k stands for.
    /// </summary>
    public static void Collapse(NormalizedText source, NormalizedText target, ref int[] runs)
    {
        var n = source.Length;
        target.Length = 0;
        target.SoftBoundaryCount = 0;
        target.JoinedRunCount = 0;
        target.EnsureCapacity(n);
        if (runs.Length < n)
        {
            runs = new int[Math.Max(n, runs.Length * 2)];
        }

        var chars = source.Chars;
        var i = 0;
        while (i < n)
        {
            // Everything up to the next run is copied as one block (runs are rare; a character-at-a-time copy of a
            // 16 KB text with one "sss" in it cost as much as an automaton scan).
            var r = NextRun(source.Span, i);
            var stop = r < 0 ? n : r;
            if (stop > i)
            {
                var at = target.Length;
                Array.Copy(chars, i, target.Chars, at, stop - i);
                Array.Copy(source.Starts, i, target.Starts, at, stop - i);
                Array.Copy(source.Ends, i, target.Ends, at, stop - i);
                runs.AsSpan(at, stop - i).Fill(1);
                target.Length = at + stop - i;
                i = stop;
            }

            if (r < 0)
            {
                break;
            }

            var c = chars[i];
            var j = i + 1;
            while (j < n && chars[j] == c)
            {
                j++;
            }

            runs[target.Length] = j - i;
            target.Append(c, source.Starts[i], source.Ends[j - 1]);
            i = j;
        }
    }
}
