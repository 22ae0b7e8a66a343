using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Gateway.Protocols.Json;

/// <summary>
/// Replaces string values in a JSON body and leaves every other byte as it was, so a censored body differs from
/// the original only inside the rewritten string literals.
/// </summary>
internal static class JsonRewriter
{
    private const int StackScratchInts = 192;

    /// <summary>Chars that are written as themselves, one byte each: printable ASCII except '"' and '\'.</summary>
    private static readonly SearchValues<char> PlainAscii = SearchValues.Create(
        " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>
    /// Returns a copy of <paramref name="json"/> with each location (a string token, quotes included) replaced by
    /// the new value as a JSON string literal. Replacements may come in any order but must not overlap.
    /// </summary>
    /// <remarks>
    /// Escaping follows JavaScriptEncoder.UnsafeRelaxedJsonEscaping in spirit: '"', '\' and control characters are
    /// escaped, everything else is raw UTF-8. A lone surrogate, which has no UTF-8 form, is written as U+FFFD so the
    /// output is always valid UTF-8 and parses as the same text everywhere.
    /// </remarks>
    public static byte[] Replace(
        ReadOnlySpan<byte> json,
        ReadOnlySpan<(JsonValueLocation Location, string NewValue)> replacements)
    {
        var count = replacements.Length;
        if (count == 0)
        {
            return json.ToArray();
        }

        int[]? rented = null;
        var scratch = count * 3 <= StackScratchInts
            ? stackalloc int[StackScratchInts]
            : (rented = ArrayPool<int>.Shared.Rent(count * 3));
        try
        {
            var starts = scratch[..count];
            var order = scratch.Slice(count, count);
            var encodedLengths = scratch.Slice(count * 2, count);
            for (var i = 0; i < count; i++)
            {
                starts[i] = replacements[i].Location.Start;
                order[i] = i;
            }

            starts.Sort(order);

            long total = json.Length;
            var previousEnd = 0;
            for (var k = 0; k < count; k++)
            {
                var (location, newValue) = replacements[order[k]];
                if (DescribeBadLocation(json, location, previousEnd) is { } problem)
                {
                    throw new ArgumentException($"Replacement {order[k]} {problem}", nameof(replacements));
                }

                if (newValue is null)
                {
                    throw new ArgumentException($"Replacement {order[k]} has a null value.", nameof(replacements));
                }

                previousEnd = location.End;
                var encoded = EscapedLength(newValue);
                if (encoded > Array.MaxLength)
                {
                    throw new ArgumentException($"Replacement {order[k]} is too long.", nameof(replacements));
                }

                encodedLengths[order[k]] = (int)encoded;
                total += encoded - location.Length;
            }

            if (total > Array.MaxLength)
            {
                throw new ArgumentException("The rewritten body would be too long.", nameof(replacements));
            }

            var result = GC.AllocateUninitializedArray<byte>((int)total);
            var source = 0;
            var destination = 0;
            for (var k = 0; k < count; k++)
            {
                var (location, newValue) = replacements[order[k]];
                var unchanged = json[source..location.Start];
                unchanged.CopyTo(result.AsSpan(destination));
                destination += unchanged.Length;

                var literal = result.AsSpan(destination, encodedLengths[order[k]]);
                WriteEscaped(newValue, literal);
                destination += literal.Length;
                source = location.End;
            }

            json[source..].CopyTo(result.AsSpan(destination));
            return result;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Length in bytes of <paramref name="value"/> as a JSON string literal, quotes included.</summary>
    internal static long EscapedLength(ReadOnlySpan<char> value)
    {
        long length = 2;
        var i = 0;
        while (i < value.Length)
        {
            var plain = value[i..].IndexOfAnyExcept(PlainAscii);
            if (plain < 0)
            {
                length += value.Length - i;
                break;
            }

            length += plain;
            i += plain;
            var c = value[i];
            if (c < 0x80)
            {
                length += c switch
                {
                    '"' or '\\' or '\b' or '\f' or '\n' or '\r' or '\t' => 2,
                    < ' ' => 6,
                    _ => 1,
                };
                i++;
            }
            else if (c < 0x800)
            {
                length += 2;
                i++;
            }
            else if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                length += 4;
                i += 2;
            }
            else
            {
                // Any other BMP char, or a lone surrogate written as U+FFFD: three bytes either way.
                length += 3;
                i++;
            }
        }

        return length;
    }

    /// <summary>Writes the literal into <paramref name="destination"/>, which is exactly EscapedLength long.</summary>
    private static void WriteEscaped(ReadOnlySpan<char> value, Span<byte> destination)
    {
        destination[0] = (byte)'"';
        var d = 1;
        var i = 0;
        while (i < value.Length)
        {
            var plain = value[i..].IndexOfAnyExcept(PlainAscii);
            var run = plain < 0 ? value[i..] : value.Slice(i, plain);
            if (!run.IsEmpty)
            {
                Ascii.FromUtf16(run, destination[d..], out var bytesWritten);
                d += bytesWritten;
                i += run.Length;
            }

            if (plain < 0)
            {
                break;
            }

            var c = value[i];
            if (c < 0x80)
            {
                d += WriteAsciiSpecial(c, destination[d..]);
                i++;
                continue;
            }

            Rune rune;
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                rune = new Rune(c, value[i + 1]);
                i += 2;
            }
            else
            {
                rune = char.IsSurrogate(c) ? Rune.ReplacementChar : new Rune(c);
                i++;
            }

            d += rune.EncodeToUtf8(destination[d..]);
        }

        if (d != destination.Length - 1)
        {
            throw new InvalidOperationException("EscapedLength and WriteEscaped disagree.");
        }

        destination[d] = (byte)'"';
    }

    private static int WriteAsciiSpecial(char c, Span<byte> destination)
    {
        byte shortEscape = c switch
        {
            '"' => (byte)'"',
            '\\' => (byte)'\\',
            '\b' => (byte)'b',
            '\f' => (byte)'f',
            '\n' => (byte)'n',
            '\r' => (byte)'r',
            '\t' => (byte)'t',
            _ => 0,
        };
        if (shortEscape != 0)
        {
            destination[0] = (byte)'\\';
            destination[1] = shortEscape;
            return 2;
        }

        if (c < ' ')
        {
            destination[0] = (byte)'\\';
            destination[1] = (byte)'u';
            destination[2] = (byte)'0';
            destination[3] = (byte)'0';
            destination[4] = (byte)"0123456789ABCDEF"[c >> 4];
            destination[5] = (byte)"0123456789ABCDEF"[c & 0xF];
            return 6;
        }

        // DEL: legal raw in a JSON string.
        destination[0] = (byte)c;
        return 1;
    }

    private static string? DescribeBadLocation(ReadOnlySpan<byte> json, JsonValueLocation location, int previousEnd)
    {
        if (location.TokenType != JsonTokenType.String
            || location.Start < 0
            || location.Length < 2
            || location.Start > json.Length - location.Length
            || json[location.Start] != '"'
            || json[location.End - 1] != '"')
        {
            return $"at {location.Start}+{location.Length} is not a string token in the body.";
        }

        return location.Start < previousEnd ? "overlaps another." : null;
    }
}
