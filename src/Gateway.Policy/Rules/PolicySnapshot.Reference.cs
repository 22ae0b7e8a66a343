using Gateway.Policy.Matching;
using Gateway.Policy.Model;
using Gateway.Policy.Text;

namespace Gateway.Policy.Rules;

/// <summary>
/// The hit path as first written, kept for <see cref="Exhaustive"/>: the differential tests (ShortcutDifferentialTests,
/// DenseHitDifferentialTests) hold the faster per-hit code in PolicySnapshot.cs to exactly its results.
/// </summary>
public sealed partial class PolicySnapshot
{
    /// <summary>
    /// <see cref="CollectLiteralHits"/> as first written, run with the shortcuts off (<see cref="Exhaustive"/>): a
    /// binary search of the allow matches per hit, every filter's field set read per hit.
    /// </summary>
    private void CollectLiteralHitsReference(List<LiteralHit> hits, PatternInfo[] patterns, ReadOnlySpan<char> span, NormalizedText norm,
        int[]? runs, string original, ReadOnlySpan<bool> active, FieldSet fieldBit, List<(int Filter, int Start, int End)> allows,
        List<RawMatch> matches, FieldKind kind, int fieldIndex)
    {
        foreach (var h in hits)
        {
            ref readonly var p = ref patterns[h.Pattern];
            if (p.IsAllow || p.Gate >= 0 || !active[p.Filter] || (_filters[p.Filter].Definition.Fields & fieldBit) == 0)
            {
                continue;
            }

            if (!HitStands(p, h, span, norm, runs, original, fieldIndex))
            {
                continue;
            }

            if (!HitAnalysis.Accept(original, norm.OriginalStart(h.Start), norm.OriginalEnd(h.End - 1), out var steps))
            {
                // A code or a foreign word: decided from its neighbours or the rest of the text.
                (t_blocked ??= []).Add((fieldIndex, -1, -1));
                continue;
            }

            steps |= p.Steps | (runs is null ? EvasionSteps.None : EvasionSteps.Stretched);

            var (ns, ne) = WordRange(p, span, h.Start, h.End);
            var (start, end) = norm.OriginalRange(ns, ne);
            if (!IsAllowed(allows, p.Filter, norm.OriginalStart(h.Start), norm.OriginalEnd(h.End - 1)))
            {
                matches.Add(new RawMatch(p.Filter, kind, fieldIndex, p.Term, start, end, steps));
            }
            else
            {
                NoteBlocked(fieldIndex, norm, h.Start, h.End, span.Length);
            }
        }
    }
}
