using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Gateway.Policy.Net;

/// <summary>
/// An IPv4 or IPv6 network in CIDR form, host bits zero. IPv4 blocks live in the IPv4-mapped range of the IPv6
/// space (1.2.3.0/24 covers ::ffff:1.2.3.0/120), so either spelling of a client address gets the same answer.
/// <c>default(CidrBlock)</c> is not a block: it contains nothing and <see cref="IpBlockList.Build"/> rejects it.
/// </summary>
public readonly record struct CidrBlock
{
    private const byte KindNone = 0;
    private const byte KindIPv4 = 4;
    private const byte KindIPv6 = 6;

    private readonly UInt128 _network;
    private readonly byte _length;
    private readonly byte _kind;

    /// <summary>Creates a block; throws when the prefix is out of range or the address has host bits set.</summary>
    public CidrBlock(IPAddress network, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (!IpBits.TryGet(network, out var high, out var low))
        {
            throw new ArgumentException($"address family {network.AddressFamily} is not IPv4 or IPv6", nameof(network));
        }

        var isIPv4 = network.AddressFamily == AddressFamily.InterNetwork;
        var max = isIPv4 ? 32 : 128;
        if (prefixLength < 0 || prefixLength > max)
        {
            throw new ArgumentOutOfRangeException(nameof(prefixLength), prefixLength, $"prefix length must be 0-{max}");
        }

        var length = isIPv4 ? prefixLength + IpBits.MappedPrefixLength : prefixLength;
        var bits = new UInt128(high, low);
        if ((bits & ~IpBits.Mask(length)) != UInt128.Zero)
        {
            var canonical = new CidrBlock(bits & IpBits.Mask(length), length, isIPv4 ? KindIPv4 : KindIPv6);
            throw new ArgumentException($"{network}/{prefixLength} has host bits set; did you mean {canonical}?", nameof(network));
        }

        _network = bits;
        _length = (byte)length;
        _kind = isIPv4 ? KindIPv4 : KindIPv6;
    }

    private CidrBlock(UInt128 network, int length, byte kind)
    {
        _network = network;
        _length = (byte)length;
        _kind = kind;
    }

    /// <summary><see cref="AddressFamily.Unknown"/> only for <c>default(CidrBlock)</c>.</summary>
    public AddressFamily AddressFamily => _kind switch
    {
        KindIPv4 => AddressFamily.InterNetwork,
        KindIPv6 => AddressFamily.InterNetworkV6,
        _ => AddressFamily.Unknown,
    };

    /// <summary>The prefix length as written: 0-32 for IPv4, 0-128 for IPv6.</summary>
    public int PrefixLength => _kind == KindIPv4 ? _length - IpBits.MappedPrefixLength : _length;

    /// <summary>The network address (allocates; not for hot paths).</summary>
    public IPAddress Network => IpBits.ToAddress(_network, _kind == KindIPv4);

    internal bool IsDefault => _kind == KindNone;

    /// <summary>The network in the 128-bit space (IPv4 mapped).</summary>
    internal UInt128 Bits => _network;

    /// <summary>The prefix length in the 128-bit space (IPv4 plus 96).</summary>
    internal int Length => _length;

    /// <summary>Parses a CIDR or a bare address (a /32 or /128); throws <see cref="FormatException"/> on error.</summary>
    public static CidrBlock Parse(string text)
    {
        return TryParse(text, out var block, out var error) ? block : throw new FormatException(error);
    }

    /// <summary>
    /// Parses <c>10.0.0.0/8</c>, <c>2001:db8::/32</c>, <c>::ffff:1.2.3.0/120</c> or a bare address (a /32 or /128).
    /// Strict: IPv4 must be four decimal octets without leading zeros, no zone ids or brackets, host bits zero.
    /// Surrounding whitespace is ignored.
    /// </summary>
    public static bool TryParse(string text, out CidrBlock block, out string? error)
    {
        block = default;
        var span = (text ?? string.Empty).AsSpan().Trim();
        if (span.IsEmpty)
        {
            error = "empty CIDR";
            return false;
        }

        var slash = span.IndexOf('/');
        var addressText = slash < 0 ? span : span[..slash];
        var isIPv4 = !addressText.Contains(':');
        UInt128 bits;
        if (isIPv4)
        {
            if (!Ipv4Text.TryParse(addressText, out var v4))
            {
                error = $"{span} is not a valid CIDR: {addressText} is not an IPv4 address (four decimal octets 0-255, no leading zeros) or an IPv6 address";
                return false;
            }

            bits = IpBits.MappedPrefix | v4;
        }
        else
        {
            if (!TryParseIPv6(addressText, out bits))
            {
                error = $"{span} is not a valid CIDR: {addressText} is not an IPv6 address";
                return false;
            }
        }

        var max = isIPv4 ? 32 : 128;
        var prefix = max;
        if (slash >= 0)
        {
            var prefixText = span[(slash + 1)..];
            if (prefixText.IsEmpty || prefixText.Length > 3 || !IsAllDigits(prefixText))
            {
                error = $"{span} is not a valid CIDR: prefix length '{prefixText}' is not a number";
                return false;
            }

            prefix = int.Parse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture);
            if (prefix > max)
            {
                error = $"{span} is not a valid CIDR: prefix length {prefix} is out of range for {(isIPv4 ? "IPv4" : "IPv6")} (0-{max})";
                return false;
            }
        }

        var length = isIPv4 ? prefix + IpBits.MappedPrefixLength : prefix;
        var mask = IpBits.Mask(length);
        var kind = isIPv4 ? KindIPv4 : KindIPv6;
        if ((bits & ~mask) != UInt128.Zero)
        {
            error = $"{span} has host bits set; did you mean {new CidrBlock(bits & mask, length, kind)}?";
            return false;
        }

        block = new CidrBlock(bits, length, kind);
        error = null;
        return true;
    }

    /// <summary>Whether the address is in the block. IPv4 and IPv4-mapped IPv6 spellings give the same answer.</summary>
    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (_kind == KindNone || !IpBits.TryGet(address, out var high, out var low))
        {
            return false;
        }

        return (new UInt128(high, low) & IpBits.Mask(_length)) == _network;
    }

    /// <summary>Canonical text: <c>10.0.0.0/8</c>, <c>2001:db8::/32</c> (RFC 5952), always with a prefix.</summary>
    public override string ToString()
    {
        return _kind == KindNone
            ? string.Empty
            : string.Create(CultureInfo.InvariantCulture, $"{Network}/{PrefixLength}");
    }

    private static bool TryParseIPv6(ReadOnlySpan<char> text, out UInt128 bits)
    {
        bits = UInt128.Zero;

        // IPAddress.TryParse also takes "[::1]", "[::1]:80" and "fe80::1%eth0"; none of them is a network.
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c) && c != ':' && c != '.')
            {
                return false;
            }
        }

        if (!IPAddress.TryParse(text, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        IpBits.TryGet(address, out var high, out var low);
        bits = new UInt128(high, low);
        return true;
    }

    private static bool IsAllDigits(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
