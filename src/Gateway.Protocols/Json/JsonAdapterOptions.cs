using System.Text.Json;

namespace Gateway.Protocols.Json;

/// <summary>Where the generic JSON adapter finds things in a request, and how it answers drops and rejects.</summary>
public sealed record JsonAdapterOptions
{
    internal JsonPointer? Body { get; init; }

    internal JsonPointer? Title { get; init; }

    internal JsonPointer? Link { get; init; }

    internal JsonPointer? DisplayName { get; init; }

    internal JsonPointer? Sender { get; init; }

    internal JsonPointer? Room { get; init; }

    /// <summary>The other participant of a direct message (DM context is keyed by the pair).</summary>
    internal JsonPointer? Recipient { get; init; }

    public string? RecipientHeader { get; init; }

    /// <summary>"message" (filter it) or "report" (a user's report: forward it and send an enriched report).</summary>
    public string Kind { get; init; } = "message";

    /// <summary>A boolean (or "true"/"false") saying the message is a direct message.</summary>
    internal JsonPointer? Direct { get; init; }

    public string? SenderHeader { get; init; }

    public string? RoomHeader { get; init; }

    public string? DirectHeader { get; init; }

    /// <summary>A header set by a trusted front end when the sender moderates the room ("true"/"1").</summary>
    public string? ModeratorHeader { get; init; }

    public int DropStatus { get; init; } = 200;

    /// <summary>The body a silent drop answers with: it should look like the backend's own success.</summary>
    public string DropBody { get; init; } = "{}";

    public int RejectStatus { get; init; } = 403;

    public int MaxDepth { get; init; } = 64;

    /// <summary>
    /// How property names are matched against the pointers. <see cref="JsonKeyMatching.AnyCase"/> (the default)
    /// also inspects every case variant, because many backends read keys case-insensitively; duplicates are
    /// inspected in both modes.
    /// </summary>
    public JsonKeyMatching Keys { get; init; } = JsonKeyMatching.AnyCase;

    public static bool IsJsonObject(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>Which property names count as the configured field (route key <c>json.keys</c>).</summary>
public enum JsonKeyMatching
{
    /// <summary>
    /// Every name any common parser could read as the field: case-insensitive with Unicode simple case folding (Go's
    /// encoding/json, System.Text.Json's PropertyNameCaseInsensitive, Json.NET).
    /// </summary>
    AnyCase = 0,

    /// <summary>Only the exact name: for backends known to match keys case-sensitively.</summary>
    Exact = 1,
}
