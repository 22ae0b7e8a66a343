using Microsoft.Extensions.Primitives;

namespace Gateway.Protocols.Matrix;

/// <summary>The X-Matrix authorization scheme (server-server API, request authentication).</summary>
internal static class XMatrix
{
    /// <summary>
    /// Every origin any X-Matrix credential in these Authorization values names. Homeservers differ in which one
    /// they authenticate (Synapse: the last header, and the last of a repeated parameter), so the gate checks them
    /// all: a banned server cannot hide behind an allowed origin written first. Empty when nothing is X-Matrix.
    /// </summary>
    public static IReadOnlyList<string> Origins(StringValues authorization)
    {
        List<string>? origins = null;
        foreach (var value in authorization)
        {
            if (value is null || !value.StartsWith("X-Matrix ", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            // Split on commas outside quotes (RFC 9110) and also on every comma (Synapse's naive split), so a quoted
            // "origin=…" is seen the way either parser reads it. Values folded into one line ("X-Matrix a=1,
            // X-Matrix origin=…") leave the scheme in front of a parameter.
            var parameters = value[9..];
            foreach (var raw in SplitParams(parameters).Concat(parameters.Split(',')))
            {
                var part = raw.Trim();
                if (part.StartsWith("X-Matrix ", StringComparison.OrdinalIgnoreCase))
                {
                    part = part[9..].Trim();
                }

                var eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || !part[..eq].Trim().Equals("origin", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var origin = part[(eq + 1)..].Trim();
                if (origin.Length >= 2 && origin[0] == '"' && origin[^1] == '"')
                {
                    origin = origin[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
                }

                if (origin.Length > 0 && origins?.Contains(origin) != true)
                {
                    (origins ??= new List<string>(1)).Add(origin);
                }
            }
        }

        return origins ?? (IReadOnlyList<string>)Array.Empty<string>();
    }

    /// <summary>The origin of `Authorization: X-Matrix origin="…",destination="…",key="…",sig="…"` (the last one named).</summary>
    public static string? Origin(string authorization)
    {
        var all = Origins(new StringValues(authorization));
        return all.Count == 0 ? null : all[^1];
    }

    /// <summary>
    /// A short name of a federation path for logs: the segment after the version (<c>event</c>, <c>hierarchy</c>,
    /// <c>query</c>), never the ids that follow it.
    /// </summary>
    public static string EndpointLabel(string path)
    {
        var segments = path.Split('/', 6, StringSplitOptions.RemoveEmptyEntries);
        var label = segments.Length >= 4 && segments[0] == "_matrix" ? segments[1] + "/" + segments[3]
            : segments.Length >= 2 && segments[0] == "_matrix" ? segments[1]
            : "other";
        return label.Length <= 64 ? label : label[..64];
    }

    /// <summary>Splits on commas outside quotes.</summary>
    private static IEnumerable<string> SplitParams(string s)
    {
        var start = 0;
        var quoted = false;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && quoted)
            {
                i++;
            }
            else if (s[i] == '"')
            {
                quoted = !quoted;
            }
            else if (s[i] == ',' && !quoted)
            {
                yield return s[start..i];
                start = i + 1;
            }
        }

        yield return s[start..];
    }
}
