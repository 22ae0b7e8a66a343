using Gateway.Benchmarks.Corpus;
using Gateway.Policy.Rules;

namespace Gateway.Benchmarks.Engines;

/// <summary>What a baseline engine answers: the action and, for a censor, the rewritten text.</summary>
public readonly record struct Outcome(VerdictAction Action, string? Text, int Hits)
{
    public static Outcome Clean => new(VerdictAction.Forward, null, 0);
}

/// <summary>The baselines read the same <see cref="FilterDefinition"/>s the gateway compiles ("same rules").</summary>
internal static class RuleView
{
    /// <summary>Filters in evaluation order: priority descending, then file order (as the gateway sorts them).</summary>
    public static FilterDefinition[] Ordered(IReadOnlyList<FilterDefinition> filters) =>
        filters.Select((f, i) => (f, i)).OrderByDescending(x => x.f.Priority).ThenBy(x => x.i).Select(x => x.f).ToArray();

    /// <summary>Splits Discord AutoMod syntax ("cat", "cat*", "*cat", "*cat*") into the literal and its mode.</summary>
    public static (string Core, TermMode Mode) Parse(string syntax)
    {
        var t = syntax.Trim();
        var start = t.StartsWith('*');
        var end = t.Length > 1 && t.EndsWith('*');
        var core = t[(start ? 1 : 0)..(end ? t.Length - 1 : t.Length)].ToLowerInvariant();
        var mode = (start, end) switch
        {
            (false, false) => core.Contains(' ', StringComparison.Ordinal) ? TermMode.Phrase : TermMode.Whole,
            (false, true) => TermMode.Prefix,
            (true, false) => TermMode.Suffix,
            _ => TermMode.Anywhere,
        };
        return (core, mode);
    }

    public static bool IsWordChar(char c) => char.IsLetterOrDigit(c);
}
