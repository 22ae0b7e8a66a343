using Gateway.Policy.Context;

namespace Gateway.Reporting;

/// <summary>
/// What one message does to a conversation's context: its body texts appended (sent by <see cref="Sender"/> at
/// <see cref="Time"/>), and the report it caused, made with the context as it was before the append. A user's report
/// has no texts and is enriched only when <see cref="Sender"/> (the reporter) took part.
/// </summary>
internal sealed record PairAppend(ConversationKey Key, string Sender, DateTimeOffset Time, IReadOnlyList<string> Texts, Report? Report, bool UserReport)
{
    /// <summary>Never prints text or ids.</summary>
    public override string ToString() => $"PairAppend {{ Texts = {Texts.Count}, Report = {Report is not null} }}";
}

/// <summary>
/// Scale-out: each direct pair has one owner instance, which keeps its context and makes its reports. True = handed to
/// the owner (another instance; it appends and reports, so this instance does neither); false = this instance is the
/// owner, or the owner cannot be reached: apply it here.
/// </summary>
internal interface IPairOwners
{
    bool TryHandOff(PairAppend append);
}
