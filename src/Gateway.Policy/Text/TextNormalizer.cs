// Over 400 lines on purpose: one per-character normalisation pipeline (fold, classify, leetspeak; spaced letters in
// SpacedLetters.cs) whose stages hand each other the same bit masks and ASCII class table, in an order they depend
// on; apart, that order is invisible. It is the hottest code in the engine, benchmarked as one unit (loadtests/).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Gateway.Policy.Text;

/// <summary>
/// Normalisation against evasion, applied identically to configured terms and to message text:
/// NFKD per code point with accents stripped (Latin/Greek/Cyrillic), case folding, confusable letters,
/// invisible characters removed, whitespace runs collapsed, letters split by separators joined ("s.p.a.m"),
/// and leetspeak inside words ("sh1t", "$hit", "h3ll0"; plain numbers stay numbers).
/// </summary>
public static partial class TextNormalizer
{
    [ThreadStatic]
    private static NormalizedText? t_cached;

    /// <summary>A per-thread buffer for hot paths; valid until the next call on the same thread.</summary>
    public static NormalizedText ThreadBuffer() => t_cached ??= new NormalizedText(1024);

    /// <summary>Normalises a configured term or test string into a plain string.</summary>
    public static string NormalizeToString(string text)
    {
        var buffer = new NormalizedText(Math.Max(16, text.Length));
        Normalize(text, buffer);
        return buffer.ToString();
    }

    public static void Normalize(ReadOnlySpan<char> input, NormalizedText output)
    {
        output.Length = 0;
        output.SoftBoundaryCount = 0;
        output.JoinedRunCount = 0;
        output.EnsureCapacity(input.Length + 8);
        Fold(input, output);

        // The join and leet passes change nothing in most messages. Two bitmaps of the folded text (token
        // characters, letters), built 16 characters at a time, say where a spaced-out run could start and which
        // tokens mix letters with digits or symbols; the passes act only there. Same output as running both over
        // everything (FastPathTests compares them with the original three-pass normaliser).
        var words = (output.Length + 63) >> 6;
        var bits = t_bits is { } b && b.Length >= 2 * words ? b : t_bits = new ulong[Math.Max(64, 2 * words)];
        var tok = bits.AsSpan(0, words);
        var letter = bits.AsSpan(words, words);
        Classify(output, tok, letter);
        var runFrom = FirstRunCandidate(tok);
        if (runFrom >= 0 && JoinSpacedLetters(output, runFrom, tok))
        {
            // The text moved: classify the joined text again.
            words = (output.Length + 63) >> 6;
            tok = bits.AsSpan(0, words);
            letter = bits.AsSpan(words, words);
            Classify(output, tok, letter);
        }

        ApplyLeetWhereMixed(output, tok, letter);
    }

    [ThreadStatic]
    private static ulong[]? t_bits;

    /// <summary>Is this normalised character part of a word (for whole-word matching)?</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsWordChar(char c) => c < 128 ? IsAsciiWord(c) : char.IsLetterOrDigit(c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsAsciiWord(char c) => (uint)(c - 'a') <= 'z' - 'a' || (uint)(c - '0') <= 9 || (uint)(c - 'A') <= 'Z' - 'A';

    private static void Fold(ReadOnlySpan<char> input, NormalizedText output)
    {
        var lastWasSpace = false;
        var vectorFrom = Vector256.IsHardwareAccelerated && FoldTable.PrintableAsciiIsLowercaseOnly ? 0 : int.MaxValue;
        for (var i = 0; i < input.Length; i++)
        {
            if (i >= vectorFrom)
            {
                var done = FoldPrintableAscii(input, i, output, ref lastWasSpace);
                i += done;
                if (i >= input.Length)
                {
                    break;
                }

                // A block with anything else (non-ASCII, controls, a double space) goes through the per-character
                // path below; try blocks again after it.
                vectorFrom = i + Vector256<ushort>.Count;
            }

            var c = input[i];
            if (char.IsHighSurrogate(c) && i + 1 < input.Length && char.IsLowSurrogate(input[i + 1]))
            {
                var cp = char.ConvertToUtf32(c, input[i + 1]);
                var astral = FoldTable.LookupAstral(cp);
                if (astral is null)
                {
                    output.Append(c, i, i + 2);
                    output.Append(input[i + 1], i, i + 2);
                    lastWasSpace = false;
                }
                else
                {
                    foreach (var a in astral)
                    {
                        AppendFolded(output, a, i, i + 2, ref lastWasSpace);
                    }
                }

                i++;
                continue;
            }

            var f = FoldTable.Lookup(c);
            switch (f)
            {
                case FoldTable.Drop:
                    break;
                case FoldTable.Mark:
                    // A combining mark on a Latin/Greek/Cyrillic letter is an accent (or zalgo): drop it but let
                    // the previous character's range cover it, so censoring removes the whole cluster.
                    if (output.Length > 0 && FoldTable.StripsMarks(output.Chars[output.Length - 1]))
                    {
                        output.Ends[output.Length - 1] = i + 1;
                    }
                    else
                    {
                        output.Append(c, i, i + 1);
                        lastWasSpace = false;
                    }

                    break;
                case FoldTable.Multi:
                    foreach (var e in FoldTable.Expand(c))
                    {
                        AppendFolded(output, e, i, i + 1, ref lastWasSpace);
                    }

                    break;
                default:
                    AppendFolded(output, f, i, i + 1, ref lastWasSpace);
                    break;
            }
        }
    }

    /// <summary>
    /// Folds 16-character blocks of printable ASCII with no double space: each character maps to one character
    /// (A–Z lower-cased, everything else itself) with the index map [i, i + 1), exactly what the per-character path
    /// writes for them. Returns how many input characters were consumed (a multiple of 16; 0 at the first block that
    /// does not qualify).
    /// </summary>
    private static int FoldPrintableAscii(ReadOnlySpan<char> input, int from, NormalizedText output, ref bool lastWasSpace)
    {
        var count = Vector256<ushort>.Count;
        var blocks = (input.Length - from) / count;
        if (blocks == 0)
        {
            return 0;
        }

        output.EnsureCapacity(output.Length + blocks * count);
        ref var src = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(input));
        ref var dst = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetArrayDataReference(output.Chars));
        ref var starts = ref MemoryMarshal.GetArrayDataReference(output.Starts);
        ref var ends = ref MemoryMarshal.GetArrayDataReference(output.Ends);
        var n = output.Length;
        var i = from;
        var iota = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        for (var b = 0; b < blocks; b++, i += count)
        {
            var v = Vector256.LoadUnsafe(ref src, (nuint)i);
            // Every character in U+0020–U+007E, and no space after a space (whitespace runs collapse).
            if (!Vector256.LessThanAll(v - Vector256.Create((ushort)0x20), Vector256.Create((ushort)0x5F)))
            {
                break;
            }

            var spaces = Vector256.Equals(v, Vector256.Create((ushort)' ')).ExtractMostSignificantBits();
            if ((spaces & (spaces >> 1)) != 0 || (lastWasSpace && (spaces & 1) != 0))
            {
                break;
            }

            var upper = Vector256.LessThan(v - Vector256.Create((ushort)'A'), Vector256.Create((ushort)26));
            (v | (upper & Vector256.Create((ushort)0x20))).StoreUnsafe(ref dst, (nuint)n);
            var s0 = Vector256.Create(i) + iota;
            var s1 = s0 + Vector256.Create(8);
            s0.StoreUnsafe(ref starts, (nuint)n);
            s1.StoreUnsafe(ref starts, (nuint)(n + 8));
            (s0 + Vector256<int>.One).StoreUnsafe(ref ends, (nuint)n);
            (s1 + Vector256<int>.One).StoreUnsafe(ref ends, (nuint)(n + 8));
            n += count;
            lastWasSpace = (spaces >> (count - 1)) != 0;
        }

        output.Length = n;
        return i - from;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AppendFolded(NormalizedText output, char c, int start, int end, ref bool lastWasSpace)
    {
        if (c == ' ')
        {
            if (lastWasSpace)
            {
                output.Ends[output.Length - 1] = end;
                return;
            }

            lastWasSpace = true;
        }
        else
        {
            lastWasSpace = false;
        }

        output.Append(c, start, end);
    }

    /// <summary>Characters that may separate spaced-out letters ("s.p.a.m", "s p a m", "s-p-a-m").</summary>
    private static bool IsLetterSeparator(char c) =>
        c is ' ' or '.' or '-' or '_' or '*' or ',' or '/' or '\\' or '~' or '+' or '=' or ':' or ';' or '·' or '•'
            or '\'' or '"' or '`' or '^';

    /// <summary>Characters leetspeak uses inside words.</summary>
    private static bool IsLeetSymbol(char c) => c is '@' or '$' or '!' or '|' or '€' or '¢';

    private static bool IsTokenChar(char c) => c < 128 ? (AsciiClass[c] & TokenFlag) != 0 : IsWordChar(c) || IsLeetSymbol(c);

    /// <summary>What <see cref="ApplyLeetWhereMixed"/> counts as a letter (anything else in a token is a digit or a symbol).</summary>
    private static bool IsLeetLetter(char c) => c < 128 ? (AsciiClass[c] & LetterFlag) != 0 : char.IsLetter(c);

    private const byte TokenFlag = 1;
    private const byte LetterFlag = 2;

    /// <summary><see cref="TokenFlag"/> and <see cref="LetterFlag"/> for ASCII, from the same predicates.</summary>
    private static readonly byte[] AsciiClass = BuildAsciiClass();

    private static byte[] BuildAsciiClass()
    {
        var table = new byte[128];
        for (var c = (char)0; c < 128; c++)
        {
            table[c] = (byte)((IsWordChar(c) || IsLeetSymbol(c) ? TokenFlag : 0) | (c is >= 'a' and <= 'z' ? LetterFlag : 0));
        }

        return table;
    }

    /// <summary>
    /// Bit i of <paramref name="tok"/>: character i is a token character; of <paramref name="letter"/>: it is what
    /// <see cref="ApplyLeetWhereMixed"/> counts as a letter. All-ASCII blocks of 16 are classified with vector compares (the
    /// same sets as <see cref="AsciiClass"/>); the rest one character at a time with the exact predicates.
    /// </summary>
    private static void Classify(NormalizedText text, Span<ulong> tok, Span<ulong> letter)
    {
        tok.Clear();
        letter.Clear();
        var chars = text.Chars;
        var n = text.Length;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var src = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetArrayDataReference(chars));
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector256.LoadUnsafe(ref src, (nuint)i);
                ulong t;
                ulong l;
                if (Vector256.LessThanAll(v, Vector256.Create((ushort)128)))
                {
                    var isLetter = Vector256.LessThan(v - Vector256.Create((ushort)'a'), Vector256.Create((ushort)26));
                    var isToken = isLetter
                        | Vector256.LessThan(v - Vector256.Create((ushort)'0'), Vector256.Create((ushort)10))
                        | Vector256.LessThan(v - Vector256.Create((ushort)'A'), Vector256.Create((ushort)26))
                        | Vector256.Equals(v, Vector256.Create((ushort)'@')) | Vector256.Equals(v, Vector256.Create((ushort)'$'))
                        | Vector256.Equals(v, Vector256.Create((ushort)'!')) | Vector256.Equals(v, Vector256.Create((ushort)'|'));
                    t = isToken.ExtractMostSignificantBits();
                    l = isLetter.ExtractMostSignificantBits();
                }
                else
                {
                    (t, l) = ClassifyScalar(chars, i, 16);
                }

                tok[i >> 6] |= t << (i & 63);
                letter[i >> 6] |= l << (i & 63);
            }
        }

        for (; i < n; i += 16)
        {
            var (t, l) = ClassifyScalar(chars, i, Math.Min(16, n - i));
            tok[i >> 6] |= t << (i & 63);
            letter[i >> 6] |= l << (i & 63);
        }
    }

    private static (ulong Tok, ulong Letter) ClassifyScalar(char[] chars, int from, int count)
    {
        ulong t = 0;
        ulong l = 0;
        for (var k = 0; k < count; k++)
        {
            var c = chars[from + k];
            if (IsTokenChar(c))
            {
                t |= 1UL << k;
                if (IsLeetLetter(c))
                {
                    l |= 1UL << k;
                }
            }
        }

        return (t, l);
    }

    /// <summary>
    /// The first single-character token followed 2–4 characters later by another one, or -1. A spaced-out run
    /// ("s p a m") is at least three single-character tokens, each 2–4 characters after the previous (one to three
    /// separators between), so no run starts before this one.
    /// </summary>
    private static int FirstRunCandidate(ReadOnlySpan<ulong> tok)
    {
        ulong nextSingle = 0;
        var result = -1;
        // Backwards, so each word sees the next word's single-character tokens; the last candidate found is the first.
        for (var w = tok.Length - 1; w >= 0; w--)
        {
            var t = tok[w];
            var before = (t << 1) | (w > 0 ? tok[w - 1] >> 63 : 0);
            var after = (t >> 1) | (w + 1 < tok.Length ? (tok[w + 1] & 1) << 63 : 0);
            var single = t & ~before & ~after;
            var pair = single & ((single >> 2) | (single >> 3) | (single >> 4) | (nextSingle << 62) | (nextSingle << 61) | (nextSingle << 60));
            if (pair != 0)
            {
                result = (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(pair);
            }

            nextSingle = single;
        }

        return result;
    }

    /// <summary>
    /// Leetspeak: inside a token that has at least one letter, digits and leet symbols become the letters they stand
    /// for. '@' needs a character before it in the token (a leading '@' is a mention); '!' and '|' need a character
    /// other than '!' and '|' after them ("hello!!" keeps its '!!', see <see cref="BangLeetRange"/>). Tokens without
    /// letters ("2024", "!!!") are left alone. A token has both a letter and a digit or leet symbol exactly when two
    /// neighbouring characters in it differ in kind, so the bitmaps point at every token to change and nothing else is
    /// visited.
    /// </summary>
    private static void ApplyLeetWhereMixed(NormalizedText text, ReadOnlySpan<ulong> tok, ReadOnlySpan<ulong> letter)
    {
        var chars = text.Chars;
        var n = text.Length;
        var done = 0;
        for (var w = 0; w < tok.Length; w++)
        {
            var t = tok[w];
            var last = w + 1 == tok.Length;
            var tNext = (t >> 1) | (last ? 0 : (tok[w + 1] & 1) << 63);
            var lNext = (letter[w] >> 1) | (last ? 0 : (letter[w + 1] & 1) << 63);
            var mixed = t & tNext & (letter[w] ^ lNext);
            while (mixed != 0)
            {
                var q = (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(mixed);
                mixed &= mixed - 1;
                if (q < done)
                {
                    continue;
                }

                var start = q;
                while (start > 0 && IsTokenChar(chars[start - 1]))
                {
                    start--;
                }

                var end = q + 1;
                while (end < n && IsTokenChar(chars[end]))
                {
                    end++;
                }

                LeetToken(chars, start, end);
                done = end;
            }
        }
    }

    /// <summary>Maps the digits and symbols of one token with letters ([start, end)) to the letters they stand for.</summary>
    private static void LeetToken(char[] chars, int start, int end)
    {
        var (leetFrom, leetTo) = BangLeetRange(chars, start, end);
        for (var k = start; k < end; k++)
        {
            var c = chars[k];
            var mapped = c switch
            {
                '0' => 'o',
                '1' => 'i',
                '3' => 'e',
                '4' => 'a',
                '5' => 's',
                '7' => 't',
                '8' => 'b',
                '9' => 'g',
                '$' => 's',
                '€' => 'e',
                '¢' => 'c',
                '@' when k > start => 'a',
                '!' when k >= leetFrom && k < leetTo => 'i',
                '|' when k >= leetFrom && k < leetTo => 'l',
                _ => c,
            };
            chars[k] = mapped;
        }
    }

    /// <summary>
    /// Where '!' and '|' may stand for letters in a token: not in the run of them that ends it ("damn!!" is "damn"
    /// shouted, not "damni!"; issue 9), and not in a leading run of two or more ("!!damn"). A single leading one
    /// ("!diot") and those inside the word ("n!ce", "d!!mn") stay leet. Returns [from, to).
    /// </summary>
    internal static (int From, int To) BangLeetRange(ReadOnlySpan<char> chars, int start, int end)
    {
        var to = end;
        while (to > start && chars[to - 1] is '!' or '|')
        {
            to--;
        }

        var from = start;
        while (from < to && chars[from] is '!' or '|')
        {
            from++;
        }

        return (from - start >= 2 ? from : start, to);
    }
}
