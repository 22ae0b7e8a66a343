using Gateway.Policy.Net;
using Xunit;

namespace Gateway.Policy.Tests.Net;

public sealed class IpListFileTests
{
    [Fact]
    public void Parse_MixedFile_EntriesAndErrorsWithLineNumbers()
    {
        var text = string.Join('\n',
            "# blocked networks",
            "",
            "10.0.0.0/8",
            "   192.168.0.0/16   # trailing comment",
            "2001:db8::/32 2026-12-01T00:00:00Z",
            "1.2.3.4 2026-12-01T00:00:00Z botnet C&C, ticket 42",
            "10.0.0.1/8 2026-12-01T00:00:00Z",
            "5.6.7.0/24 scanner from abuse report",
            "8.8.8.0/24 2026-13-01T00:00:00Z typo in month",
            "\t# indented comment",
            "9.9.9.9",
            "not-an-ip",
            "");
        var errors = new List<string>();

        var entries = IpListFile.Parse(text, "blocklist.txt", errors);

        Assert.Equal(
            [
                "blocklist.txt:7: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?",
                "blocklist.txt:9: expiry '2026-13-01T00:00:00Z' is not an ISO-8601 timestamp with a zone, like 2026-12-01T00:00:00Z",
                "blocklist.txt:12: not-an-ip is not a valid CIDR: not-an-ip is not an IPv4 address (four decimal octets 0-255, no leading zeros) or an IPv6 address",
            ],
            errors);
        Assert.Equal(6, entries.Count);

        Assert.Equal(new IpBlockEntry(CidrBlock.Parse("10.0.0.0/8"), null, null, "blocklist.txt:3"), entries[0]);
        Assert.Equal(new IpBlockEntry(CidrBlock.Parse("192.168.0.0/16"), null, null, "blocklist.txt:4"), entries[1]);
        Assert.Equal(
            new IpBlockEntry(CidrBlock.Parse("2001:db8::/32"), new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), null, "blocklist.txt:5"),
            entries[2]);
        Assert.Equal(
            new IpBlockEntry(CidrBlock.Parse("1.2.3.4"), new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), "botnet C&C, ticket 42", "blocklist.txt:6"),
            entries[3]);
        Assert.Equal(new IpBlockEntry(CidrBlock.Parse("5.6.7.0/24"), null, "scanner from abuse report", "blocklist.txt:8"), entries[4]);
        Assert.Equal(new IpBlockEntry(CidrBlock.Parse("9.9.9.9/32"), null, null, "blocklist.txt:11"), entries[5]);
    }

    [Theory]
    [InlineData("2026-12-01T00:00:00Z", "2026-12-01T00:00:00+00:00")]
    [InlineData("2026-12-01T00:00Z", "2026-12-01T00:00:00+00:00")]
    [InlineData("2026-12-01T10:30:00.5Z", "2026-12-01T10:30:00.5+00:00")]
    [InlineData("2026-12-01T02:00:00+02:00", "2026-12-01T00:00:00+00:00")]
    [InlineData("2026-12-01T00:00:00-05:00", "2026-12-01T05:00:00+00:00")]
    [InlineData("2026-12-01", "2026-12-01T00:00:00+00:00")]
    public void Parse_ExpiryForms_ParsedAsInstant(string expiry, string expectedUtc)
    {
        var errors = new List<string>();

        var entries = IpListFile.Parse($"10.0.0.0/8 {expiry}", "f", errors);

        Assert.Empty(errors);
        Assert.Equal(DateTimeOffset.Parse(expectedUtc, System.Globalization.CultureInfo.InvariantCulture), Assert.Single(entries).Expires);
    }

    [Theory]
    [InlineData("2026-12-01T00:00:00")]
    [InlineData("2026-02-30T00:00:00Z")]
    [InlineData("12/01/2026")]
    [InlineData("1700000000")]
    [InlineData("2026-12-01T00:00:00z")]
    public void Parse_BadExpiry_ReportsError(string expiry)
    {
        var errors = new List<string>();

        var entries = IpListFile.Parse($"10.0.0.0/8 {expiry}", "f", errors);

        Assert.Empty(entries);
        var field = expiry.Split(' ')[0];
        Assert.Equal($"f:1: expiry '{field}' is not an ISO-8601 timestamp with a zone, like 2026-12-01T00:00:00Z", Assert.Single(errors));
    }

    [Theory]
    [InlineData("10.0.0.0/8\r\n\r\n1.0.0.0/8\r\nbad\r\n", 4)]
    [InlineData("10.0.0.0/8\r\rbad\r1.0.0.0/8", 3)]
    [InlineData("10.0.0.0/8\n\n1.0.0.0/8\nbad", 4)]
    [InlineData("\uFEFF10.0.0.0/8\n1.0.0.0/8\n\nbad\n", 4)]
    public void Parse_LineEndingsAndBom_LineNumbersStayRight(string text, int badLine)
    {
        var errors = new List<string>();

        var entries = IpListFile.Parse(text, "f", errors);

        Assert.Equal(2, entries.Count);
        Assert.StartsWith($"f:{badLine}: ", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DateAndTimeSplitBySpace_ReportsError()
    {
        var errors = new List<string>();

        var entries = IpListFile.Parse("10.0.0.0/8 2026-12-01 10:00:00Z reason", "f", errors);

        Assert.Empty(entries);
        Assert.Equal("f:1: expiry '2026-12-01 10:00:00Z' must be one field, like 2026-12-01T10:00:00Z", Assert.Single(errors));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    [InlineData("# only a comment")]
    [InlineData("   # indented\n\t\n#10.0.0.0/8")]
    public void Parse_NoEntries_Empty(string text)
    {
        var errors = new List<string>();

        Assert.Empty(IpListFile.Parse(text, "f", errors));
        Assert.Empty(errors);
    }

    [Fact]
    public void Parse_ReasonWithExtraSpaces_KeptInside()
    {
        var errors = new List<string>();

        var entry = Assert.Single(IpListFile.Parse("1.2.3.4\t2026-12-01T00:00:00Z   spam   wave  ", "f", errors));

        Assert.Equal("spam   wave", entry.Reason);
    }

    [Fact]
    public void Parse_ErrorsAppended_ExistingErrorsKept()
    {
        var errors = new List<string> { "earlier error" };

        IpListFile.Parse("bad", "f", errors);

        Assert.Equal(["earlier error", "f:1: bad is not a valid CIDR: bad is not an IPv4 address (four decimal octets 0-255, no leading zeros) or an IPv6 address"], errors);
    }

    [Fact]
    public void Parse_ThenBuild_Blocks()
    {
        var errors = new List<string>();
        var entries = IpListFile.Parse("10.0.0.0/8 2026-06-01T00:00:00Z old\n10.1.0.0/16\n", "f", errors);
        var list = IpBlockList.Build(entries);
        var before = new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);
        var after = new DateTimeOffset(2026, 7, 1, 0, 0, 0, TimeSpan.Zero);

        Assert.True(list.IsBlocked(System.Net.IPAddress.Parse("10.2.0.1"), before));
        Assert.False(list.IsBlocked(System.Net.IPAddress.Parse("10.2.0.1"), after));
        Assert.True(list.IsBlocked(System.Net.IPAddress.Parse("10.1.0.1"), after));
    }
}
