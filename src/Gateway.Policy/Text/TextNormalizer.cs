using System.Runtime.CompilerServices;

namespace Gateway.Policy.Text;

/// <summary>
/// A reusable buffer holding normalised text and, for every normalised character, the range of the original
/// input (UTF-16 indices) it came from. Matching runs on <see cref="Span"/>; censoring maps matches back
/// through <see cref="OriginalStart"/> / <see cref="OriginalEnd"/> so the original characters are replaced.
/// </summary>
public sealed class NormalizedText
{
    private char[] _chars;
    private int[] _starts;
    private int[] _ends;

    public NormalizedText(int capacity = 256)
    {
        _chars = new char[capacity];
        _starts = new int[capacity];
        _ends = new int[capacity];
    }

    public int Length { get; internal set; }

    public ReadOnlySpan<char> Span => _chars.AsSpan(0, Length);

    public int OriginalStart(int normalizedIndex) => _starts[normalizedIndex];

    public int OriginalEnd(int normalizedIndex) => _ends[normalizedIndex];

    public override string ToString() => new(Span);

    internal char[] Chars => _chars;

    internal int[] Starts => _starts;

    internal int[] Ends => _ends;

    internal void EnsureCapacity(int capacity)
    {
        if (capacity <= _chars.Length)
        {
            return;
        }

        var size = Math.Max(capacity, _chars.Length * 2);
        Array.Resize(ref _chars, size);
        Array.Resize(ref _starts, size);
        Array.Resize(ref _ends, size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Append(char c, int start, int end)
    {
        var n = Length;
        if (n == _chars.Length)
        {
            EnsureCapacity(n + 1);
        }

        _chars[n] = c;
        _starts[n] = start;
        _ends[n] = end;
        Length = n + 1;
    }
}

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
                var runEnd = ScanSpacedRun(chars, i, n, out var tokens, out var letters);
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

    private static int ScanSpacedRun(char[] chars, int start, int n, out int tokens, out int letters)
    {
        tokens = 1;
        letters = char.IsLetter(chars[start]) ? 1 : 0;
        var end = start + 1; // exclusive end of the last single-char token
        var p = start + 1;
        while (p < n)
        {
            var gap = 0;
            while (p < n && gap < 4 && IsLetterSeparator(chars[p]))
            {
                p++;
                gap++;
            }

            if (gap is 0 or > 3 || p >= n || !IsTokenChar(chars[p]) || (p + 1 < n && IsTokenChar(chars[p + 1])))
            {
                break;
            }

            tokens++;
            if (char.IsLetter(chars[p]))
            {
                letters++;
            }

            p++;
            end = p;
        }

        return end;
    }

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
    /// '@' needs a character before it in the token (a leading '@' is a mention); '!' and '|' need one after it
    /// ("hello!" keeps its '!'). Tokens without letters ("2024", "!!!") are left alone.
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
                    '!' when k + 1 < i => 'i',
                    '|' when k + 1 < i => 'l',
                    _ => c,
                };
                chars[k] = mapped;
            }
        }
    }
}
