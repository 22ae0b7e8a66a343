using System.Globalization;
using System.Net;
using System.Text;
using Gateway.Policy.Rules;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// The text of an org.matrix.custom.html formatted_body, and the way back: matching runs on the decoded text (tags
/// removed, entities decoded), censoring replaces characters inside text runs only and re-escapes them, so tags,
/// attributes and structure stay exactly as they were and the HTML stays valid.
/// </summary>
public sealed class MatrixHtml
{
    private static readonly HashSet<string> BlockTags = new(StringComparer.OrdinalIgnoreCase)
    {
        "br", "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "td", "th",
        "table", "hr", "mx-reply", "details", "summary",
    };

    private readonly string _html;
    private readonly List<Run> _runs;

    private MatrixHtml(string html, string text, List<Run> runs)
    {
        _html = html;
        Text = text;
        _runs = runs;
    }

    /// <summary>The text a reader sees: what filters match against.</summary>
    public string Text { get; }

    public static MatrixHtml Parse(string html)
    {
        var text = new StringBuilder(html.Length);
        var runs = new List<Run>();
        var i = 0;
        while (i < html.Length)
        {
            if (html[i] == '<')
            {
                var end = TagEnd(html, i);
                if (end < 0)
                {
                    // A lone '<' is text (the spec's sanitiser would escape it); treat the rest as text.
                    AddRun(html, i, html.Length, text, runs);
                    break;
                }

                // Inline tags (b, i, span, a...) don't separate words: "sp<b>a</b>m" is still "spam".
                if (BlockTags.Contains(TagName(html, i, end)) && text.Length > 0 && text[^1] != ' ')
                {
                    text.Append(' ');
                }

                i = end + 1;
                continue;
            }

            var next = html.IndexOf('<', i);
            next = next < 0 ? html.Length : next;
            AddRun(html, i, next, text, runs);
            i = next;
        }

        return new MatrixHtml(html, text.ToString(), runs);
    }

    /// <summary>Rewrites the HTML with the given ranges of <see cref="Text"/> censored ('*' per grapheme).</summary>
    public string Censor(IReadOnlyList<(int Start, int End)> ranges)
    {
        var sb = new StringBuilder(_html.Length);
        var pos = 0;
        foreach (var run in _runs)
        {
            var clipped = new List<(int Start, int End)>();
            foreach (var (s, e) in ranges)
            {
                var cs = Math.Max(s, run.TextStart);
                var ce = Math.Min(e, run.TextStart + run.Decoded.Length);
                if (cs < ce)
                {
                    clipped.Add((cs - run.TextStart, ce - run.TextStart));
                }
            }

            if (clipped.Count == 0)
            {
                continue;
            }

            sb.Append(_html, pos, run.HtmlStart - pos);
            AppendEscaped(sb, PolicySnapshot.CensorText(run.Decoded, clipped));
            pos = run.HtmlEnd;
        }

        sb.Append(_html, pos, _html.Length - pos);
        return sb.ToString();
    }

    /// <summary>Escapes only what HTML text needs (&amp;, &lt;, &gt;, quotes); other characters stay as they are.</summary>
    private static void AppendEscaped(StringBuilder sb, string text)
    {
        foreach (var c in text)
        {
            _ = c switch
            {
                '&' => sb.Append("&amp;"),
                '<' => sb.Append("&lt;"),
                '>' => sb.Append("&gt;"),
                '"' => sb.Append("&quot;"),
                '\'' => sb.Append("&#39;"),
                _ => sb.Append(c),
            };
        }
    }

    private static void AddRun(string html, int start, int end, StringBuilder text, List<Run> runs)
    {
        if (end <= start)
        {
            return;
        }

        var decoded = WebUtility.HtmlDecode(html[start..end]);
        runs.Add(new Run(start, end, text.Length, decoded));
        text.Append(decoded);
    }

    private static int TagEnd(string html, int start)
    {
        char quote = '\0';
        for (var i = start + 1; i < html.Length; i++)
        {
            var c = html[i];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '>')
            {
                return i;
            }
        }

        return -1;
    }

    private static string TagName(string html, int start, int end)
    {
        var i = start + 1;
        if (i < end && html[i] == '/')
        {
            i++;
        }

        var nameStart = i;
        while (i < end && (char.IsAsciiLetterOrDigit(html[i]) || html[i] == '-'))
        {
            i++;
        }

        return html[nameStart..i].ToLower(CultureInfo.InvariantCulture);
    }

    private sealed record Run(int HtmlStart, int HtmlEnd, int TextStart, string Decoded);
}
