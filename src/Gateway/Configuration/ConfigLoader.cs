using Gateway.Protocols.Configuration;
using System.Globalization;
using Gateway.Policy.Acl;
using Gateway.Policy.Net;
using Gateway.Policy.Rules;
using Gateway.Protocols.Json;
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
internal static class ConfigLoader
{
    public static readonly string[] Protocols = { "json", "matrix", "none" };

    public static ConfigLoadResult LoadFile(string path)
    {
        if (!ConfigFile.TryReadText(Path.GetFullPath(path), ConfigFile.DefaultMaxBytes, out var text, out var error))
        {
            return new ConfigLoadResult(null, new[] { new ConfigError(path, 0, 0, "", $"cannot read the config file: it {error}") })
            {
                Unreadable = true,
            };
        }

        return Load(text, path);
    }

    public static ConfigLoadResult Load(string text, string path)
    {
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
        var server = ReadServer(reader.Table("server"), baseDir, included, limits);
        var backends = ReadBackends(reader.TableArray("backends"), limits);
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

        foreach (var f in reader.TableArray("MessageFilters"))
        {
            var def = ReadBareRtcFilter(f, filters.Count, limits);
            if (def is not null)
            {
                filters.Add(def);
            }
        }

        CheckUniqueFilterNames(reader, filters);
        var acl = ReadServerAcl(reader.Table("server_acl"));
        var ipBlocks = ReadIpBlocks(reader.Table("ip_blocks"), baseDir, included, limits);
        var context = ReadContext(reader.Table("context"));
        var reports = ReadReports(reader.Table("reports"), baseDir, limits);
        var audit = ReadAudit(reader.Table("audit"), baseDir);
        var matrix = ReadMatrix(reader.Table("matrix"), baseDir, included, limits);
        var telemetry = TelemetrySettings.Read(reader.Table("telemetry"));
        var admin = AdminSettings.Read(reader, baseDir, limits.MaxListFileBytes);
        if (admin.Enabled && admin.Listen.StartsWith("https:", StringComparison.OrdinalIgnoreCase) && server.Tls is null)
        {
            reader.Table("admin")?.Error("listen", "an https:// admin listener uses the [server.tls] certificate: set server.tls.certificate and server.tls.key");
        }

        reader.Finish();

        if (ctx.Errors.Count == 0)
        {
            try
            {
                PolicyCompiler.Compile(filters, limits.Policy);
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
            ServerAcl = acl,
            IpBlocks = ipBlocks,
            Context = context,
            Reports = reports,
            Audit = audit,
            Matrix = matrix,
            IncludedFiles = included,
            Telemetry = telemetry,
            Admin = admin,
            Warnings = ctx.Warnings,
        }, Array.Empty<ConfigError>());
    }

    private static LimitSettings ReadLimits(TomlTableReader? t)
    {
        if (t is null)
        {
            return new LimitSettings();
        }

        var defaults = new LimitSettings();
        var result = new LimitSettings
        {
            MaxBodyBytes = t.Integer("max_body_bytes", defaults.MaxBodyBytes, 1, 1L << 30),
            MaxJsonDepth = (int)t.Integer("max_json_depth", defaults.MaxJsonDepth, 1, 1024),
            Policy = new PolicyLimits
            {
                MaxRegexCount = (int)t.Integer("max_regex_count", defaults.Policy.MaxRegexCount, 0, 100_000),
                MaxRegexLength = (int)t.Integer("max_regex_length", defaults.Policy.MaxRegexLength, 1, 100_000),
                MaxKeywords = (int)t.Integer("max_keywords", defaults.Policy.MaxKeywords, 0, 10_000_000),
            },
            MaxListFileBytes = t.Integer("max_list_file_bytes", defaults.MaxListFileBytes, 1, 1L << 31),
        };
        t.Finish();
        return result;
    }

    private static ServerSettings ReadServer(TomlTableReader? t, string baseDir, List<string> included, LimitSettings limits)
    {
        if (t is null)
        {
            return new ServerSettings();
        }

        var defaults = new ServerSettings();
        var listen = t.Has("listen") ? t.StringList("listen") : defaults.Listen;
        foreach (var url in listen)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.AbsolutePath != "/")
            {
                t.Error("listen", $"\"{url}\" is not a listen URL like \"http://127.0.0.1:8080\"");
            }
        }

        var proxies = new List<CidrBlock>();
        foreach (var p in t.StringList("trusted_proxies"))
        {
            if (CidrBlock.TryParse(p, out var block, out var error))
            {
                proxies.Add(block);
            }
            else
            {
                t.Error("trusted_proxies", error!);
            }
        }

        var tls = TlsSettings.Read(t.Table("tls"), baseDir, included, limits.MaxListFileBytes);
        if (tls is null && listen.Any(l => l.StartsWith("https:", StringComparison.OrdinalIgnoreCase)))
        {
            t.Error("listen", "an https:// listener needs a certificate: set server.tls.certificate and server.tls.key (PEM files)");
        }

        var result = new ServerSettings
        {
            Listen = listen,
            TrustedProxies = proxies,
            WatchConfig = t.Bool("watch_config", defaults.WatchConfig),
            Tls = tls,
        };
        t.Finish();
        return result;
    }

    private static IReadOnlyList<BackendSettings> ReadBackends(IReadOnlyList<TomlTableReader> tables, LimitSettings limits)
    {
        var result = new List<BackendSettings>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tables)
        {
            var name = t.String("name", required: true) ?? "";
            if (name.Length > 0 && !names.Add(name))
            {
                t.Error("name", $"backend \"{name}\" is defined twice");
            }

            var protocol = t.String("protocol", "none")!;
            if (Array.IndexOf(Protocols, protocol) < 0)
            {
                t.Error("protocol", $"unknown protocol \"{protocol}\"; known: {string.Join(", ", Protocols)}");
            }

            var upstreams = t.StringList("upstreams");
            if (!t.Has("upstreams") || upstreams.Count == 0)
            {
                t.Error("upstreams", "at least one upstream address is required, like \"http://127.0.0.1:8008\"");
            }

            foreach (var u in upstreams)
            {
                if (!Uri.TryCreate(u, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    t.Error("upstreams", $"\"{u}\" is not an http(s) URL");
                }
            }

            var routes = new List<RouteSettings>();
            foreach (var r in t.TableArray("routes"))
            {
                var route = ReadRoute(r, protocol, limits);
                if (route is not null)
                {
                    routes.Add(route);
                }
            }

            if (routes.Count == 0)
            {
                routes.Add(new RouteSettings { Path = "/", Inspect = protocol == "matrix" });
            }

            var matrixTable = t.Table("matrix");
            MatrixBackendSettings? matrix = null;
            if (protocol == "matrix")
            {
                matrix = ReadMatrixBackend(matrixTable);
            }
            else if (matrixTable is not null)
            {
                matrixTable.Finish();
                t.Error("matrix", "only backends with protocol = \"matrix\" take a matrix table");
            }

            t.Finish();
            result.Add(new BackendSettings { Name = name, Protocol = protocol, Upstreams = upstreams, Routes = routes, Matrix = matrix });
        }

        return result;
    }

    private static RouteSettings? ReadRoute(TomlTableReader r, string protocol, LimitSettings limits)
    {
        var path = r.String("path", required: true) ?? "/";
        if (!path.StartsWith('/') || path.Contains('{') || path.Contains('*'))
        {
            r.Error("path", $"\"{path}\" must be a path prefix starting with '/' (no wildcards)");
        }

        var methods = r.StringList("methods");
        foreach (var m in methods)
        {
            if (m.Length == 0 || !m.All(char.IsAsciiLetterUpper))
            {
                r.Error("methods", $"\"{m}\" is not an HTTP method in capitals, like \"POST\"");
            }
        }

        var inspect = r.Bool("inspect", protocol != "none");
        if (inspect && protocol == "none")
        {
            r.Error("inspect", "this backend's protocol is \"none\": nothing can inspect its routes");
        }

        var onError = r.Enum("on_error", OnError.Reject, ("reject", OnError.Reject), ("forward", OnError.Forward));
        JsonAdapterOptions? json = null;
        var jsonTable = r.Table("json");
        if (inspect && protocol == "json")
        {
            if (jsonTable is null)
            {
                r.Error("json", "an inspected route of a \"json\" backend needs a [backends.routes.json] table naming its fields");
            }
            else
            {
                json = ReadJsonOptions(jsonTable, limits);
            }
        }
        else if (jsonTable is not null)
        {
            jsonTable.Finish();
            r.Error("json", "only inspected routes of a \"json\" backend take a json table");
        }

        r.Finish();
        return new RouteSettings
        {
            Path = path.TrimEnd('/').Length == 0 ? "/" : path.TrimEnd('/'),
            Methods = methods,
            Inspect = inspect,
            OnError = onError,
            Json = json,
            MethodsPosition = r.At("methods"),
        };
    }

    private static JsonAdapterOptions ReadJsonOptions(TomlTableReader t, LimitSettings limits)
    {
        JsonPointer? Pointer(string key)
        {
            var s = t.String(key);
            if (s is null)
            {
                return null;
            }

            if (JsonPointer.TryParse(s, out var p, out var error))
            {
                return p;
            }

            t.Error(key, error ?? "invalid JSON pointer");
            return null;
        }

        var options = new JsonAdapterOptions
        {
            Body = Pointer("body"),
            Title = Pointer("title"),
            Link = Pointer("link"),
            DisplayName = Pointer("display_name"),
            Sender = Pointer("sender"),
            Room = Pointer("room"),
            Direct = Pointer("direct"),
            Recipient = Pointer("recipient"),
            RecipientHeader = t.String("recipient_header"),
            Kind = t.Enum("kind", "message", ("message", "message"), ("report", "report")),
            SenderHeader = t.String("sender_header"),
            RoomHeader = t.String("room_header"),
            DirectHeader = t.String("direct_header"),
            ModeratorHeader = t.String("moderator_header"),
            DropStatus = (int)t.Integer("drop_status", 200, 200, 299),
            DropBody = t.String("drop_body", "{}")!,
            RejectStatus = (int)t.Integer("reject_status", 403, 400, 499),
            MaxDepth = limits.MaxJsonDepth,
            Keys = t.Enum("keys", JsonKeyMatching.AnyCase, ("any_case", JsonKeyMatching.AnyCase), ("exact", JsonKeyMatching.Exact)),
        };
        if (!t.Has("body") && !t.Has("title") && !t.Has("link") && !t.Has("display_name"))
        {
            t.Context.Error(t.Position, t.Path, "name at least one text field: body, title, link or display_name (JSON pointers like \"/text\")");
        }

        if (!JsonAdapterOptions.IsJsonObject(options.DropBody))
        {
            t.Error("drop_body", "must be a JSON object, like '{\"status\":\"sent\"}'");
        }

        t.Finish();
        return options;
    }

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

        var rooms = Globs(t, "rooms");
        var excludeRooms = Globs(t, "exclude_rooms");
        var exemptUsers = Globs(t, "exempt_users");
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
        };
        if (keywords.Count == 0 && regexes.Count == 0 && !t.Has("keyword_files"))
        {
            t.Context.Error(t.Position, t.Path, $"filter \"{name}\" has no keywords, keyword_files or regex: it can never match");
        }

        t.Finish();
        return def;
    }

    /// <summary>
    /// BareRTC's [[MessageFilters]] read verbatim. Its KeywordPhrases are RE2 regexes matched case-insensitively
    /// against the raw message; PublicChannels/PrivateChannels are enforced here (upstream never checks them).
    /// </summary>
    private static FilterDefinition? ReadBareRtcFilter(TomlTableReader t, int index, LimitSettings limits)
    {
        var enabled = t.Bool("Enabled", false);
        var isPublic = t.Bool("PublicChannels", false);
        var isPrivate = t.Bool("PrivateChannels", false);
        var phrases = t.StringList("KeywordPhrases");
        for (var i = 0; i < phrases.Count; i++)
        {
            if (!RegexRules.TryCompile(phrases[i], false, limits.Policy.MaxRegexLength, out _, out var error))
            {
                t.Context.Error(t.At("KeywordPhrases"), $"{t.KeyPath("KeywordPhrases")}[{i}]", error!);
            }
        }

        var censor = t.Bool("CensorMessage", false);
        var forward = t.Bool("ForwardMessage", true);
        var report = t.Bool("ReportMessage", false);
        var response = NullIfEmpty(t.String("ChatServerResponse"));
        t.Finish();
        if (!isPublic && !isPrivate)
        {
            // Neither channel kind selected: the filter applies nowhere. Keep it valid but inert, as upstream would
            // have intended once the flags were honoured.
            enabled = false;
        }

        return new FilterDefinition
        {
            Name = $"MessageFilters[{index}]",
            Enabled = enabled && phrases.Count > 0,
            Action = !forward ? FilterAction.Drop : censor ? FilterAction.Censor : FilterAction.Forward,
            Notice = response,
            Report = report,
            Regexes = phrases,
            Scope = isPublic && isPrivate ? FilterScope.Both : isPublic ? FilterScope.Public : FilterScope.Direct,
            Normalize = false,
        };
    }

    private static MatrixBackendSettings ReadMatrixBackend(TomlTableReader? t)
    {
        var d = new MatrixBackendSettings();
        if (t is null)
        {
            return d;
        }

        Uri? homeserver = null;
        var hs = t.String("homeserver");
        if (!string.IsNullOrEmpty(hs))
        {
            if (Uri.TryCreate(hs, UriKind.Absolute, out var u) && u.Scheme is "http" or "https")
            {
                homeserver = u;
            }
            else
            {
                t.Error("homeserver", $"\"{hs}\" is not an http(s) URL");
            }
        }

        var level = t.Raw("moderator_level") switch
        {
            null => "kick",
            long n => n.ToString(CultureInfo.InvariantCulture),
            string s when s is "kick" or "redact" or "ban" => s,
            var other => InvalidLevel(t, "moderator_level", $"must be \"kick\", \"redact\", \"ban\" or a power level number, found {TomlTableReader.Describe(other)}"),
        };
        var acls = new List<RoomAclSettings>();
        foreach (var a in t.TableArray("room_acls"))
        {
            var room = a.String("room", required: true) ?? "";
            if (room.Length > 0 && !NameGlob.TryValidate(room, out var gerr))
            {
                a.Error("room", gerr!);
            }

            var acl = ReadAclBody(a);
            a.Finish();
            acls.Add(new RoomAclSettings(room, acl));
        }

        var result = new MatrixBackendSettings
        {
            Homeserver = homeserver,
            ModeratorLevel = level,
            TokenCacheSeconds = (int)t.Integer("token_cache_seconds", d.TokenCacheSeconds, 0, 86400),
            RoomCacheSeconds = (int)t.Integer("room_cache_seconds", d.RoomCacheSeconds, 0, 86400),
            PublicRooms = Globs(t, "public_rooms"),
            RejectEncryptedInPublicRooms = t.Bool("reject_encrypted_in_public_rooms", false),
            RoomAcls = acls,
        };
        t.Finish();
        return result;
    }

    private static string InvalidLevel(TomlTableReader t, string key, string message)
    {
        t.Error(key, message);
        return "kick";
    }

    private static MatrixSettings ReadMatrix(TomlTableReader? t, string baseDir, List<string> included, LimitSettings limits)
    {
        var d = new MatrixSettings();
        if (t is null)
        {
            return d;
        }

        var files = t.StringList("policy_lists");
        var contents = new List<(string, string)>();
        foreach (var f in files)
        {
            if (ReadListedFile(t, "policy_lists", "policy list", f, baseDir, included, limits.MaxListFileBytes) is { } text)
            {
                contents.Add((f, text));
            }
        }

        var errors = new List<string>();
        var list = Gateway.Protocols.Matrix.MatrixPolicyList.Parse(contents, errors);
        foreach (var e in errors)
        {
            t.Error("policy_lists", e);
        }

        var antispam = new AntispamSettings();
        var a = t.Table("antispam");
        if (a is not null)
        {
            var enabled = a.Bool("enabled", false);
            var token = ReadSecret(a, "token_env", "token_file", baseDir, limits.MaxListFileBytes, required: enabled,
                what: "the bearer token Synapse's synapse-http-antispam module sends");
            var failOpen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var cb in a.StringList("fail_open"))
            {
                if (cb is not ("check_event_for_spam" or "user_may_invite" or "user_may_join_room" or "should_drop_federated_event"))
                {
                    a.Error("fail_open", $"unknown callback \"{cb}\"; known: check_event_for_spam, user_may_invite, user_may_join_room, should_drop_federated_event");
                }

                failOpen.Add(cb);
            }

            antispam = new AntispamSettings { Enabled = enabled, Token = token, RefuseCensored = a.Bool("refuse_censored", false), FailOpen = failOpen };
            a.Finish();
        }

        t.Finish();
        return new MatrixSettings { PolicyListFiles = files, PolicyList = list, Antispam = antispam };
    }

    /// <summary>A secret from an environment variable or a file, never from gateway.toml itself.</summary>
    private static Secret? ReadSecret(TomlTableReader t, string envKey, string fileKey, string baseDir, long maxBytes, bool required, string what)
    {
        var env = t.String(envKey);
        var file = t.String(fileKey);
        if (!string.IsNullOrEmpty(env) && !string.IsNullOrEmpty(file))
        {
            t.Error(fileKey, $"give {envKey} or {fileKey}, not both");
            return null;
        }

        if (!string.IsNullOrEmpty(env))
        {
            var v = Environment.GetEnvironmentVariable(env);
            if (string.IsNullOrEmpty(v))
            {
                if (required)
                {
                    // A reload reads the variable again, but only from the process's own environment, which is fixed
                    // when it starts: say so, or an operator who just added it to an env file waits for nothing.
                    t.Error(envKey, $"environment variable {env} is not set (it holds {what}); the gateway sees its environment as it was " +
                        $"when the process started, so a variable added since needs a restart, or use {fileKey}, which every reload reads again");
                }

                return null;
            }

            return new Secret(System.Text.Encoding.UTF8.GetBytes(v));
        }

        if (!string.IsNullOrEmpty(file))
        {
            var text = ReadListedFile(t, fileKey, "secret file", file, baseDir, included: null, maxBytes);
            return text is null ? null : new Secret(System.Text.Encoding.UTF8.GetBytes(text.Trim()));
        }

        if (required)
        {
            t.Context.Error(t.Position, t.Path, $"set {envKey} (an environment variable name) or {fileKey}: {what}");
        }

        return null;
    }

    private static ContextSettings ReadContext(TomlTableReader? t)
    {
        var d = new ContextSettings();
        if (t is null)
        {
            return d;
        }

        var result = new ContextSettings
        {
            MessagesPerConversation = (int)t.Integer("messages_per_conversation", d.MessagesPerConversation, 1, 1000),
            MaxTotalBytes = t.Integer("max_total_bytes", d.MaxTotalBytes, 1024, 1L << 40),
            IdleMinutes = (int)t.Integer("idle_minutes", d.IdleMinutes, 1, 7 * 24 * 60),
            PublicRooms = t.Bool("public_rooms", d.PublicRooms),
        };
        t.Finish();
        return result;
    }

    private static ReportSettings ReadReports(TomlTableReader? t, string baseDir, LimitSettings limits)
    {
        var d = new ReportSettings();
        if (t is null)
        {
            return d;
        }

        Uri? url = null;
        var urlText = t.String("url");
        if (!string.IsNullOrEmpty(urlText))
        {
            if (Uri.TryCreate(urlText, UriKind.Absolute, out var u) && u.Scheme is "http" or "https")
            {
                url = u;
            }
            else
            {
                t.Error("url", $"\"{urlText}\" is not an http(s) URL");
            }
        }

        var format = t.Enum("format", "gateway", ("gateway", "gateway"), ("barertc", "barertc"));
        if (t.Has("secret"))
        {
            t.Error("secret", "the webhook secret is never written in gateway.toml: use secret_env (an environment variable name) or secret_file");
        }

        var secretEnv = t.String("secret_env");
        var secretFile = t.String("secret_file");
        var source = !string.IsNullOrEmpty(secretEnv) ? "env:" + secretEnv : !string.IsNullOrEmpty(secretFile) ? "file:" + secretFile : null;
        var secret = ReadSecret(t, "secret_env", "secret_file", baseDir, limits.MaxListFileBytes, required: url is not null, what: "the webhook signing secret");
        Secret? apiKey = null;
        var apiKeyEnv = t.String("barertc_api_key_env");
        if (!string.IsNullOrEmpty(apiKeyEnv))
        {
            var v = Environment.GetEnvironmentVariable(apiKeyEnv);
            if (string.IsNullOrEmpty(v))
            {
                if (url is not null && format == "barertc")
                {
                    t.Error("barertc_api_key_env", $"environment variable {apiKeyEnv} is not set");
                }
            }
            else
            {
                apiKey = new Secret(System.Text.Encoding.UTF8.GetBytes(v));
            }
        }

        var result = new ReportSettings
        {
            Url = url,
            Format = format,
            Secret = secret,
            SecretSource = source,
            BareRtcApiKey = apiKey,
            QueueCapacity = (int)t.Integer("queue_capacity", d.QueueCapacity, 1, 1_000_000),
            MaxAttempts = (int)t.Integer("max_attempts", d.MaxAttempts, 1, 100),
            TimeoutSeconds = (int)t.Integer("timeout_seconds", d.TimeoutSeconds, 1, 600),
            DrainSeconds = (int)t.Integer("drain_seconds", d.DrainSeconds, 0, 600),
            MaxRetryAfterSeconds = (int)t.Integer("max_retry_after_seconds", d.MaxRetryAfterSeconds, 1, 3600),
            IncludeClientIp = t.Bool("include_client_ip", d.IncludeClientIp),
        };
        t.Finish();
        return result;
    }

    private static AuditSettings ReadAudit(TomlTableReader? t, string baseDir)
    {
        var d = new AuditSettings();
        if (t is null)
        {
            return d;
        }

        var file = t.String("file");
        var result = new AuditSettings
        {
            File = string.IsNullOrEmpty(file) ? null : Path.GetFullPath(Path.Combine(baseDir, file)),
            MaxFileBytes = t.Integer("max_file_bytes", d.MaxFileBytes, 1024, 1L << 40),
            MaxFiles = (int)t.Integer("max_files", d.MaxFiles, 1, 1000),
        };
        t.Finish();
        return result;
    }

    private static ServerAclSettings? ReadServerAcl(TomlTableReader? t)
    {
        if (t is null)
        {
            return null;
        }

        var result = ReadAclBody(t);
        t.Finish();
        return result;
    }

    private static ServerAclSettings ReadAclBody(TomlTableReader t)
    {
        var allow = t.StringList("allow");
        var deny = t.StringList("deny");
        foreach (var (key, list) in new[] { ("allow", allow), ("deny", deny) })
        {
            foreach (var g in list)
            {
                if (!ServerNameGlob.TryValidate(g, out var error))
                {
                    t.Error(key, error!);
                }
            }
        }

        return new ServerAclSettings(allow, deny, t.Bool("allow_ip_literals", true));
    }

    private static IReadOnlyList<IpBlockEntry> ReadIpBlocks(TomlTableReader? t, string baseDir, List<string> included, LimitSettings limits)
    {
        var entries = new List<IpBlockEntry>();
        if (t is null)
        {
            return entries;
        }

        foreach (var cidr in t.StringList("deny"))
        {
            if (CidrBlock.TryParse(cidr, out var block, out var error))
            {
                entries.Add(new IpBlockEntry(block, null, null, "gateway.toml"));
            }
            else
            {
                t.Error("deny", error!);
            }
        }

        foreach (var e in t.TableArray("entries"))
        {
            var cidr = e.String("cidr", required: true);
            DateTimeOffset? expires = null;
            var raw = e.Raw("expires");
            if (raw is TomlDateTime dt)
            {
                expires = dt.DateTime;
            }
            else if (raw is string s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                expires = parsed;
            }
            else if (raw is not null)
            {
                e.Error("expires", $"expected a date-time like 2027-01-01T00:00:00Z, found {TomlTableReader.Describe(raw)}");
            }

            var reason = e.String("reason");
            e.Finish();
            if (cidr is null)
            {
                continue;
            }

            if (CidrBlock.TryParse(cidr, out var block, out var error))
            {
                entries.Add(new IpBlockEntry(block, expires, reason, "gateway.toml"));
            }
            else
            {
                e.Error("cidr", error!);
            }
        }

        foreach (var file in t.StringList("files"))
        {
            if (ReadListedFile(t, "files", "list file", file, baseDir, included, limits.MaxListFileBytes) is not { } text)
            {
                continue;
            }

            var errors = new List<string>();
            entries.AddRange(IpListFile.Parse(text, file, errors));
            foreach (var err in errors)
            {
                t.Error("files", err);
            }
        }

        t.Finish();
        return entries;
    }

    private static IReadOnlyList<string> ReadWordList(TomlTableReader t, string key, string file, string baseDir, List<string> included, LimitSettings limits)
    {
        var text = ReadListedFile(t, key, "word list", file, baseDir, included, limits.MaxListFileBytes);
        return text is null ? Array.Empty<string>() : WordListFile.Parse(text);
    }

    /// <summary>
    /// Reads a file the config names through <see cref="ConfigFile"/>; any failure (missing, not a regular file, too
    /// big, I/O error, too slow) is a config error on <paramref name="key"/>. <paramref name="included"/> collects
    /// the path for the watcher even when the read fails, so fixing the file reloads.
    /// </summary>
    internal static string? ReadListedFile(TomlTableReader t, string key, string what, string file, string baseDir, List<string>? included, long maxBytes)
    {
        var full = Path.GetFullPath(Path.Combine(baseDir, file));
        included?.Add(full);
        if (ConfigFile.TryReadText(full, maxBytes, out var text, out var error))
        {
            return text;
        }

        t.Error(key, $"{what} \"{file}\" {error}");
        return null;
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

        return errors;
    }

    /// <summary>
    /// A route limited to some methods takes only those: the other methods go to the next matching route, which may
    /// forward them uninspected (a GET carrying spam reached the backend through "/", issue 9 defect 13). Not an
    /// error (a passthrough GET beside an inspected POST is common and intended), so a warning naming both routes.
    /// </summary>
    private static void WarnMethodFallThrough(TomlReadContext ctx, IReadOnlyList<BackendSettings> backends)
    {
        var all = new List<(BackendSettings Backend, int Index, RouteSettings Route)>();
        foreach (var b in backends)
        {
            for (var i = 0; i < b.Routes.Count; i++)
            {
                all.Add((b, i, b.Routes[i]));
            }
        }

        foreach (var (backend, index, route) in all)
        {
            if (!route.Inspect || route.Methods.Count == 0)
            {
                continue;
            }

            // The longest other prefix covering this path catches the other methods, as in RuntimeSnapshot's order.
            (BackendSettings Backend, int Index, RouteSettings Route)? next = null;
            foreach (var other in all)
            {
                if (ReferenceEquals(other.Route, route) || !Covers(other.Route.Path, route.Path))
                {
                    continue;
                }

                var takesOthers = other.Route.Methods.Count == 0 || other.Route.Methods.Any(m => !route.Methods.Contains(m));
                if (takesOthers && (next is null || other.Route.Path.Length > next.Value.Route.Path.Length))
                {
                    next = other;
                }
            }

            if (next is { } n && !n.Route.Inspect)
            {
                var backendIndex = IndexOf(backends, backend);
                var otherIndex = IndexOf(backends, n.Backend);
                ctx.Warnings.Add(new ConfigError(ctx.File, route.MethodsPosition.Line, route.MethodsPosition.Column,
                    $"backends[{backendIndex}].routes[{index}].methods",
                    $"only {string.Join(", ", route.Methods)} on \"{route.Path}\" are inspected; other methods fall through to " +
                    $"backends[{otherIndex}].routes[{n.Index}] (\"{n.Route.Path}\" of backend \"{n.Backend.Name}\"), which forwards them uninspected"));
            }
        }

        static bool Covers(string prefix, string path) =>
            prefix == "/" || path == prefix || path.StartsWith(prefix + "/", StringComparison.Ordinal);

        static int IndexOf(IReadOnlyList<BackendSettings> list, BackendSettings b)
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (ReferenceEquals(list[i], b))
                {
                    return i;
                }
            }

            return -1;
        }
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

    private static IReadOnlyList<string> Globs(TomlTableReader t, string key)
    {
        var globs = t.StringList(key);
        foreach (var g in globs)
        {
            if (!NameGlob.TryValidate(g, out var error))
            {
                t.Error(key, error!);
            }
        }

        return globs;
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

/// <summary>Word lists in the SOGS profanity-list format: one term per line; lines starting with '#' are comments.</summary>
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
