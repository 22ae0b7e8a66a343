using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;

namespace Gateway.Protocols.Lemmy;

/// <summary>
/// Federated content on Lemmy's inboxes, read so remote users face the rules local ones do: <c>Create</c> and
/// <c>Update</c> of a <c>Page</c> (a post: <c>name</c>, the markdown <c>source.content</c> or else the HTML
/// <c>content</c> as text, <c>url</c>), a <c>Note</c> (a comment) or a <c>ChatMessage</c> (a private message), also
/// when a community <c>Announce</c>s one inline. The sender is the actor's URL; the room is the local community the
/// activity is addressed to (<c>audience</c>, <c>to</c>, <c>cc</c>, or the community inbox it was posted to).
/// Signed bodies cannot be rewritten: any verdict but forward refuses the activity (a drop answers it as accepted).
/// </summary>
internal sealed class LemmyInbox
{
    private readonly string? _instance;
    private readonly int _maxDepth;

    public LemmyInbox(string? instance, int maxDepth)
    {
        _instance = instance;
        _maxDepth = maxDepth;
    }

    /// <summary>A URL property: a string, or an object with an <c>id</c>.</summary>
    internal static string? IdOf(JsonElement o, string key)
    {
        if (!o.TryGetProperty(key, out var v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String => id.GetString(),
            _ => null,
        };
    }

    public AdapterParse Parse(string path, string? requestHost, ReadOnlySpan<byte> body)
    {
        JsonDocument doc;
        try
        {
            // JsonDocument checks a string's UTF-8 only when it is read (GetString would throw InvalidOperationException
            // later; found by make fuzz, issue 17): refuse such a body here, as Lemmy's serde_json does.
            if (!System.Text.Unicode.Utf8.IsValid(body))
            {
                throw new JsonException("invalid UTF-8");
            }

            doc = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = _maxDepth });
        }
        catch (JsonException)
        {
            return AdapterParse.Failed("invalid_json", "The activity is not valid JSON.", LemmyInboxGate.Error("unknown", "The activity is not valid JSON."));
        }

        using (doc)
        {
            var activity = doc.RootElement;
            if (activity.ValueKind != JsonValueKind.Object)
            {
                return AdapterParse.NoMessages;
            }

            var actor = IdOf(activity, "actor");
            if (Type(activity) == "Announce" && activity.TryGetProperty("object", out var inner) && inner.ValueKind == JsonValueKind.Object)
            {
                activity = inner; // a community relays its members' activities inline
                actor = IdOf(activity, "actor") ?? actor;
            }

            if (Type(activity) is not ("Create" or "Update") || !activity.TryGetProperty("object", out var obj) || obj.ValueKind != JsonValueKind.Object)
            {
                return AdapterParse.NoMessages;
            }

            var kind = Type(obj);
            if (kind is not ("Page" or "Note" or "ChatMessage"))
            {
                return AdapterParse.NoMessages;
            }

            var fields = new List<MessageField>(3);
            if (kind == "Page" && Str(obj, "name") is { Length: > 0 } title)
            {
                fields.Add(new MessageField(FieldKind.Title, title));
            }

            var text = obj.TryGetProperty("source", out var source) && source.ValueKind == JsonValueKind.Object && Str(source, "content") is { } markdown
                ? markdown
                : Str(obj, "content") is { } html ? HtmlText(html) : null;
            if (!string.IsNullOrEmpty(text))
            {
                fields.Add(new MessageField(FieldKind.Body, text));
            }

            if (kind == "Page")
            {
                // Every post carries a link field (empty without a URL), as on the client API.
                fields.Add(new MessageField(FieldKind.Link, PageUrl(obj) ?? string.Empty));
            }

            var host = _instance ?? requestHost;
            var direct = kind == "ChatMessage";
            var message = new ChatMessage
            {
                Protocol = LemmyAdapter.ProtocolName,
                Sender = IdOf(obj, "attributedTo") ?? actor,
                Room = direct ? null : Community(path, host, activity, obj),
                IsDirect = direct,
                Recipient = direct ? LocalName(host, First(obj, "to"), "/u/") : null,
                Fields = fields,
            };
            return new AdapterParse { Messages = new[] { message }, State = InboxState.Instance };
        }
    }

    /// <summary>
    /// Signed: never rewritten. Reject (and censor, should a route let one through) refuses the activity with Lemmy's
    /// error shape; drop answers it as Lemmy answers an accepted activity (200, empty body) and delivers nothing.
    /// </summary>
    public static AdapterOutcome Apply(ReadOnlySpan<Verdict> verdicts)
    {
        foreach (var v in verdicts)
        {
            if (v.Action is VerdictAction.Reject or VerdictAction.Censor)
            {
                return AdapterOutcome.Respond(400, LemmyInboxGate.Error("unknown", v.Notice ?? LemmyAdapter.DefaultRejectMessage));
            }
        }

        foreach (var v in verdicts)
        {
            if (v.Action == VerdictAction.Drop)
            {
                return AdapterOutcome.Respond(200, Array.Empty<byte>(), "text/plain");
            }
        }

        return AdapterOutcome.ForwardUnchanged;
    }

    private static string? Community(string path, string? host, JsonElement activity, JsonElement obj)
    {
        var p = path.TrimEnd('/');
        if (p.StartsWith("/c/", StringComparison.Ordinal) && p.EndsWith("/inbox", StringComparison.Ordinal))
        {
            return p[3..^6];
        }

        foreach (var source in new[] { obj, activity })
        {
            foreach (var key in new[] { "audience", "to", "cc" })
            {
                if (!source.TryGetProperty(key, out var v))
                {
                    continue;
                }

                if (v.ValueKind == JsonValueKind.String && LocalName(host, v.GetString(), "/c/") is { } single)
                {
                    return single;
                }

                if (v.ValueKind == JsonValueKind.Array)
                {
                    foreach (var e in v.EnumerateArray())
                    {
                        if (e.ValueKind == JsonValueKind.String && LocalName(host, e.GetString(), "/c/") is { } name)
                        {
                            return name;
                        }
                    }
                }
            }
        }

        return null;
    }

    /// <summary>The name in <c>https://&lt;host&gt;/c/name</c> (or <c>/u/</c>) when the URL is on this instance.</summary>
    private static string? LocalName(string? host, string? url, string prefix)
    {
        if (host is null || url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri)
            || !string.Equals(uri.Authority, host, StringComparison.OrdinalIgnoreCase) && !string.Equals(uri.Host, host, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var p = uri.AbsolutePath.TrimEnd('/');
        return p.StartsWith(prefix, StringComparison.Ordinal) && p.Length > prefix.Length && p.IndexOf('/', prefix.Length) < 0 ? p[prefix.Length..] : null;
    }

    private static string? First(JsonElement o, string key) =>
        !o.TryGetProperty(key, out var v) ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0 && v[0].ValueKind == JsonValueKind.String ? v[0].GetString() : null;

    private static string? PageUrl(JsonElement page)
    {
        if (page.TryGetProperty("url", out var url))
        {
            return url.ValueKind == JsonValueKind.String ? url.GetString() : url.ValueKind == JsonValueKind.Object ? Str(url, "href") : null;
        }

        // Lemmy 0.19 sends a post's link as a Link attachment.
        if (page.TryGetProperty("attachment", out var attachments) && attachments.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in attachments.EnumerateArray())
            {
                if (a.ValueKind == JsonValueKind.Object && Str(a, "href") is { } href)
                {
                    return href;
                }
            }
        }

        return null;
    }

    private static string? Type(JsonElement o) => Str(o, "type");

    private static string? Str(JsonElement o, string key) =>
        o.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>HTML as the reader sees it: tags dropped (block tags become spaces, inline ones nothing), entities decoded.</summary>
    internal static string HtmlText(string html)
    {
        var sb = new StringBuilder(html.Length);
        var tagStart = -1;
        for (var i = 0; i < html.Length; i++)
        {
            var c = html[i];
            if (c == '<' && tagStart < 0)
            {
                tagStart = i + 1;
            }
            else if (c == '>' && tagStart >= 0)
            {
                var name = html.AsSpan(tagStart, i - tagStart).TrimStart('/');
                var end = name.IndexOfAny(" /\t\n");
                name = end >= 0 ? name[..end] : name;
                if (name is "p" or "br" or "div" or "li" or "ul" or "ol" or "blockquote" or "pre" or "hr" or "tr" or "td"
                    || (name.Length == 2 && name[0] == 'h' && char.IsAsciiDigit(name[1])))
                {
                    sb.Append(' ');
                }

                tagStart = -1;
            }
            else if (tagStart < 0)
            {
                sb.Append(c);
            }
        }

        return WebUtility.HtmlDecode(sb.ToString()).Trim();
    }

    internal sealed class InboxState
    {
        public static readonly InboxState Instance = new();
    }
}
