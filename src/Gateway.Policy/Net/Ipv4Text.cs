namespace Gateway.Policy.Net;

/// <summary>
/// Strict dotted-quad IPv4 text: exactly four decimal octets, 0-255, no leading zeros. <c>IPAddress.TryParse</c>
/// also takes "1.2.3", "0x7f.1" and octal-looking "010.0.0.1", which a block list or an ACL must not guess at.
/// The same rule as Rust's <c>Ipv4Addr::from_str</c>, which Synapse uses for <c>allow_ip_literals</c>.
/// </summary>
internal static class Ipv4Text
{
    public static bool TryParse(ReadOnlySpan<char> text, out uint value)
    {
        value = 0;
        var octets = 0;
        var i = 0;
        while (true)
        {
            var start = i;
            var octet = 0;
            while (i < text.Length && i - start < 4 && char.IsAsciiDigit(text[i]))
            {
                octet = (octet * 10) + (text[i] - '0');
                i++;
            }

            var digits = i - start;
            if (digits == 0 || digits > 3 || octet > 255 || (digits > 1 && text[start] == '0'))
            {
                return false;
            }

            value = (value << 8) | (uint)octet;
            octets++;
            if (octets == 4)
            {
                return i == text.Length;
            }

            if (i >= text.Length || text[i] != '.')
            {
                return false;
            }

            i++;
        }
    }
}
