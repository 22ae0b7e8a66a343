namespace Gateway.Protocols.Sogs;

/// <summary>
/// One SOGS HTTP request as the inspector sees it, whether it came in directly or was unwrapped from an onion request:
/// the method, the path with its query (as SOGS signs it), the headers (names case-insensitive) and the body bytes.
/// </summary>
public sealed record SogsRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, ReadOnlyMemory<byte> Body)
{
    /// <summary>A header's value, or null. Names are case-insensitive whatever dictionary the caller passed.</summary>
    public string? Header(string name)
    {
        if (Headers.TryGetValue(name, out var value))
        {
            return value;
        }

        foreach (var pair in Headers)
        {
            if (string.Equals(pair.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                return pair.Value;
            }
        }

        return null;
    }
}

/// <summary>What to do with a <see cref="SogsRequest"/>.</summary>
public enum SogsDecisionKind
{
    /// <summary>Send the original request on to SOGS, byte for byte.</summary>
    Forward = 0,

    /// <summary>Answer the client with <see cref="SogsDecision.Status"/>, <see cref="SogsDecision.ContentType"/> and <see cref="SogsDecision.Body"/>; forward nothing.</summary>
    Respond = 1,
}

/// <summary>The inspector's answer: forward the request untouched, or answer it the way SOGS would.</summary>
public sealed record SogsDecision(SogsDecisionKind Kind, int Status = 200, string ContentType = "application/json", ReadOnlyMemory<byte> Body = default)
{
    public static SogsDecision Forward { get; } = new(SogsDecisionKind.Forward);

    public static SogsDecision Respond(int status, string contentType, ReadOnlyMemory<byte> body) =>
        new(SogsDecisionKind.Respond, status, contentType, body);
}
