using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Sogs;

/// <summary>Who may do something the handbook restricts (uploads, message requests).</summary>
public enum SogsAllowance
{
    /// <summary>Everyone SOGS lets (the gateway adds no rule).</summary>
    Everyone = 0,

    /// <summary>Only trusted users: moderators and admins (room or global) and the configured <c>trusted</c> list.</summary>
    Trusted = 1,
}

/// <summary>A room's own entries (<c>[backends.sogs.rooms.TOKEN]</c>).</summary>
public sealed record SogsRoomSettings
{
    public IReadOnlyList<string> Moderators { get; init; } = Array.Empty<string>();

    /// <summary>Users trusted in this room only (may upload when uploads are limited).</summary>
    public IReadOnlyList<string> Trusted { get; init; } = Array.Empty<string>();

    /// <summary>Null: the backend's <see cref="SogsBackendSettings.Uploads"/>.</summary>
    public SogsAllowance? Uploads { get; init; }
}

/// <summary>
/// <c>[backends.sogs]</c>: the server's key (to check request signatures and derive blinded ids), who moderates, who
/// is trusted, the handbook's mitigations, and where SOGS's own configuration and database are.
/// </summary>
public sealed record SogsBackendSettings
{
    /// <summary>The server's X25519 public key (the <c>public_key</c> of room URLs): part of every signed request.</summary>
    public byte[] ServerPubkey { get; init; } = Array.Empty<byte>();

    /// <summary>The server's X25519 private key (<c>x25519_key_file</c>, the file SOGS itself uses), for onion requests; null when not given.</summary>
    public Secret? ServerPrivateKey { get; init; }

    /// <summary>SOGS's <c>[users] require_blind_keys</c> (default yes): unblinded <c>00</c> keys are refused with 400.</summary>
    public bool RequireBlindKeys { get; init; } = true;

    /// <summary>Global moderators and admins (SOGS's <c>+</c> room), visible or hidden: Session IDs (05/15).</summary>
    public IReadOnlyList<string> Moderators { get; init; } = Array.Empty<string>();

    /// <summary>Users trusted in every room (the handbook's "may upload").</summary>
    public IReadOnlyList<string> Trusted { get; init; } = Array.Empty<string>();

    public IReadOnlyDictionary<string, SogsRoomSettings> Rooms { get; init; } = new Dictionary<string, SogsRoomSettings>(StringComparer.Ordinal);

    /// <summary><c>POST /room/TOKEN/file</c>: everyone, or trusted users only (<c>sogs --remove-perms u</c>).</summary>
    public SogsAllowance Uploads { get; init; } = SogsAllowance.Everyone;

    /// <summary><c>POST /inbox/ID</c>: everyone, or only when the sender or the recipient is trusted (the handbook's DM script).</summary>
    public SogsAllowance MessageRequests { get; init; } = SogsAllowance.Everyone;

    /// <summary>
    /// The legacy API's writes (<c>POST /legacy/messages</c>, <c>/legacy/files</c>, room images): <c>Trusted</c> (the
    /// default) refuses them with 403, since their senders cannot be checked and no current Session client uses them;
    /// <c>Everyone</c> forwards them uninspected.
    /// </summary>
    public SogsAllowance LegacyWrites { get; init; } = SogsAllowance.Trusted;

    /// <summary>SOGS's <c>sogs.ini</c>, imported (null when not named).</summary>
    public SogsIniSettings? Ini { get; init; }

    /// <summary>SOGS's SQLite database, read read-only for moderators, admins and upload permissions.</summary>
    public string? DatabasePath { get; init; }

    public int DatabaseRefreshSeconds { get; init; } = 60;

    /// <summary>How many used nonces are remembered (oldest forgotten first; SOGS keeps its own table too).</summary>
    public int NonceCapacity { get; init; } = 200_000;

    /// <summary>The backend's name, so imported filters can be scoped to it.</summary>
    public string Backend { get; init; } = string.Empty;
}
