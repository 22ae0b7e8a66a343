using Gateway.Policy.Rules;

namespace Gateway.Policy.Protections;

/// <summary>The shapes of abuse a protection recognises.</summary>
public enum ProtectionKind
{
    /// <summary>More than <see cref="ProtectionDefinition.Max"/> messages per sender in the window (per room or across rooms).</summary>
    Flood = 0,

    /// <summary>The same normalised text (or, with <c>target = "links"</c>, the same link) in more than Max rooms or conversations in the window.</summary>
    Duplicate = 1,

    /// <summary>More than Max distinct user mentions in one message.</summary>
    Mentions = 2,

    /// <summary>A sender first seen less than <see cref="ProtectionDefinition.Age"/> ago: no links/media, and the protections it names apply.</summary>
    NewSender = 3,

    /// <summary>A sender's first Max messages may not carry links or media.</summary>
    LinkFirst = 4,

    /// <summary>More than Max joins to one room in the window: later joiners are refused until the wave passes.</summary>
    JoinWave = 5,

    /// <summary>Every URL's domain against allow/deny lists, after IDN decoding and confusable folding.</summary>
    Links = 6,

    /// <summary>More than <see cref="ProtectionDefinition.Percent"/> % capitals in a message of at least MinLength letters.</summary>
    Shouting = 7,

    /// <summary>More than Percent % symbols or emoji in a message of at least MinLength characters.</summary>
    Symbols = 8,
}

/// <summary>What a protection does when it fires (before any escalation ladder).</summary>
public enum ProtectionAction
{
    Drop = 0,
    Reject = 1,

    /// <summary>Deliver the message; send a report (the webhook) and count the hit.</summary>
    ReportOnly = 2,
}

/// <summary>One step of an escalation ladder: what the n-th hit in the escalation window does.</summary>
public enum EscalationKind
{
    /// <summary>Deliver, with the rule's notice to the sender.</summary>
    Warn = 0,
    Drop = 1,
    Reject = 2,

    /// <summary>Refuse the message and block the sender (every protocol) for <see cref="EscalationStep.Duration"/>.</summary>
    Block = 3,
}

public readonly record struct EscalationStep(EscalationKind Kind, TimeSpan Duration = default);

/// <summary>A <c>[[protections]]</c> table, validated.</summary>
public sealed record ProtectionDefinition
{
    public required string Name { get; init; }

    public required ProtectionKind Kind { get; init; }

    public bool Enabled { get; init; } = true;

    /// <summary>Hits are counted and recorded, nothing is acted on.</summary>
    public bool DryRun { get; init; }

    public ProtectionAction Action { get; init; } = ProtectionAction.Drop;

    public string? Notice { get; init; }

    /// <summary>Send a webhook report on a hit (always for <see cref="ProtectionAction.ReportOnly"/>).</summary>
    public bool Report { get; init; }

    public FilterScope Scope { get; init; } = FilterScope.Both;

    public IReadOnlyList<string> Rooms { get; init; } = Array.Empty<string>();

    public IReadOnlyList<string> ExcludeRooms { get; init; } = Array.Empty<string>();

    /// <summary>Protocol names (<c>matrix</c>, <c>barertc</c>, …); empty means all.</summary>
    public IReadOnlyList<string> Protocols { get; init; } = Array.Empty<string>();

    /// <summary>Backend names; empty means all (a module's imported rules carry their backend).</summary>
    public IReadOnlyList<string> Backends { get; init; } = Array.Empty<string>();

    public bool ExemptModerators { get; init; } = true;

    public IReadOnlyList<string> ExemptUsers { get; init; } = Array.Empty<string>();

    /// <summary>The N of the rule: messages, rooms, mentions, joins, first messages.</summary>
    public int Max { get; init; }

    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>flood: count per (sender, room) instead of per sender across rooms.</summary>
    public bool PerRoom { get; init; }

    /// <summary>duplicate: compare whole texts (false) or each link (true: BareRTC's DM link-spam guard).</summary>
    public bool LinksOnly { get; init; }

    /// <summary>duplicate: count only direct conversations.</summary>
    public bool DirectOnly { get; init; }

    /// <summary>new_sender: how long a sender counts as new.</summary>
    public TimeSpan Age { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>new_sender / link_first: refuse links.</summary>
    public bool NoLinks { get; init; } = true;

    /// <summary>new_sender / link_first: refuse media (images, files) where the protocol says a message carries some.</summary>
    public bool NoMedia { get; init; } = true;

    /// <summary>new_sender: names of protections that apply only to new senders (stricter limits).</summary>
    public IReadOnlyList<string> ForNewSenders { get; init; } = Array.Empty<string>();

    /// <summary>links: domains allowed (empty = any not denied); each entry covers its subdomains; <c>*</c> globs a label part.</summary>
    public IReadOnlyList<string> AllowDomains { get; init; } = Array.Empty<string>();

    public IReadOnlyList<string> DenyDomains { get; init; } = Array.Empty<string>();

    /// <summary>shouting / symbols: the share (0–100) above which the message is refused.</summary>
    public double Percent { get; init; } = 70;

    /// <summary>shouting / symbols: shorter messages are never judged.</summary>
    public int MinLength { get; init; } = 10;

    /// <summary>The n-th hit within <see cref="EscalationWindow"/> does step n (the last step repeats); empty = always <see cref="Action"/>.</summary>
    public IReadOnlyList<EscalationStep> Escalation { get; init; } = Array.Empty<EscalationStep>();

    public TimeSpan EscalationWindow { get; init; } = TimeSpan.FromHours(1);
}
