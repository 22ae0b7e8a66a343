using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Matrix;

/// <summary>[matrix]: policy lists and the synapse-http-antispam decision API (gateway-wide, not per backend).</summary>
public sealed record MatrixSettings
{
    public static MatrixSettings Default { get; } = new();

    public IReadOnlyList<string> PolicyListFiles { get; init; } = Array.Empty<string>();

    public MatrixPolicyList PolicyList { get; init; } = MatrixPolicyList.Empty;

    public AntispamSettings Antispam { get; init; } = new();

    /// <summary>[[matrix.appservices]]: bridges recognised by their as_token's hash, and how their requests are treated.</summary>
    public MatrixAppservices Appservices { get; init; } = MatrixAppservices.None;

    /// <summary>policy_rooms and the gateway account that follows them; null when none are listed.</summary>
    public PolicyRoomSettings? PolicyRooms { get; init; }

    /// <summary>[matrix.policy_server]: the MSC4284 /sign endpoint; null when not configured.</summary>
    public PolicyServerSettings? PolicyServer { get; init; }

    /// <summary>
    /// <c>dropped_ids</c>: how many silently dropped sends the gateway remembers (their event ids, for 24 h) so a retry,
    /// a read marker or a receipt naming one is answered as for a real event; ~280 bytes each, the oldest forgotten first.
    /// </summary>
    public int DroppedIds { get; init; } = DefaultDroppedIds;

    public const int DefaultDroppedIds = 50_000;
}

/// <summary>
/// [matrix.policy_server]: the server name the gateway signs as, its ed25519 seed (from key_file / key_env, never
/// logged) and the room version whose redaction rules apply to events that do not name theirs.
/// </summary>
public sealed record PolicyServerSettings
{
    public required string ServerName { get; init; }

    public required Secret Seed { get; init; }

    public string RoomVersion { get; init; } = "10";
}

/// <summary>[matrix.antispam]: the callbacks Synapse's synapse-http-antispam module sends to /_gateway/antispam.</summary>
public sealed record AntispamSettings
{
    public bool Enabled { get; init; }

    /// <summary>The bearer token Synapse's module sends (its `authorization` setting).</summary>
    public Secret? Token { get; init; }

    /// <summary>Refuse federated events that a censor filter matches (they cannot be rewritten).</summary>
    public bool RefuseCensored { get; init; }

    /// <summary>Callbacks that answer "allow" when the gateway itself fails; the others answer an error (fail closed).</summary>
    public IReadOnlySet<string> FailOpen { get; init; } = new HashSet<string>(StringComparer.Ordinal);
}

/// <summary>[backends.matrix]: how the Matrix adapter learns about senders and rooms, and per-room server ACLs.</summary>
public sealed record MatrixBackendSettings
{
    public static MatrixBackendSettings Default { get; } = new();

    /// <summary>Client API base for whoami / joined_members / power levels; null = the backend's first upstream.</summary>
    public Uri? Homeserver { get; init; }

    /// <summary>"kick", "redact", "ban" or a power level number: senders at or above it are moderators.</summary>
    public string ModeratorLevel { get; init; } = "kick";

    public int TokenCacheSeconds { get; init; } = 60;

    public int RoomCacheSeconds { get; init; } = 60;

    public IReadOnlyList<string> PublicRooms { get; init; } = Array.Empty<string>();

    public bool RejectEncryptedInPublicRooms { get; init; }

    public IReadOnlyList<RoomAclSettings> RoomAcls { get; init; } = Array.Empty<RoomAclSettings>();
}

/// <summary>One [[backends.matrix.room_acls]] entry: the rooms it covers (a glob) and their server ACL.</summary>
public sealed record RoomAclSettings(string Room, ServerAclConfig Acl);
