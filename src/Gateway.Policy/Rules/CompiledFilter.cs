using System.Text.RegularExpressions;
using Gateway.Policy.Model;

namespace Gateway.Policy.Rules;

/// <summary>
/// An automaton pattern: a keyword or allow term of a filter, or (Gate ≥ 0) a literal factor of regex #Gate. A variant
/// of a keyword (<see cref="TermVariants"/>) carries the steps it stands for and what to confirm in the text.
/// </summary>
internal readonly record struct PatternInfo(int Filter, bool IsAllow, bool CheckStart, bool CheckEnd, bool ExtendStart, bool ExtendEnd, string Term, int Gate = -1,
    Text.EvasionSteps Steps = Text.EvasionSteps.None, VariantCheck Check = VariantCheck.None, int CheckAt = -1);

internal sealed class CompiledFilter
{
    public required FilterDefinition Definition { get; init; }

    public required Regex[] Regexes { get; init; }

    /// <summary>Per regex: gated by literal factors in the automaton (true) or pre-checked by the alternation.</summary>
    public bool[] RegexGated { get; init; } = [];

    /// <summary>Global index of this filter's first regex (the index into the armed set).</summary>
    public int RegexBase { get; init; }

    public Regex? RoomInclude { get; init; }

    public Regex? RoomExclude { get; init; }

    public Regex? ExemptUsers { get; init; }

    public bool AppliesTo(ChatMessage message, string? backend)
    {
        var d = Definition;
        if (d.Backends.Count > 0 && !IsListed(d.Backends, backend))
        {
            return false;
        }

        if (d.Scope == FilterScope.Public ? message.IsDirect : d.Scope == FilterScope.Direct && !message.IsDirect)
        {
            return false;
        }

        if (RoomInclude is not null && (message.Room is null || !RoomInclude.IsMatch(message.Room)))
        {
            return false;
        }

        if (RoomExclude is not null && message.Room is not null && RoomExclude.IsMatch(message.Room))
        {
            return false;
        }

        if (d.ExemptModerators && message.SenderIsModerator)
        {
            return false;
        }

        if (d.AppliesTo is { } applies && !applies(message))
        {
            return false;
        }

        return ExemptUsers is null || message.Sender is null || !ExemptUsers.IsMatch(message.Sender);
    }

    private static bool IsListed(IReadOnlyList<string> backends, string? backend)
    {
        if (backend is null)
        {
            return false;
        }

        for (var i = 0; i < backends.Count; i++)
        {
            if (string.Equals(backends[i], backend, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
