using System.Text.Json;
using Gateway.Protocols.Json;
using Xunit;
using static Gateway.Tests.Json.JsonTestData;

namespace Gateway.Tests.Json;

public sealed class JsonValuesTests
{
    /// <summary>A JSON value as written in the body, and the .NET string it denotes.</summary>
    public static TheoryData<string, string> Strings => new()
    {
        { "\"plain\"", "plain" },
        { "\"\"", "" },
        { "\"a \\\"quoted\\\" word\"", "a \"quoted\" word" },
        { "\"back\\\\slash\"", "back\\slash" },
        { "\"\\/\\b\\f\\n\\r\\t\"", "/\b\f\n\r\t" },
        { "\"caf\\u00e9 caf\\u00E9\"", "café café" },
        { "\"\\u0000nul\"", "\0nul" },
        { "\"\\ud83d\\ude00\"", "😀" },
        { "\"mixed 😀 and \\ud83d\\ude00\"", "mixed 😀 and 😀" },
        { "\"emoji 👩‍👩‍👧 🇺🇦 👍🏽\"", "emoji 👩‍👩‍👧 🇺🇦 👍🏽" },
        { "\"中文 日本語 한국어\"", "中文 日本語 한국어" },
        { "\"e\u0301 a\u0308 n\u0303\"", "e\u0301 a\u0308 n\u0303" },
        { "\"e\\u0301\"", "e\u0301" },
        { "\"مرحبا שלום\"", "مرحبا שלום" },
        { "\"\u2028\u2029\u00a0\"", "\u2028\u2029\u00a0" },
        { "\"trailing escape\\n\"", "trailing escape\n" },
        { "\"\\\\\"", "\\" },
    };

    [Theory]
    [MemberData(nameof(Strings))]
    public void ReadString_StringValue_Unescapes(string rawValue, string expected)
    {
        var json = Utf8("{\"v\":" + rawValue + "}");

        var text = JsonValues.ReadString(json, Locate(json, "/v")!.Value);

        Assert.Equal(expected, text);
        Assert.Equal(JsonDocument.Parse(json).RootElement.GetProperty("v").GetString(), text);
    }

    [Fact]
    public void ReadString_EscapedLoneSurrogate_KeepsCodeUnit()
    {
        // System.Text.Json refuses this string; JSON.parse keeps the lone code unit, and so do we, so that a
        // filter still sees the words around it.
        var json = Utf8("""{"v":"bad \ud800 word \udc00"}""");

        var text = JsonValues.ReadString(json, Locate(json, "/v")!.Value);

        Assert.Equal("bad \uD800 word \uDC00", text);
    }

    [Fact]
    public void ReadString_LongEscapedString_UsesPooledBuffer()
    {
        var expected = string.Concat(Enumerable.Repeat("line \"one\"\n\u00e9", 100_000));
        var json = Utf8("{\"v\":" + JsonSerializer.Serialize(expected) + "}");

        var text = JsonValues.ReadString(json, Locate(json, "/v")!.Value);

        Assert.Equal(expected, text);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("{\"s\":\"x\"}")]
    [InlineData("[\"x\"]")]
    public void ReadString_NotAString_ReturnsNull(string rawValue)
    {
        var json = Utf8("{\"v\":" + rawValue + "}");

        Assert.Null(JsonValues.ReadString(json, Locate(json, "/v")!.Value));
    }

    [Theory]
    [InlineData(0, 3)] // "{\"v" : not a string token
    [InlineData(5, 50)] // past the end
    [InlineData(-1, 2)]
    [InlineData(5, 1)]
    public void ReadString_LocationNotOnAStringToken_ReturnsNull(int start, int length)
    {
        var json = Utf8("{\"v\":\"x\"}");

        Assert.Null(JsonValues.ReadString(json, new JsonValueLocation(start, length, JsonTokenType.String)));
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("\"true\"", true)]
    [InlineData("\"false\"", false)]
    [InlineData("\"tru\\u0065\"", true)]
    [InlineData("\"\\u0066alse\"", false)]
    [InlineData("\"True\"", null)]
    [InlineData("\"FALSE\"", null)]
    [InlineData("\" true\"", null)]
    [InlineData("\"yes\"", null)]
    [InlineData("\"\"", null)]
    [InlineData("1", null)]
    [InlineData("0", null)]
    [InlineData("null", null)]
    [InlineData("{}", null)]
    [InlineData("[true]", null)]
    public void ReadBool_Value_ReadsLiteralsAndQuotedLiterals(string rawValue, bool? expected)
    {
        var json = Utf8("{\"v\":" + rawValue + "}");

        Assert.Equal(expected, JsonValues.ReadBool(json, Locate(json, "/v")!.Value));
    }
}
