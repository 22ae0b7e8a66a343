namespace Gateway.Protocols.Json;

/// <summary>
/// How a JSON route relayed over WebSocket (<c>transport = "websocket"</c>) picks its message frames and answers
/// the sender. The field pointers and headers are the route's <see cref="JsonAdapterOptions"/>, applied per frame.
/// </summary>
public sealed record JsonFrameOptions
{
    public const string DefaultDropFrame = "{\"type\":\"notice\"}";
    public const string DefaultRejectFrame = "{\"type\":\"error\",\"error\":\"rejected\"}";
    public const string DefaultErrorFrame = "{\"type\":\"error\",\"error\":\"invalid_frame\"}";

    /// <summary>Frames carry messages only when every pointer holds its string; other frames pass untouched. Empty: all do.</summary>
    internal IReadOnlyList<KeyValuePair<JsonPointer, string>> Match { get; init; } = Array.Empty<KeyValuePair<JsonPointer, string>>();

    /// <summary>The key the notice text is written under in the frames below.</summary>
    public string NoticeKey { get; init; } = "notice";

    /// <summary>Sent to the sender when a message is dropped by a filter with a notice; null: never (a silent drop stays silent).</summary>
    public string? DropFrame { get; init; } = DefaultDropFrame;

    /// <summary>Sent to the sender when a message is rejected; the notice (or a default text) is added.</summary>
    public string RejectFrame { get; init; } = DefaultRejectFrame;

    /// <summary>Sent to the sender when a frame is not valid JSON and the route fails closed; the problem is added.</summary>
    public string ErrorFrame { get; init; } = DefaultErrorFrame;
}
