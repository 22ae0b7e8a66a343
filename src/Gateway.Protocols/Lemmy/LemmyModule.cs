using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Lemmy;

/// <summary>
/// Lemmy: the client API of 0.19 (<c>/api/v3</c>) and 1.0 (<c>/api/v4</c>) — posts, comments, private messages,
/// community texts and profile texts, rewritten in place. Owns <c>[backends.lemmy]</c>.
/// </summary>
public sealed class LemmyModule : IProtocolModule
{
    public string Name => LemmyAdapter.ProtocolName;

    /// <summary>The <c>[backends.lemmy]</c> table: a <see cref="LemmyBackendSettings"/> (the defaults when absent).</summary>
    public object? ReadBackend(ModuleConfigContext context, BackendDraft backend, TomlTableReader? table)
    {
        if (table is null)
        {
            return LemmyBackendSettings.Default;
        }

        var d = LemmyBackendSettings.Default;
        var settings = new LemmyBackendSettings
        {
            Api = ConfigUrls.ReadHttp(table, "api"),
            TokenCacheSeconds = (int)table.Integer("token_cache_seconds", d.TokenCacheSeconds, 0, 86400),
            CommunityCacheSeconds = (int)table.Integer("community_cache_seconds", d.CommunityCacheSeconds, 0, 86400),
            AdminsExempt = table.Bool("admins_exempt", d.AdminsExempt),
            SlurSemantics = table.Bool("slur_semantics", d.SlurSemantics),
            Instance = table.String("instance"),
            AutomodRules = table.StringList("automod_rules"),
            AutomodAction = table.Enum("automod_action", FilterAction.Reject, ("reject", FilterAction.Reject), ("drop", FilterAction.Drop)),
        };
        var instance = settings.Instance ?? (settings.Api ?? (backend.Upstreams.Count > 0 && Uri.TryCreate(backend.Upstreams[0], UriKind.Absolute, out var u) ? u : null))?.Host;
        settings = settings with { InstanceHost = instance };
        if (table.Table("federation") is { } federation)
        {
            settings = settings with { Federation = LemmyFederationSettings.Read(federation) };
        }

        if (settings.AutomodRules.Count > 0)
        {
            settings = settings with { Automod = LemmyAutomod.Read(context, table, settings.AutomodRules, settings.AutomodAction, instance) };
        }

        table.Finish();
        return settings;
    }

    /// <summary>The lemmy-automoderator rules of <c>automod_rules</c>, scoped by the host to this backend.</summary>
    public IReadOnlyList<FilterDefinition> BackendFilters(object? backendSettings) =>
        (backendSettings as LemmyBackendSettings)?.Automod ?? Array.Empty<FilterDefinition>();

    /// <summary>A Lemmy backend with no routes is inspected whole: the adapter picks the requests that carry text.</summary>
    /// <remarks>The ActivityPub inboxes get routes of their own, whose bodies are signed: never rewritten.</remarks>
    public IReadOnlyList<RouteDefaults> DefaultRoutes(object? backendSettings) => new[]
    {
        new RouteDefaults("/", Inspect: true),
        new RouteDefaults("/inbox", Inspect: true),
        new RouteDefaults("/site_inbox", Inspect: true),
        new RouteDefaults("/c", Inspect: true),
        new RouteDefaults("/u", Inspect: true),
    };

    public IModuleRuntime CreateRuntime(IServiceProvider services) => new LemmyRuntime(services);
}
