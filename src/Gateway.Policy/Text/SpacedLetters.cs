// Over 400 lines because the rule needs its explanation beside it: which side a spaced letter joins, why that is
// decided from a fixed neighbourhood (issue 17, fuzz finding 8), and the scan that applies it in one pass.
using System.Runtime.CompilerServices;

namespace Gateway.Policy.Text;

/// <summary>
/// Spaced-out letters joined ("s p a m" → "spam", "f.u.c.k" → "fuck"): the stage of <see cref="TextNormalizer"/>
/// between folding and leetspeak.
/// </summary>
/// <remarks>
/// <para>
/// A <b>single</b> is a one-character token (letter, digit or leet symbol) with no token character either side, or
/// only a trailing '!'/'|' ("f_u_c_k!"). A <b>gap</b> is one to three separator characters (space, '.', '-', '_', …)
/// between a single and a token character or a censored word ("**" or more), unless it is punctuation with a space
/// (", ", "; ", ": ": a list).
/// </para>
/// <para>
/// Each single decides which neighbours it joins from a fixed neighbourhood: its two gaps, the token beyond each gap
/// and that token's far gap (issue 17, fuzz finding 8: the decision used to depend on whether the next run went on
/// joining, so "s.p.a.m ｍ s.p.a.m" became "spa.m m spam", normalising again changed the text and starring out one
/// copy freed the other).
/// </para>
/// <list type="bullet">
/// <item>The same gap on both sides: it joins both (it is inside a run).</item>
/// <item>Otherwise a side <i>can</i> take it when the token there is a single spaced alike on its far side too (two
/// more tokens spaced like this gap). It joins the side that can; if both can, the side whose gap is not a plain
/// space ("such a f.u.c.k", "t A s.p.a.m": the dotted run), and between two such gaps the left one.</item>
/// </list>
/// <para>
/// A <b>run</b> is a chain of singles joined to each other; it is joined whole when it has at least three tokens, two
/// of them letters, not one letter repeated ("x x x" kisses) and no operator or bracket beside it ("f(x) = a n a l +
/// 1"), and otherwise left exactly as written. A side that takes a single always holds another single joined to it, so
/// whether a neighbouring run is joined, or starred out by censoring, never changes which side a single is on: the
/// result is the same when normalised again and when a neighbour is censored. A one-letter word "a"/"I" at either end
/// of a run of four or more leaves a soft word boundary ("such a f u c k" → "afuck") unless it could have joined the
/// run on its other side too (then starring out the rest would hand it over).
/// </para>
/// </remarks>
public static partial class TextNormalizer
{
    private const int JoinsLeft = 1;
    private const int JoinsRight = 2;

    /// <summary>
    /// Joins the runs of spaced singles that start at or after <paramref name="from"/> (no run starts earlier), in
    /// place; returns whether anything was joined. One pass: the left context of a run is the output written so far
    /// (a run joined before it reads as the word it became, which decides the same as the letters it was), the right
    /// context the text not yet read.
    /// </summary>
    private static bool JoinSpacedLetters(NormalizedText text, int from, ReadOnlySpan<ulong> tok)
    {
        var chars = text.Chars;
        var n = text.Length;
        var i = from;
        var write = from;
        // The last run joined: where it ends in the output and its last gap (a single after it could have joined it).
        var joinedEnd = -1;
        ulong joinedGap = 0;
        while (i < n)
        {
            // Only a single can start a run: the bitmap (of the text before joining, which is what i reads: writes
            // stay behind it) finds the next one, and everything before it moves as one block.
            var next = NextSingle(tok, i, n);
            if (next > i)
            {
                Shift(text, i, write, next - i);
                write += next - i;
                i = next;
                continue;
            }

            var run = ScanRun(chars, i, n, write, joinedEnd, joinedGap);
            if (run.Join)
            {
                var runStart = write;
                for (var k = i; k < run.End; k++)
                {
                    if (IsTokenChar(chars[k]))
                    {
                        Move(text, k, write++);
                    }
                }

                // A one-letter word spaced like the letters beside it ("such a f u c k", "b i t c h I swear"): the
                // word may end or start after it. The rest is one word: a match cutting into it censors all of it.
                var wordStart = runStart;
                var wordEnd = write;
                if (run.Tokens >= 4)
                {
                    if (run.SoftStart && chars[runStart] is 'a' or 'i')
                    {
                        text.AddSoftBoundary(++wordStart);
                    }

                    if (run.SoftEnd && chars[write - 1] is 'a' or 'i')
                    {
                        text.AddSoftBoundary(--wordEnd);
                    }
                }

                text.AddJoinedRun(wordStart, wordEnd);
                joinedEnd = write;
                joinedGap = run.LastGap;
            }
            else
            {
                // Not joined: the whole run stays as written (its later singles would only start pieces of it).
                Shift(text, i, write, run.End - i);
                write += run.End - i;
            }

            i = run.End;
        }

        text.Length = write;
        return write != n;
    }

    /// <summary>A run of singles: its exclusive end (after its last token), what it holds, and whether it is joined.</summary>
    private readonly record struct SpacedRun(int End, int Tokens, bool Join, bool SoftStart, bool SoftEnd, ulong LastGap);

    /// <summary>
    /// The run that starts at the single <paramref name="p"/>: the chain of singles joined to each other from there.
    /// Its left context is the output <c>chars[0..write)</c>; the last run joined there ends at
    /// <paramref name="joinedEnd"/> with the gap <paramref name="joinedGap"/> (<see cref="PackGap"/>).
    /// </summary>
    private static SpacedRun ScanRun(char[] chars, int p, int n, int write, int joinedEnd, ulong joinedGap)
    {
        // p must join its right side: a gap there, spaced alike on its left (inside a run: a single before it spaced
        // alike would have started the run earlier), or a right side that can take it and a left side that cannot
        // or loses.
        var gr = GapAfter(chars, p + 1, n);
        if (gr == 0)
        {
            return new SpacedRun(p + 1, 1, false, true, true, 0);
        }

        // p's left gap and the single before it, in the output.
        var gl = GapBefore(chars, write, 0);
        var glStart = write - gl;
        var o = glStart - 1;
        var leftCan = false;
        if (gl != gr || !SameChars(chars, glStart, p + 1, gr))
        {
            if (!RightCanTake(chars, p + 1 + gr, p + 1, gr, n))
            {
                return new SpacedRun(p + 1, 1, false, true, true, 0);
            }

            leftCan = gl > 0 && IsTokenChar(chars[o]) && (o == 0 || !IsTokenChar(chars[o - 1]))
                && GapBefore(chars, o, 0) == gl && SameChars(chars, o - gl, glStart, gl);
            if ((Choose(chars, glStart, gl, leftCan, p + 1, gr, rightCan: true) & JoinsRight) == 0)
            {
                return new SpacedRun(p + 1, 1, false, true, true, 0);
            }
        }

        var tokens = 1;
        var letters = char.IsLetter(chars[p]) ? 1 : 0;
        var allSame = true;
        var end = p + 1;
        var softEnd = true;
        var lastGapStart = 0;
        var lastGapLength = 0;
        // The last token joined (cur) and its gaps: it joins the next token, which must join it back.
        var curGlStart = glStart;
        var curGl = gl;
        var curGrStart = p + 1;
        var curGr = gr;
        while (true)
        {
            var y = curGrStart + curGr;
            if (!IsSingleAfterGap(chars, y, n))
            {
                break;
            }

            // The same gap again, then a token character: inside the run (most letters of a long run), known without
            // measuring the gap (cur's gap was measured: not a list, not too long).
            var a = y + 1 + curGr;
            var yGr = a < n && IsTokenChar(chars[a]) && SameChars(chars, curGrStart, y + 1, curGr) ? curGr : GapAfter(chars, y + 1, n);
            int joins;
            var yRightCan = false;
            if (yGr == curGr && SameChars(chars, curGrStart, y + 1, yGr))
            {
                // Spaced alike both sides: inside the run (most letters of a long run).
                joins = JoinsLeft | JoinsRight;
            }
            else
            {
                // y's left side can take it when cur is spaced alike on its own left (cur is a single).
                var yLeftCan = curGl == curGr && SameChars(chars, curGlStart, curGrStart, curGr);
                yRightCan = yGr > 0 && RightCanTake(chars, y + 1 + yGr, y + 1, yGr, n);
                joins = Choose(chars, curGrStart, curGr, yLeftCan, y + 1, yGr, yRightCan);
            }

            if ((joins & JoinsLeft) == 0)
            {
                break;
            }

            tokens++;
            lastGapStart = curGrStart;
            lastGapLength = curGr;
            letters += char.IsLetter(chars[y]) ? 1 : 0;
            allSame &= chars[y] == chars[p];
            end = y + 1;
            // Inside a run, or nothing it could have joined on the right: a one-letter word of its own.
            softEnd = (joins & JoinsRight) != 0 || !yRightCan;
            if ((joins & JoinsRight) == 0)
            {
                break;
            }

            curGlStart = curGrStart;
            curGl = curGr;
            curGrStart = y + 1;
            curGr = yGr;
        }

        // Not a disguised word: the same letter repeated ("x x x" kisses, "X X X" in a grid), fewer than two letters,
        // or letters in a formula ("f(x) = a n a l + 1").
        var join = tokens >= 3 && letters >= 2 && !allSame && !IsFormulaBefore(chars, write) && !IsFormulaAfter(chars, end, n);
        // A one-letter word at the start is a word of its own unless the left side could take it: a single there
        // spaced alike, in the output as written or as the last letter of the run joined just before.
        var softStart = !leftCan && !(gl > 0 && o == joinedEnd - 1 && PackGap(chars, glStart, gl) == joinedGap);
        return new SpacedRun(end, tokens, join, softStart, softEnd, PackGap(chars, lastGapStart, lastGapLength));
    }

    /// <summary>A gap of one to three characters as one value (length in the low 16 bits), to compare with a gap
    /// that is no longer in the text.</summary>
    private static ulong PackGap(char[] chars, int start, int length)
    {
        var v = (ulong)length;
        for (var k = 0; k < length; k++)
        {
            v |= (ulong)chars[start + k] << (16 * (k + 1));
        }

        return v;
    }

    /// <summary>
    /// Which sides a single joins (<see cref="JoinsLeft"/>, <see cref="JoinsRight"/>) from its gaps
    /// (<c>[glStart, +gl)</c>, <c>[grStart, +gr)</c>; length 0: none) and whether each side can take it.
    /// </summary>
    private static int Choose(char[] chars, int glStart, int gl, bool leftCan, int grStart, int gr, bool rightCan)
    {
        if (gl > 0 && gl == gr && SameChars(chars, glStart, grStart, gl))
        {
            return JoinsLeft | JoinsRight;
        }

        if (leftCan && rightCan)
        {
            // A plain space is how words are spaced anyway: the other gap is the disguise. Otherwise the left.
            return IsPlainSpace(chars, glStart, gl) && !IsPlainSpace(chars, grStart, gr) ? JoinsRight : JoinsLeft;
        }

        return (leftCan ? JoinsLeft : 0) | (rightCan ? JoinsRight : 0);
    }

    private static bool IsPlainSpace(char[] chars, int start, int length) => length == 1 && chars[start] == ' ';

    /// <summary>Whether the right side can take a single whose right gap is <c>[grStart, +gr)</c>: the token at
    /// <paramref name="y"/> after it is a single followed by the same gap.</summary>
    private static bool RightCanTake(char[] chars, int y, int grStart, int gr, int n)
    {
        if (!IsSingleAfterGap(chars, y, n))
        {
            return false;
        }

        return GapAfter(chars, y + 1, n) == gr && SameChars(chars, y + 1, grStart, gr);
    }

    /// <summary>Whether the gaps (one to three characters) at <paramref name="a"/> and <paramref name="b"/> of
    /// <paramref name="length"/> read the same.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SameChars(char[] chars, int a, int b, int length) =>
        chars[a] == chars[b] && (length < 2 || chars[a + 1] == chars[b + 1]) && (length < 3 || chars[a + 2] == chars[b + 2]);

    /// <summary>A single at <paramref name="y"/>, just after a gap (so nothing of its token before it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsSingleAfterGap(char[] chars, int y, int n) => y < n && IsTokenChar(chars[y]) && EndsSingle(chars, y + 1, n);

    /// <summary>
    /// The gap starting at <paramref name="at"/> (after a single): its length, 0 if there is none. It ends at a token
    /// character or at a run of two or more '*' (a censored word: starring a neighbour out must not change the gap).
    /// </summary>
    private static int GapAfter(char[] chars, int at, int n)
    {
        var g = 0;
        while (g < 4 && at + g < n && IsLetterSeparator(chars[at + g]) && !(chars[at + g] == '*' && at + g + 1 < n && chars[at + g + 1] == '*'))
        {
            g++;
        }

        return g is 0 or > 3 || at + g >= n || !(IsTokenChar(chars[at + g]) || chars[at + g] == '*') || IsListGap(chars, at, g) ? 0 : g;
    }

    /// <summary>The gap ending just before <paramref name="at"/> (before a single), within <c>[lo, at)</c>: its
    /// length, 0 if there is none. It starts after a token character or a run of two or more '*'.</summary>
    private static int GapBefore(char[] chars, int at, int lo)
    {
        var g = 0;
        while (g < 4 && at - 1 - g >= lo && IsLetterSeparator(chars[at - 1 - g]) && !(chars[at - 1 - g] == '*' && at - 2 - g >= lo && chars[at - 2 - g] == '*'))
        {
            g++;
        }

        return g is 0 or > 3 || at - 1 - g < lo || !(IsTokenChar(chars[at - 1 - g]) || chars[at - 1 - g] == '*') || IsListGap(chars, at - g, g) ? 0 : g;
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

        return b >= 0 && IsFormulaChar(chars[b]);
    }

    /// <summary>An operator or bracket after the run (spaces skipped) in the text not yet read.</summary>
    private static bool IsFormulaAfter(char[] chars, int end, int n)
    {
        var a = end;
        while (a < n && chars[a] == ' ')
        {
            a++;
        }

        return a < n && IsFormulaChar(chars[a]);
    }

    /// <summary>
    /// An operator or a bracket: maths ("f(x) = a n a l + 1"), not a disguised word. Digits do not count: "3 f.u.c.k"
    /// and leetspeak beside a run ("d.í.s.4") must still join; "Row 3: X X X" is one letter repeated.
    /// </summary>
    private static bool IsFormulaChar(char c) => c is '=' or '+' or '(' or ')' or '<' or '>' or '^';

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
}
