using System.Text;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;

namespace Gateway.Protocols.Lemmy;

/// <summary>
/// <c>slur_semantics = true</c>: a censor verdict answered the way Lemmy's own slur filter answers, so an operator can
/// move the site's <c>slur_filter_regex</c> to the gateway (with normalisation on top) and users see no difference.
/// Lemmy (crates/utils/src/utils/slurs.rs) runs <c>remove_slurs</c> on markdown bodies — each match becomes
/// <c>*removed*</c> — and <c>check_slurs</c> on titles and names, refusing with <c>{"error":"slurs"}</c>, which
/// never tells the client which words matched: the list stays secret.
/// </summary>
internal static class LemmySlurs
{
    public const string Removed = "*removed*";

    /// <summary>Lemmy's answer to a slur in a title, a name or a report reason.</summary>
    public static AdapterOutcome Refused => AdapterOutcome.Respond(400, """{"error":"slurs"}"""u8.ToArray());

    public static AdapterOutcome Apply(LemmyContent content, Verdict verdict, ReadOnlySpan<byte> json)
    {
        var ranges = new List<(int Start, int End)>[content.Fields.Count];
        foreach (var m in verdict.Matches)
        {
            if (m.DryRun || m.Action != FilterAction.Censor || m.FieldIndex >= ranges.Length)
            {
                continue;
            }

            if (m.Field != FieldKind.Body)
            {
                return Refused;
            }

            (ranges[m.FieldIndex] ??= new()).Add((m.Start, m.End));
        }

        var rewritten = new MessageField[content.Fields.Count];
        for (var i = 0; i < rewritten.Length; i++)
        {
            rewritten[i] = ranges[i] is { } r ? content.Fields[i] with { Text = Remove(content.Fields[i].Text, r) } : content.Fields[i];
        }

        return AdapterOutcome.Rewritten(LemmyCodec.Rewrite(content, rewritten, json));
    }

    /// <summary>Each match (overlapping ones merged) replaced by <c>*removed*</c>, as Lemmy's <c>replace_all</c> does.</summary>
    internal static string Remove(string text, List<(int Start, int End)> ranges)
    {
        ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
        var sb = new StringBuilder(text.Length);
        var at = 0;
        foreach (var (start, end) in ranges)
        {
            var s = Math.Clamp(start, 0, text.Length);
            var e = Math.Clamp(end, 0, text.Length);
            if (e <= at)
            {
                continue; // inside a range already replaced
            }

            if (s >= at)
            {
                sb.Append(text, at, s - at).Append(Removed);
            }

            at = e;
        }

        return sb.Append(text, at, text.Length - at).ToString();
    }
}
