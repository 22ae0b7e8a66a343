using System.Net;
using Gateway.Policy.Net;
using Xunit;

namespace Gateway.Policy.Tests.Net;

public sealed class IpBlockListTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Entries are space-separated CIDRs; a suffix sets the expiry: '!' expired a day ago, '@' expires exactly now
    /// (so already expired), '~' expires tomorrow. No suffix: never expires.
    /// </summary>
    [Theory]
    [InlineData("0.0.0.0/0", "1.2.3.4", "0.0.0.0/0")]
    [InlineData("0.0.0.0/0", "255.255.255.255", "0.0.0.0/0")]
    [InlineData("0.0.0.0/0", "::ffff:1.2.3.4", "0.0.0.0/0")]
    [InlineData("0.0.0.0/0", "::1", null)]
    [InlineData("0.0.0.0/0", "::", null)]
    [InlineData("0.0.0.0/0", "2001:db8::1", null)]
    [InlineData("::/0", "2001:db8::1", "::/0")]
    [InlineData("::/0", "1.2.3.4", "::/0")]
    [InlineData("::/0", "::", "::/0")]
    [InlineData("1.2.3.4/32", "1.2.3.4", "1.2.3.4/32")]
    [InlineData("1.2.3.4/32", "::ffff:1.2.3.4", "1.2.3.4/32")]
    [InlineData("1.2.3.4/32", "1.2.3.5", null)]
    [InlineData("1.2.3.4/32", "1.2.3.3", null)]
    [InlineData("2001:db8::1/128", "2001:db8::1", "2001:db8::1/128")]
    [InlineData("2001:db8::1/128", "2001:db8::", null)]
    [InlineData("2001:db8::1/128", "2001:db8::2", null)]
    [InlineData("192.168.1.2/31", "192.168.1.2", "192.168.1.2/31")]
    [InlineData("192.168.1.2/31", "192.168.1.3", "192.168.1.2/31")]
    [InlineData("192.168.1.2/31", "192.168.1.1", null)]
    [InlineData("192.168.1.2/31", "192.168.1.4", null)]
    [InlineData("2001:db8::2/127", "2001:db8::2", "2001:db8::2/127")]
    [InlineData("2001:db8::2/127", "2001:db8::3", "2001:db8::2/127")]
    [InlineData("2001:db8::2/127", "2001:db8::4", null)]
    [InlineData("::ffff:1.2.3.0/120", "1.2.3.200", "::ffff:1.2.3.0/120")]
    [InlineData("::ffff:1.2.3.0/120", "::ffff:1.2.3.200", "::ffff:1.2.3.0/120")]
    [InlineData("::ffff:1.2.3.0/120", "1.2.4.0", null)]
    [InlineData("1.2.3.0/24", "::1.2.3.4", null)]
    [InlineData("1.2.3.0/24", "64:ff9b::1.2.3.4", null)]
    [InlineData("1.2.3.0/24", "2001:db8::102:304", null)]
    [InlineData("1.2.3.0/24", "::ffff:1.2.3.4", "1.2.3.0/24")]
    [InlineData("2001:db8::/32", "1.2.3.4", null)]
    [InlineData("::ffff:0:0/96", "9.9.9.9", "::ffff:0:0/96")]
    [InlineData("::fffe:0:0/95", "9.9.9.9", "::fffe:0:0/95")]
    [InlineData("::fffe:0:0/95", "::fffe:1:1", "::fffe:0:0/95")]
    [InlineData("::ffff:0:0/97", "200.9.9.9", null)]
    [InlineData("::ffff:0:0/97", "127.0.0.1", "::ffff:0:0/97")]
    [InlineData("::ffff:128.0.0.0/97", "200.9.9.9", "::ffff:128.0.0.0/97")]
    [InlineData("10.0.0.0/8 10.1.0.0/16 10.1.2.0/24", "10.1.2.3", "10.1.2.0/24")]
    [InlineData("10.0.0.0/8 10.1.0.0/16 10.1.2.0/24", "10.1.3.3", "10.1.0.0/16")]
    [InlineData("10.0.0.0/8 10.1.0.0/16 10.1.2.0/24", "10.2.0.0", "10.0.0.0/8")]
    [InlineData("10.0.0.0/8 10.1.0.0/16 10.1.2.0/24", "11.0.0.0", null)]
    [InlineData("10.1.2.0/24 10.1.0.0/16 10.0.0.0/8", "10.1.2.3", "10.1.2.0/24")]
    [InlineData("10.0.0.0/9 10.0.0.0/10 10.0.0.0/11", "10.0.0.1", "10.0.0.0/11")]
    [InlineData("10.0.0.0/9 10.0.0.0/10 10.0.0.0/11", "10.32.0.1", "10.0.0.0/10")]
    [InlineData("10.0.0.0/9 10.0.0.0/10 10.0.0.0/11", "10.64.0.1", "10.0.0.0/9")]
    [InlineData("10.0.0.0/9 10.0.0.0/10 10.0.0.0/11", "10.128.0.1", null)]
    [InlineData("2001:db8::/32 2001:db8:1::/48 1.0.0.0/8", "2001:db8:1::5", "2001:db8:1::/48")]
    [InlineData("2001:db8::/32 2001:db8:1::/48 1.0.0.0/8", "2001:db8:2::5", "2001:db8::/32")]
    [InlineData("2001:db8::/32 2001:db8:1::/48 1.0.0.0/8", "1.1.1.1", "1.0.0.0/8")]
    [InlineData("::/0 0.0.0.0/0 10.0.0.0/8", "10.1.1.1", "10.0.0.0/8")]
    [InlineData("::/0 0.0.0.0/0 10.0.0.0/8", "11.1.1.1", "0.0.0.0/0")]
    [InlineData("::/0 0.0.0.0/0 10.0.0.0/8", "fe80::1", "::/0")]
    public void TryMatch_LiveEntries_MatchesTable(string entries, string address, string? expected)
    {
        AssertMatch(entries, address, expected);
    }

    [Theory]
    [InlineData("10.0.0.0/8!", "10.1.2.3", null)]
    [InlineData("10.0.0.0/8@", "10.1.2.3", null)]
    [InlineData("10.0.0.0/8~", "10.1.2.3", "10.0.0.0/8")]
    [InlineData("10.0.0.0/8! 10.1.0.0/16", "10.1.2.3", "10.1.0.0/16")]
    [InlineData("10.0.0.0/8! 10.1.0.0/16", "10.2.2.3", null)]
    [InlineData("10.0.0.0/8 10.1.0.0/16!", "10.1.2.3", "10.0.0.0/8")]
    [InlineData("10.0.0.0/8 10.1.0.0/16!", "10.2.2.3", "10.0.0.0/8")]
    [InlineData("10.0.0.0/8 10.1.0.0/16! 10.1.2.0/24!", "10.1.2.3", "10.0.0.0/8")]
    [InlineData("10.0.0.0/8! 10.1.0.0/16 10.1.2.0/24!", "10.1.2.3", "10.1.0.0/16")]
    [InlineData("10.0.0.0/8! 10.1.0.0/16! 10.1.2.0/24!", "10.1.2.3", null)]
    [InlineData("::/0 0.0.0.0/0! 10.0.0.0/8!", "10.1.1.1", "::/0")]
    [InlineData("::/0! 0.0.0.0/0! 10.0.0.0/8!", "10.1.1.1", null)]
    [InlineData("10.0.0.0/9 10.0.0.0/10! 10.0.0.0/11!", "10.0.0.1", "10.0.0.0/9")]
    [InlineData("10.0.0.0/9! 10.0.0.0/10 10.0.0.0/11!", "10.0.0.1", "10.0.0.0/10")]
    [InlineData("1.2.3.4/32! 1.2.3.0/24~", "::ffff:1.2.3.4", "1.2.3.0/24")]
    [InlineData("2001:db8::/32 2001:db8::1/128!", "2001:db8::1", "2001:db8::/32")]
    [InlineData("2001:db8::/32! 2001:db8::1/128", "2001:db8::1", "2001:db8::1/128")]
    [InlineData("2001:db8::/32! 2001:db8::1/128", "2001:db8::2", null)]
    public void TryMatch_Expiry_SkipsExpiredOnly(string entries, string address, string? expected)
    {
        AssertMatch(entries, address, expected);
    }

    [Theory]
    [InlineData("10.0.0.0/8! 10.0.0.0/8~", "10.1.1.1", "10.0.0.0/8")]
    [InlineData("10.0.0.0/8~ 10.0.0.0/8!", "10.1.1.1", "10.0.0.0/8")]
    [InlineData("10.0.0.0/8! 10.0.0.0/8", "10.1.1.1", "10.0.0.0/8")]
    [InlineData("10.0.0.0/8! 10.0.0.0/8@", "10.1.1.1", null)]
    [InlineData("1.2.3.0/24! ::ffff:1.2.3.0/120", "1.2.3.4", "::ffff:1.2.3.0/120")]
    [InlineData("::ffff:1.2.3.0/120! 1.2.3.0/24", "::ffff:1.2.3.4", "1.2.3.0/24")]
    public void TryMatch_DuplicateNetworks_LongestLivedSpeaks(string entries, string address, string? expected)
    {
        AssertMatch(entries, address, expected);
    }

    [Fact]
    public void TryMatch_Match_ReturnsEntryWithReasonAndSource()
    {
        var entry = new IpBlockEntry(CidrBlock.Parse("10.0.0.0/8"), Now.AddDays(1), "scanner", "test:1");
        var list = IpBlockList.Build([entry]);

        Assert.True(list.TryMatch(IPAddress.Parse("10.9.9.9"), Now, out var match));
        Assert.Same(entry, match);
        Assert.False(list.TryMatch(IPAddress.Parse("10.9.9.9"), Now.AddDays(1), out match));
        Assert.Null(match);
    }

    [Fact]
    public void IsBlocked_Empty_BlocksNothing()
    {
        Assert.False(IpBlockList.Empty.IsBlocked(IPAddress.Parse("1.2.3.4"), Now));
        Assert.False(IpBlockList.Empty.IsBlocked(IPAddress.IPv6Loopback, Now));
        Assert.Equal(0, IpBlockList.Empty.Count);
        Assert.Empty(IpBlockList.Empty.Entries);
    }

    [Fact]
    public void Entries_WithDuplicates_KeptInOrder()
    {
        var a = new IpBlockEntry(CidrBlock.Parse("10.0.0.0/8"), Reason: "a");
        var b = new IpBlockEntry(CidrBlock.Parse("1.0.0.0/8"), Reason: "b");
        var c = new IpBlockEntry(CidrBlock.Parse("10.0.0.0/8"), Reason: "c");

        var list = IpBlockList.Build([a, b, c]);

        Assert.Equal(3, list.Count);
        Assert.Equal([a, b, c], list.Entries);
    }

    [Fact]
    public void Build_NullEntry_Throws()
    {
        Assert.Throws<ArgumentException>(() => IpBlockList.Build([null!]));
    }

    [Fact]
    public void Build_DefaultCidr_Throws()
    {
        Assert.Throws<ArgumentException>(() => IpBlockList.Build([new IpBlockEntry(default)]));
    }

    [Fact]
    public void IsBlocked_Lookup_DoesNotAllocate()
    {
        var list = Parse("10.0.0.0/8 10.1.0.0/16! 2001:db8::/32 ::/0!");
        var v4 = IPAddress.Parse("10.1.2.3");
        var mapped = IPAddress.Parse("::ffff:10.1.2.3");
        var v6 = IPAddress.Parse("2001:db8::1");
        var miss = IPAddress.Parse("fe80::1");
        for (var i = 0; i < 100; i++)
        {
            list.IsBlocked(v4, Now);
            list.TryMatch(mapped, Now, out _);
            list.IsBlocked(v6, Now);
            list.IsBlocked(miss, Now);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var blocked = 0;
        for (var i = 0; i < 1_000; i++)
        {
            blocked += list.IsBlocked(v4, Now) ? 1 : 0;
            blocked += list.TryMatch(mapped, Now, out _) ? 1 : 0;
            blocked += list.IsBlocked(v6, Now) ? 1 : 0;
            blocked += list.IsBlocked(miss, Now) ? 1 : 0;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(3_000, blocked);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void IsBlocked_HundredThousandRandomSlash24s_AnswersCorrectly()
    {
        var random = new Random(7);
        var prefixes = new HashSet<uint>();
        var entries = new List<IpBlockEntry>();
        while (prefixes.Count < 100_000)
        {
            var prefix = (uint)random.Next(1 << 24);
            if (prefixes.Add(prefix))
            {
                entries.Add(new IpBlockEntry(new CidrBlock(V4(prefix << 8), 24)));
            }
        }

        var list = IpBlockList.Build(entries);

        Assert.Equal(100_000, list.Count);
        foreach (var prefix in prefixes)
        {
            var host = (prefix << 8) | (uint)random.Next(256);
            Assert.True(list.IsBlocked(V4(host), Now));
        }

        for (var i = 0; i < 100_000; i++)
        {
            var address = (uint)random.NextInt64(1L << 32);
            var expected = prefixes.Contains(address >> 8);
            Assert.Equal(expected, list.IsBlocked(V4(address), Now));
            if (i % 10 == 0)
            {
                Assert.Equal(expected, list.IsBlocked(V4(address).MapToIPv6(), Now));
            }
        }

        Assert.False(list.IsBlocked(IPAddress.Parse("2001:db8::1"), Now));
    }

    [Fact]
    public void TryMatch_RandomOverlappingEntries_AgreesWithLinearScan()
    {
        // Few distinct bits so networks nest and collide: both families, all lengths, random expiry.
        var random = new Random(42);
        for (var round = 0; round < 200; round++)
        {
            var entries = new List<IpBlockEntry>();
            var count = random.Next(1, 40);
            for (var i = 0; i < count; i++)
            {
                entries.Add(new IpBlockEntry(RandomBlock(random), RandomExpiry(random)));
            }

            var list = IpBlockList.Build(entries);
            for (var probe = 0; probe < 100; probe++)
            {
                var address = RandomAddress(random);
                var expected = LongestLive(entries, address);
                var found = list.TryMatch(address, Now, out var match);

                Assert.Equal(expected is not null, found);
                Assert.Equal(expected is not null, list.IsBlocked(address, Now));
                if (expected is not null)
                {
                    Assert.True(match!.IsActive(Now));
                    Assert.Equal(expected.Cidr.Bits, match.Cidr.Bits);
                    Assert.Equal(expected.Cidr.Length, match.Cidr.Length);
                }
            }
        }
    }

    private static void AssertMatch(string entries, string address, string? expected)
    {
        var list = Parse(entries);
        var ip = IPAddress.Parse(address);

        var found = list.TryMatch(ip, Now, out var match);

        Assert.Equal(expected is not null, found);
        Assert.Equal(expected is not null, list.IsBlocked(ip, Now));
        Assert.Equal(expected, match?.Cidr.ToString());
        if (ip.IsIPv4MappedToIPv6)
        {
            Assert.Equal(expected, Match(list, ip.MapToIPv4()));
        }
        else if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            Assert.Equal(expected, Match(list, ip.MapToIPv6()));
        }
    }

    private static string? Match(IpBlockList list, IPAddress address)
    {
        return list.TryMatch(address, Now, out var match) ? match!.Cidr.ToString() : null;
    }

    private static IpBlockList Parse(string entries)
    {
        var list = new List<IpBlockEntry>();
        foreach (var token in entries.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            DateTimeOffset? expires = token[^1] switch
            {
                '!' => Now.AddDays(-1),
                '@' => Now,
                '~' => Now.AddDays(1),
                _ => null,
            };
            var text = expires is null ? token : token[..^1];
            list.Add(new IpBlockEntry(CidrBlock.Parse(text), expires));
        }

        return IpBlockList.Build(list);
    }

    private static IPAddress V4(uint value)
    {
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }

    private static IpBlockEntry? LongestLive(List<IpBlockEntry> entries, IPAddress address)
    {
        IpBlockEntry? best = null;
        foreach (var entry in entries)
        {
            if (entry.IsActive(Now) && entry.Cidr.Contains(address) && (best is null || entry.Cidr.Length > best.Cidr.Length))
            {
                best = entry;
            }
        }

        return best;
    }

    private static DateTimeOffset? RandomExpiry(Random random)
    {
        return random.Next(3) switch
        {
            0 => null,
            1 => Now.AddMinutes(-random.Next(1, 1000)),
            _ => Now.AddMinutes(random.Next(1, 1000)),
        };
    }

    // Addresses drawn from a handful of values, IPv4 and IPv6, so random networks overlap often.
    private static IPAddress RandomAddress(Random random)
    {
        var v4 = 0x0A00_0000u | (uint)(random.Next(4) << 16) | (uint)(random.Next(4) << 8) | (uint)random.Next(4);
        return random.Next(4) switch
        {
            0 => V4(v4),
            1 => V4(v4).MapToIPv6(),
            2 => new IPAddress([0x20, 0x01, 0x0d, 0xb8, 0, (byte)random.Next(3), 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)random.Next(3)]),
            _ => new IPAddress([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0A, 0, 0, (byte)random.Next(3)]),
        };
    }

    private static CidrBlock RandomBlock(Random random)
    {
        var address = RandomAddress(random);
        var isV4 = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        var prefix = random.Next(5) == 0
            ? random.Next(isV4 ? 33 : 129)
            : isV4 ? random.Next(20, 33) : random.Next(100, 129);
        var bytes = address.GetAddressBytes();
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new CidrBlock(new IPAddress(bytes), prefix);
    }
}
