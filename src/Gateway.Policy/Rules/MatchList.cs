using System.Collections;
using Gateway.Policy.Text;

namespace Gateway.Policy.Rules;

/// <summary>
/// A verdict's matches, kept as the engine recorded them (one compact struct each) and turned into
/// <see cref="FilterMatch"/> records only when read. A text of nothing but hits (issue 18 part 4, hostile dense hits:
/// ~660 matches in 16 KB) paid a record per match before anyone asked; the gateway's hot path reads the verdict's
/// action and rewrite, and only reports or logs walk the matches. Each record is built once and kept (a race between
/// two readers at most builds an equal record twice).
/// </summary>
internal sealed class MatchList : IReadOnlyList<FilterMatch>
{
    private readonly CompiledFilter[] _filters;
    private readonly PolicySnapshot.RawMatch[] _raw;
    private FilterMatch?[]? _built;

    public MatchList(CompiledFilter[] filters, PolicySnapshot.RawMatch[] raw)
    {
        _filters = filters;
        _raw = raw;
    }

    public int Count => _raw.Length;

    public FilterMatch this[int index]
    {
        get
        {
            var built = _built ??= new FilterMatch?[_raw.Length];
            return built[index] ??= Build(_filters, _raw[index]);
        }
    }

    public static FilterMatch Build(CompiledFilter[] filters, in PolicySnapshot.RawMatch r)
    {
        var def = filters[r.Filter].Definition;
        return new FilterMatch(def.Name, def.Action, r.Field, r.Term, r.Start, r.End, def.DryRun, r.FieldIndex)
        {
            Steps = EvasionStepNames.Of(r.Steps),
        };
    }

    public IEnumerator<FilterMatch> GetEnumerator()
    {
        for (var i = 0; i < _raw.Length; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
