using Gateway.Policy.Protections;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace Gateway.Protocols.BareRtc;

/// <summary>
/// BareRTC's <c>[[MessageFilters]]</c> (pkg/config/message_filters.go upstream), read as upstream writes them, from
/// gateway.toml or from BareRTC's own settings.toml. Keys: <c>Enabled</c>, <c>PublicChannels</c>,
/// <c>PrivateChannels</c>, <c>KeywordPhrases</c> (RE2, translated by <see cref="Re2Translator"/> or refused),
/// <c>CensorMessage</c>, <c>ForwardMessage</c>, <c>ReportMessage</c>, <c>ChatServerResponse</c>; plus the gateway's
/// own <c>Normalize</c> (default true: match through the normaliser, case-insensitively; false: the raw text, with
/// RE2's case-sensitivity, exactly as upstream). Upstream ignores unknown keys; so does this reader.
/// </summary>
internal static class BareRtcMessageFilters
{
    public const string Table = "MessageFilters";

    /// <summary>Reads each table of the array; errors and warnings go to each table's context.</summary>
    public static List<FilterDefinition> Read(IReadOnlyList<TomlTableReader> tables, int maxRegexLength)
    {
        var result = new List<FilterDefinition>(tables.Count);
        for (var i = 0; i < tables.Count; i++)
        {
            result.Add(ReadOne(tables[i], i, maxRegexLength));
        }

        return result;
    }

    private static FilterDefinition ReadOne(TomlTableReader t, int index, int maxRegexLength)
    {
        var name = $"{Table}[{index}]";
        var enabled = t.Bool("Enabled", false);
        var isPublic = t.Bool("PublicChannels", false);
        var isPrivate = t.Bool("PrivateChannels", false);
        var normalize = t.Bool("Normalize", true);
        var phrases = t.StringList("KeywordPhrases");
        var regexes = new List<string>(phrases.Count);
        for (var i = 0; i < phrases.Count; i++)
        {
            var at = $"{t.KeyPath("KeywordPhrases")}[{i}]";
            var translated = Re2Translator.Translate(phrases[i], out var error, out var warning);
            if (translated is null)
            {
                t.Context.Error(t.At("KeywordPhrases"), at, $"filter {name}: {error}");
                continue;
            }

            if (warning is not null)
            {
                var pos = t.At("KeywordPhrases");
                t.Context.Warnings.Add(new ConfigError(t.Context.File, pos.Line, pos.Column, at, $"filter {name}: {warning}"));
            }

            if (!RegexRules.TryCompile(translated, !normalize, maxRegexLength, out _, out var compileError))
            {
                t.Context.Error(t.At("KeywordPhrases"), at, $"filter {name}: KeywordPhrase /{phrases[i]}/ (as .NET: /{translated}/): {compileError}");
                continue;
            }

            regexes.Add(translated);
        }

        var censor = t.Bool("CensorMessage", false);
        var forward = t.Bool("ForwardMessage", false);
        var report = t.Bool("ReportMessage", false);
        var response = t.String("ChatServerResponse");
        if (!isPublic && !isPrivate)
        {
            // Upstream never reads these flags; the gateway enforces them, so a filter with neither applies nowhere.
            enabled = false;
        }

        return new FilterDefinition
        {
            Name = name,
            Enabled = enabled && regexes.Count > 0,
            Action = !forward ? FilterAction.Drop : censor ? FilterAction.Censor : FilterAction.Forward,
            Notice = string.IsNullOrEmpty(response) ? null : response,
            Report = report,
            Regexes = regexes,
            Scope = isPublic && isPrivate ? FilterScope.Both : isPublic ? FilterScope.Public : FilterScope.Direct,
            Normalize = normalize,
            CaseSensitive = !normalize,
        };
    }

    /// <summary>
    /// The <c>[[MessageFilters]]</c> of BareRTC's settings.toml (read through <see cref="ModuleConfigContext.Files"/>,
    /// so it is watched); every other table of that file is ignored. Errors name the settings file and its lines.
    /// </summary>
    public static List<FilterDefinition> ReadSettingsFile(ModuleConfigContext context, TomlTableReader owner, string key, string path) =>
        ReadSettings(context, owner, key, path).Filters;

    /// <summary>
    /// BareRTC's settings.toml: its <c>[[MessageFilters]]</c> as filters and its <c>[DMLinkSpamProtection]</c> as a
    /// protection (the same link pasted into more than MaxThreads DM threads within TimeLimit seconds: the first time
    /// refused with upstream's kick warning, the next time the sender is blocked for BanHours).
    /// </summary>
    public static (List<FilterDefinition> Filters, List<ProtectionDefinition> Protections) ReadSettings(ModuleConfigContext context,
        TomlTableReader owner, string key, string path)
    {
        var text = context.Files.ReadText(owner, key, path, "BareRTC settings file");
        if (text is null)
        {
            return (new List<FilterDefinition>(), new List<ProtectionDefinition>());
        }

        var fileName = Path.GetFileName(path);
        var metadata = new TomlMetadataStore();
        TomlTable root;
        try
        {
            root = TomlSerializer.Deserialize<TomlTable>(text, new TomlSerializerOptions { MetadataStore = metadata, SourceName = fileName }) ?? new TomlTable();
        }
        catch (TomlException ex)
        {
            owner.Error(key, $"BareRTC settings file \"{path}\" is not valid TOML: {ex.Message}");
            return (new List<FilterDefinition>(), new List<ProtectionDefinition>());
        }

        foreach (var (line, _, name, message) in TomlArrays.Reopened(text, fileName))
        {
            owner.Error(key, $"BareRTC settings file \"{path}\" line {line}: {message}");
            return (new List<FilterDefinition>(), new List<ProtectionDefinition>());
        }

        var ctx = new TomlReadContext(fileName, metadata);
        var reader = new TomlTableReader(root, "", ctx, (1, 1));
        var filters = Read(reader.TableArray(Table), context.Limits.MaxRegexLength);
        var protections = new List<ProtectionDefinition>();
        if (reader.Table("DMLinkSpamProtection") is { } spam && DmLinkSpam(spam) is { } guard)
        {
            protections.Add(guard);
        }

        foreach (var e in ctx.Errors)
        {
            owner.Context.Errors.Add(e);
        }

        foreach (var w in ctx.Warnings)
        {
            owner.Context.Warnings.Add(w);
        }

        return (filters, protections);
    }

    /// <summary>Upstream's kick text (pkg/spam/dmlinks.go), shown when the gateway refuses the message instead.</summary>
    internal const string LinkSpamNotice = "Spam Detected: You have pasted the same URL link to too many different people in a row, and this has "
        + "been flagged as spam. If you continue to spam this link one more time, you will be temporarily banned from the chat room.";

    private static ProtectionDefinition? DmLinkSpam(TomlTableReader t)
    {
        // Upstream's table, read as it is: other keys are BareRTC's business, not errors.
        if (!t.Bool("Enabled", false))
        {
            return null;
        }

        var maxThreads = (int)t.Integer("MaxThreads", 5, 1, 10_000);
        var seconds = t.Integer("TimeLimit", 3600, 1, 3650L * 86400);
        var banHours = t.Integer("BanHours", 24, 1, 3650L * 24);
        return new ProtectionDefinition
        {
            Name = "DMLinkSpamProtection",
            Kind = ProtectionKind.Duplicate,
            LinksOnly = true,
            DirectOnly = true,
            Max = maxThreads,
            Window = TimeSpan.FromSeconds(seconds),
            Action = ProtectionAction.Reject,
            Notice = LinkSpamNotice,
            Report = true,
            Escalation = [new EscalationStep(EscalationKind.Reject), new EscalationStep(EscalationKind.Block, TimeSpan.FromHours(banHours))],
            EscalationWindow = TimeSpan.FromSeconds(seconds),
        };
    }
}
