using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Policy.Acl;

/// <summary>
/// Server-name globs as used by <c>m.room.server_acl</c>: <c>*</c> is zero or more characters, <c>?</c> exactly one,
/// everything else literal, matched case-insensitively against the whole name.
/// https://spec.matrix.org/latest/client-server-api/#server-access-control-lists-acls-for-rooms
/// </summary>
public static class ServerNameGlob
{
    /// <summary>Longest glob <see cref="TryValidate"/> accepts: the longest DNS name.</summary>
    public const int MaxLength = 255;

    // NonBacktracking: matching is linear in the name whatever the glob, so a room's ACL cannot stall us.
    // Singleline: '*' and '?' stand for any character, a newline included.
    internal const RegexOptions Options =
        RegexOptions.NonBacktracking | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline;

    /// <summary>Config-time check of a glob an operator wrote. ACL events from rooms are taken as they are.</summary>
    public static bool TryValidate(string glob, out string? error)
    {
        if (glob is null || glob.Length == 0)
        {
            error = "server name glob is empty";
            return false;
        }

        if (glob.Length > MaxLength)
        {
            error = $"server name glob is {glob.Length} characters long; the limit is {MaxLength}";
            return false;
        }

        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (char.IsWhiteSpace(c))
            {
                error = $"server name glob '{glob}' contains whitespace at position {i + 1}";
                return false;
            }

            if (char.IsControl(c))
            {
                error = $"server name glob contains control character U+{(int)c:X4} at position {i + 1}";
                return false;
            }
        }

        error = null;
        return true;
    }

    /// <summary>
    /// One glob as an anchored, case-insensitive, non-backtracking regex. Throws <see cref="NotSupportedException"/>
    /// for a glob whose automaton is over the engine's size limit (thousands of <c>?</c>); <see cref="ServerAcl"/>
    /// copes with those itself.
    /// </summary>
    public static Regex ToRegex(string glob)
    {
        ArgumentNullException.ThrowIfNull(glob);
        return ToCombinedRegex([glob], 0, 1);
    }

    /// <summary>Globs [start, end) as one anchored alternation.</summary>
    internal static Regex ToCombinedRegex(IReadOnlyList<string> globs, int start, int end)
    {
        var pattern = new StringBuilder(16 + ((end - start) * 16));
        pattern.Append(@"\A(?:");
        for (var i = start; i < end; i++)
        {
            if (end - start == 1)
            {
                AppendBody(pattern, globs[i]);
                break;
            }

            if (i > start)
            {
                pattern.Append('|');
            }

            pattern.Append("(?:");
            AppendBody(pattern, globs[i]);
            pattern.Append(')');
        }

        pattern.Append(@")\z");
        return new Regex(pattern.ToString(), Options);
    }

    /// <summary>
    /// Literal runs are escaped; a run of wildcards becomes one counted repeat, as Synapse's glob_to_regex does:
    /// <c>?**?*</c> means "at least two characters", <c>.{2,}</c>, never a chain of <c>.*.*</c>.
    /// </summary>
    internal static void AppendBody(StringBuilder pattern, string glob)
    {
        var i = 0;
        while (i < glob.Length)
        {
            var start = i;
            if (IsWildcard(glob[i]))
            {
                var questionMarks = 0;
                var star = false;
                while (i < glob.Length && IsWildcard(glob[i]))
                {
                    if (glob[i] == '?')
                    {
                        questionMarks++;
                    }
                    else
                    {
                        star = true;
                    }

                    i++;
                }

                AppendWildcardRun(pattern, questionMarks, star);
            }
            else
            {
                while (i < glob.Length && !IsWildcard(glob[i]))
                {
                    i++;
                }

                pattern.Append(Regex.Escape(glob.Substring(start, i - start)));
            }
        }
    }

    private static void AppendWildcardRun(StringBuilder pattern, int questionMarks, bool star)
    {
        if (star)
        {
            if (questionMarks == 0)
            {
                pattern.Append(".*");
            }
            else
            {
                pattern.Append(".{").Append(questionMarks).Append(",}");
            }
        }
        else if (questionMarks == 1)
        {
            pattern.Append('.');
        }
        else
        {
            pattern.Append(".{").Append(questionMarks).Append('}');
        }
    }

    private static bool IsWildcard(char c) => c == '*' || c == '?';
}
