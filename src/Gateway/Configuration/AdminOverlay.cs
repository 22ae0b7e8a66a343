using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gateway.Policy.Acl;
using Gateway.Policy.Net;

namespace Gateway.Configuration;

/// <summary>An IP block added at runtime through the admin API.</summary>
internal sealed record OverlayIpBlock(CidrBlock Cidr, DateTimeOffset? Expires, string? Reason, DateTimeOffset Added);

/// <summary>A server-ACL deny glob added at runtime through the admin API.</summary>
internal sealed record OverlayAclDeny(string Server, DateTimeOffset? Expires, string? Reason, DateTimeOffset Added);

/// <summary>
/// Runtime IP blocks and ACL deny entries, kept beside gateway.toml's own in an overlay file so they survive restarts
/// and reloads. Immutable: a change makes a new overlay, which the runtime (<c>GatewayState.SetOverlay</c>) merges into
/// the live snapshot (one IP trie, one ACL: the hot path still does one lookup).
/// </summary>
internal sealed record AdminOverlay(IReadOnlyList<OverlayIpBlock> IpBlocks, IReadOnlyList<OverlayAclDeny> AclDeny)
{
    public const string Source = "admin";
    public const int MaxReasonLength = 200;

    public static AdminOverlay Empty { get; } = new(Array.Empty<OverlayIpBlock>(), Array.Empty<OverlayAclDeny>());

    public bool IsEmpty => IpBlocks.Count == 0 && AclDeny.Count == 0;

    /// <summary>The earliest expiry of any entry, for pruning; null when nothing expires.</summary>
    public DateTimeOffset? NextExpiry
    {
        get
        {
            DateTimeOffset? next = null;
            foreach (var b in IpBlocks)
            {
                if (b.Expires is { } e && (next is null || e < next))
                {
                    next = e;
                }
            }

            foreach (var a in AclDeny)
            {
                if (a.Expires is { } e && (next is null || e < next))
                {
                    next = e;
                }
            }

            return next;
        }
    }

    public AdminOverlay WithoutExpired(DateTimeOffset now) => new(
        IpBlocks.Where(b => b.Expires is not { } e || now < e).ToArray(),
        AclDeny.Where(a => a.Expires is not { } e || now < e).ToArray());

    public string ToJson()
    {
        var file = new OverlayFile
        {
            Version = 1,
            IpBlocks = IpBlocks.Select(b => new OverlayFileIpBlock { Cidr = b.Cidr.ToString(), Expires = b.Expires, Reason = b.Reason, Added = b.Added }).ToList(),
            AclDeny = AclDeny.Select(a => new OverlayFileAclDeny { Server = a.Server, Expires = a.Expires, Reason = a.Reason, Added = a.Added }).ToList(),
        };
        return JsonSerializer.Serialize(file, OverlayJson.Default.OverlayFile);
    }

    /// <summary>Reads an overlay file; every entry is validated as the admin API validates it.</summary>
    public static bool TryParse(string json, out AdminOverlay overlay, out string? error)
    {
        overlay = Empty;
        OverlayFile? file;
        try
        {
            file = JsonSerializer.Deserialize(json, OverlayJson.Default.OverlayFile);
        }
        catch (JsonException ex)
        {
            error = $"not a valid overlay file: {ex.Message}";
            return false;
        }

        if (file is null || file.Version != 1)
        {
            error = $"unsupported overlay file version {file?.Version}; expected 1";
            return false;
        }

        var ips = new List<OverlayIpBlock>();
        foreach (var b in file.IpBlocks ?? [])
        {
            if (!CidrBlock.TryParse(b.Cidr ?? "", out var block, out var e))
            {
                error = $"ip_blocks: {e}";
                return false;
            }

            ips.Add(new OverlayIpBlock(block, b.Expires, b.Reason, b.Added));
        }

        var acl = new List<OverlayAclDeny>();
        foreach (var a in file.AclDeny ?? [])
        {
            if (!ServerNameGlob.TryValidate(a.Server ?? "", out var e))
            {
                error = $"acl_deny: {e}";
                return false;
            }

            acl.Add(new OverlayAclDeny(a.Server!, a.Expires, a.Reason, a.Added));
        }

        overlay = new AdminOverlay(ips, acl);
        error = null;
        return true;
    }

    /// <summary>Checks a reason an operator typed: short, one line.</summary>
    public static string? CheckReason(string? reason) =>
        reason is null ? null
        : reason.Length > MaxReasonLength ? $"reason is longer than {MaxReasonLength} characters"
        : reason.Any(char.IsControl) ? "reason contains control characters"
        : null;

    public static string FormatTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

internal sealed class OverlayFile
{
    public int Version { get; set; }

    public List<OverlayFileIpBlock>? IpBlocks { get; set; }

    public List<OverlayFileAclDeny>? AclDeny { get; set; }
}

internal sealed class OverlayFileIpBlock
{
    public string? Cidr { get; set; }

    public DateTimeOffset? Expires { get; set; }

    public string? Reason { get; set; }

    public DateTimeOffset Added { get; set; }
}

internal sealed class OverlayFileAclDeny
{
    public string? Server { get; set; }

    public DateTimeOffset? Expires { get; set; }

    public string? Reason { get; set; }

    public DateTimeOffset Added { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OverlayFile))]
internal sealed partial class OverlayJson : JsonSerializerContext;
