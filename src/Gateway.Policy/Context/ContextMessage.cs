namespace Gateway.Policy.Context;

/// <summary>One message of a conversation's context, as it was sent (raw, not normalised or censored).</summary>
public sealed record ContextMessage(DateTimeOffset Time, string Sender, string Text)
{
    /// <summary>Never prints the text (or the sender), so a stray log line or exception cannot leak it.</summary>
    public override string ToString() => $"ContextMessage {{ Time = {Time:O}, Text = {Text.Length} chars }}";
}
