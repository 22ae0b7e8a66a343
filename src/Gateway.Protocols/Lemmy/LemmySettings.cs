using Gateway.Policy.Rules;

namespace Gateway.Protocols.Lemmy;

/// <summary><c>[backends.lemmy]</c>: where the gateway asks who sends and what a community is.</summary>
public sealed record LemmyBackendSettings
{
    public static LemmyBackendSettings Default { get; } = new();

    /// <summary>Base URL for the look-ups made as the sender (site, community, post); null = the backend's first upstream.</summary>
    public Uri? Api { get; init; }

    /// <summary>How long a token → user answer is trusted (a logged-out token stops working within this).</summary>
    public int TokenCacheSeconds { get; init; } = 60;

    /// <summary>How long community names and moderators, and post/comment → community answers, are kept.</summary>
    public int CommunityCacheSeconds { get; init; } = 300;

    /// <summary>Site admins count as moderators everywhere (filters with <c>exempt_moderators</c> skip them).</summary>
    public bool AdminsExempt { get; init; } = true;

    /// <summary>
    /// Lemmy's own slur-filter answers for censor verdicts: matches in bodies become <c>*removed*</c>; a match in a
    /// title, display name or link refuses the request with <c>{"error":"slurs"}</c>, which never names the words.
    /// </summary>
    public bool SlurSemantics { get; init; }

    /// <summary>
    /// The site's public host name (<c>instance</c>), which its actor ids carry (<c>https://&lt;instance&gt;/u/name</c>);
    /// null = the host of <see cref="Api"/> or of the first upstream.
    /// </summary>
    public string? Instance { get; init; }

    /// <summary><see cref="Instance"/>, or the host of <see cref="Api"/> or of the first upstream (set by the reader).</summary>
    public string? InstanceHost { get; init; }

    /// <summary>lemmy-automoderator rule files (<c>automod_rules</c>), relative to gateway.toml.</summary>
    public IReadOnlyList<string> AutomodRules { get; init; } = Array.Empty<string>();

    /// <summary>What a matching automod rule does (<c>automod_action</c>): reject (default, with the rule's message) or drop.</summary>
    public FilterAction AutomodAction { get; init; } = FilterAction.Reject;

    /// <summary><c>[backends.lemmy.federation]</c>: instance allow/deny (suspend) and silence lists for the inboxes.</summary>
    public LemmyFederationSettings Federation { get; init; } = LemmyFederationSettings.None;

    /// <summary>The filters read from <see cref="AutomodRules"/>.</summary>
    public IReadOnlyList<FilterDefinition> Automod { get; init; } = Array.Empty<FilterDefinition>();
}
