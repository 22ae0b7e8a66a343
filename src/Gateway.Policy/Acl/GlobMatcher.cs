namespace Gateway.Policy.Acl;

/// <summary>
/// Direct glob matching without a regex: the greedy algorithm that backs up only to the last <c>*</c>, so its cost
/// is at most glob length times name length, never exponential. Used for globs too big for a non-backtracking
/// automaton, and in tests as a second opinion on the regex translation.
/// </summary>
internal static class GlobMatcher
{
    public static bool IsMatch(ReadOnlySpan<char> glob, ReadOnlySpan<char> name)
    {
        var g = 0;
        var n = 0;
        var starGlob = -1;
        var starName = 0;
        while (n < name.Length)
        {
            if (g < glob.Length && glob[g] == '*')
            {
                starGlob = g++;
                starName = n;
            }
            else if (g < glob.Length && (glob[g] == '?' || EqualsIgnoreCase(glob[g], name[n])))
            {
                g++;
                n++;
            }
            else if (starGlob >= 0)
            {
                g = starGlob + 1;
                n = ++starName;
            }
            else
            {
                return false;
            }
        }

        while (g < glob.Length && glob[g] == '*')
        {
            g++;
        }

        return g == glob.Length;
    }

    private static bool EqualsIgnoreCase(char a, char b)
    {
        return a == b || char.ToUpperInvariant(a) == char.ToUpperInvariant(b);
    }
}
