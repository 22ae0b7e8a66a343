using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Gateway.Protocols.Json;

/// <summary>
/// A parsed RFC 6901 JSON Pointer. Built once at config load so that scanning a body only compares bytes:
/// each reference token is decoded (<c>~1</c> → <c>/</c>, <c>~0</c> → <c>~</c>) and pre-encoded to UTF-8.
/// </summary>
internal sealed class JsonPointer
{
    private readonly string[] _segments;
    private readonly byte[][] _utf8Segments;
    private readonly int[][] _canonicalSegments;
    private readonly int[] _arrayIndices;

    private JsonPointer(string text, string[] segments)
    {
        Text = text;
        _segments = segments;
        _utf8Segments = new byte[segments.Length][];
        _canonicalSegments = new int[segments.Length][];
        _arrayIndices = new int[segments.Length];
        for (var i = 0; i < segments.Length; i++)
        {
            _utf8Segments[i] = Encoding.UTF8.GetBytes(segments[i]);
            _canonicalSegments[i] = JsonKeyFold.CanonicalForm(segments[i]);
            _arrayIndices[i] = ParseArrayIndex(segments[i]);
        }
    }

    /// <summary>The pointer as written in config, e.g. <c>/message/text</c>.</summary>
    public string Text { get; }

    /// <summary>The decoded reference tokens; empty for the whole-document pointer <c>""</c>.</summary>
    public IReadOnlyList<string> Segments => _segments;

    /// <summary>How many reference tokens the pointer has (the path length of its target).</summary>
    public int Depth => _segments.Length;

    public static bool TryParse(
        string? text,
        [NotNullWhen(true)] out JsonPointer? pointer,
        [NotNullWhen(false)] out string? error)
    {
        pointer = null;
        if (text is null)
        {
            error = "JSON Pointer is missing.";
            return false;
        }

        if (text.Length == 0)
        {
            pointer = new JsonPointer(text, []);
            error = null;
            return true;
        }

        if (text[0] != '/')
        {
            error = $"JSON Pointer '{text}' must be empty or start with '/' (RFC 6901 section 3).";
            return false;
        }

        // A lone surrogate can never equal a property name in valid UTF-8 JSON; refuse it rather than let
        // the UTF-8 encoder silently turn it into U+FFFD.
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                error = $"JSON Pointer '{text}' has an unpaired surrogate at position {i}.";
                return false;
            }
        }

        var segments = new List<string>();
        var builder = new StringBuilder();
        for (var i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || text[i] == '/')
            {
                segments.Add(builder.ToString());
                builder.Clear();
                continue;
            }

            var c = text[i];
            if (c != '~')
            {
                builder.Append(c);
                continue;
            }

            // Decoding in one left-to-right pass gives "~01" → "~1", as RFC 6901 section 4 requires.
            var next = i + 1 < text.Length ? text[i + 1] : '\0';
            if (next == '0')
            {
                builder.Append('~');
            }
            else if (next == '1')
            {
                builder.Append('/');
            }
            else
            {
                error = $"JSON Pointer '{text}' has an invalid escape at position {i}: '~' must be followed by '0' or '1'.";
                return false;
            }

            i++;
        }

        pointer = new JsonPointer(text, [.. segments]);
        error = null;
        return true;
    }

    public override string ToString() => Text;

    internal ReadOnlySpan<byte> Utf8Segment(int index) => _utf8Segments[index];

    /// <summary>The segment case-folded for <see cref="JsonKeyFold.EqualsCanonical"/>.</summary>
    internal ReadOnlySpan<int> CanonicalSegment(int index) => _canonicalSegments[index];

    /// <summary>The segment as an array index, or -1 when it is not one ("-", leading zeros, overflow, non-digits).</summary>
    internal int ArrayIndex(int index) => _arrayIndices[index];

    private static int ParseArrayIndex(string segment)
    {
        // RFC 6901 section 4: array-index = %x30 / ( %x31-39 *(%x30-39) ). "-" names the element after the last,
        // which never exists in a document we read.
        if (segment.Length == 0 || (segment.Length > 1 && segment[0] == '0'))
        {
            return -1;
        }

        var value = 0L;
        foreach (var c in segment)
        {
            if (c is < '0' or > '9')
            {
                return -1;
            }

            value = (value * 10) + (c - '0');
            if (value > int.MaxValue)
            {
                return -1;
            }
        }

        return (int)value;
    }
}
