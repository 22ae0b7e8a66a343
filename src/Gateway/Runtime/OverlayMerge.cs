using Gateway.Configuration;
using Gateway.Policy.Net;

namespace Gateway.Runtime;

/// <summary>How the admin overlay (runtime IP blocks and ACL denies) merges into a runtime snapshot.</summary>
internal static class OverlayMerge
{
    /// <summary>
    /// The snapshot with this overlay merged: gateway.toml's IP entries plus ours in one list, and the configured ACL
    /// with our deny globs added. The policy, routes and version are the snapshot's own.
    /// </summary>
    public static RuntimeSnapshot ApplyTo(this AdminOverlay overlay, RuntimeSnapshot snapshot)
    {
        var ipBlocks = snapshot.IpBlocks;
        var acl = snapshot.Acl;
        var baseIps = snapshot.Config.IpBlocks;
        if (overlay.IpBlocks.Count > 0 || snapshot.IpBlocks.Count != baseIps.Count)
        {
            var entries = new List<IpBlockEntry>(baseIps.Count + overlay.IpBlocks.Count);
            entries.AddRange(baseIps);
            foreach (var b in overlay.IpBlocks)
            {
                entries.Add(new IpBlockEntry(b.Cidr, b.Expires, b.Reason, AdminOverlay.Source));
            }

            ipBlocks = IpBlockList.Build(entries);
        }

        // The configured ACL (gateway.toml and policy-list server bans) plus our deny globs: the one ACL the
        // federation gate reads, so a runtime entry takes effect with this swap.
        var baseAcl = snapshot.ConfigAcl;
        acl = overlay.AclDeny.Count == 0 ? baseAcl : baseAcl.WithExtraDeny(overlay.AclDeny.Select(d => d.Server).ToArray());

        return new RuntimeSnapshot
        {
            Version = snapshot.Version,
            LoadedAt = snapshot.LoadedAt,
            Config = snapshot.Config,
            Policy = snapshot.Policy,
            Protections = snapshot.Protections,
            Acl = acl,
            ConfigAcl = snapshot.ConfigAcl,
            IpBlocks = ipBlocks,
            TrustedProxies = snapshot.TrustedProxies,
            Routes = snapshot.Routes,
            ProxyRoutes = snapshot.ProxyRoutes,
            ProxyClusters = snapshot.ProxyClusters,
            Overlay = overlay,
        };
    }
}
