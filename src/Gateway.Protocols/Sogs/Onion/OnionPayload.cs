using System.Text;
using System.Text.Json;

namespace Gateway.Protocols.Sogs.Onion;

/// <summary>
/// The decrypted inside of an onion request and the reply that goes back, as pysogs
/// <c>handle_v4_onionreq_plaintext</c> / <c>handle_v3_onionreq_plaintext</c> read and write them.
/// The parsers are stricter than pysogs where pysogs is lenient (leading zeros in a length, stray bytes after the
/// parts, repeated JSON keys): anything the gateway might read differently from SOGS is refused, never forwarded.
/// </summary>
public static class OnionPayload
{
    /// <summary>Longest length prefix accepted: 10 digits covers any body the host lets through.</summary>
    private const int MaxLengthDigits = 10;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// A v4 payload: <c>l&lt;len&gt;:&lt;meta json&gt;[&lt;len&gt;:&lt;body&gt;]e</c>, meta
    /// <c>{"method", "endpoint" (starts with /), "headers"?}</c>. Null and an error code when it is not exactly that.
    /// </summary>
    public static SogsRequest? TryParseV4(ReadOnlyMemory<byte> payload, out string? error)
    {
        var span = payload.Span;
        if (span.Length < 2 || span[0] != (byte)'l' || span[^1] != (byte)'e')
        {
            error = "not_a_bencoded_list";
            return null;
        }

        var inner = payload[1..^1];
        if (!TryConsumeString(inner.Span, out var metaStart, out var metaLength, out var used))
        {
            error = "bad_bencode";
            return null;
        }

        var meta = inner.Slice(metaStart, metaLength);
        var rest = inner[used..];
        var body = ReadOnlyMemory<byte>.Empty;
        if (!rest.IsEmpty)
        {
            if (!TryConsumeString(rest.Span, out var bodyStart, out var bodyLength, out var bodyUsed) || bodyUsed != rest.Length)
            {
                error = "bad_bencode";
                return null;
            }

            body = rest.Slice(bodyStart, bodyLength);
        }

        return ReadMeta(meta.Span, body, out error);
    }

    /// <summary>
    /// A v3 payload: a JSON object <c>{"endpoint", "method", "headers"?, "body"? (a string), "auth_code"?}</c>. An
    /// endpoint without a leading '/' is a legacy one: pysogs serves it under <c>/legacy/</c> with <c>auth_code</c> as
    /// the Authorization header, and so is it inspected.
    /// </summary>
    public static SogsRequest? TryParseV3(ReadOnlyMemory<byte> payload, out string? error)
    {
        error = "bad_json";
        // JsonDocument checks a string's UTF-8 only when it is read (GetString throws InvalidOperationException; found
        // by make fuzz, issue 17), so the whole payload is checked first, as v4 metadata already is.
        if (payload.IsEmpty || payload.Span[0] != (byte)'{' || !System.Text.Unicode.Utf8.IsValid(payload.Span))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = 16 });
            if (HasDuplicateKeys(doc.RootElement))
            {
                error = "duplicate_key";
                return null;
            }

            var root = doc.RootElement;
            if (!root.TryGetProperty("endpoint", out var endpointEl) || endpointEl.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("method", out var methodEl) || methodEl.ValueKind != JsonValueKind.String)
            {
                error = "missing_method_or_endpoint";
                return null;
            }

            var rawMethod = methodEl.GetString()!;
            var method = Method(rawMethod);
            var endpoint = endpointEl.GetString()!;
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (root.TryGetProperty("headers", out var headersEl) && !TryReadHeaders(headersEl, headers))
            {
                error = "bad_headers";
                return null;
            }

            byte[] body;
            var hasBody = root.TryGetProperty("body", out var bodyEl);
            // pysogs tests the method as sent (http.BODY_METHODS), before werkzeug upper-cases it.
            if (rawMethod is "POST" or "PUT")
            {
                if (hasBody && bodyEl.ValueKind != JsonValueKind.String)
                {
                    error = "bad_body";
                    return null;
                }

                body = hasBody ? Encoding.UTF8.GetBytes(bodyEl.GetString()!) : Array.Empty<byte>();
            }
            else
            {
                // pysogs refuses a body on other methods, except Android's literal "null" (and an empty one).
                if (hasBody && bodyEl.ValueKind != JsonValueKind.Null
                    && !(bodyEl.ValueKind == JsonValueKind.String && bodyEl.GetString() is "" or "null"))
                {
                    error = "body_on_bodiless_method";
                    return null;
                }

                body = Array.Empty<byte>();
            }

            if (!endpoint.StartsWith('/'))
            {
                endpoint = "/legacy/" + endpoint;
                if (root.TryGetProperty("auth_code", out var authEl) && authEl.ValueKind == JsonValueKind.String)
                {
                    headers["Authorization"] = authEl.GetString()!;
                }
            }

            // v3 sub-requests are always made with this content type (make_subrequest(content_type=…)).
            headers["Content-Type"] = "application/json";
            error = null;
            return new SogsRequest(method, endpoint, headers, body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The v4 reply: <c>l&lt;len&gt;:{"code": N, "headers": {"content-type": …}}&lt;len&gt;:&lt;body&gt;e</c>, the metadata
    /// written as Python's <c>json.dumps</c> writes it (SOGS's own spacing).
    /// </summary>
    public static byte[] V4Reply(int status, string contentType, ReadOnlySpan<byte> body)
    {
        var meta = Encoding.ASCII.GetBytes($"{{\"code\": {status}, \"headers\": {{\"content-type\": {PythonJsonString(contentType)}}}}}");
        var head = Encoding.ASCII.GetBytes($"l{meta.Length}:");
        var bodyHead = Encoding.ASCII.GetBytes($"{body.Length}:");
        var output = new byte[head.Length + meta.Length + bodyHead.Length + body.Length + 1];
        var span = output.AsSpan();
        head.CopyTo(span);
        span = span[head.Length..];
        meta.CopyTo(span);
        span = span[meta.Length..];
        bodyHead.CopyTo(span);
        span = span[bodyHead.Length..];
        body.CopyTo(span);
        span[body.Length] = (byte)'e';
        return output;
    }

    /// <summary>What pysogs answers inside a v4 request it cannot read (outer status 200).</summary>
    public static byte[] V4InvalidReply() => V4Reply(400, "text/plain; charset=utf-8", "Invalid v4 onion request"u8);

    /// <summary>The v3 reply before encryption: the body of a 2xx answer, otherwise <c>{"status_code": N}</c>.</summary>
    public static byte[] V3Reply(int status, ReadOnlySpan<byte> body) =>
        status is >= 200 and < 300 ? body.ToArray() : Encoding.ASCII.GetBytes($"{{\"status_code\": {status}}}");

    /// <summary>
    /// One bencoded byte string at the start of <paramref name="data"/>: <c>N:</c> then N bytes, N in canonical
    /// decimal (no leading zeros, at most <see cref="MaxLengthDigits"/> digits, within the data).
    /// </summary>
    internal static bool TryConsumeString(ReadOnlySpan<byte> data, out int start, out int length, out int consumed)
    {
        start = length = consumed = 0;
        var digits = 0;
        long value = 0;
        while (digits < data.Length && data[digits] is >= (byte)'0' and <= (byte)'9')
        {
            if (++digits > MaxLengthDigits)
            {
                return false;
            }

            value = value * 10 + (data[digits - 1] - '0');
        }

        if (digits == 0 || digits >= data.Length || data[digits] != (byte)':' || (digits > 1 && data[0] == (byte)'0'))
        {
            return false;
        }

        start = digits + 1;
        if (value > data.Length - start)
        {
            return false;
        }

        length = (int)value;
        consumed = start + length;
        return true;
    }

    private static SogsRequest? ReadMeta(ReadOnlySpan<byte> meta, ReadOnlyMemory<byte> body, out string? error)
    {
        try
        {
            StrictUtf8.GetCharCount(meta);
            using var doc = JsonDocument.Parse(meta.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || HasDuplicateKeys(root))
            {
                error = "bad_meta";
                return null;
            }

            if (!root.TryGetProperty("method", out var methodEl) || methodEl.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("endpoint", out var endpointEl) || endpointEl.ValueKind != JsonValueKind.String)
            {
                error = "missing_method_or_endpoint";
                return null;
            }

            var endpoint = endpointEl.GetString()!;
            if (!endpoint.StartsWith('/'))
            {
                error = "endpoint_not_absolute";
                return null;
            }

            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (root.TryGetProperty("headers", out var headersEl) && !TryReadHeaders(headersEl, headers))
            {
                error = "bad_headers";
                return null;
            }

            error = null;
            return new SogsRequest(Method(methodEl.GetString()!), endpoint, headers, body);
        }
        catch (Exception ex) when (ex is JsonException or DecoderFallbackException)
        {
            error = "bad_meta";
            return null;
        }
    }

    /// <summary>
    /// The method as SOGS routes it: werkzeug upper-cases <c>REQUEST_METHOD</c>, so an inner <c>"post"</c> is a POST
    /// and must be inspected as one.
    /// </summary>
    private static string Method(string method) => method.ToUpperInvariant();

    /// <summary>
    /// Headers as a JSON object of strings (integers are taken as their digits, as Python would pass them on). Names
    /// that differ only in case are refused: SOGS folds them into one WSGI variable, last one winning.
    /// </summary>
    private static bool TryReadHeaders(JsonElement element, Dictionary<string, string> headers)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        foreach (var property in element.EnumerateObject())
        {
            string value;
            if (property.Value.ValueKind == JsonValueKind.String)
            {
                value = property.Value.GetString()!;
            }
            else if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt64(out var n))
            {
                value = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                return false;
            }

            // '-' and '_' both become '_' in the WSGI variable name, so they collide too.
            if (!headers.TryAdd(property.Name.Replace('_', '-'), value))
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasDuplicateKeys(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A JSON string as Python's <c>json.dumps</c> writes it (ensure_ascii: non-ASCII as \uXXXX).</summary>
    internal static string PythonJsonString(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
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
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                default:
                    if (c < 0x20 || c > 0x7e)
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }
}
