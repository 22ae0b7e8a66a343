using System.Text.Json;

namespace Gateway.Protocols.Json;

/// <summary>
/// Where a value sits in the body: the byte range of the whole value token (quotes included for strings, the
/// brackets included for objects and arrays) and what kind of token it is.
/// </summary>
internal readonly record struct JsonValueLocation(int Start, int Length, JsonTokenType TokenType)
{
    public int End => Start + Length;
}
