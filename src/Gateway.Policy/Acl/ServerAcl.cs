using Gateway.Policy.Net;

namespace Gateway.Policy.Acl;

/// <summary>
/// A compiled <c>m.room.server_acl</c>, evaluated in the spec's order: IP literals (when disallowed), then deny,
/// then allow, else deny. https://spec.matrix.org/latest/client-server-api/#mroomserver_acl
/// Immutable and safe to share between threads.
/// </summary>
public sealed class ServerAcl
{
    private readonly bool _allowAll;
    private readonly GlobSet? _allow;
    private readonly GlobSet? _deny;

    private ServerAcl(bool allowAll, string[] allow, string[] deny, bool allowIpLiterals)
    {
        _allowAll = allowAll;
        Allow = Array.AsReadOnly(allow);
        Deny = Array.AsReadOnly(deny);
        AllowIpLiterals = allowIpLiterals;
        if (!allowAll)
        {
            _allow = GlobSet.Create(allow);
            _deny = GlobSet.Create(deny);
        }
    }

    /// <summary>The room has no ACL event: every server may take part.</summary>
    public static ServerAcl AllowAll { get; } = new(true, ["*"], [], true);

    public IReadOnlyList<string> Allow { get; }

    public IReadOnlyList<string> Deny { get; }

    public bool AllowIpLiterals { get; }

    /// <summary>
    /// Builds an ACL from event content. A missing <c>allow</c> is an empty list, which denies everyone.
    /// Null globs are skipped (the spec ignores entries that are not strings); globs are not validated here because
    /// rooms may hold any text, and a glob that matches nothing is harmless.
    /// </summary>
    public static ServerAcl Create(IReadOnlyList<string> allow, IReadOnlyList<string> deny, bool allowIpLiterals = true)
    {
        ArgumentNullException.ThrowIfNull(allow);
        ArgumentNullException.ThrowIfNull(deny);
        return new ServerAcl(false, Copy(allow, null), Copy(deny, null), allowIpLiterals);
    }

    /// <summary>
    /// This ACL plus more deny globs (for example server bans from a policy list). On <see cref="AllowAll"/> the
    /// result allows <c>*</c>, denies <paramref name="extraDeny"/> and allows IP literals.
    /// </summary>
    public ServerAcl WithExtraDeny(IReadOnlyList<string> extraDeny)
    {
        ArgumentNullException.ThrowIfNull(extraDeny);
        if (extraDeny.Count == 0)
        {
            return this;
        }

        string[] allow = _allowAll ? ["*"] : Copy(Allow, null);
        return new ServerAcl(false, allow, Copy(Deny, extraDeny), AllowIpLiterals);
    }

    /// <summary>Whether a server may take part. <paramref name="serverName"/> may carry a port, which is ignored.</summary>
    public bool IsAllowed(string serverName)
    {
        ArgumentNullException.ThrowIfNull(serverName);
        if (_allowAll)
        {
            return true;
        }

        var host = HostPart(serverName);
        if (!AllowIpLiterals && IsIpLiteral(host))
        {
            return false;
        }

        if (_deny is not null && _deny.IsMatch(host))
        {
            return false;
        }

        return _allow is not null && _allow.IsMatch(host);
    }

    /// <summary>
    /// The server name without its port: <c>evil.com:8448</c> gives <c>evil.com</c>, <c>[::1]:8448</c> gives
    /// <c>[::1]</c>. Names with no port come back unchanged (the same instance).
    /// </summary>
    public static string StripPort(string serverName)
    {
        ArgumentNullException.ThrowIfNull(serverName);
        var host = HostPart(serverName);
        return host.Length == serverName.Length ? serverName : host.ToString();
    }

    // A well-formed name has at most one ':' outside brackets. On a malformed one ("evil.com:1:2") we cut at the
    // first ':', so junk after the host cannot move the name out from under a deny glob.
    private static ReadOnlySpan<char> HostPart(string serverName)
    {
        var span = serverName.AsSpan();
        if (span.Length > 0 && span[0] == '[')
        {
            var close = span.IndexOf(']');
            return close < 0 ? span : span[..(close + 1)];
        }

        var colon = span.IndexOf(':');
        return colon < 0 ? span : span[..colon];
    }

    // The spec: IPv6 literals start with '['; IPv4 literals are dotted quads (Synapse: Rust's Ipv4Addr::from_str).
    private static bool IsIpLiteral(ReadOnlySpan<char> host)
    {
        return (host.Length > 0 && host[0] == '[') || Ipv4Text.TryParse(host, out _);
    }

    private static string[] Copy(IReadOnlyList<string> first, IReadOnlyList<string>? second)
    {
        var result = new List<string>(first.Count + (second?.Count ?? 0));
        AddNonNull(result, first);
        if (second is not null)
        {
            AddNonNull(result, second);
        }

        return result.ToArray();
    }

    private static void AddNonNull(List<string> into, IReadOnlyList<string> from)
    {
        for (var i = 0; i < from.Count; i++)
        {
            if (from[i] is { } glob)
            {
                into.Add(glob);
            }
        }
    }
}
