using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;

namespace Gateway.Protocols.Json;

/// <summary>
/// Finds the values at a fixed set of JSON Pointers in one forward pass over a UTF-8 body, validating the whole
/// document on the way. Immutable and thread-safe: build one per config snapshot and share it.
/// </summary>
/// <remarks>
/// Path tracking: for every pointer we keep how many of its leading segments match the path of the current token.
/// A pointer whose count equals the current depth is "live"; only live pointers are compared against property
/// names and array indices, and when no pointer is live at a depth the whole subtree costs one reader call per
/// token and nothing else.
///
/// Duplicate keys: the last occurrence wins, as in JSON.parse and System.Text.Json's JsonNode. When a property
/// name matches a live pointer again, what an earlier duplicate produced is dropped, so <c>/a/b</c> in
/// <c>{"a":{"b":1},"a":{}}</c> is missing. Callers that rewrite bodies should know a downstream parser taking the
/// first occurrence would see the other value.
/// </remarks>
internal sealed class JsonFieldScanner
{
    /// <summary>A sanity bound on configuration, far above anything a chat protocol nests.</summary>
    public const int MaxSupportedDepth = 4096;

    private const int StackScratchInts = 256;

    private readonly JsonPointer[] _pointers;
    private readonly int _maxDepth;
    private readonly JsonReaderOptions _readerOptions;

    public JsonFieldScanner(IReadOnlyList<JsonPointer> pointers, int maxDepth = 64)
    {
        ArgumentNullException.ThrowIfNull(pointers);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxDepth, MaxSupportedDepth);

        _pointers = new JsonPointer[pointers.Count];
        for (var i = 0; i < _pointers.Length; i++)
        {
            _pointers[i] = pointers[i] ?? throw new ArgumentException($"Pointer {i} is null.", nameof(pointers));
        }

        _maxDepth = maxDepth;

        // One more than ours so that we, not the reader, notice the excess and can report TooDeep as such.
        // Comments and trailing commas stay disallowed (the reader's defaults): they are not JSON.
        _readerOptions = new JsonReaderOptions { MaxDepth = maxDepth + 1 };
    }

    public int PointerCount => _pointers.Length;

    public int MaxDepth => _maxDepth;

    /// <summary>
    /// Validates <paramref name="json"/> and fills <paramref name="found"/> (one slot per pointer, in constructor
    /// order) with the location of each pointer's value, or null when the path is absent. On any error every slot
    /// is null. A UTF-8 byte order mark is skipped; locations are always offsets into <paramref name="json"/>.
    /// </summary>
    public JsonScanError Scan(ReadOnlySpan<byte> json, Span<JsonValueLocation?> found, out string? errorDetail)
    {
        if (found.Length != _pointers.Length)
        {
            throw new ArgumentException(
                $"Expected {_pointers.Length} result slots, got {found.Length}.", nameof(found));
        }

        found.Clear();
        if (!Utf8.IsValid(json))
        {
            errorDetail = DescribeInvalidUtf8(json);
            return JsonScanError.InvalidUtf8;
        }

        var offset = json.StartsWith("\uFEFF"u8) ? 3 : 0;

        // Per-scan state: the next index of each open array (-1 for objects), then each pointer's matched length.
        var needed = _maxDepth + _pointers.Length;
        int[]? rented = null;
        var scratch = needed <= StackScratchInts
            ? stackalloc int[StackScratchInts]
            : (rented = ArrayPool<int>.Shared.Rent(needed));
        try
        {
            var error = ScanCore(
                json[offset..],
                offset,
                scratch[.._maxDepth],
                scratch.Slice(_maxDepth, _pointers.Length),
                found,
                out errorDetail);
            if (error != JsonScanError.None)
            {
                found.Clear();
            }

            return error;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    private JsonScanError ScanCore(
        ReadOnlySpan<byte> json,
        int offset,
        Span<int> arrayIndex,
        Span<int> matched,
        Span<JsonValueLocation?> found,
        out string? errorDetail)
    {
        var reader = new Utf8JsonReader(json, _readerOptions);

        // Every pointer matches the empty path of the root. maxMatched is an upper bound on matched[*] (exact
        // after each EnterPathElement); -1 switches tracking off for a root that is not an object.
        matched.Clear();
        var maxMatched = 0;
        var rootType = JsonTokenType.None;
        try
        {
            while (reader.Read())
            {
                var tokenType = reader.TokenType;
                var depth = reader.CurrentDepth;
                if (rootType == JsonTokenType.None)
                {
                    rootType = tokenType;
                    if (tokenType != JsonTokenType.StartObject)
                    {
                        maxMatched = -1;
                    }
                }

                if (tokenType == JsonTokenType.PropertyName)
                {
                    if (maxMatched >= depth - 1)
                    {
                        maxMatched = EnterPathElement(ref reader, depth, -1, matched, found);
                    }

                    continue;
                }

                if (tokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    if (maxMatched >= depth)
                    {
                        CloseContainer(depth, offset + (int)reader.BytesConsumed, matched, found);
                    }

                    continue;
                }

                // A value: a primitive or the start of a container. Inside an array it is also a path element.
                if (depth > 0 && arrayIndex[depth - 1] >= 0)
                {
                    var index = arrayIndex[depth - 1]++;
                    if (maxMatched >= depth - 1)
                    {
                        maxMatched = EnterPathElement(ref reader, depth, index, matched, found);
                    }
                }

                var isContainer = tokenType is JsonTokenType.StartObject or JsonTokenType.StartArray;
                if (isContainer)
                {
                    if (depth >= _maxDepth)
                    {
                        errorDetail = $"JSON nests deeper than {_maxDepth} levels at byte {offset + reader.TokenStartIndex}.";
                        return JsonScanError.TooDeep;
                    }

                    arrayIndex[depth] = tokenType == JsonTokenType.StartArray ? 0 : -1;
                }

                if (maxMatched >= depth)
                {
                    var start = offset + (int)reader.TokenStartIndex;

                    // A container's length is filled in when it closes (CloseContainer).
                    var length = isContainer ? 0 : offset + (int)reader.BytesConsumed - start;
                    RecordValue(depth, new JsonValueLocation(start, length, tokenType), matched, found);
                }
            }
        }
        catch (JsonException ex)
        {
            // The reader's own message quotes body bytes; report only the position.
            errorDetail = $"Malformed JSON at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine} of the line.";
            return JsonScanError.Malformed;
        }

        if (rootType == JsonTokenType.None)
        {
            errorDetail = "The body holds no JSON value.";
            return JsonScanError.Malformed;
        }

        if (rootType != JsonTokenType.StartObject)
        {
            errorDetail = $"The JSON root is {rootType}; an object is required.";
            return JsonScanError.NotAnObject;
        }

        errorDetail = null;
        return JsonScanError.None;
    }

    /// <summary>
    /// The current token (a property name, or an array element when <paramref name="arrayIndex"/> ≥ 0) becomes
    /// path element number <paramref name="level"/>. Returns the new maximum of <paramref name="matched"/>.
    /// </summary>
    private int EnterPathElement(
        ref Utf8JsonReader reader,
        int level,
        int arrayIndex,
        Span<int> matched,
        Span<JsonValueLocation?> found)
    {
        var newMax = 0;
        for (var p = 0; p < _pointers.Length; p++)
        {
            var m = matched[p];

            // What matched at this level or below belonged to the previous sibling.
            if (m >= level)
            {
                m = level - 1;
            }

            if (m == level - 1)
            {
                var pointer = _pointers[p];
                if (pointer.Depth >= level && SegmentMatches(ref reader, pointer, level - 1, arrayIndex))
                {
                    m = level;

                    // Reaching the same path again means a duplicate key on the way: the last one wins.
                    found[p] = null;
                }
            }

            matched[p] = m;
            if (m > newMax)
            {
                newMax = m;
            }
        }

        return newMax;
    }

    private static bool SegmentMatches(ref Utf8JsonReader reader, JsonPointer pointer, int segment, int arrayIndex)
    {
        if (arrayIndex >= 0)
        {
            return pointer.ArrayIndex(segment) == arrayIndex;
        }

        // Compares the unescaped name, so "te\u0078t" matches "text".
        return reader.ValueTextEquals(pointer.Utf8Segment(segment));
    }

    private void RecordValue(int depth, JsonValueLocation location, Span<int> matched, Span<JsonValueLocation?> found)
    {
        for (var p = 0; p < _pointers.Length; p++)
        {
            if (matched[p] == depth && _pointers[p].Depth == depth)
            {
                found[p] = location;
            }
        }
    }

    private void CloseContainer(int depth, int end, Span<int> matched, Span<JsonValueLocation?> found)
    {
        for (var p = 0; p < _pointers.Length; p++)
        {
            if (matched[p] == depth && _pointers[p].Depth == depth && found[p] is { } open)
            {
                found[p] = open with { Length = end - open.Start };
            }
        }
    }

    private static string DescribeInvalidUtf8(ReadOnlySpan<byte> json)
    {
        // Error path only: transcode in chunks until the transcoder stops at the first bad sequence.
        Span<char> chunk = stackalloc char[256];
        var position = 0;
        while (true)
        {
            var status = Utf8.ToUtf16(json[position..], chunk, out var read, out _, replaceInvalidSequences: false);
            position += read;
            if (status != OperationStatus.DestinationTooSmall)
            {
                return $"Invalid UTF-8 at byte {position}.";
            }
        }
    }
}
