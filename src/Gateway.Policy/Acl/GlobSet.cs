using System.Text.RegularExpressions;

namespace Gateway.Policy.Acl;

/// <summary>
/// Matches a name against many server-name globs at once. The common shapes of ACLs and ban lists skip the regex
/// engine: exact names are one hash lookup, <c>*.suffix</c> and <c>prefix*</c> one lookup per distinct length.
/// The rest go into combined non-backtracking regexes, in batches, because the engine refuses automata over 10,000
/// nodes (a single alternation of a few hundred globs already is). A glob even one regex cannot hold (thousands of
/// <c>?</c>) falls back to <see cref="GlobMatcher"/>.
/// </summary>
/// <remarks>
/// Hash lookups compare with <see cref="StringComparer.OrdinalIgnoreCase"/>, the regexes with invariant
/// IgnoreCase. They agree on ASCII, which is all a server name may hold (spec appendix, "Server name").
/// </remarks>
internal sealed class GlobSet
{
    private const int BatchSize = 256;

    private readonly bool _matchesAll;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _exact;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _suffixes;
    private readonly int[] _suffixLengths;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _prefixes;
    private readonly int[] _prefixLengths;
    private readonly Regex[] _regexes;
    private readonly string[] _fallback;

    private GlobSet(IReadOnlyList<string> globs)
    {
        var exact = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var suffixes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var prefixes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var complex = new List<string>();
        for (var i = 0; i < globs.Count; i++)
        {
            var glob = globs[i];
            var first = glob.AsSpan().IndexOfAny('*', '?');
            if (first < 0)
            {
                exact.Add(glob);
                continue;
            }

            var last = glob.AsSpan().LastIndexOfAny('*', '?');
            if (first == 0 && last == 0 && glob[0] == '*')
            {
                if (glob.Length == 1)
                {
                    _matchesAll = true;
                }
                else
                {
                    suffixes.Add(glob[1..]);
                }
            }
            else if (first == glob.Length - 1 && glob[first] == '*')
            {
                prefixes.Add(glob[..first]);
            }
            else
            {
                complex.Add(glob);
            }
        }

        _exact = exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _suffixes = suffixes.GetAlternateLookup<ReadOnlySpan<char>>();
        _prefixes = prefixes.GetAlternateLookup<ReadOnlySpan<char>>();
        _suffixLengths = DistinctLengths(suffixes);
        _prefixLengths = DistinctLengths(prefixes);

        var regexes = new List<Regex>();
        var fallback = new List<string>();
        for (var start = 0; start < complex.Count; start += BatchSize)
        {
            AddBatch(complex, start, Math.Min(start + BatchSize, complex.Count), regexes, fallback);
        }

        _regexes = regexes.ToArray();
        _fallback = fallback.ToArray();
    }

    /// <summary>Null when there are no globs: nothing matches.</summary>
    public static GlobSet? Create(IReadOnlyList<string> globs)
    {
        return globs.Count == 0 ? null : new GlobSet(globs);
    }

    public bool IsMatch(ReadOnlySpan<char> name)
    {
        if (_matchesAll || _exact.Contains(name))
        {
            return true;
        }

        foreach (var length in _suffixLengths)
        {
            if (length > name.Length)
            {
                break;
            }

            if (_suffixes.Contains(name[^length..]))
            {
                return true;
            }
        }

        foreach (var length in _prefixLengths)
        {
            if (length > name.Length)
            {
                break;
            }

            if (_prefixes.Contains(name[..length]))
            {
                return true;
            }
        }

        foreach (var regex in _regexes)
        {
            if (regex.IsMatch(name))
            {
                return true;
            }
        }

        foreach (var glob in _fallback)
        {
            if (GlobMatcher.IsMatch(glob, name))
            {
                return true;
            }
        }

        return false;
    }

    private static void AddBatch(List<string> globs, int start, int end, List<Regex> regexes, List<string> fallback)
    {
        try
        {
            regexes.Add(ServerNameGlob.ToCombinedRegex(globs, start, end));
        }
        catch (NotSupportedException) when (end - start > 1)
        {
            var middle = start + ((end - start) / 2);
            AddBatch(globs, start, middle, regexes, fallback);
            AddBatch(globs, middle, end, regexes, fallback);
        }
        catch (NotSupportedException)
        {
            fallback.Add(globs[start]);
        }
    }

    private static int[] DistinctLengths(HashSet<string> values)
    {
        var lengths = new SortedSet<int>();
        foreach (var value in values)
        {
            lengths.Add(value.Length);
        }

        var result = new int[lengths.Count];
        lengths.CopyTo(result);
        return result;
    }
}
