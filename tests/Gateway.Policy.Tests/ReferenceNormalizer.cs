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

    // Spaced letters, written from the rule rather than from the fast code (issue 17, fuzz finding 8): every single
    // decides its sides on the text as folded, then chains of singles joined to each other are joined whole or not at
    // all. The fast code reads a run's left side from its output instead; FastPathTests checks they agree.
    private const int Left = 1;
    private const int Right = 2;

    private static void JoinSpacedLetters(NormalizedText text)
    {
        var chars = text.Chars;
        var n = text.Length;
        var sides = new int[n];
        for (var p = 0; p < n; p++)
        {
            sides[p] = IsSingle(chars, p, n) ? Sides(chars, p, n) : 0;
        }

        var i = 0;
        var write = 0;
        while (i < n)
        {
            if (IsSingle(chars, i, n) && (sides[i] & Right) != 0)
            {
                var last = i;
                var tokens = 1;
                var letters = char.IsLetter(chars[i]) ? 1 : 0;
                var allSame = true;
                while ((sides[last] & Right) != 0)
                {
                    var y = last + 1 + GapAfter(chars, last + 1, n);
                    if (y == last + 1 || !IsSingle(chars, y, n) || (sides[y] & Left) == 0)
                    {
                        break;
                    }

                    last = y;
                    tokens++;
                    letters += char.IsLetter(chars[y]) ? 1 : 0;
                    allSame &= chars[y] == chars[i];
                }

                var join = tokens >= 3 && letters >= 2 && !allSame && !FormulaBeside(chars, i, last, n);
                for (var k = i; k <= last; k++)
                {
                    if (!join || IsTokenChar(chars[k]))
                    {
                        Move(text, k, write++);
                    }
                }

                i = last + 1;
                continue;
            }

            Move(text, i, write++);
            i++;
        }

        text.Length = write;
    }

    /// <summary>A one-character token: no token character before it, none after it but a trailing '!'/'|'.</summary>
    private static bool IsSingle(char[] chars, int p, int n) =>
        p < n && IsTokenChar(chars[p]) && (p == 0 || !IsTokenChar(chars[p - 1])) && EndsSingle(chars, p + 1, n);

    /// <summary>Which sides the single at p joins: both when spaced alike both sides; else a side that can take it
    /// (the single beyond the gap is spaced alike on its far side); both can: not the plain space, else the left.</summary>
    private static int Sides(char[] chars, int p, int n)
    {
        var gl = GapBefore(chars, p);
        var gr = GapAfter(chars, p + 1, n);
        var left = gl > 0 ? new string(chars, p - gl, gl) : null;
        var right = gr > 0 ? new string(chars, p + 1, gr) : null;
        if (left is not null && left == right)
        {
            return Left | Right;
        }

        var o = p - gl - 1;
        var leftCan = left is not null && IsSingle(chars, o, n) && GapBefore(chars, o) == gl && new string(chars, o - gl, gl) == left;
        var y = p + 1 + gr;
        var rightCan = right is not null && IsSingle(chars, y, n) && GapAfter(chars, y + 1, n) == gr && new string(chars, y + 1, gr) == right;
        if (leftCan && rightCan)
        {
            return left == " " && right != " " ? Right : Left;
        }

        return (leftCan ? Left : 0) | (rightCan ? Right : 0);
    }

    // A gap ends at a token character or at "**" (a censored word), and is not a list's ", ".
    private static int GapAfter(char[] chars, int at, int n)
    {
        var g = 0;
        while (at + g < n && IsLetterSeparator(chars[at + g]) && !(chars[at + g] == '*' && at + g + 1 < n && chars[at + g + 1] == '*'))
        {
            g++;
        }

        return g is >= 1 and <= 3 && at + g < n && (IsTokenChar(chars[at + g]) || chars[at + g] == '*') && !IsListGap(chars, at, g) ? g : 0;
    }

    private static int GapBefore(char[] chars, int at)
    {
        var g = 0;
        while (at - 1 - g >= 0 && IsLetterSeparator(chars[at - 1 - g]) && !(chars[at - 1 - g] == '*' && at - 2 - g >= 0 && chars[at - 2 - g] == '*'))
        {
            g++;
        }

        return g is >= 1 and <= 3 && at - 1 - g >= 0 && (IsTokenChar(chars[at - 1 - g]) || chars[at - 1 - g] == '*') && !IsListGap(chars, at - g, g) ? g : 0;
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

    /// <summary>An operator or bracket just before the run's first token or after its last one (spaces skipped).</summary>
    private static bool FormulaBeside(char[] chars, int first, int last, int n)
    {
        var b = first - 1;
        while (b >= 0 && chars[b] == ' ')
        {
            b--;
        }

        var a = last + 1;
        while (a < n && chars[a] == ' ')
        {
            a++;
        }

        return (b >= 0 && IsFormula(chars[b])) || (a < n && IsFormula(chars[a]));
    }

    private static bool IsFormula(char c) => c is '=' or '+' or '(' or ')' or '<' or '>' or '^';

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
