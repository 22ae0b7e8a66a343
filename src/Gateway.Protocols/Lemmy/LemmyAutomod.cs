using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Lemmy;

/// <summary>
/// lemmy-automoderator rule files (basedcount/lemmy-automoderator: the JSON a moderator sends the bot by private
/// message, one rule or an array, as its schemas in <c>src/schemas/*.json</c> define them) read as they are and
/// turned into filters: the bot removes an item after it is posted; the gateway refuses it before.
/// <list type="bullet">
/// <item><c>comment</c> and <c>post</c> rules: <c>community</c>, <c>match</c>, <c>type</c>, <c>field</c> (posts),
/// <c>whitelist_exempt</c>, <c>mod_exempt</c>, <c>message</c>, <c>removal_reason</c> — every key the schema requires
/// is required here too; other keys (<c>$schema</c>) are ignored, as ajv ignores them.</item>
/// <item><c>type = "exact"</c>: the bot's <c>text.includes(match)</c>, a case-sensitive substring of the raw text.</item>
/// <item><c>type = "regex"</c>: the bot runs <c>new RegExp(match)</c>, which takes the wiki's own <c>/stink|fudge/</c>
/// examples literally (slashes included) so they never match; here both the bare form and <c>/pattern/flags</c>
/// (<c>i m s u</c>, and <c>g</c>, which changes nothing for a test) work, through the linear-time engine. A pattern
/// it cannot take is a config error naming the file, the rule and the pattern.</item>
/// <item><c>field = "title+body"</c> and the other combinations: the bot accepts them and never matches them (its
/// field switch knows only single fields); here they match any of the named fields.</item>
/// <item><c>exception</c> rules whitelist a user (<c>user_actor_id</c>) in a community: rules of that community with
/// <c>whitelist_exempt = true</c> skip them. A local user is named by actor id on the site's own host.</item>
/// <item><c>mention</c> rules are bot commands (pin/lock on a mention), not filters: refused with a clear error.</item>
/// </list>
/// <c>removal_reason</c> goes into the filter's name, so reports and the audit trail carry it.
/// </summary>
internal static class LemmyAutomod
{
    private const string Key = "automod_rules";

    private static readonly string[] RequiredRuleKeys = { "community", "match", "type", "whitelist_exempt", "mod_exempt", "message", "removal_reason" };

    /// <summary>Reads every file; errors go to <paramref name="table"/>'s <c>automod_rules</c> key.</summary>
    public static IReadOnlyList<FilterDefinition> Read(ModuleConfigContext context, TomlTableReader table, IReadOnlyList<string> files,
        FilterAction action, string? instanceHost)
    {
        var rules = new List<(string File, int Number, JsonElement Rule)>();
        var documents = new List<JsonDocument>();
        try
        {
            foreach (var file in files)
            {
                var text = context.Files.ReadText(table, Key, file, "lemmy-automoderator rule file");
                if (text is null)
                {
                    continue;
                }

                JsonDocument doc;
                try
                {
                    doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 16 });
                }
                catch (JsonException ex)
                {
                    table.Error(Key, $"{file}: not valid JSON ({ex.Message})");
                    continue;
                }

                documents.Add(doc);
                var root = doc.RootElement;
                if (root.ValueKind == JsonValueKind.Array)
                {
                    var n = 0;
                    foreach (var r in root.EnumerateArray())
                    {
                        rules.Add((file, ++n, r));
                    }
                }
                else
                {
                    rules.Add((file, 1, root));
                }
            }

            var whitelist = Exceptions(table, rules, instanceHost);
            var filters = new List<FilterDefinition>();
            foreach (var (file, number, rule) in rules)
            {
                if (Filter(table, file, number, rule, action, whitelist) is { } f)
                {
                    filters.Add(f);
                }
            }

            return filters;
        }
        finally
        {
            foreach (var d in documents)
            {
                d.Dispose();
            }
        }
    }

    /// <summary>A comment: public, nothing but a body (posts always carry a link field, communities a title).</summary>
    internal static bool IsComment(ChatMessage m) => !m.IsDirect && !Has(m, FieldKind.Title) && !Has(m, FieldKind.Link) && !Has(m, FieldKind.DisplayName);

    /// <summary>A post: the adapter gives every post a link field (empty when it has no URL).</summary>
    internal static bool IsPost(ChatMessage m) => !m.IsDirect && Has(m, FieldKind.Link);

    private static bool Has(ChatMessage m, FieldKind kind)
    {
        foreach (var f in m.Fields)
        {
            if (f.Kind == kind)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Community → senders whitelisted there (actor ids, and the bare name of users on the site's own host).</summary>
    private static Dictionary<string, List<string>> Exceptions(TomlTableReader table, List<(string File, int Number, JsonElement Rule)> rules, string? instanceHost)
    {
        var map = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (file, number, rule) in rules)
        {
            if (rule.ValueKind != JsonValueKind.Object || Str(rule, "rule") != "exception")
            {
                continue;
            }

            var where = $"{file}: rule {number} (exception)";
            var community = Str(rule, "community");
            var actor = Str(rule, "user_actor_id");
            if (community is null || actor is null)
            {
                table.Error(Key, $"{where}: needs \"community\" and \"user_actor_id\" strings");
                continue;
            }

            if (!Uri.TryCreate(actor, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                table.Error(Key, $"{where}: user_actor_id \"{actor}\" is not an actor URL (https://instance/u/name)");
                continue;
            }

            if (!map.TryGetValue(community, out var users))
            {
                map[community] = users = new List<string>();
            }

            users.Add(actor.TrimEnd('/'));
            var segments = uri.AbsolutePath.Trim('/').Split('/');
            if (instanceHost is not null && string.Equals(uri.Host, instanceHost, StringComparison.OrdinalIgnoreCase)
                && segments is ["u", { Length: > 0 } name])
            {
                users.Add(name); // the client API names local senders by their user name
            }
        }

        return map;
    }

    private static FilterDefinition? Filter(TomlTableReader table, string file, int number, JsonElement rule, FilterAction action,
        Dictionary<string, List<string>> whitelist)
    {
        if (rule.ValueKind != JsonValueKind.Object)
        {
            table.Error(Key, $"{file}: rule {number}: expected a JSON object, found {rule.ValueKind}");
            return null;
        }

        var kind = Str(rule, "rule");
        var where = $"{file}: rule {number} ({kind ?? "no \"rule\"})"})";
        switch (kind)
        {
            case "exception":
                return null;
            case "mention":
                table.Error(Key, $"{where}: mention rules are bot commands (pin or lock a post when a moderator mentions the bot), not filters; the gateway cannot run them: remove it from the file");
                return null;
            case "comment" or "post":
                break;
            default:
                table.Error(Key, $"{where}: \"rule\" must be \"comment\", \"post\", \"exception\" or \"mention\"");
                return null;
        }

        var missing = new List<string>();
        foreach (var k in RequiredRuleKeys)
        {
            if (!rule.TryGetProperty(k, out _))
            {
                missing.Add(k);
            }
        }

        if (kind == "post" && !rule.TryGetProperty("field", out _))
        {
            missing.Add("field");
        }

        if (missing.Count > 0)
        {
            table.Error(Key, $"{where}: missing {string.Join(", ", missing)} (the bot's schema requires them)");
            return null;
        }

        var community = Str(rule, "community");
        var match = Str(rule, "match");
        var type = Str(rule, "type");
        var whitelistExempt = Bool(rule, "whitelist_exempt");
        var modExempt = Bool(rule, "mod_exempt");
        if (community is not { Length: > 0 } || match is null || whitelistExempt is null || modExempt is null
            || !NullableStr(rule, "message", out var message) || !NullableStr(rule, "removal_reason", out var reason))
        {
            table.Error(Key, $"{where}: community and match are strings, whitelist_exempt and mod_exempt true or false, message and removal_reason a string or null");
            return null;
        }

        if (match.Length == 0)
        {
            table.Error(Key, $"{where}: match is empty, so it would remove every {kind}");
            return null;
        }

        var fields = FieldSet.Body;
        if (kind == "post" && !TryFields(Str(rule, "field"), out fields))
        {
            table.Error(Key, $"{where}: field must be title, body or link, or several joined by '+' (\"title+body\")");
            return null;
        }

        string pattern;
        bool caseSensitive;
        switch (type)
        {
            case "exact":
                pattern = Regex.Escape(match);
                caseSensitive = true;
                break;
            case "regex":
                if (!TryJsRegex(match, out pattern, out caseSensitive, out var flagError))
                {
                    table.Error(Key, $"{where}: regex {match}: {flagError}");
                    return null;
                }

                break;
            default:
                table.Error(Key, $"{where}: type must be \"exact\" or \"regex\"");
                return null;
        }

        if (!RegexRules.TryCompile(pattern, caseSensitive, 1024, out _, out var error))
        {
            table.Error(Key, $"{where}: match {match}: {error}");
            return null;
        }

        return new FilterDefinition
        {
            // The name is what reports and the audit trail show: the removal reason travels in it.
            Name = $"automod:{file}#{number}" + (string.IsNullOrEmpty(reason) ? "" : $" ({reason})"),
            Action = action,
            Notice = message,
            Regexes = new[] { pattern },
            CaseSensitive = caseSensitive,
            Normalize = false, // the bot matches the text as posted
            Fields = fields,
            Scope = FilterScope.Public,
            Rooms = new[] { community },
            ExemptModerators = modExempt.Value,
            ExemptUsers = whitelistExempt.Value && whitelist.TryGetValue(community, out var users) ? users : Array.Empty<string>(),
            AppliesTo = kind == "comment" ? IsComment : IsPost,
        };
    }

    /// <summary><c>title</c>, <c>body</c>, <c>link</c>, or several joined by '+' in any order.</summary>
    internal static bool TryFields(string? field, out FieldSet fields)
    {
        fields = FieldSet.None;
        if (string.IsNullOrEmpty(field))
        {
            return false;
        }

        foreach (var part in field.Split('+'))
        {
            var bit = part switch
            {
                "title" => FieldSet.Title,
                "body" => FieldSet.Body,
                "link" => FieldSet.Link,
                _ => FieldSet.None,
            };
            if (bit == FieldSet.None || (fields & bit) != 0)
            {
                return false;
            }

            fields |= bit;
        }

        return true;
    }

    /// <summary>
    /// A JavaScript regex as the wiki writes it: <c>/pattern/flags</c> or a bare pattern. JS regexes are
    /// case-sensitive unless <c>i</c>; <c>m</c> and <c>s</c> become inline options; <c>u</c> (Unicode mode: .NET
    /// matches UTF-16 text and classes Unicode-aware already) and <c>g</c> change nothing for a test.
    /// </summary>
    internal static bool TryJsRegex(string match, out string pattern, out bool caseSensitive, out string? error)
    {
        pattern = match;
        caseSensitive = true;
        error = null;
        var last = match.LastIndexOf('/');
        if (match.Length < 2 || match[0] != '/' || last <= 0)
        {
            return true; // bare
        }

        var flags = match.AsSpan(last + 1);
        var inline = "";
        foreach (var f in flags)
        {
            switch (f)
            {
                case 'i':
                    caseSensitive = false;
                    break;
                case 'm':
                    inline += "m";
                    break;
                case 's':
                    inline += "s";
                    break;
                case 'u' or 'g':
                    break;
                default:
                    error = $"flag '{f}' is not supported (i, m, s, u, g)";
                    return false;
            }
        }

        var body = match[1..last];
        pattern = inline.Length > 0 ? $"(?{inline}){body}" : body;
        return true;
    }

    private static string? Str(JsonElement o, string key) =>
        o.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool? Bool(JsonElement o, string key) =>
        o.TryGetProperty(key, out var v) ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => null } : null;

    private static bool NullableStr(JsonElement o, string key, out string? value)
    {
        value = null;
        if (!o.TryGetProperty(key, out var v))
        {
            return false;
        }

        if (v.ValueKind == JsonValueKind.String)
        {
            value = v.GetString();
            return true;
        }

        return v.ValueKind == JsonValueKind.Null;
    }
}
