using System.Globalization;

namespace Gateway.Policy.Net;

/// <summary>
/// The IP list file format. One entry a line: <c>CIDR [EXPIRY] [REASON]</c>, separated by whitespace, where EXPIRY
/// is an ISO-8601 timestamp with a zone (<c>2026-12-01T00:00:00Z</c>) or a date (<c>2026-12-01</c>, midnight UTC).
/// <c>#</c> starts a comment anywhere on a line; blank lines are ignored. A second field that starts with a digit
/// must be an expiry; anything else starts the reason, so <c>10.0.0.0/8 internal scanners</c> needs no expiry.
/// After a date-only expiry a field starting with a digit is taken for a time split off by a space, and refused.
/// </summary>
public static class IpListFile
{
    private const int DateOnlyLength = 10;

    private static readonly string[] ExpiryFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss'Z'",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'",
        "yyyy-MM-dd'T'HH:mm'Z'",
        "yyyy-MM-dd'T'HH:mm:sszzz",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz",
        "yyyy-MM-dd'T'HH:mmzzz",
        "yyyy-MM-dd",
    ];

    /// <summary>
    /// Parses a whole file. Bad lines are reported to <paramref name="errors"/> as <c>{sourceName}:{line}: {message}</c>
    /// (1-based) and skipped; the other lines still count. Each entry's Source is <c>{sourceName}:{line}</c>.
    /// </summary>
    public static IReadOnlyList<IpBlockEntry> Parse(string text, string sourceName, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentNullException.ThrowIfNull(errors);
        var entries = new List<IpBlockEntry>();
        var lineNumber = 0;
        foreach (var rawLine in text.AsSpan().EnumerateLines())
        {
            lineNumber++;
            var line = rawLine;
            if (lineNumber == 1 && line.Length > 0 && line[0] == '\uFEFF')
            {
                line = line[1..];
            }

            var hash = line.IndexOf('#');
            if (hash >= 0)
            {
                line = line[..hash];
            }

            line = line.Trim();
            if (line.IsEmpty)
            {
                continue;
            }

            if (TryParseLine(line, sourceName, lineNumber, out var entry, out var error))
            {
                entries.Add(entry);
            }
            else
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{sourceName}:{lineNumber}: {error}"));
            }
        }

        return entries;
    }

    private static bool TryParseLine(ReadOnlySpan<char> line, string sourceName, int lineNumber, out IpBlockEntry entry, out string? error)
    {
        entry = null!;
        var cidrText = NextField(ref line);
        if (!CidrBlock.TryParse(cidrText.ToString(), out var cidr, out error))
        {
            return false;
        }

        DateTimeOffset? expires = null;
        var rest = line.TrimStart();
        if (!rest.IsEmpty && char.IsAsciiDigit(rest[0]))
        {
            var expiryText = NextField(ref rest);
            if (!TryParseExpiry(expiryText, out var parsed))
            {
                error = $"expiry '{expiryText}' is not an ISO-8601 timestamp with a zone, like 2026-12-01T00:00:00Z";
                return false;
            }

            rest = rest.TrimStart();
            if (expiryText.Length == DateOnlyLength && !rest.IsEmpty && char.IsAsciiDigit(rest[0]))
            {
                // "2026-12-01 10:00:00Z" would otherwise read as midnight with a reason of "10:00:00Z".
                var timeText = NextField(ref rest);
                error = $"expiry '{expiryText} {timeText}' must be one field, like {expiryText}T{timeText}";
                return false;
            }

            expires = parsed;
        }

        var reason = rest.IsEmpty ? null : rest.ToString();
        entry = new IpBlockEntry(cidr, expires, reason, string.Create(CultureInfo.InvariantCulture, $"{sourceName}:{lineNumber}"));
        return true;
    }

    private static ReadOnlySpan<char> NextField(ref ReadOnlySpan<char> text)
    {
        text = text.TrimStart();
        var end = 0;
        while (end < text.Length && !char.IsWhiteSpace(text[end]))
        {
            end++;
        }

        var field = text[..end];
        text = text[end..];
        return field;
    }

    private static bool TryParseExpiry(ReadOnlySpan<char> text, out DateTimeOffset expires)
    {
        return DateTimeOffset.TryParseExact(
            text,
            ExpiryFormats,
            CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal,
            out expires);
    }
}
