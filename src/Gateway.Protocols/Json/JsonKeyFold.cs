using System.Text;

namespace Gateway.Protocols.Json;

/// <summary>
/// Case-insensitive property-name equality as lenient JSON parsers have it, as one canonical code point per code
/// point: two names are equal when their canonical forms are. The classes are the union of what common parsers
/// equate: Go's encoding/json (Unicode simple case folding, so 'ſ' U+017F ~ 's' and 'K' U+212A ~ 'k'), .NET's
/// OrdinalIgnoreCase (System.Text.Json's PropertyNameCaseInsensitive, Json.NET) and ASCII-only folding. A union is
/// wider than any one parser, which errs the safe way: the gateway inspects a value that some parser might read as
/// the field (issue 9).
/// </summary>
internal static class JsonKeyFold
{
    private static readonly char[] Bmp = BuildBmp();

    /// <summary>The smallest code point of the case class of <paramref name="codePoint"/>.</summary>
    public static int Canonical(int codePoint)
    {
        if (codePoint < 0x10000)
        {
            return Bmp[codePoint];
        }

        // Astral case pairs (Deseret, Osage, Adlam, ...) map one to one and never to the BMP.
        var rune = new Rune(codePoint);
        return Math.Min(Rune.ToUpperInvariant(rune).Value, Rune.ToLowerInvariant(rune).Value);
    }

    /// <summary>The canonical code points of a property name or pointer segment.</summary>
    public static int[] CanonicalForm(string text)
    {
        var result = new List<int>(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            result.Add(Canonical(rune.Value));
        }

        return result.ToArray();
    }

    /// <summary>Whether UTF-8 <paramref name="name"/> (unescaped, valid) has the canonical form <paramref name="canonical"/>.</summary>
    public static bool EqualsCanonical(ReadOnlySpan<byte> name, ReadOnlySpan<int> canonical)
    {
        var k = 0;
        var i = 0;
        while (i < name.Length)
        {
            if (k == canonical.Length)
            {
                return false;
            }

            int codePoint;
            var b = name[i];
            if (b < 0x80)
            {
                codePoint = b;
                i++;
            }
            else
            {
                if (Rune.DecodeFromUtf8(name[i..], out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
                {
                    return false;
                }

                codePoint = rune.Value;
                i += consumed;
            }

            if (Canonical(codePoint) != canonical[k])
            {
                return false;
            }

            k++;
        }

        return k == canonical.Length;
    }

    /// <summary>
    /// Union-find over the BMP with an edge from every character to its invariant upper and lower case. Simple case
    /// folding is contained in these edges ('ſ' upper-cases to 'S', 'K' lower-cases to 'k', 'ϴ' to 'θ'), so each
    /// class is a case-folding orbit joined with what OrdinalIgnoreCase equates. Built once, 128 KiB.
    /// </summary>
    private static char[] BuildBmp()
    {
        var parent = new int[0x10000];
        for (var c = 0; c < parent.Length; c++)
        {
            parent[c] = c;
        }

        int Find(int x)
        {
            while (parent[x] != x)
            {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }

            return x;
        }

        void Union(int a, int b)
        {
            var ra = Find(a);
            var rb = Find(b);
            if (ra != rb)
            {
                // The smaller code point becomes the root: every class is named by its smallest member.
                if (ra < rb)
                {
                    parent[rb] = ra;
                }
                else
                {
                    parent[ra] = rb;
                }
            }
        }

        for (var c = 0; c < 0x10000; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            var ch = (char)c;
            Union(c, char.ToUpperInvariant(ch));
            Union(c, char.ToLowerInvariant(ch));
        }

        var table = new char[0x10000];
        for (var c = 0; c < table.Length; c++)
        {
            table[c] = (char)Find(c);
        }

        return table;
    }
}
