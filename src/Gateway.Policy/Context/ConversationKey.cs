namespace Gateway.Policy.Context;

/// <summary>
/// Names one conversation's buffer. Build it with <see cref="Direct"/> or <see cref="Room"/>, once per message;
/// the string is the cache key as it is, so it is never rebuilt or boxed on the way in.
/// </summary>
/// <remarks>
/// Every part is length-prefixed (<c>d6:matrix6:@alice@bob</c>), so no choice of participant or room ids, separators
/// included, can make two different conversations share a key.
/// </remarks>
public readonly record struct ConversationKey(string Value)
{
    /// <summary>A direct conversation: the same key whichever of the two sends.</summary>
    public static ConversationKey Direct(string protocol, string participantA, string participantB)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        ArgumentNullException.ThrowIfNull(participantA);
        ArgumentNullException.ThrowIfNull(participantB);
        var (first, second) = string.CompareOrdinal(participantA, participantB) <= 0
            ? (participantA, participantB)
            : (participantB, participantA);
        return new ConversationKey($"d{protocol.Length}:{protocol}{first.Length}:{first}{second}");
    }

    /// <summary>Built by <see cref="Direct"/>: a pair of participants (scale-out gives each pair an owner instance).</summary>
    public bool IsPair => Value is ['d', ..];

    /// <summary>A room, public or a protocol's own direct-message room (Matrix DMs are rooms).</summary>
    public static ConversationKey Room(string protocol, string roomId)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        ArgumentNullException.ThrowIfNull(roomId);
        return new ConversationKey($"r{protocol.Length}:{protocol}{roomId}");
    }
}
