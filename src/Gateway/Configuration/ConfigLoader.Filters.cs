using Gateway.Policy.Acl;
using Gateway.Policy.Rules;
using Gateway.Protocols;
using Gateway.Protocols.Configuration;

namespace Gateway.Configuration;

/// <summary>Reads [[filters]] and the filters modules contribute (their own top-level tables, their backends' files).</summary>
internal static partial class ConfigLoader
{
    private static FilterDefinition? ReadFilter(TomlTableReader t, string baseDir, List<string> included, LimitSettings limits)
    {
        var name = t.String("name", required: true) ?? "";
        var caseSensitive = t.Bool("case_sensitive", false);
        var keywords = new List<string>(t.StringList("keywords"));
        ValidateKeywords(t, "keywords", keywords);
        foreach (var file in t.StringList("keyword_files"))
        {
            var terms = ReadWordList(t, "keyword_files", file, baseDir, included, limits);
            ValidateKeywords(t, "keyword_files", terms);
            keywords.AddRange(terms);
        }

        var allow = new List<string>(t.StringList("allow"));
        ValidateKeywords(t, "allow", allow);
        foreach (var file in t.StringList("allow_files"))
        {
            var terms = ReadWordList(t, "allow_files", file, baseDir, included, limits);
            ValidateKeywords(t, "allow_files", terms);
            allow.AddRange(terms);
        }

        var regexes = t.StringList("regex");
        for (var i = 0; i < regexes.Count; i++)
        {
            if (!RegexRules.TryCompile(regexes[i], caseSensitive, limits.Policy.MaxRegexLength, out _, out var error))
            {
                t.Context.Error(t.At("regex"), $"{t.KeyPath("regex")}[{i}]", error!);
            }
        }

        var fields = FieldSet.None;
        var fieldNames = t.Has("fields") ? t.StringList("fields") : new[] { "body" };
        foreach (var f in fieldNames)
        {
            fields |= f switch
            {
                "body" => FieldSet.Body,
                "title" => FieldSet.Title,
                "link" => FieldSet.Link,
                "display_name" => FieldSet.DisplayName,
                _ => Invalid(t, "fields", $"unknown field \"{f}\"; known: body, title, link, display_name"),
            };
        }

        var rooms = ConfigGlobs.ReadGlobs(t, "rooms");
        var excludeRooms = ConfigGlobs.ReadGlobs(t, "exclude_rooms");
        var exemptUsers = ConfigGlobs.ReadGlobs(t, "exempt_users");
        var def = new FilterDefinition
        {
            Name = name,
            Enabled = t.Bool("enabled", true),
            Priority = (int)t.Integer("priority", 0, -1_000_000, 1_000_000),
            Action = t.Enum("action", FilterAction.Censor, ("censor", FilterAction.Censor), ("drop", FilterAction.Drop),
                ("reject", FilterAction.Reject), ("forward", FilterAction.Forward)),
            Notice = NullIfEmpty(t.String("notice")),
            Report = t.Bool("report", false),
            DryRun = t.Bool("dry_run", false),
            Keywords = keywords,
            Regexes = regexes,
            Allow = allow,
            Fields = fields,
            Scope = t.Enum("scope", FilterScope.Both, ("both", FilterScope.Both), ("public", FilterScope.Public), ("direct", FilterScope.Direct)),
            Rooms = rooms,
            ExcludeRooms = excludeRooms,
            ExemptModerators = t.Bool("exempt_moderators", true),
            ExemptUsers = exemptUsers,
            Normalize = t.Bool("normalize", true),
            CaseSensitive = caseSensitive,
            Forms = t.Enum("forms", WordForms.None, ("none", WordForms.None), ("english", WordForms.English)),
        };
        if (keywords.Count == 0 && regexes.Count == 0 && !t.Has("keyword_files"))
        {
            t.Context.Error(t.Position, t.Path, $"filter \"{name}\" has no keywords, keyword_files or regex: it can never match");
        }

        t.Finish();
        return def;
    }

    private static IReadOnlyList<string> ReadWordList(TomlTableReader t, string key, string file, string baseDir, List<string> included, LimitSettings limits)
    {
        var text = ReadListedFile(t, key, "word list", file, baseDir, included, limits.MaxListFileBytes);
        return text is null ? Array.Empty<string>() : WordListFile.Parse(text);
    }

    private static void ValidateKeywords(TomlTableReader t, string key, IReadOnlyList<string> terms)
    {
        foreach (var term in terms)
        {
            if (!KeywordTerm.TryParse(term, out _, out var error))
            {
                t.Error(key, error!);
            }
        }
    }

    /// <summary>Filters each backend's module read from that backend's own files, scoped to that backend.</summary>
    private static void AddBackendFilters(IReadOnlyList<BackendSettings> backends, ProtocolModules modules, List<FilterDefinition> filters)
    {
        foreach (var backend in backends)
        {
            if (modules.Find(backend.Protocol) is not { } module)
            {
                continue;
            }

            foreach (var def in module.BackendFilters(backend.Module))
            {
                filters.Add(def with { Name = backend.Name + "/" + def.Name, Backends = new[] { backend.Name } });
            }
        }
    }

    private static void CheckUniqueFilterNames(TomlTableReader root, List<FilterDefinition> filters)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in filters)
        {
            if (f.Name.Length > 0 && !seen.Add(f.Name))
            {
                root.Error("filters", $"filter name \"{f.Name}\" is used twice; names identify filters in reports and metrics");
            }
        }
    }

    private static FieldSet Invalid(TomlTableReader t, string key, string message)
    {
        t.Error(key, message);
        return FieldSet.None;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
