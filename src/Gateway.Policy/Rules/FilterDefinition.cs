using Gateway.Policy.Model;

namespace Gateway.Policy.Rules;

/// <summary>What a filter does when it matches.</summary>
public enum FilterAction
{
    /// <summary>Let the message through unchanged (the filter only reports and/or sends its notice).</summary>
    Forward = 0,

    /// <summary>Replace the matched characters with '*' and forward.</summary>
    Censor = 1,

    /// <summary>Do not forward; the sender is told it was sent (plus the notice, if the filter has one).</summary>
    Drop = 2,

    /// <summary>Do not forward; the sender gets a protocol-shaped error carrying the notice.</summary>
    Reject = 3,
}

/// <summary>Which conversations a filter applies to.</summary>
public enum FilterScope
{
    Both = 0,
    Public = 1,
    Direct = 2,
}

/// <summary>The fields a filter inspects, as flags.</summary>
[Flags]
public enum FieldSet
{
    None = 0,
    Body = 1 << FieldKind.Body,
    Title = 1 << FieldKind.Title,
    Link = 1 << FieldKind.Link,
    DisplayName = 1 << FieldKind.DisplayName,
    All = Body | Title | Link | DisplayName,
}

/// <summary>Which inflected forms of a whole-word keyword also match.</summary>
public enum WordForms
{
    /// <summary>Only the keyword as written.</summary>
    None = 0,

    /// <summary>English inflections: plural, -ing, -er(s), -ed, -y, with the doubling and silent-e rules.</summary>
    English = 1,
}

/// <summary>
/// A filter as configured, already validated (terms parse, regexes compile). <see cref="PolicyCompiler"/> turns a
/// list of these into one immutable <see cref="PolicySnapshot"/>.
/// </summary>
public sealed record FilterDefinition
{
    public required string Name { get; init; }

    public bool Enabled { get; init; } = true;

    /// <summary>Higher runs first; ties keep file order (Reddit AutoModerator's convention).</summary>
    public int Priority { get; init; }

    public FilterAction Action { get; init; } = FilterAction.Censor;

    /// <summary>Text for the sender (drop with notice, reject error, or a reply on forward).</summary>
    public string? Notice { get; init; }

    public bool Report { get; init; }

    /// <summary>Matches are recorded and counted but never change what is delivered.</summary>
    public bool DryRun { get; init; }

    /// <summary>Discord AutoMod syntax: bare = whole word, "cat*" prefix, "*cat" suffix, "*cat*" anywhere.</summary>
    public IReadOnlyList<string> Keywords { get; init; } = Array.Empty<string>();

    /// <summary>.NET regular expressions run with RegexOptions.NonBacktracking (linear time).</summary>
    public IReadOnlyList<string> Regexes { get; init; } = Array.Empty<string>();

    /// <summary>Terms (same syntax as keywords) whose matches suppress hits inside them.</summary>
    public IReadOnlyList<string> Allow { get; init; } = Array.Empty<string>();

    public FieldSet Fields { get; init; } = FieldSet.Body;

    public FilterScope Scope { get; init; } = FilterScope.Both;

    /// <summary>Room/channel/community globs; empty means every room.</summary>
    public IReadOnlyList<string> Rooms { get; init; } = Array.Empty<string>();

    public IReadOnlyList<string> ExcludeRooms { get; init; } = Array.Empty<string>();

    /// <summary>
    /// Backend names (exact) whose traffic this filter sees; empty means every backend. Filters a protocol module
    /// contributes from its own config files (BareRTC's settings.toml, lemmy-automoderator rules, sogs.ini) carry
    /// their backend's name here.
    /// </summary>
    public IReadOnlyList<string> Backends { get; init; } = Array.Empty<string>();

    public bool ExemptModerators { get; init; } = true;

    /// <summary>Sender ids (or globs) this filter never applies to.</summary>
    public IReadOnlyList<string> ExemptUsers { get; init; } = Array.Empty<string>();

    /// <summary>Match on normalised text (default) or on the raw text.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Inflected forms of whole-word and prefix keywords that also match (config key <c>forms</c>).</summary>
    public WordForms Forms { get; init; }

    /// <summary>Regexes are case-insensitive unless this is set.</summary>
    public bool CaseSensitive { get; init; }

    /// <summary>
    /// A module's own test of which of its messages the filter is for (null: all). Only filters a module contributes
    /// set it: lemmy-automoderator's comment rules must not see posts (both carry a body), and its post rules not
    /// comments. The config file cannot write it.
    /// </summary>
    public Func<ChatMessage, bool>? AppliesTo { get; init; }
}
