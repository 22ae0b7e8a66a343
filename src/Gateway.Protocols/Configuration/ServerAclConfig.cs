using Gateway.Policy.Acl;

namespace Gateway.Protocols.Configuration;

/// <summary>
/// A server ACL as gateway.toml writes it (<c>[server_acl]</c>, Matrix room ACLs): allow and deny globs and
/// <c>allow_ip_literals</c>, with the semantics of <c>m.room.server_acl</c>.
/// </summary>
public sealed record ServerAclConfig(IReadOnlyList<string> Allow, IReadOnlyList<string> Deny, bool AllowIpLiterals)
{
    /// <summary>Reads allow, deny and allow_ip_literals from <paramref name="table"/> (not Finish: the caller may read more keys).</summary>
    public static ServerAclConfig Read(TomlTableReader table)
    {
        var allow = table.StringList("allow");
        var deny = table.StringList("deny");
        foreach (var (key, list) in new[] { ("allow", allow), ("deny", deny) })
        {
            foreach (var g in list)
            {
                if (!ServerNameGlob.TryValidate(g, out var error))
                {
                    table.Error(key, error!);
                }
            }
        }

        return new ServerAclConfig(allow, deny, table.Bool("allow_ip_literals", true));
    }

    public ServerAcl Compile() => ServerAcl.Create(Allow, Deny, AllowIpLiterals);
}
