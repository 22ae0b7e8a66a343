using System.Globalization;
using Gateway.Policy.Protections;
using Gateway.Policy.Rules;
using Gateway.Protocols;
using Gateway.Protocols.Configuration;

namespace Gateway.Configuration;

/// <summary>Reads [[protections]] and [counters], and the protections modules import from a backend's own files.</summary>
internal static partial class ConfigLoader
{
    private static ProtectionDefinition? ReadProtection(TomlTableReader t)
    {
        var name = t.String("name", required: true) ?? "";
        var kind = t.Enum("kind", ProtectionKind.Flood, ("flood", ProtectionKind.Flood), ("duplicate", ProtectionKind.Duplicate),
            ("mentions", ProtectionKind.Mentions), ("new_sender", ProtectionKind.NewSender), ("link_first", ProtectionKind.LinkFirst),
            ("join_wave", ProtectionKind.JoinWave), ("links", ProtectionKind.Links), ("shouting", ProtectionKind.Shouting),
            ("symbols", ProtectionKind.Symbols));
        if (!t.Has("kind"))
        {
            t.Error("kind", "required: flood, duplicate, mentions, new_sender, link_first, join_wave, links, shouting or symbols");
        }

        var d = new ProtectionDefinition { Name = name, Kind = kind };
        var needsMax = kind is ProtectionKind.Flood or ProtectionKind.Duplicate or ProtectionKind.Mentions or ProtectionKind.LinkFirst
            or ProtectionKind.JoinWave;
        if (needsMax && !t.Has("max"))
        {
            t.Error("max", $"required for kind = \"{KindName(kind)}\"");
        }

        var target = t.Enum("target", "text", ("text", "text"), ("links", "links"));
        var def = d with
        {
            Enabled = t.Bool("enabled", true),
            DryRun = t.Bool("dry_run", false),
            Action = t.Enum("action", ProtectionAction.Drop, ("drop", ProtectionAction.Drop), ("reject", ProtectionAction.Reject),
                ("report-only", ProtectionAction.ReportOnly), ("report_only", ProtectionAction.ReportOnly)),
            Notice = NullIfEmpty(t.String("notice")),
            Report = t.Bool("report", false),
            Scope = t.Enum("scope", FilterScope.Both, ("both", FilterScope.Both), ("public", FilterScope.Public), ("direct", FilterScope.Direct)),
            Rooms = ConfigGlobs.ReadGlobs(t, "rooms"),
            ExcludeRooms = ConfigGlobs.ReadGlobs(t, "exclude_rooms"),
            Protocols = t.StringList("protocols"),
            ExemptModerators = t.Bool("exempt_moderators", true),
            ExemptUsers = ConfigGlobs.ReadGlobs(t, "exempt_users"),
            Max = (int)t.Integer("max", 0, 0, 10_000),
            Window = Duration(t, "window", d.Window),
            PerRoom = t.Bool("per_room", false),
            LinksOnly = target == "links",
            DirectOnly = t.Bool("direct_only", false),
            Age = Duration(t, "age", d.Age),
            NoLinks = t.Bool("no_links", true),
            NoMedia = t.Bool("no_media", true),
            ForNewSenders = t.StringList("for_new_senders"),
            AllowDomains = t.StringList("allow_domains"),
            DenyDomains = t.StringList("deny_domains"),
            Percent = t.Integer("percent", 70, 1, 100),
            MinLength = (int)t.Integer("min_length", 10, 1, 100_000),
            Escalation = Ladder(t),
            EscalationWindow = Duration(t, "escalation_window", d.EscalationWindow),
        };
        if (kind == ProtectionKind.Links && def.AllowDomains.Count == 0 && def.DenyDomains.Count == 0)
        {
            t.Error("deny_domains", "a links protection needs allow_domains or deny_domains");
        }

        foreach (var protocol in def.Protocols)
        {
            if (protocol.Length == 0)
            {
                t.Error("protocols", "empty protocol name");
            }
        }

        t.Finish();
        return def;
    }

    private static string KindName(ProtectionKind kind) => kind switch
    {
        ProtectionKind.NewSender => "new_sender",
        ProtectionKind.LinkFirst => "link_first",
        ProtectionKind.JoinWave => "join_wave",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary><c>["warn", "drop", "block 10m", "block 24h"]</c>: the n-th hit in the escalation window does step n.</summary>
    private static IReadOnlyList<EscalationStep> Ladder(TomlTableReader t)
    {
        var steps = new List<EscalationStep>();
        foreach (var written in t.StringList("escalation"))
        {
            var parts = written.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            EscalationStep? step = parts switch
            {
                ["warn"] => new EscalationStep(EscalationKind.Warn),
                ["drop"] => new EscalationStep(EscalationKind.Drop),
                ["reject"] => new EscalationStep(EscalationKind.Reject),
                ["block", var span] when TryDuration(span, out var duration) && duration > TimeSpan.Zero => new EscalationStep(EscalationKind.Block, duration),
                _ => null,
            };
            if (step is null)
            {
                t.Error("escalation", $"\"{written}\" is not a step; write warn, drop, reject or block <duration> (e.g. \"block 10m\")");
                continue;
            }

            steps.Add(step.Value);
        }

        return steps;
    }

    /// <summary>A duration written <c>"90s"</c>, <c>"10m"</c>, <c>"24h"</c>, <c>"7d"</c> (or an integer of seconds).</summary>
    private static TimeSpan Duration(TomlTableReader t, string key, TimeSpan fallback)
    {
        if (!t.Has(key))
        {
            return fallback;
        }

        if (t.Raw(key) is long seconds)
        {
            if (seconds is > 0 and <= 3650L * 86400)
            {
                return TimeSpan.FromSeconds(seconds);
            }

            t.Error(key, "must be a positive number of seconds, at most ten years");
            return fallback;
        }

        var written = t.String(key) ?? "";
        if (TryDuration(written, out var duration) && duration > TimeSpan.Zero)
        {
            return duration;
        }

        t.Error(key, $"\"{written}\" is not a duration; write e.g. \"30s\", \"10m\", \"24h\" or \"7d\"");
        return fallback;
    }

    private static bool TryDuration(string written, out TimeSpan duration)
    {
        duration = default;
        if (written.Length < 2 || !long.TryParse(written.AsSpan(0, written.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || n > 3650L * 86400)
        {
            return false;
        }

        duration = written[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => TimeSpan.MinValue,
        };
        return duration != TimeSpan.MinValue && duration <= TimeSpan.FromDays(3650);
    }

    /// <summary>Protections each backend's module read from that backend's own files, scoped to that backend.</summary>
    private static void AddBackendProtections(IReadOnlyList<BackendSettings> backends, ProtocolModules modules, List<ProtectionDefinition> protections)
    {
        foreach (var backend in backends)
        {
            if (modules.Find(backend.Protocol) is not { } module)
            {
                continue;
            }

            foreach (var def in module.BackendProtections(backend.Module))
            {
                protections.Add(def with { Name = backend.Name + "/" + def.Name, Backends = new[] { backend.Name } });
            }
        }
    }

    private static CounterSettings ReadCounters(TomlTableReader? t)
    {
        var d = new CounterSettings();
        if (t is null)
        {
            return d;
        }

        var result = new CounterSettings
        {
            MaxKeys = (int)t.Integer("max_keys", d.MaxKeys, 100, 100_000_000),
            MaxSenderBlocks = (int)t.Integer("max_sender_blocks", d.MaxSenderBlocks, 10, 10_000_000),
        };
        t.Finish();
        return result;
    }
}
