using System.Text;
using Gateway.Policy.Matching;
using Gateway.Policy.Rules;

namespace Gateway.Policy.Tests;

/// <summary>
/// Issue 18 part 4: the squeezed factors of separator-tolerant regexes are found by a plain automaton over the text
/// with its separators taken out (<see cref="SqueezedText"/>, AVX-512 VBMI2 compress where the machine has it). The
/// copy must be exactly the text without the characters <c>[\W_]</c> matches, and the plain automaton over it must find
/// the same patterns as the squeezing automaton over the text.
/// </summary>
public sealed class SqueezedTextTests
{
    private static readonly string[] Pieces =
    [
        " ", "-", "_", ".", "k", "r", "o", "n", "kron", "k-r.o n", "K_R_O_N", "é", "ü", "日本", "😀", "\u200B", "\u0301", "٣",
        "Ⅻ", "ǅ", "\n", "\t", "\u00A0", "@", "#", "0", "9", "z", "Z", "[", "`", "{", "~", "\u007F", "\u0080", "ß", "İ",
        "abcdefghijklmnopqrstuvwxyz0123456789", "!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?!?",
    ];

    private static string RandomText(Random r, int pieces)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < pieces; i++)
        {
            sb.Append(r.Next(8) == 0 ? ((char)r.Next(0, 0x3000)).ToString() : Pieces[r.Next(Pieces.Length)]);
        }

        return sb.ToString();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Of_IsTheTextWithoutSeparators(int seed)
    {
        var r = new Random(seed);
        var separators = RegexFactors.Separators;
        for (var round = 0; round < 400; round++)
        {
            var text = RandomText(r, round % 20 == 0 ? 600 : r.Next(0, 40));
            var expected = string.Concat(text.Where(c => !separators[c]));
            Assert.Equal(expected, SqueezedText.Of(text).ToString());
        }
    }

    [Fact]
    public void Separators_AsciiAreExactlyTheNonAlphanumerics()
    {
        // The vector path keeps ASCII letters and digits and drops every other ASCII character.
        for (var c = (char)0; c < 128; c++)
        {
            Assert.Equal(!char.IsAsciiLetterOrDigit(c), RegexFactors.Separators[c]);
        }
    }

    [Fact]
    public void PlainAutomatonOverCopy_FindsTheSqueezingAutomatonsPatterns()
    {
        string[] factors = ["kron", "badw", "xyzzy", "a1b2", "nn"];
        var squeezing = KeywordAutomaton.Build(factors, RegexFactors.Separators);
        var plain = KeywordAutomaton.Build(factors);
        var r = new Random(5);
        var hitsA = new List<LiteralHit>();
        var hitsB = new List<LiteralHit>();
        for (var round = 0; round < 500; round++)
        {
            var text = RandomText(r, round % 25 == 0 ? 400 : r.Next(0, 30)) + (r.Next(3) == 0 ? "b-a.d w" : "");
            hitsA.Clear();
            hitsB.Clear();
            squeezing.FindAll(text, hitsA);
            plain.FindAll(SqueezedText.Of(text), hitsB);
            Assert.Equal(hitsA.Select(h => h.Pattern).Order(), hitsB.Select(h => h.Pattern).Order());
        }
    }
}
