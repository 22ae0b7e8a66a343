namespace Gateway.Protocols.Json;

/// <summary>Why a body could not be scanned. Ordered by precedence: UTF-8 is checked before the grammar.</summary>
internal enum JsonScanError
{
    None = 0,
    InvalidUtf8 = 1,
    Malformed = 2,
    TooDeep = 3,

    /// <summary>The document is well formed but its root is not an object.</summary>
    NotAnObject = 4,
}
