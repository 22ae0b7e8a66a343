using Gateway.Protocols;
using Gateway.Protocols.Configuration;
using System.Globalization;
using Gateway.Policy.Acl;
using Gateway.Policy.Net;
using Gateway.Policy.Protections;
using Gateway.Policy.Rules;
using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace Gateway.Configuration;

/// <summary>The outcome of reading gateway.toml: a config, or every problem found (never just the first).</summary>
internal sealed record ConfigLoadResult(GatewayConfig? Config, IReadOnlyList<ConfigError> Errors)
{
    public bool Ok => Config is not null && Errors.Count == 0;

    /// <summary>A reload whose loading did not finish in time and was given up.</summary>
    public bool Abandoned { get; init; }

    /// <summary>The config file itself could not be read (missing, not a regular file, too large, an I/O error).</summary>
    public bool Unreadable { get; init; }
}

/// <summary>
/// Reads and validates gateway.toml. Validation is complete: unknown keys, wrong types, bad regexes, CIDRs, globs,
/// JSON pointers and missing list files are all reported with the key path and line:column, and the policy is
/// compiled once to prove it compiles.
/// </summary>
internal static partial class ConfigLoader
{
    /// <summary>The protocol of a backend no module inspects: bytes pass untouched.</summary>
    public const string NoProtocol = "none";

    public static ConfigLoadResult LoadFile(string path, ProtocolModules? modules = null)
    {
        if (!ConfigFile.TryReadText(Path.GetFullPath(path), ConfigFile.DefaultMaxBytes, out var text, out var error))
        {
            return new ConfigLoadResult(null, new[] { new ConfigError(path, 0, 0, "", $"cannot read the config file: it {error}") })
            {
                Unreadable = true,
            };
        }

        return Load(text, path, modules);
    }

    public static ConfigLoadResult Load(string text, string path, ProtocolModules? modules = null)
    {
        modules ??= ProtocolModules.BuiltIn;
        var fileName = Path.GetFileName(path);
        var metadata = new TomlMetadataStore();
        TomlTable root;
        try
        {
            root = TomlSerializer.Deserialize<TomlTable>(text, new TomlSerializerOptions { MetadataStore = metadata, SourceName = fileName })
                ?? new TomlTable();
        }
        catch (TomlException ex)
        {
            var errors = new List<ConfigError>();
            foreach (var d in ex.Diagnostics)
            {
                errors.Add(new ConfigError(fileName, d.Span.Start.Line + 1, d.Span.Start.Column + 1, "", $"TOML syntax: {d.Message}"));
            }

            if (errors.Count == 0)
            {
                errors.Add(new ConfigError(fileName, ex.Line ?? 0, ex.Column ?? 0, "", $"TOML syntax: {ex.Message}"));
            }

            return new ConfigLoadResult(null, errors);
        }
        catch (ArgumentException ex)
        {
            // Tomlyn 2.10 throws ArgumentOutOfRangeException (Char.ConvertFromUtf32) on some malformed input instead of
            // a TomlException (found by make fuzz, issue 17): still a syntax error in the operator's file, not a crash.
            return new ConfigLoadResult(null, new[] { new ConfigError(fileName, 0, 0, "", $"TOML syntax: the file is not valid TOML ({ex.GetType().Name})") });
        }

        // Tomlyn's model reader keeps the last of two [limits] tables or two equal keys without a word; its syntax
        // validator knows better (TOML 1.0: a table or key is defined once).
        if (Redefinitions(text, fileName) is { Count: > 0 } redefined)
        {
            return new ConfigLoadResult(null, redefined);
        }

        var ctx = new TomlReadContext(fileName, metadata);
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        var included = new List<string>();
        var reader = new TomlTableReader(root, "", ctx, (1, 1));

        var limits = ReadLimits(reader.Table("limits"));
        var session = new ConfigSession(ctx, baseDir, included, limits, modules);
        var server = ReadServer(reader.Table("server"), baseDir, included, limits);
        var backends = ReadBackends(reader.TableArray("backends"), session);
        WarnMethodFallThrough(ctx, backends);
        var filters = new List<FilterDefinition>();
        foreach (var f in reader.TableArray("filters"))
        {
            var def = ReadFilter(f, baseDir, included, limits);
            if (def is not null)
            {
                filters.Add(def);
            }
        }

        foreach (var module in modules.All)
        {
            foreach (var table in module.GlobalFilterTables)
            {
                filters.AddRange(module.ReadGlobalFilters(session.ModuleContext, table, reader.TableArray(table)));
            }
        }

        AddBackendFilters(backends, modules, filters);
        CheckUniqueFilterNames(reader, filters);
        var protections = new List<ProtectionDefinition>();
        foreach (var p in reader.TableArray("protections"))
        {
            if (ReadProtection(p) is { } def)
            {
                protections.Add(def);
            }
        }

        AddBackendProtections(backends, modules, protections);
        foreach (var p in protections)
        {
            if (filters.Any(f => f.Name == p.Name))
            {
                reader.Error("protections", $"\"{p.Name}\" names both a filter and a protection; names identify rules in reports and metrics");
            }
        }

        var counters = ReadCounters(reader.Table("counters"));
        var acl = ReadServerAcl(reader.Table("server_acl"));
        var ipBlocks = ReadIpBlocks(reader.Table("ip_blocks"), baseDir, included, limits);
        var context = ReadContext(reader.Table("context"));
        var reports = ReadReports(reader.Table("reports"), baseDir, limits, modules);
        var audit = ReadAudit(reader.Table("audit"), baseDir);
        var moduleSettings = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var module in modules.All)
        {
            var tables = new Dictionary<string, TomlTableReader?>(StringComparer.Ordinal);
            foreach (var name in module.GlobalTables)
            {
                tables[name] = reader.Table(name);
            }

            moduleSettings[module.Name] = module.ReadGlobal(session.ModuleContext, tables);
            foreach (var table in tables.Values)
            {
                table?.Finish();
            }
        }

        var telemetry = TelemetrySettings.Read(reader.Table("telemetry"));
        var admin = AdminSettings.Read(reader, baseDir, limits.MaxListFileBytes);
        var cluster = ClusterSettings.Read(reader, baseDir, limits.MaxListFileBytes);
        if (admin.Enabled && admin.Listen.StartsWith("https:", StringComparison.OrdinalIgnoreCase) && server.Tls is null)
        {
            reader.Table("admin")?.Error("listen", "an https:// admin listener uses the [server.tls] certificate: set server.tls.certificate and server.tls.key");
        }

        if (telemetry.Prometheus && !admin.Enabled)
        {
            reader.Table("telemetry")?.Error("prometheus", "/metrics is served on the admin listener: turn the admin API on ([admin] token_env or token_file)");
        }

        reader.Finish();

        // Compiled here to validate them, and kept: the runtime snapshot uses these instead of compiling again.
        PolicySnapshot? compiledPolicy = null;
        ProtectionSet? compiledProtections = null;
        if (ctx.Errors.Count == 0)
        {
            var protectionErrors = new List<string>();
            compiledProtections = protections.Count == 0 ? ProtectionSet.Empty : ProtectionSet.Compile(protections, protectionErrors);
            foreach (var e in protectionErrors)
            {
                ctx.Errors.Add(new ConfigError(fileName, 1, 1, "protections", e));
            }

            try
            {
                compiledPolicy = PolicyCompiler.Compile(filters, limits.Policy);
            }
            catch (PolicyCompileException ex)
            {
                foreach (var e in ex.Errors)
                {
                    ctx.Errors.Add(new ConfigError(fileName, 1, 1, "filters", e));
                }
            }
        }

        if (ctx.Errors.Count > 0)
        {
            ctx.Errors.Sort(static (a, b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : a.Column.CompareTo(b.Column));
            return new ConfigLoadResult(null, ctx.Errors);
        }

        return new ConfigLoadResult(new GatewayConfig
        {
            SourcePath = Path.GetFullPath(path),
            Server = server,
            Limits = limits,
            Backends = backends,
            Filters = filters,
            Protections = protections,
            CompiledPolicy = compiledPolicy,
            CompiledProtections = compiledProtections,
            Counters = counters,
            ServerAcl = acl,
            IpBlocks = ipBlocks,
            Context = context,
            Reports = reports,
            Audit = audit,
            IncludedFiles = included,
            Modules = modules,
            ModuleSettings = moduleSettings,
            Telemetry = telemetry,
            Admin = admin,
            Cluster = cluster,
            Warnings = ctx.Warnings,
        }, Array.Empty<ConfigError>());
    }

    /// <summary>Tables and keys defined twice, from Tomlyn's syntax validation, as config errors with positions.</summary>
    private static List<ConfigError> Redefinitions(string text, string fileName)
    {
        var errors = new List<ConfigError>();
        var doc = Tomlyn.Parsing.SyntaxParser.Parse(text, fileName, validate: true);
        foreach (var d in doc.Diagnostics)
        {
            if (d.Kind != Tomlyn.Syntax.DiagnosticMessageKind.Error)
            {
                continue;
            }

            // "The key `limits` is already defined at (1,1) with `…` and cannot be redefined": keep the key and the
            // first position, drop the quoted source (it can be long).
            var m = System.Text.RegularExpressions.Regex.Match(d.Message, @"^The key `(?<key>[^`]*)` is already defined at \((?<line>\d+),(?<col>\d+)\)");
            var message = m.Success
                ? $"is already defined at line {m.Groups["line"].Value}; a table or key can be defined only once"
                : $"TOML: {d.Message}";
            errors.Add(new ConfigError(fileName, d.Span.Start.Line + 1, d.Span.Start.Column + 1, m.Success ? m.Groups["key"].Value : "", message));
        }

        foreach (var (line, column, name, message) in TomlArrays.Reopened(doc))
        {
            errors.Add(new ConfigError(fileName, line, column, name, message));
        }

        return errors;
    }

}

/// <summary>Word lists in the common profanity-list format: one term per line; lines starting with '#' are comments.</summary>
internal static class WordListFile
{
    public static IReadOnlyList<string> Parse(string text)
    {
        var terms = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            terms.Add(line);
        }

        return terms;
    }
}
