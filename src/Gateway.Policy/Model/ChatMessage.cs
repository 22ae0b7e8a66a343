namespace Gateway.Policy.Model;

/// <summary>The text-bearing parts of a message a filter can look at.</summary>
public enum FieldKind
{
    Body = 0,
    Title = 1,
    Link = 2,
    DisplayName = 3,
}

/// <summary>What a message is: something said, or someone joining a room (which protections count).</summary>
public enum MessageKind
{
    Message = 0,

    /// <summary>A join to <see cref="ChatMessage.Room"/> (Matrix join, a BareRTC login): no text fields.</summary>
    Join = 1,
}

/// <summary>One text field of a message, as the protocol adapter extracted it.</summary>
public readonly record struct MessageField(FieldKind Kind, string Text);

/// <summary>
/// A protocol-neutral view of one message: what the engine evaluates. Adapters build it from the wire format;
/// the engine never sees JSON.
/// </summary>
public sealed record ChatMessage
{
    public required string Protocol { get; init; }

    public string? Sender { get; init; }

    /// <summary>Room, channel or community the message goes to (null when unknown).</summary>
    public string? Room { get; init; }

    public bool IsDirect { get; init; }

    /// <summary>The other participant of a direct message, when the protocol says who it is.</summary>
    public string? Recipient { get; init; }

    /// <summary>
    /// Everyone else in a direct conversation when the protocol lists them (the other joined members of a Matrix DM
    /// room). Reports name them; unlike <see cref="Recipient"/> they do not change how context is keyed.
    /// </summary>
    public IReadOnlyList<string>? Recipients { get; init; }

    /// <summary>Set by the adapter when the protocol says the sender moderates the room.</summary>
    public bool SenderIsModerator { get; init; }

    public required IReadOnlyList<MessageField> Fields { get; init; }

    public MessageKind Kind { get; init; }

    /// <summary>The users the message mentions, when the protocol lists them (Matrix <c>m.mentions</c>); null: found in the text.</summary>
    public IReadOnlyList<string>? Mentions { get; init; }

    /// <summary>Set by the adapter when the message carries media (an image, a file).</summary>
    public bool HasMedia { get; init; }
}
