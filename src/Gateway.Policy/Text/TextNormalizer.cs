// Over 400 lines on purpose: one per-character normalisation pipeline (fold, classify, leetspeak, spaced letters)
// whose stages hand each other the same bit masks and ASCII class table, in an order they depend on; apart, that
// order is invisible. It is the hottest code in the engine, benchmarked as one unit (loadtests/).
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
public static class TextNormalizer
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

    /// <summary>
    /// Joins runs of at least three one-character tokens separated by one to three separator characters, of
    /// which at least two are letters: "s p a m" → "spam", "f.r.e.e" → "free". Pairs like "a b" stay apart.
    /// Starts at <paramref name="from"/> (no run starts earlier); returns whether anything was joined.
    /// </summary>
    private static bool JoinSpacedLetters(NormalizedText text, int from, ReadOnlySpan<ulong> tok)
    {
        var chars = text.Chars;
        var n = text.Length;
        var i = from;
        var write = from;
        while (i < n)
        {
            // Only a single-character token can start a run: the bitmap (of the text before joining, which is what
            // i reads: writes stay behind it) finds the next one, and everything before it moves as one block.
            var next = NextSingle(tok, i, n);
            if (next > i)
            {
                Shift(text, i, write, next - i);
                write += next - i;
                i = next;
                continue;
            }

            var runEnd = ScanSpacedRun(chars, i, n, write, out var tokens, out var letters, out var noneInside);
            if (noneInside)
            {
                // Rejected for a reason every run starting at a later token of this one shares: copy it whole rather
                // than try each of those (a long "s s s s ..." cost O(n²) that way).
                Shift(text, i, write, runEnd - i);
                write += runEnd - i;
                i = runEnd;
                continue;
            }

            if (tokens >= 3 && letters >= 2)
            {
                var runStart = write;
                for (var k = i; k < runEnd; k++)
                {
                    if (IsTokenChar(chars[k]))
                    {
                        Move(text, k, write++);
                    }
                }

                // A one-letter word spaced like the letters beside it ("such a f u c k", "b i t c h I swear"): the
                // word may end or start after it.
                if (tokens >= 4)
                {
                    if (chars[runStart] is 'a' or 'i')
                    {
                        text.AddSoftBoundary(runStart + 1);
                    }

                    if (chars[write - 1] is 'a' or 'i')
                    {
                        text.AddSoftBoundary(write - 1);
                    }
                }

                i = runEnd;
                continue;
            }

            Move(text, i, write++);
            i++;
        }

        text.Length = write;
        return write != n;
    }

    /// <summary>The first single-character token (a token character with none either side) at or after
    /// <paramref name="from"/>, or <paramref name="n"/>.</summary>
    private static int NextSingle(ReadOnlySpan<ulong> tok, int from, int n)
    {
        for (var w = from >> 6; w < tok.Length; w++)
        {
            var t = tok[w];
            var before = (t << 1) | (w > 0 ? tok[w - 1] >> 63 : 0);
            var after = (t >> 1) | (w + 1 < tok.Length ? (tok[w + 1] & 1) << 63 : 0);
            var single = t & ~before & ~after;
            if (w == from >> 6)
            {
                single &= ulong.MaxValue << (from & 63);
            }

            if (single != 0)
            {
                return Math.Min(n, (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(single));
            }
        }

        return n;
    }

    private static void Shift(NormalizedText text, int from, int to, int count)
    {
        if (from != to)
        {
            Array.Copy(text.Chars, from, text.Chars, to, count);
            Array.Copy(text.Starts, from, text.Starts, to, count);
            Array.Copy(text.Ends, from, text.Ends, to, count);
        }
    }

    /// <summary>
    /// The spaced run starting at <paramref name="start"/>: its exclusive end, its token and letter counts (tokens 0:
    /// not a disguised word). <paramref name="noneInside"/>: the run is rejected and so is every run that starts at
    /// a later token of it. Those see the same gaps and tokens from there on and stop at the same place with the same
    /// text after it, so fewer letters, a repeated letter or a formula after the run rejects them too (a formula
    /// before the run does not: a later start has a letter before it).
    /// </summary>
    private static int ScanSpacedRun(char[] chars, int start, int n, int write, out int tokens, out int letters,
        out bool noneInside)
    {
        noneInside = false;
        tokens = 1;
        letters = char.IsLetter(chars[start]) ? 1 : 0;
        var end = start + 1; // exclusive end of the last single-char token
        var prevEnd = start; // the end before it
        var p = start + 1;
        var gapStart = -1;
        var gapLength = 0;
        var allSame = true;
        while (p < n)
        {
            var gs = p;
            var gap = 0;
            while (p < n && gap < 4 && IsLetterSeparator(chars[p]))
            {
                p++;
                gap++;
            }

            if (gap is 0 or > 3 || p >= n || !IsTokenChar(chars[p]) || !EndsSingle(chars, p + 1, n))
            {
                break;
            }

            // Every gap of a run is the same ("f.u.c.k", "s p a m"): a one-letter word next to a dotted run ("such a
            // f.u.c.k") stays out of it, and a list ("a, b, c") is not a run.
            if (gapStart < 0)
            {
                if (IsListGap(chars, gs, gap))
                {
                    break;
                }

                gapStart = gs;
                gapLength = gap;
            }
            else if (!chars.AsSpan(gs, gap).SequenceEqual(chars.AsSpan(gapStart, gapLength)))
            {
                // Another separator continues from the last letter for at least three letters ("t A e.c.a.m.a"):
                // that letter starts the next run rather than ending this one.
                var q = p + 1;
                if (tokens > 1 && q + gap < n && chars.AsSpan(q, gap).SequenceEqual(chars.AsSpan(gs, gap))
                    && IsTokenChar(chars[q + gap]) && EndsSingle(chars, q + gap + 1, n))
                {
                    tokens--;
                    if (char.IsLetter(chars[end - 1]))
                    {
                        letters--;
                    }

                    end = prevEnd;
                }

                break;
            }

            tokens++;
            if (char.IsLetter(chars[p]))
            {
                letters++;
            }

            allSame &= chars[p] == chars[start];
            p++;
            prevEnd = end;
            end = p;
        }

        // Not a disguised word: the same letter repeated ("x x x" kisses, "X X X" in a grid) or letters in a formula
        // ("f(x) = a n a l + 1").
        if (tokens >= 3)
        {
            var formulaAfter = IsFormulaAfter(chars, end, n);
            noneInside = allSame || letters < 2 || formulaAfter;
            if (allSame || formulaAfter || IsFormulaBefore(chars, write))
            {
                tokens = 0;
            }
        }

        return end;
    }

    /// <summary>After a run's token at <paramref name="q"/> - 1: nothing more of the token, or only a trailing '!'/'|' ("f_u_c_k!").</summary>
    private static bool EndsSingle(char[] chars, int q, int n)
    {
        if (q >= n || !IsTokenChar(chars[q]))
        {
            return true;
        }

        var b = q;
        while (b < n && chars[b] is '!' or '|')
        {
            b++;
        }

        return b > q && (b >= n || !IsTokenChar(chars[b]));
    }

    /// <summary>A gap of punctuation and a space (", ", "; ") separates list items or sentences, not letters.</summary>
    private static bool IsListGap(char[] chars, int from, int length)
    {
        var space = false;
        var punctuation = false;
        for (var k = from; k < from + length; k++)
        {
            space |= chars[k] == ' ';
            punctuation |= chars[k] is ',' or ';' or ':';
        }

        return space && punctuation;
    }

    /// <summary>An operator or bracket before the run (spaces skipped) in the output written so far ([0, <paramref name="write"/>)).</summary>
    private static bool IsFormulaBefore(char[] chars, int write)
    {
        var b = write - 1;
        while (b >= 0 && chars[b] == ' ')
        {
            b--;
        }

        return b >= 0 && IsFormulaAt(chars, b, 0, write);
    }

    /// <summary>An operator or bracket after the run (spaces skipped) in the text not yet read.</summary>
    private static bool IsFormulaAfter(char[] chars, int end, int n)
    {
        var a = end;
        while (a < n && chars[a] == ' ')
        {
            a++;
        }

        return a < n && IsFormulaAt(chars, a, end, n);
    }

    /// <summary>
    /// An operator or a bracket: maths ("f(x) = a n a l + 1"), not a disguised word. Digits do not count: "3 f.u.c.k"
    /// and leetspeak beside a run ("d.í.s.4") must still join; "Row 3: X X X" is one letter repeated.
    /// </summary>
    private static bool IsFormulaAt(char[] chars, int at, int lo, int hi) =>
        chars[at] is '=' or '+' or '(' or ')' or '<' or '>' or '^';

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Move(NormalizedText text, int from, int to)
    {
        if (from != to)
        {
            text.Chars[to] = text.Chars[from];
            text.Starts[to] = text.Starts[from];
            text.Ends[to] = text.Ends[from];
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
