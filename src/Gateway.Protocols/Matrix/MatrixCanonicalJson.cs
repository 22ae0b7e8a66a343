using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// Matrix canonical JSON (spec appendices, "Canonical JSON"), what event signatures are computed over: object keys
/// sorted by code point (their UTF-8 bytes), no insignificant whitespace, non-ASCII as raw UTF-8, only
/// <c>\" \\ \b \f \n \r \t</c> and lower-case <c>\u00xx</c> escapes, integers only in [-(2^53)+1, (2^53)-1].
/// Refused with <see cref="FormatException"/>: floats, out-of-range integers, duplicate keys and lone surrogates, none
/// of which has one canonical form.
/// </summary>
internal static class MatrixCanonicalJson
{
    private const long MaxSafeInteger = (1L << 53) - 1;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] Encode(JsonElement value)
    {
        var output = new ArrayBufferWriter<byte>();
        WriteChecked(output, value);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Checks that <paramref name="value"/> has a canonical form (throws <see cref="FormatException"/> if not).</summary>
    public static void Validate(JsonElement value) => WriteChecked(new ArrayBufferWriter<byte>(), value);

    private static void WriteChecked(ArrayBufferWriter<byte> output, JsonElement value)
    {
        try
        {
            Write(output, value);
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json will not decode an escaped lone surrogate, in a key or a value.
            throw new FormatException("a string holds a lone UTF-16 surrogate", e);
        }
    }

    private static void Write(ArrayBufferWriter<byte> output, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var members = new List<(byte[] Key, JsonElement Value)>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in value.EnumerateObject())
                {
                    if (!seen.Add(property.Name))
                    {
                        throw new FormatException("an object has the same key twice");
                    }

                    members.Add((Utf8(property.Name), property.Value));
                }

                members.Sort((a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));
                output.Write("{"u8);
                for (var i = 0; i < members.Count; i++)
                {
                    if (i > 0)
                    {
                        output.Write(","u8);
                    }

                    WriteString(output, members[i].Key);
                    output.Write(":"u8);
                    Write(output, members[i].Value);
                }

                output.Write("}"u8);
                break;
            case JsonValueKind.Array:
                output.Write("["u8);
                var first = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!first)
                    {
                        output.Write(","u8);
                    }

                    first = false;
                    Write(output, item);
                }

                output.Write("]"u8);
                break;
            case JsonValueKind.String:
                WriteString(output, Utf8(Text(value)));
                break;
            case JsonValueKind.Number:
                var raw = value.GetRawText();
                if (raw.AsSpan().IndexOfAny(".eE") >= 0 || !value.TryGetInt64(out var number) || number is > MaxSafeInteger or < -MaxSafeInteger)
                {
                    throw new FormatException("canonical JSON allows only integers in [-(2^53)+1, (2^53)-1]");
                }

                output.Write(Encoding.ASCII.GetBytes(number.ToString(CultureInfo.InvariantCulture)));
                break;
            case JsonValueKind.True:
                output.Write("true"u8);
                break;
            case JsonValueKind.False:
                output.Write("false"u8);
                break;
            case JsonValueKind.Null:
                output.Write("null"u8);
                break;
            default:
                throw new FormatException("unexpected JSON value");
        }
    }

    /// <summary>Writes UTF-8 <paramref name="utf8"/> as a JSON string: only quote, backslash and control bytes escaped.</summary>
    private static void WriteString(ArrayBufferWriter<byte> output, byte[] utf8)
    {
        output.Write("\""u8);
        foreach (var b in utf8)
        {
            ReadOnlySpan<byte> escape = b switch
            {
                (byte)'"' => "\\\""u8,
                (byte)'\\' => "\\\\"u8,
                (byte)'\b' => "\\b"u8,
                (byte)'\f' => "\\f"u8,
                (byte)'\n' => "\\n"u8,
                (byte)'\r' => "\\r"u8,
                (byte)'\t' => "\\t"u8,
                _ => default,
            };
            if (!escape.IsEmpty)
            {
                output.Write(escape);
            }
            else if (b < 0x20)
            {
                output.Write(Encoding.ASCII.GetBytes("\\u00" + b.ToString("x2", CultureInfo.InvariantCulture)));
            }
            else
            {
                output.GetSpan(1)[0] = b;
                output.Advance(1);
            }
        }

        output.Write("\""u8);
    }

    /// <summary>A string's value; an escaped lone surrogate (which System.Text.Json will not decode) has no canonical form.</summary>
    private static string Text(JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new FormatException("a string holds a lone UTF-16 surrogate", e);
        }
    }

    /// <summary>UTF-8 that refuses lone surrogates instead of writing U+FFFD: they have no canonical form.</summary>
    private static byte[] Utf8(string s)
    {
        try
        {
            return StrictUtf8.GetBytes(s);
        }
        catch (EncoderFallbackException e)
        {
            throw new FormatException("a string holds a lone UTF-16 surrogate", e);
        }
    }
}
