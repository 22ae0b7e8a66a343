// Over 400 lines (slightly) on purpose: one forward-pass Utf8JsonReader state machine (pointer path tracking, value
// capture, whole-document validation) whose states only make sense read together.
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
/// Duplicate keys: <c>Scan</c> keeps the last occurrence, as JSON.parse and System.Text.Json's
/// JsonNode do: when a property name matches a live pointer again, what an earlier duplicate produced is dropped, so
/// <c>/a/b</c> in <c>{"a":{"b":1},"a":{}}</c> is missing. <c>ScanAll</c> reports every occurrence instead, for
/// callers that must see whatever any downstream parser might read (first wins, last wins, case-insensitive keys:
/// issue 9).
/// </remarks>
internal sealed class JsonFieldScanner
{
    /// <summary>A sanity bound on configuration, far above anything a chat protocol nests.</summary>
    public const int MaxSupportedDepth = 4096;

    private const int StackScratchInts = 256;

    private readonly JsonPointer[] _pointers;
    private readonly int _maxDepth;
    private readonly JsonReaderOptions _readerOptions;
    private readonly bool _foldKeyCase;

    /// <param name="pointers">The pointers to find, in result-slot order.</param>
    /// <param name="maxDepth">The deepest nesting accepted.</param>
    /// <param name="foldKeyCase">
    /// Match property names case-insensitively (<see cref="JsonKeyFold"/>): <c>/text</c> also finds <c>"TEXT"</c>
    /// and <c>"ſext"</c>, as lenient parsers would read them. Array indices are unaffected.
    /// </param>
    public JsonFieldScanner(IReadOnlyList<JsonPointer> pointers, int maxDepth = 64, bool foldKeyCase = false)
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
        _foldKeyCase = foldKeyCase;

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
        var error = Scan(json, found, null, out errorDetail);
        if (error != JsonScanError.None)
        {
            found.Clear();
        }

        return error;
    }

    /// <summary>
    /// Validates <paramref name="json"/> and appends to <paramref name="hits"/> (cleared first) every value at a
    /// pointer's path, duplicates included, in document order. On any error <paramref name="hits"/> is empty.
    /// </summary>
    public JsonScanError ScanAll(ReadOnlySpan<byte> json, List<JsonFieldHit> hits, out string? errorDetail)
    {
        ArgumentNullException.ThrowIfNull(hits);
        hits.Clear();
        var error = Scan(json, [], hits, out errorDetail);
        if (error != JsonScanError.None)
        {
            hits.Clear();
        }

        return error;
    }

    private JsonScanError Scan(ReadOnlySpan<byte> json, Span<JsonValueLocation?> found, List<JsonFieldHit>? hits, out string? errorDetail)
    {
        if (!Utf8.IsValid(json))
        {
            errorDetail = DescribeInvalidUtf8(json);
            return JsonScanError.InvalidUtf8;
        }

        var offset = json.StartsWith("\uFEFF"u8) ? 3 : 0;

        // Per-scan state: the next index of each open array (-1 for objects), each pointer's matched length, and
        // (collecting every hit) where each pointer's open container sits in the hit list.
        var needed = _maxDepth + (2 * _pointers.Length);
        int[]? rented = null;
        var scratch = needed <= StackScratchInts
            ? stackalloc int[StackScratchInts]
            : (rented = ArrayPool<int>.Shared.Rent(needed));
        try
        {
            var openHit = scratch.Slice(_maxDepth + _pointers.Length, _pointers.Length);
            openHit.Fill(-1);
            var sink = new Sink(found, hits, openHit);
            return ScanCore(
                json[offset..],
                offset,
                scratch[.._maxDepth],
                scratch.Slice(_maxDepth, _pointers.Length),
                ref sink,
                out errorDetail);
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
        ref Sink found,
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
                        maxMatched = EnterPathElement(ref reader, depth, -1, matched, ref found);
                    }

                    continue;
                }

                if (tokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    if (maxMatched >= depth)
                    {
                        CloseContainer(depth, offset + (int)reader.BytesConsumed, matched, ref found);
                    }

                    continue;
                }

                // A value: a primitive or the start of a container. Inside an array it is also a path element.
                if (depth > 0 && arrayIndex[depth - 1] >= 0)
                {
                    var index = arrayIndex[depth - 1]++;
                    if (maxMatched >= depth - 1)
                    {
                        maxMatched = EnterPathElement(ref reader, depth, index, matched, ref found);
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
                    RecordValue(depth, new JsonValueLocation(start, length, tokenType), matched, ref found);
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
        ref Sink found)
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

                    // Reaching the same path again means a duplicate key on the way: keeping only the last, it wins.
                    found.Forget(p);
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

    private bool SegmentMatches(ref Utf8JsonReader reader, JsonPointer pointer, int segment, int arrayIndex)
    {
        if (arrayIndex >= 0)
        {
            return pointer.ArrayIndex(segment) == arrayIndex;
        }

        // Both compare the unescaped name, so "te\u0078t" matches "text".
        return _foldKeyCase
            ? NameEqualsFolded(ref reader, pointer.CanonicalSegment(segment))
            : NameEquals(ref reader, pointer.Utf8Segment(segment));
    }

    private static bool NameEquals(ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8)
    {
        try
        {
            return reader.ValueTextEquals(utf8);
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate ("\udbbb" then no low half; found by make fuzz, barertc): no pointer segment
            // holds one (see NameEqualsFolded), so the name matches none; the reader threw instead of answering.
            return false;
        }
    }

    private static bool NameEqualsFolded(ref Utf8JsonReader reader, ReadOnlySpan<int> canonical)
    {
        // Every code point takes one to four UTF-8 bytes, escapes only shrink when unescaped: most names are
        // ruled out by their length alone.
        var raw = reader.ValueSpan;
        if (!reader.ValueIsEscaped)
        {
            return raw.Length >= canonical.Length && raw.Length <= 4 * canonical.Length
                && JsonKeyFold.EqualsCanonical(raw, canonical);
        }

        byte[]? rented = null;
        var buffer = raw.Length <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(raw.Length));
        try
        {
            var written = reader.CopyString(buffer);
            return JsonKeyFold.EqualsCanonical(buffer[..written], canonical);
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate: not text that any pointer segment (valid UTF-16, see JsonPointer) holds.
            return false;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private void RecordValue(int depth, JsonValueLocation location, Span<int> matched, ref Sink found)
    {
        for (var p = 0; p < _pointers.Length; p++)
        {
            if (matched[p] == depth && _pointers[p].Depth == depth)
            {
                found.Record(p, location);
            }
        }
    }

    private void CloseContainer(int depth, int end, Span<int> matched, ref Sink found)
    {
        for (var p = 0; p < _pointers.Length; p++)
        {
            if (matched[p] == depth && _pointers[p].Depth == depth)
            {
                found.Close(p, end);
            }
        }
    }

    /// <summary>Where found values go: one slot per pointer (the last occurrence wins) or a list of every hit.</summary>
    private ref struct Sink(Span<JsonValueLocation?> slots, List<JsonFieldHit>? hits, Span<int> openHit)
    {
        private readonly Span<JsonValueLocation?> _slots = slots;
        private readonly List<JsonFieldHit>? _hits = hits;
        private readonly Span<int> _openHit = openHit;

        public readonly void Forget(int pointer)
        {
            if (_hits is null)
            {
                _slots[pointer] = null;
            }
        }

        public readonly void Record(int pointer, JsonValueLocation location)
        {
            if (_hits is null)
            {
                _slots[pointer] = location;
                return;
            }

            // A container's length is known when it closes; remember which hit to complete then.
            if (location.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                _openHit[pointer] = _hits.Count;
            }

            _hits.Add(new JsonFieldHit(pointer, location));
        }

        public readonly void Close(int pointer, int end)
        {
            if (_hits is null)
            {
                if (_slots[pointer] is { } open)
                {
                    _slots[pointer] = open with { Length = end - open.Start };
                }

                return;
            }

            var index = _openHit[pointer];
            if (index >= 0)
            {
                var hit = _hits[index];
                _hits[index] = hit with { Location = hit.Location with { Length = end - hit.Location.Start } };
                _openHit[pointer] = -1;
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
