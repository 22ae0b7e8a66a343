using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Gateway.Policy.Net;

/// <summary>
/// Addresses as 128-bit numbers in one space: IPv6 as is, IPv4 as IPv4-mapped <c>::ffff:a.b.c.d</c>, which is how
/// Kestrel reports IPv4 clients on a dual-stack socket. One space means one answer for both spellings.
/// </summary>
internal static class IpBits
{
    public const int MappedPrefixLength = 96;

    /// <summary>High 64 bits of any IPv4-mapped address are zero; these are the low 64 bits' top half.</summary>
    public const ulong MappedLowTag = 0x0000_FFFF_0000_0000UL;

    public static readonly UInt128 MappedPrefix = new(0, MappedLowTag);

    public static bool TryGet(IPAddress address, out ulong high, out ulong low)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            high = 0;
            low = MappedLowTag | BinaryPrimitives.ReadUInt32BigEndian(bytes);
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            // The scope id (fe80::1%eth0) is not part of the bytes, so it plays no part in matching.
            address.TryWriteBytes(bytes, out _);
            high = BinaryPrimitives.ReadUInt64BigEndian(bytes);
            low = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
            return true;
        }

        high = 0;
        low = 0;
        return false;
    }

    public static UInt128 Mask(int length)
    {
        // UInt128 shifts take the count modulo 128, so /0 needs its own case.
        return length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);
    }

    public static IPAddress ToAddress(UInt128 bits, bool asIPv4)
    {
        if (asIPv4)
        {
            var v4 = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)bits);
            return new IPAddress(v4);
        }

        var v6 = new byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(v6, bits);
        return new IPAddress(v6);
    }
}
