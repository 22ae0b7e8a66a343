using Gateway.Policy.Model;

namespace Gateway.Policy.Rules;

public enum VerdictAction
{
    Forward = 0,
    Censor = 1,
    Drop = 2,
    Reject = 3,
}

/// <summary>
/// One filter hit: which filter, which configured term or pattern, in which field (kind, and index in the message's
/// field list), where in that field's original text.
/// </summary>
public sealed record FilterMatch(string Filter, FilterAction Action, FieldKind Field, string Term, int Start, int End, bool DryRun, int FieldIndex = 0)
{
    /// <summary>
    /// The normalisation steps that turned the matched text into the term (e.g. ["confusable", "spaced"]); empty for a
    /// literal match and for regexes. Lets an operator see why a message matched (issue 18).
    /// </summary>
    public IReadOnlyList<string> Steps { get; init; } = [];
}

/// <summary>The engine's answer for one message. Expected outcomes are values, not exceptions.</summary>
public sealed record Verdict
{
    /// <summary>The shared answer for a clean message: no allocation on the fast path.</summary>
    public static Verdict Clean { get; } = new() { Action = VerdictAction.Forward };

    public required VerdictAction Action { get; init; }

    /// <summary>The filter that decided a drop or reject (the highest-priority one), or the first censoring one.</summary>
    public string? DecidingFilter { get; init; }

    /// <summary>What to tell the sender, if anything.</summary>
    public string? Notice { get; init; }

    public bool Report { get; init; }

    public IReadOnlyList<FilterMatch> Matches { get; init; } = Array.Empty<FilterMatch>();

    /// <summary>For <see cref="VerdictAction.Censor"/>: every field of the message, rewritten where needed.</summary>
    public IReadOnlyList<MessageField>? Rewritten { get; init; }

    public bool IsClean => Matches.Count == 0;

    /// <summary>Names of the filters that matched, in priority order, without duplicates (dry runs included).</summary>
    public IReadOnlyList<string> Rules
    {
        get
        {
            var names = new List<string>();
            foreach (var m in Matches)
            {
                if (!names.Contains(m.Filter))
                {
                    names.Add(m.Filter);
                }
            }

            return names;
        }
    }

    /// <summary>The text of a field as it would be delivered (null when the message is not delivered).</summary>
    public string? DeliveredText(ChatMessage message, FieldKind field)
    {
        if (Action is VerdictAction.Drop or VerdictAction.Reject)
        {
            return null;
        }

        var fields = Rewritten ?? message.Fields;
        foreach (var f in fields)
        {
            if (f.Kind == field)
            {
                return f.Text;
            }
        }

        return null;
    }
}
