using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Protocols.Json;
using Xunit;
using static Gateway.Tests.Json.JsonTestData;

namespace Gateway.Tests.Json;

public sealed class JsonRewriterTests
{
    /// <summary>Body, pointer to rewrite, new value, and the exact body expected.</summary>
    public static TheoryData<string, string, string, string> SingleReplacements => new()
    {
        { """{"a":"bad word","b":1}""", "/a", "***", """{"a":"***","b":1}""" },
        { """{"a":"x","b":1}""", "/a", "a much longer replacement", """{"a":"a much longer replacement","b":1}""" },
        { """{"a":"some text","b":1}""", "/a", "", """{"a":"","b":1}""" },
        { """{ "a" : "x" , "b":1 }""", "/a", "y", """{ "a" : "y" , "b":1 }""" },
        { """{"a":"x"}""", "/a", "say \"hi\"", """{"a":"say \"hi\""}""" },
        { """{"a":"x"}""", "/a", "C:\\temp\\", """{"a":"C:\\temp\\"}""" },
        { """{"a":"x"}""", "/a", "l1\nl2\r\n\tend\b\f", """{"a":"l1\nl2\r\n\tend\b\f"}""" },
        { """{"a":"x"}""", "/a", "\0\u0001\u001f", """{"a":"\u0000\u0001\u001F"}""" },
        { """{"a":"x"}""", "/a", "</script>&'+\u007f", "{\"a\":\"</script>&'+\u007f\"}" },
        { """{"a":"x"}""", "/a", "😀 中文 e\u0301", "{\"a\":\"😀 中文 e\u0301\"}" },
        { """{"a":"x"}""", "/a", "\u2028\u2029", "{\"a\":\"\u2028\u2029\"}" },
        { """{"a":"\u0078"}""", "/a", "y", """{"a":"y"}""" },
        { """{"a":{"b":["x","😀 old"]}}""", "/a/b/1", "new", """{"a":{"b":["x","new"]}}""" },
        { "\uFEFF{\"a\":\"x\"}", "/a", "y", "\uFEFF{\"a\":\"y\"}" },
    };

    [Theory]
    [MemberData(nameof(SingleReplacements))]
    public void Replace_OneString_RewritesOnlyThatValue(string body, string pointer, string newValue, string expected)
    {
        var json = Utf8(body);
        var location = Locate(json, pointer)!.Value;

        var result = JsonRewriter.Replace(json, [(location, newValue)]);

        Assert.Equal(expected, Encoding.UTF8.GetString(result));
        Assert.Equal(json.AsSpan(0, location.Start), result.AsSpan(0, location.Start));
        Assert.Equal(json.AsSpan(location.End), result.AsSpan(result.Length - (json.Length - location.End)));
        AssertRoundTrips(result, pointer, newValue);
    }

    public static TheoryData<string[]> MultipleReplacements => new()
    {
        new[] { "*", "a much, much longer replacement than before", "" },
        new[] { "😀😀😀", "中", "e\u0301\u0301" },
        new[] { "quote \" and \\", "\n", "same" },
    };

    [Theory]
    [MemberData(nameof(MultipleReplacements))]
    public void Replace_SeveralFieldsInAnyOrder_KeepsEveryOtherByte(string[] newValues)
    {
        var json = Utf8("""
            {
              "id": 17, "text": "first bad text",
              "attachments": [ { "title": "Ünïcödé 😀", "n": [1, 2.5e1] }, { "title": "t2" } ],
              "meta": {"tail": "last value", "keep": "untouched \"escaped\" \u00e9"}
            }
            """);
        string[] pointers = ["/text", "/attachments/0/title", "/meta/tail"];
        var (error, found) = Scan(json, pointers);
        Assert.Equal(JsonScanError.None, error);

        // Handed over last-first: order must not matter.
        var result = JsonRewriter.Replace(
            json,
            [(found[2]!.Value, newValues[2]), (found[0]!.Value, newValues[0]), (found[1]!.Value, newValues[1])]);

        // Every byte outside the three literals is unchanged: check the gaps between them one by one.
        var resultFound = Scan(result, pointers).Found;
        var sourceEnd = 0;
        var resultEnd = 0;
        for (var i = 0; i < pointers.Length; i++)
        {
            var before = found[i]!.Value;
            var after = resultFound[i]!.Value;
            Assert.Equal(json.AsSpan(sourceEnd, before.Start - sourceEnd), result.AsSpan(resultEnd, after.Start - resultEnd));
            Assert.Equal(newValues[i], JsonValues.ReadString(result, after));
            sourceEnd = before.End;
            resultEnd = after.End;
        }

        Assert.Equal(json.AsSpan(sourceEnd), result.AsSpan(resultEnd));
        Assert.Equal("untouched \"escaped\" \u00e9", JsonDocument.Parse(result).RootElement.GetProperty("meta").GetProperty("keep").GetString());
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("😀👩‍👩‍👧🇺🇦")]
    [InlineData("中文 日本語 한국어")]
    [InlineData("e\u0301 a\u0308 Z\u0351\u0358\u0360")]
    [InlineData("مرحبا שלום")]
    [InlineData("mixed \"quotes\", \\slashes\\ and\ttabs\u0007")]
    public void Replace_UnicodeText_RoundTripsThroughReadString(string text)
    {
        var json = Utf8("""{"message":{"text":"original"},"n":1}""");

        var result = JsonRewriter.Replace(json, [(Locate(json, "/message/text")!.Value, text)]);

        AssertRoundTrips(result, "/message/text", text);
    }

    [Fact]
    public void Replace_EveryBmpCharacter_ProducesValidJsonWithSameText()
    {
        var builder = new StringBuilder();
        for (var c = 0; c <= 0xFFFF; c++)
        {
            if (!char.IsSurrogate((char)c))
            {
                builder.Append((char)c);
            }
        }

        builder.Append("\U0001F600\U0010FFFF\U00010000");
        var text = builder.ToString();
        var json = Utf8("""{"a":"x"}""");

        var result = JsonRewriter.Replace(json, [(Locate(json, "/a")!.Value, text)]);

        Assert.True(System.Text.Unicode.Utf8.IsValid(result));
        AssertRoundTrips(result, "/a", text);
    }

    // Lone surrogates are spelled as \u escapes and decoded in the test: xunit passes theory arguments through
    // UTF-8, which would already have replaced them.
    [Theory]
    [InlineData(@"\uD800", @"\uFFFD")]
    [InlineData(@"a\uDC00b", @"a\uFFFDb")]
    [InlineData(@"\uDE00\uD83D", @"\uFFFD\uFFFD")]
    [InlineData(@"end\uD83D", @"end\uFFFD")]
    [InlineData(@"\uD83D\uDE00\uD83D", @"\uD83D\uDE00\uFFFD")]
    public void Replace_LoneSurrogate_WritesReplacementCharacter(string newValue, string expected)
    {
        var json = Utf8("""{"a":"x"}""");

        var result = JsonRewriter.Replace(json, [(Locate(json, "/a")!.Value, Regex.Unescape(newValue))]);

        Assert.True(System.Text.Unicode.Utf8.IsValid(result));
        AssertRoundTrips(result, "/a", Regex.Unescape(expected));
    }

    [Fact]
    public void Replace_OneMegabyteValues_Works()
    {
        var big = new string('x', 1 << 20);
        var json = Utf8($$"""{"a":"{{big}}","b":"short","c":"{{big}}"}""");
        var (_, found) = Scan(json, "/a", "/b", "/c");
        var longer = string.Concat(Enumerable.Repeat("ü\"😀", 1 << 18));

        var result = JsonRewriter.Replace(json, [(found[0]!.Value, "gone"), (found[1]!.Value, longer), (found[2]!.Value, big + "!")]);

        AssertRoundTrips(result, "/a", "gone");
        AssertRoundTrips(result, "/b", longer);
        AssertRoundTrips(result, "/c", big + "!");
    }

    [Fact]
    public void Replace_NoReplacements_ReturnsIdenticalCopy()
    {
        var json = Utf8("""{"a":"x"}""");

        var result = JsonRewriter.Replace(json, []);

        Assert.Equal(json, result);
        Assert.NotSame(json, result);
    }

    [Fact]
    public void Replace_ManyReplacements_UsesPooledScratch()
    {
        var builder = new StringBuilder("{\"items\":[");
        var pointers = new string[100];
        for (var i = 0; i < pointers.Length; i++)
        {
            builder.Append(i == 0 ? "" : ",").Append("{\"t\":\"v").Append(i).Append("\"}");
            pointers[i] = $"/items/{i}/t";
        }

        var json = Utf8(builder.Append("]}").ToString());
        var (_, found) = Scan(json, pointers);
        var replacements = new (JsonValueLocation, string)[pointers.Length];
        for (var i = 0; i < pointers.Length; i++)
        {
            // Reversed, to exercise the sort.
            replacements[pointers.Length - 1 - i] = (found[i]!.Value, "new" + i);
        }

        var result = JsonRewriter.Replace(json, replacements);

        var root = JsonDocument.Parse(result).RootElement.GetProperty("items");
        for (var i = 0; i < pointers.Length; i++)
        {
            Assert.Equal("new" + i, root[i].GetProperty("t").GetString());
        }
    }

    /// <summary>(start, length) pairs in <c>{"a":"x","b":"y","n":1}</c>, where "x" is 5+3, "y" 13+3 and 1 is 21+1.</summary>
    public static TheoryData<int[], JsonTokenType> BadLocations => new()
    {
        { [5, 3, 5, 3], JsonTokenType.String },
        { [5, 3, 6, 2], JsonTokenType.String },
        { [13, 3, 5, 9], JsonTokenType.String },
        { [21, 1], JsonTokenType.Number },
        { [0, 23], JsonTokenType.StartObject },
        { [5, 50], JsonTokenType.String },
        { [-1, 3], JsonTokenType.String },
        { [4, 3], JsonTokenType.String },
        { [5, 1], JsonTokenType.String },
    };

    [Theory]
    [MemberData(nameof(BadLocations))]
    public void Replace_BadOrOverlappingLocations_Throws(int[] startLengthPairs, JsonTokenType tokenType)
    {
        var json = Utf8("""{"a":"x","b":"y","n":1}""");
        var replacements = new (JsonValueLocation, string)[startLengthPairs.Length / 2];
        for (var i = 0; i < replacements.Length; i++)
        {
            replacements[i] = (new JsonValueLocation(startLengthPairs[2 * i], startLengthPairs[(2 * i) + 1], tokenType), "z");
        }

        Assert.Throws<ArgumentException>(() => JsonRewriter.Replace(json, replacements));
    }

    [Theory]
    [InlineData("", 2)]
    [InlineData("abc", 5)]
    [InlineData("\"", 4)]
    [InlineData("\u0001", 8)]
    [InlineData("é", 4)]
    [InlineData("中", 5)]
    [InlineData("😀", 6)]
    [InlineData(@"\uD800", 5)]
    [InlineData(@"\uD83D\uDE00\uDE00", 9)]
    public void EscapedLength_Value_CountsQuotedUtf8Bytes(string value, long expected)
    {
        Assert.Equal(expected, JsonRewriter.EscapedLength(Regex.Unescape(value)));
    }

    /// <summary>Checks the rewritten body with our reader and, independently, with System.Text.Json.</summary>
    private static void AssertRoundTrips(byte[] result, string pointer, string expected)
    {
        var location = Locate(result, pointer)!.Value;
        Assert.Equal(expected, JsonValues.ReadString(result, location));

        // System.Text.Json only skips a BOM when reading from a stream.
        var body = result.AsMemory(result.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0);
        var element = JsonDocument.Parse(body).RootElement;
        foreach (var segment in Pointer(pointer).Segments)
        {
            element = element.ValueKind == JsonValueKind.Array
                ? element[int.Parse(segment, System.Globalization.CultureInfo.InvariantCulture)]
                : element.GetProperty(segment);
        }

        Assert.Equal(expected, element.GetString());
    }
}
