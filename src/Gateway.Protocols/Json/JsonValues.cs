using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Gateway.Protocols.Json;

/// <summary>Reads scalar values at locations found by <see cref="JsonFieldScanner"/>.</summary>
internal static class JsonValues
{
    private const int StackCharLimit = 256;

    /// <summary>
    /// The unescaped text of a string token, or null when the location is not a well-formed string token.
    /// Escaped lone surrogates (<c>"\ud800"</c>) are kept as lone UTF-16 code units, as JSON.parse does, rather
    /// than failing: a filter must still see the rest of the text.
    /// </summary>
    public static string? ReadString(ReadOnlySpan<byte> json, JsonValueLocation location)
    {
        if (!TryGetStringContent(json, location, out var content))
        {
            return null;
        }

        var firstEscape = content.IndexOf((byte)'\\');
        if (firstEscape < 0)
        {
            return Encoding.UTF8.GetString(content);
        }

        // Every UTF-8 byte yields at most one UTF-16 code unit and every escape shrinks, so this always fits.
        char[]? rented = null;
        var buffer = content.Length <= StackCharLimit
            ? stackalloc char[StackCharLimit]
            : (rented = ArrayPool<char>.Shared.Rent(content.Length));
        try
        {
            var length = Unescape(content, firstEscape, buffer);
            return length < 0 ? null : new string(buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// <c>true</c>/<c>false</c> literals, and the strings <c>"true"</c>/<c>"false"</c> (exact, case-sensitive) for
    /// protocols that quote their flags; null for anything else.
    /// </summary>
    public static bool? ReadBool(ReadOnlySpan<byte> json, JsonValueLocation location)
    {
        switch (location.TokenType)
        {
            case JsonTokenType.True:
                return true;
            case JsonTokenType.False:
                return false;
            case JsonTokenType.String:
                if (!TryGetStringContent(json, location, out var content))
                {
                    return null;
                }

                if (content.IndexOf((byte)'\\') < 0)
                {
                    return content.SequenceEqual("true"u8) ? true : content.SequenceEqual("false"u8) ? false : null;
                }

                var text = ReadString(json, location);
                return text == "true" ? true : text == "false" ? false : null;
            default:
                return null;
        }
    }

    private static bool TryGetStringContent(
        ReadOnlySpan<byte> json,
        JsonValueLocation location,
        out ReadOnlySpan<byte> content)
    {
        content = default;
        if (location.TokenType != JsonTokenType.String
            || location.Start < 0
            || location.Length < 2
            || location.Start > json.Length - location.Length)
        {
            return false;
        }

        var token = json.Slice(location.Start, location.Length);
        if (token[0] != '"' || token[^1] != '"')
        {
            return false;
        }

        content = token[1..^1];
        return true;
    }

    /// <summary>Returns the number of chars written, or -1 on a malformed escape.</summary>
    private static int Unescape(ReadOnlySpan<byte> content, int firstEscape, Span<char> destination)
    {
        var written = 0;
        var position = 0;
        var nextEscape = firstEscape;
        while (true)
        {
            var run = nextEscape < 0 ? content[position..] : content.Slice(position, nextEscape);
            if (!run.IsEmpty)
            {
                // A backslash is ASCII, so runs never split a multi-byte sequence.
                Utf8.ToUtf16(run, destination[written..], out _, out var charsWritten);
                written += charsWritten;
            }

            if (nextEscape < 0)
            {
                return written;
            }

            position += nextEscape + 1;
            if (position >= content.Length)
            {
                return -1;
            }

            var escaped = content[position++];
            char c;
            switch (escaped)
            {
                case (byte)'"':
                    c = '"';
                    break;
                case (byte)'\\':
                    c = '\\';
                    break;
                case (byte)'/':
                    c = '/';
                    break;
                case (byte)'b':
                    c = '\b';
                    break;
                case (byte)'f':
                    c = '\f';
                    break;
                case (byte)'n':
                    c = '\n';
                    break;
                case (byte)'r':
                    c = '\r';
                    break;
                case (byte)'t':
                    c = '\t';
                    break;
                case (byte)'u':
                    if (position > content.Length - 4 || !TryParseHex4(content.Slice(position, 4), out c))
                    {
                        return -1;
                    }

                    position += 4;
                    break;
                default:
                    return -1;
            }

            destination[written++] = c;
            nextEscape = content[position..].IndexOf((byte)'\\');
        }
    }

    private static bool TryParseHex4(ReadOnlySpan<byte> hex, out char value)
    {
        var result = 0;
        foreach (var b in hex)
        {
            int digit;
            if (b is >= (byte)'0' and <= (byte)'9')
            {
                digit = b - '0';
            }
            else if (b is >= (byte)'a' and <= (byte)'f')
            {
                digit = b - 'a' + 10;
            }
            else if (b is >= (byte)'A' and <= (byte)'F')
            {
                digit = b - 'A' + 10;
            }
            else
            {
                value = '\0';
                return false;
            }

            result = (result << 4) | digit;
        }

        value = (char)result;
        return true;
    }
}
