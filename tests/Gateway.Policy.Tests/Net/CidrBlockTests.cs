using System.Net;
using System.Net.Sockets;
using Gateway.Policy.Net;
using Xunit;

namespace Gateway.Policy.Tests.Net;

public sealed class CidrBlockTests
{
    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.0/8", 8)]
    [InlineData("0.0.0.0/0", "0.0.0.0/0", 0)]
    [InlineData("1.2.3.4", "1.2.3.4/32", 32)]
    [InlineData("1.2.3.4/32", "1.2.3.4/32", 32)]
    [InlineData("192.168.1.2/31", "192.168.1.2/31", 31)]
    [InlineData("255.255.255.255/32", "255.255.255.255/32", 32)]
    [InlineData("  10.0.0.0/8\t", "10.0.0.0/8", 8)]
    [InlineData("2001:db8::/32", "2001:db8::/32", 32)]
    [InlineData("2001:DB8:0:0::/32", "2001:db8::/32", 32)]
    [InlineData("::/0", "::/0", 0)]
    [InlineData("::1", "::1/128", 128)]
    [InlineData("2001:db8::2/127", "2001:db8::2/127", 127)]
    [InlineData("::ffff:1.2.3.0/120", "::ffff:1.2.3.0/120", 120)]
    [InlineData("::ffff:0:0/96", "::ffff:0:0/96", 96)]
    [InlineData("fe80::/10", "fe80::/10", 10)]
    [InlineData("10.0.0.0/08", "10.0.0.0/8", 8)]
    public void TryParse_Valid_Canonical(string text, string canonical, int prefix)
    {
        Assert.True(CidrBlock.TryParse(text, out var block, out var error), error);
        Assert.Null(error);
        Assert.Equal(canonical, block.ToString());
        Assert.Equal(prefix, block.PrefixLength);
    }

    [Theory]
    [InlineData("10.0.0.1/8", "10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?")]
    [InlineData("192.168.1.1/31", "192.168.1.1/31 has host bits set; did you mean 192.168.1.0/31?")]
    [InlineData("1.2.3.4/0", "1.2.3.4/0 has host bits set; did you mean 0.0.0.0/0?")]
    [InlineData("2001:db8::1/32", "2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?")]
    [InlineData("2001:db8::1/127", "2001:db8::1/127 has host bits set; did you mean 2001:db8::/127?")]
    [InlineData("::ffff:1.2.3.4/120", "::ffff:1.2.3.4/120 has host bits set; did you mean ::ffff:1.2.3.0/120?")]
    [InlineData("::1/0", "::1/0 has host bits set; did you mean ::/0?")]
    public void TryParse_HostBitsSet_SuggestsCanonical(string text, string expected)
    {
        Assert.False(CidrBlock.TryParse(text, out var block, out var error));
        Assert.Equal(expected, error);
        Assert.Equal(default, block);
    }

    [Theory]
    [InlineData("10.0.0.0/33", "10.0.0.0/33 is not a valid CIDR: prefix length 33 is out of range for IPv4 (0-32)")]
    [InlineData("2001:db8::/129", "2001:db8::/129 is not a valid CIDR: prefix length 129 is out of range for IPv6 (0-128)")]
    [InlineData("10.0.0.0/", "10.0.0.0/ is not a valid CIDR: prefix length '' is not a number")]
    [InlineData("10.0.0.0/-1", "10.0.0.0/-1 is not a valid CIDR: prefix length '-1' is not a number")]
    [InlineData("10.0.0.0/+8", "10.0.0.0/+8 is not a valid CIDR: prefix length '+8' is not a number")]
    [InlineData("10.0.0.0/8/8", "10.0.0.0/8/8 is not a valid CIDR: prefix length '8/8' is not a number")]
    [InlineData("10.0.0.0/ 8", "10.0.0.0/ 8 is not a valid CIDR: prefix length ' 8' is not a number")]
    [InlineData("10.0.0.0/1000", "10.0.0.0/1000 is not a valid CIDR: prefix length '1000' is not a number")]
    public void TryParse_BadPrefix_ReturnsError(string text, string expected)
    {
        Assert.False(CidrBlock.TryParse(text, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void TryParse_Empty_ReturnsError(string? text)
    {
        Assert.False(CidrBlock.TryParse(text!, out _, out var error));
        Assert.Equal("empty CIDR", error);
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("1.2.3")]
    [InlineData("1.2.3.4.5")]
    [InlineData("256.0.0.0")]
    [InlineData("010.0.0.0/8")]
    [InlineData("0x0a.0.0.0/8")]
    [InlineData("1.2.3.4 /32")]
    [InlineData("-1.2.3.4")]
    [InlineData("1..3.4")]
    [InlineData("/8")]
    public void TryParse_BadIPv4_ReturnsError(string text)
    {
        Assert.False(CidrBlock.TryParse(text, out _, out var error));
        Assert.NotNull(error);
        Assert.Contains("is not a valid CIDR", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2001:db8:::/32")]
    [InlineData("[::1]")]
    [InlineData("[::1]/128")]
    [InlineData("fe80::1%eth0")]
    [InlineData("fe80::1%1/128")]
    [InlineData("2001:db8::g")]
    [InlineData("1:2:3:4:5:6:7:8:9")]
    [InlineData(":")]
    public void TryParse_BadIPv6_ReturnsError(string text)
    {
        Assert.False(CidrBlock.TryParse(text, out _, out var error));
        Assert.Equal($"{text} is not a valid CIDR: {text.Split('/')[0]} is not an IPv6 address", error);
    }

    [Fact]
    public void TryParse_BadIPv4_MessageNamesTheRule()
    {
        Assert.False(CidrBlock.TryParse("010.0.0.0/8", out _, out var error));
        Assert.Equal(
            "010.0.0.0/8 is not a valid CIDR: 010.0.0.0 is not an IPv4 address (four decimal octets 0-255, no leading zeros) or an IPv6 address",
            error);
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.0", true)]
    [InlineData("10.0.0.0/8", "10.255.255.255", true)]
    [InlineData("10.0.0.0/8", "11.0.0.0", false)]
    [InlineData("10.0.0.0/8", "9.255.255.255", false)]
    [InlineData("10.0.0.0/8", "::ffff:10.1.2.3", true)]
    [InlineData("10.0.0.0/8", "::10.1.2.3", false)]
    [InlineData("10.0.0.0/8", "2001:db8::1", false)]
    [InlineData("0.0.0.0/0", "8.8.8.8", true)]
    [InlineData("0.0.0.0/0", "::ffff:8.8.8.8", true)]
    [InlineData("0.0.0.0/0", "::1", false)]
    [InlineData("0.0.0.0/0", "2001:db8::1", false)]
    [InlineData("::/0", "2001:db8::1", true)]
    [InlineData("::/0", "1.2.3.4", true)]
    [InlineData("::ffff:1.2.3.0/120", "1.2.3.77", true)]
    [InlineData("::ffff:1.2.3.0/120", "1.2.4.77", false)]
    [InlineData("192.168.1.2/31", "192.168.1.3", true)]
    [InlineData("192.168.1.2/31", "192.168.1.4", false)]
    [InlineData("2001:db8::2/127", "2001:db8::3", true)]
    [InlineData("2001:db8::2/127", "2001:db8::4", false)]
    [InlineData("fe80::/10", "fe80::1%5", true)]
    public void Contains_Addresses_MatchesTable(string cidr, string address, bool expected)
    {
        Assert.Equal(expected, CidrBlock.Parse(cidr).Contains(IPAddress.Parse(address)));
    }

    [Fact]
    public void Contains_Default_ContainsNothing()
    {
        Assert.False(default(CidrBlock).Contains(IPAddress.Parse("1.2.3.4")));
        Assert.False(default(CidrBlock).Contains(IPAddress.IPv6Any));
        Assert.Equal(string.Empty, default(CidrBlock).ToString());
        Assert.Equal(AddressFamily.Unknown, default(CidrBlock).AddressFamily);
    }

    [Fact]
    public void Properties_IPv4_DescribeBlock()
    {
        var block = CidrBlock.Parse("10.1.0.0/16");

        Assert.Equal(AddressFamily.InterNetwork, block.AddressFamily);
        Assert.Equal(IPAddress.Parse("10.1.0.0"), block.Network);
        Assert.Equal(16, block.PrefixLength);
    }

    [Fact]
    public void Properties_IPv6_DescribeBlock()
    {
        var block = CidrBlock.Parse("2001:db8::/32");

        Assert.Equal(AddressFamily.InterNetworkV6, block.AddressFamily);
        Assert.Equal(IPAddress.Parse("2001:db8::"), block.Network);
        Assert.Equal(32, block.PrefixLength);
    }

    [Fact]
    public void Equality_SameText_Equal()
    {
        Assert.Equal(CidrBlock.Parse("10.0.0.0/8"), CidrBlock.Parse("10.0.0.0/8"));
        Assert.Equal(CidrBlock.Parse("2001:db8::/32"), CidrBlock.Parse("2001:0db8:0::/32"));
        Assert.NotEqual(CidrBlock.Parse("10.0.0.0/8"), CidrBlock.Parse("10.0.0.0/9"));
    }

    [Fact]
    public void Constructor_Valid_SameAsParse()
    {
        Assert.Equal(CidrBlock.Parse("10.0.0.0/8"), new CidrBlock(IPAddress.Parse("10.0.0.0"), 8));
        Assert.Equal(CidrBlock.Parse("2001:db8::/32"), new CidrBlock(IPAddress.Parse("2001:db8::"), 32));
    }

    [Fact]
    public void Constructor_HostBits_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => new CidrBlock(IPAddress.Parse("10.0.0.1"), 8));

        Assert.StartsWith("10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.0", 33)]
    [InlineData("10.0.0.0", -1)]
    [InlineData("::", 129)]
    public void Constructor_PrefixOutOfRange_Throws(string address, int prefix)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CidrBlock(IPAddress.Parse(address), prefix));
    }

    [Fact]
    public void Parse_Bad_ThrowsFormatException()
    {
        var ex = Assert.Throws<FormatException>(() => CidrBlock.Parse("10.0.0.1/8"));

        Assert.Equal("10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?", ex.Message);
    }
}
