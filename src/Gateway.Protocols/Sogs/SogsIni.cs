using System.Text.RegularExpressions;

namespace Gateway.Protocols.Sogs;

/// <summary>One room's <c>[room:TOKEN]</c> overrides (null = the <c>[messages]</c> value).</summary>
public sealed record SogsIniRoom(bool? ProfanityFilter, bool? ProfanitySilent, IReadOnlySet<string>? AlphabetFilters);

/// <summary>What the gateway imports from SOGS's <c>sogs.ini</c>, parsed as session-pysogs <c>sogs/config.py</c> does.</summary>
public sealed record SogsIniSettings
{
    public bool ProfanityFilter { get; init; }

    public bool ProfanitySilent { get; init; } = true;

    /// <summary><c>profanity_custom</c>: a word-per-line file (the handbook's <c>profanity-block-list.txt</c>).</summary>
    public string? ProfanityCustom { get; init; }

    /// <summary>The words of <see cref="ProfanityCustom"/>, read at config load.</summary>
    public IReadOnlyList<string> ProfanityWords { get; init; } = Array.Empty<string>();

    public IReadOnlySet<string> AlphabetFilters { get; init; } = new HashSet<string>();

    public bool AlphabetSilent { get; init; } = true;

    public bool FilterMods { get; init; }

    /// <summary><c>[users] require_blind_keys</c>, when the file sets it.</summary>
    public bool? RequireBlindKeys { get; init; }

    public IReadOnlyDictionary<string, SogsIniRoom> Rooms { get; init; } = new Dictionary<string, SogsIniRoom>(StringComparer.Ordinal);

    /// <summary>Sections with auto-replies (<c>[filter:…]</c>): not imported; the reader warns.</summary>
    public bool HasAutoReplies { get; init; }
}

/// <summary>
/// Reads <c>sogs.ini</c> as Python's configparser and session-pysogs' <c>load_config</c> read it: option names are
/// case-insensitive, <c>=</c> or <c>:</c>, <c>#</c>/<c>;</c> comment lines, indented continuation lines; booleans
/// from pysogs' truthy/falsey lists (anything else is an error, as SOGS refuses to start); alphabet lists split on
/// commas and whitespace.
/// </summary>
internal static partial class SogsIni
{
    private static readonly string[] Truthy = ["y", "yes", "Y", "Yes", "true", "True", "on", "On", "1"];
    private static readonly string[] Falsey = ["n", "no", "N", "No", "false", "False", "off", "Off", "0"];

    /// <summary>The parsed settings (without the word file's words) and every problem found, as "line N: …".</summary>
    public static (SogsIniSettings Settings, List<string> Errors, List<string> Warnings) Parse(string text)
    {
        var errors = new List<string>();
        var warnings = new List<string>();
        var sections = Sections(text, errors);
        var s = new SogsIniSettings();
        var rooms = new Dictionary<string, SogsIniRoom>(StringComparer.Ordinal);
        foreach (var (name, options) in sections)
        {
            if (name == "messages")
            {
                foreach (var (key, (value, line)) in options)
                {
                    switch (key)
                    {
                        case "profanity_filter": s = s with { ProfanityFilter = Bool(value, line, name, key, errors) ?? s.ProfanityFilter }; break;
                        case "profanity_silent": s = s with { ProfanitySilent = Bool(value, line, name, key, errors) ?? s.ProfanitySilent }; break;
                        case "profanity_custom": s = s with { ProfanityCustom = value.Length == 0 ? null : value }; break;
                        case "alphabet_filters": s = s with { AlphabetFilters = SetOf(value) }; break;
                        case "alphabet_silent": s = s with { AlphabetSilent = Bool(value, line, name, key, errors) ?? s.AlphabetSilent }; break;
                        case "filter_mods": s = s with { FilterMods = Bool(value, line, name, key, errors) ?? s.FilterMods }; break;
                        default: break; // other [messages] options (history_prune_threshold, …) are SOGS's business
                    }
                }
            }
            else if (name == "users")
            {
                if (options.TryGetValue("require_blind_keys", out var v))
                {
                    s = s with { RequireBlindKeys = Bool(v.Value, v.Line, name, "require_blind_keys", errors) };
                }
            }
            else if (name.Length > 5 && name.StartsWith("room:", StringComparison.Ordinal))
            {
                var token = name[5..];
                rooms.TryGetValue(token, out var room);
                room ??= new SogsIniRoom(null, null, null);
                foreach (var (key, (value, line)) in options)
                {
                    room = key switch
                    {
                        "profanity_filter" => room with { ProfanityFilter = Bool(value, line, name, key, errors) },
                        "profanity_silent" => room with { ProfanitySilent = Bool(value, line, name, key, errors) },
                        "alphabet_filters" => room with { AlphabetFilters = SetOf(value) },
                        _ => Unknown(room, line, name, key, warnings),
                    };
                }

                rooms[token] = room;
            }
            else if (name.StartsWith("filter:", StringComparison.Ordinal))
            {
                if (name.Split(':').Length != 3)
                {
                    errors.Add($"[{name}]: expected [filter:TYPE:ROOM]");
                }

                s = s with { HasAutoReplies = true };
            }
        }

        return (s with { Rooms = rooms }, errors, warnings);
    }

    /// <summary>Characters of each <c>alphabet_filters</c> language, exactly session-pysogs' patterns (<c>sogs/model/room.py</c>).</summary>
    public static string? AlphabetPattern(string language) => language switch
    {
        "persian" => "[\u0621-\u0628\u062a-\u063a\u0641-\u0642\u0644-\u0648\u064e-\u0651\u0655\u067e\u0686\u0698\u06a9\u06af\u06be\u06cc]",
        "arabic" => "[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefe]",
        "cyrillic" => "[\u0400-\u04ff]",
        _ => null,
    };

    /// <summary>The words of a <c>profanity_custom</c> file: one per line, blank lines skipped (better_profanity's reader).</summary>
    public static IReadOnlyList<string> Words(string text)
    {
        var words = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var w = raw.Trim();
            if (w.Length > 0)
            {
                words.Add(w);
            }
        }

        return words;
    }

    private static SogsIniRoom Unknown(SogsIniRoom room, int line, string section, string key, List<string> warnings)
    {
        warnings.Add($"line {line}: [{section}] {key} is not a room setting SOGS reads; ignored");
        return room;
    }

    private static bool? Bool(string value, int line, string section, string key, List<string> errors)
    {
        if (Array.IndexOf(Truthy, value) >= 0)
        {
            return true;
        }

        if (Array.IndexOf(Falsey, value) >= 0)
        {
            return false;
        }

        errors.Add($"line {line}: Invalid value [{section}].{key}={value}");
        return null;
    }

    private static HashSet<string> SetOf(string value) =>
        new(SetSplit().Split(value).Where(x => x.Length > 0), StringComparer.Ordinal);

    private static Dictionary<string, Dictionary<string, (string Value, int Line)>> Sections(string text, List<string> errors)
    {
        var sections = new Dictionary<string, Dictionary<string, (string Value, int Line)>>(StringComparer.Ordinal);
        Dictionary<string, (string Value, int Line)>? current = null;
        string? lastKey = null;
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] is '#' or ';')
            {
                continue;
            }

            if (char.IsWhiteSpace(line[0]) && current is not null && lastKey is not null)
            {
                var (v, at) = current[lastKey];
                current[lastKey] = (v + "\n" + trimmed, at);
                continue;
            }

            if (trimmed[0] == '[' && trimmed.EndsWith(']'))
            {
                var name = trimmed[1..^1];
                if (!sections.TryGetValue(name, out current))
                {
                    current = new Dictionary<string, (string, int)>(StringComparer.Ordinal);
                    sections[name] = current;
                }

                lastKey = null;
                continue;
            }

            var sep = trimmed.IndexOfAny(['=', ':']);
            if (current is null || sep <= 0)
            {
                errors.Add($"line {i + 1}: not a section header or an option");
                continue;
            }

            lastKey = trimmed[..sep].Trim().ToLowerInvariant();
            current[lastKey] = (trimmed[(sep + 1)..].Trim(), i + 1);
        }

        return sections;
    }

    [GeneratedRegex("[,\\s]+")]
    private static partial Regex SetSplit();
}
