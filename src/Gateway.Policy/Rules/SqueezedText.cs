using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gateway.Policy.Rules;

/// <summary>
/// A text with every separator (<see cref="RegexFactors.Separators"/>: what <c>[\W_]</c> matches) taken out, for the
/// squeezed factors of separator-tolerant regexes. Scanning it with a plain automaton finds the same patterns as the
/// squeezing automaton finds in the text (separators are transparent to that one, so it reads exactly this copy), but
/// on the automaton's vectorised path: a transparent class keeps the squeezing automaton on the per-character one,
/// which cost more on a clean kilobyte than the 12,000-keyword main automaton. Positions in the copy are not the
/// text's; the squeezed hits only arm regexes, which then run on the text itself.
/// </summary>
internal static class SqueezedText
{
    [ThreadStatic]
    private static char[]? t_buffer;

    /// <summary>The squeezed copy of <paramref name="text"/>, in a per-thread buffer valid until the next call.</summary>
    public static ReadOnlySpan<char> Of(ReadOnlySpan<char> text)
    {
        var need = text.Length + 32;
        var buffer = t_buffer is { } b && b.Length >= need ? b : t_buffer = new char[Math.Max(need, 1024)];
        var n = 0;
        var i = 0;
        var separators = RegexFactors.Separators;
        if (Avx512Vbmi2.IsSupported && Avx512BW.IsSupported)
        {
            // 32 characters at a time: all ASCII, the letters and digits compressed to the front and stored whole
            // (the buffer has room for a full vector past the end); a block with anything else by the table.
            ref var src = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text));
            ref var dst = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetArrayDataReference(buffer));
            for (; i + 32 <= text.Length; i += 32)
            {
                var v = Vector512.LoadUnsafe(ref src, (nuint)i);
                if (!Vector512.LessThanAll(v, Vector512.Create((ushort)0x80)))
                {
                    n = ByTable(text, i, 32, buffer, n, separators);
                    continue;
                }

                var keep = Vector512.LessThan((v | Vector512.Create((ushort)0x20)) - Vector512.Create((ushort)'a'), Vector512.Create((ushort)26))
                    | Vector512.LessThan(v - Vector512.Create((ushort)'0'), Vector512.Create((ushort)10));
                Avx512Vbmi2.Compress(Vector512<ushort>.Zero, keep, v).StoreUnsafe(ref dst, (nuint)n);
                n += System.Numerics.BitOperations.PopCount(keep.ExtractMostSignificantBits());
            }
        }

        n = ByTable(text, i, text.Length - i, buffer, n, separators);
        return buffer.AsSpan(0, n);
    }

    private static int ByTable(ReadOnlySpan<char> text, int from, int count, char[] buffer, int n, bool[] separators)
    {
        for (var k = from; k < from + count; k++)
        {
            var c = text[k];
            if (!separators[c])
            {
                buffer[n++] = c;
            }
        }

        return n;
    }
}
