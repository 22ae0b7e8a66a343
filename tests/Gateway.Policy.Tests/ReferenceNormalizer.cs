using System.Runtime.CompilerServices;
using Gateway.Policy.Text;

namespace Gateway.Policy.Tests;

// The normaliser as first written (three full passes, no fast paths), kept verbatim as the reference that
// FastPathTests compares the optimised one against. Do not optimise this copy.
internal static class ReferenceNormalizer
{
    /// <summary>The normalised text and its index map, computed with the original three full passes.</summary>
    public static (string Chars, int[] Starts, int[] Ends) Normalize(string input)
    {
        var output = new NormalizedText(Math.Max(16, input.Length));
        NormalizeInto(input, output);
        var n = output.Length;
        return (output.ToString(), output.Starts[..n], output.Ends[..n]);
    }

    private static void NormalizeInto(ReadOnlySpan<char> input, NormalizedText output)
    {
        output.Length = 0;
        output.EnsureCapacity(input.Length + 8);
        Fold(input, output);
        JoinSpacedLetters(output);
        ApplyLeet(output);
    }

    /// <summary>Is this normalised character part of a word (for whole-word matching)?</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsWordChar(char c) => c < 128 ? IsAsciiWord(c) : char.IsLetterOrDigit(c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsAsciiWord(char c) => (uint)(c - 'a') <= 'z' - 'a' || (uint)(c - '0') <= 9 || (uint)(c - 'A') <= 'Z' - 'A';

    private static void Fold(ReadOnlySpan<char> input, NormalizedText output)
    {
        var lastWasSpace = false;
        for (var i = 0; i < input.Length; i++)
        {
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

    private static bool IsTokenChar(char c) => IsWordChar(c) || IsLeetSymbol(c);

    /// <summary>
    /// Joins runs of at least three one-character tokens separated by one to three separator characters, of
    /// which at least two are letters: "s p a m" → "spam", "f.r.e.e" → "free". Pairs like "a b" stay apart.
    /// </summary>
    private static void JoinSpacedLetters(NormalizedText text)
    {
        var chars = text.Chars;
        var n = text.Length;
        var i = 0;
        var write = 0;
        while (i < n)
        {
            // Is there a run of single-char tokens starting at i?
            if (IsTokenChar(chars[i]) && (i == 0 || !IsTokenChar(chars[i - 1])) && (i + 1 >= n || !IsTokenChar(chars[i + 1])))
            {
                var runEnd = ScanSpacedRun(chars, i, n, write, out var tokens, out var letters);
                if (tokens >= 3 && letters >= 2)
                {
                    for (var k = i; k < runEnd; k++)
                    {
                        if (IsTokenChar(chars[k]))
                        {
                            Move(text, k, write++);
                        }
                    }

                    i = runEnd;
                    continue;
                }
            }

            Move(text, i, write++);
            i++;
        }

        text.Length = write;
    }

    private static int ScanSpacedRun(char[] chars, int start, int n, int write, out int tokens, out int letters)
    {
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
        if (tokens >= 3 && (allSame || IsFormulaAround(chars, write, end, n)))
        {
            tokens = 0;
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

    /// <summary>
    /// Is the run between an operator, bracket or digit (spaces skipped)? Before it is the output written so far
    /// ([0, <paramref name="write"/>)), after it the text not yet read.
    /// </summary>
    private static bool IsFormulaAround(char[] chars, int write, int end, int n)
    {
        var b = write - 1;
        while (b >= 0 && chars[b] == ' ')
        {
            b--;
        }

        var a = end;
        while (a < n && chars[a] == ' ')
        {
            a++;
        }

        return (b >= 0 && IsFormulaAt(chars, b, 0, write)) || (a < n && IsFormulaAt(chars, a, end, n));
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

    /// <summary>
    /// Inside a token that has at least one letter, digits and leet symbols become the letters they stand for.
    /// '@' needs a character before it in the token (a leading '@' is a mention); '!' and '|' need a character
    /// other than '!' and '|' after them ("hello!!" keeps its '!!') and are not leet in a leading run of two or more
    /// ("!!hello"). Tokens without letters ("2024", "!!!") are left alone.
    /// </summary>
    private static void ApplyLeet(NormalizedText text)
    {
        var chars = text.Chars;
        var n = text.Length;
        var i = 0;
        while (i < n)
        {
            if (!IsTokenChar(chars[i]))
            {
                i++;
                continue;
            }

            var start = i;
            var hasLetter = false;
            var hasLeet = false;
            while (i < n && IsTokenChar(chars[i]))
            {
                var c = chars[i];
                if (c is >= 'a' and <= 'z' || (c >= 128 && char.IsLetter(c)))
                {
                    hasLetter = true;
                }
                else
                {
                    hasLeet = true;
                }

                i++;
            }

            if (!hasLetter || !hasLeet)
            {
                continue;
            }

            // Issue 9: a trailing run of '!'/'|' (and a leading run of two or more) is punctuation, not leet.
            var leetTo = i;
            while (leetTo > start && chars[leetTo - 1] is '!' or '|')
            {
                leetTo--;
            }

            var leetFrom = start;
            while (leetFrom < leetTo && chars[leetFrom] is '!' or '|')
            {
                leetFrom++;
            }

            if (leetFrom - start < 2)
            {
                leetFrom = start;
            }

            for (var k = start; k < i; k++)
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
    }
}
