namespace Gateway.Policy.Context;

/// <summary>Limits of the <see cref="ConversationStore"/>. Validated by the store's constructor.</summary>
public sealed record ConversationStoreOptions
{
    /// <summary>Most messages a conversation keeps; the oldest is overwritten first. 1 to 1024.</summary>
    public int MessagesPerConversation { get; init; } = 10;

    /// <summary>
    /// Budget for all conversations together, in bytes (the cache's size limit). A conversation counts its ring
    /// buffer, its key and an estimate of its fixed bookkeeping; past the limit the least recently used
    /// conversations are compacted away.
    /// </summary>
    public long MaxTotalBytes { get; init; } = 512L * 1024 * 1024;

    /// <summary>A conversation nobody appended to or read for this long is dropped (sliding expiry).</summary>
    public TimeSpan IdleExpiry { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Longer messages are cut to this many UTF-8 bytes, at a code point boundary. 16 to 65535.</summary>
    public int MaxMessageBytes { get; init; } = 4096;
}
