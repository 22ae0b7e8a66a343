using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Tests.Matrix;

/// <summary>
/// Matrix canonical JSON (spec appendices, "Canonical JSON"): the shortest UTF-8 encoding, object keys sorted by
/// Unicode code point, no insignificant whitespace, only the escapes the grammar allows (<c>\"</c>, <c>\\</c>,
/// <c>\b \f \n \r \t</c>, and <c>\u00xx</c> in lower-case hex for the other control characters), non-ASCII written
/// as raw UTF-8, and integers only in [-(2^53)+1, (2^53)-1]. Floats and out-of-range integers are refused with
/// <see cref="FormatException"/>, as Synapse refuses them in events of room versions 6 and later.
/// Duplicate keys: the last one wins, as Python's json module does (the spec's reference encoder).
/// </summary>
internal static class CanonicalJson
{
    private const long MaxSafeInteger = (1L << 53) - 1;

    public static byte[] Encode(JsonElement value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Encode(JsonNode? value) => Encode(JsonSerializer.SerializeToElement(value));

    /// <summary>Parses <paramref name="json"/> (any whitespace, any key order) and re-encodes it canonically.</summary>
    public static byte[] Encode(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return Encode(doc.RootElement);
    }

    public static string EncodeToString(JsonElement value) => Encoding.UTF8.GetString(Encode(value));

    public static string EncodeToString(JsonNode? value) => Encoding.UTF8.GetString(Encode(value));

    public static string EncodeToString(string json) => Encoding.UTF8.GetString(Encode(json));

    private static void Write(ArrayBufferWriter<byte> output, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                // Last duplicate wins; keys are ordered by their UTF-8 bytes, which is code point order
                // (UTF-16 ordinal order differs for characters above U+FFFF versus U+E000..U+FFFF).
                var members = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var property in value.EnumerateObject())
                {
                    members[property.Name] = property.Value;
                }

                var keys = members.Keys.Select(k => (Key: k, Utf8: Utf8Strict(k))).ToList();
                keys.Sort((a, b) => a.Utf8.AsSpan().SequenceCompareTo(b.Utf8));
                output.Write("{"u8);
                for (var i = 0; i < keys.Count; i++)
                {
                    if (i > 0)
                    {
                        output.Write(","u8);
                    }

                    WriteString(output, keys[i].Key);
                    output.Write(":"u8);
                    Write(output, members[keys[i].Key]);
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
                WriteString(output, value.GetString()!);
                break;
            case JsonValueKind.Number:
                if (!value.TryGetInt64(out var number) || number > MaxSafeInteger || number < -MaxSafeInteger)
                {
                    throw new FormatException($"canonical JSON allows only integers in [-(2^53)+1, (2^53)-1], not {value.GetRawText()}");
                }

                output.Write(Encoding.ASCII.GetBytes(number.ToString(System.Globalization.CultureInfo.InvariantCulture)));
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
                throw new FormatException($"unexpected JSON value kind {value.ValueKind}");
        }
    }

    private static void WriteString(ArrayBufferWriter<byte> output, string value)
    {
        var sb = new StringBuilder(value.Length + 2);
        sb.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\b':
                    sb.Append("\\b");
                    break;
                case '\f':
                    sb.Append("\\f");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                case < ' ':
                    sb.Append("\\u00").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        sb.Append('"');
        output.Write(Utf8Strict(sb.ToString()));
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>UTF-8 that refuses lone surrogates instead of writing U+FFFD: they have no canonical form.</summary>
    private static byte[] Utf8Strict(string s)
    {
        try
        {
            return StrictUtf8.GetBytes(s);
        }
        catch (EncoderFallbackException e)
        {
            throw new FormatException("canonical JSON cannot encode a lone UTF-16 surrogate", e);
        }
    }
}
