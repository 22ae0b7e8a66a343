namespace Gateway.Policy.Net;

/// <summary>
/// One blocked network. <paramref name="Expires"/> is the first instant at which the entry no longer blocks;
/// <paramref name="Source"/> says where it came from (for list files, <c>file:line</c>).
/// </summary>
public sealed record IpBlockEntry(CidrBlock Cidr, DateTimeOffset? Expires = null, string? Reason = null, string? Source = null)
{
    public bool IsActive(DateTimeOffset now) => Expires is not { } expires || now < expires;
}
