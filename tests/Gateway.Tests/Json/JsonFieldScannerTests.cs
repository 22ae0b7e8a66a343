using System.Text;
using System.Text.Json;
using Gateway.Protocols.Json;
using Xunit;
using static Gateway.Tests.Json.JsonTestData;

namespace Gateway.Tests.Json;

public sealed class JsonFieldScannerTests
{
    /// <summary>Document, pointer, and the exact bytes of the value found (null: the path is absent).</summary>
    public static TheoryData<string, string, string?> Located => new()
    {
        // Plain and nested properties, every kind of scalar.
        { """{"message":{"text":"hello"}}""", "/message/text", "\"hello\"" },
        { """{"a":12}""", "/a", "12" },
        { """{ "a" :  -1.5e3 , "b":2}""", "/a", "-1.5e3" },
        { """{"a":true,"b":false,"c":null}""", "/b", "false" },
        { """{"a":true,"b":false,"c":null}""", "/c", "null" },
        { """{"a":"","b":1}""", "/a", "\"\"" },

        // Containers are returned whole.
        { """{"a":{"b":[1,{"c":2}]},"d":3}""", "/a", """{"b":[1,{"c":2}]}""" },
        { """{"a":{"b":[1,{"c":2}]},"d":3}""", "/a/b", """[1,{"c":2}]""" },
        { """{"a":{},"b":[]}""", "/b", "[]" },
        { """  {"a":1}  """, "", """{"a":1}""" },
        { "\r\n{\"a\":\r\n 1\r\n}\r\n", "", "{\"a\":\r\n 1\r\n}" },

        // Array indices, nested arrays.
        { """{"items":[{"body":"x"},{"body":"y"}]}""", "/items/1/body", "\"y\"" },
        { """{"items":[{"body":"x"},{"body":"y"}]}""", "/items/0/body", "\"x\"" },
        { """{"m":[[1,2],[3,[4,5]]]}""", "/m/1/1/0", "4" },
        { """{"m":[[1,2],[3,[4,5]]]}""", "/m/0/1", "2" },
        { """{"m":[[1,2],[3,[4,5]]]}""", "/m/1", "[3,[4,5]]" },
        { """{"m":[[1,2],[3,[4,5]]],"n":"after"}""", "/n", "\"after\"" },
        { """{"m":[{"a":[0,{"b":"deep"}]},"s"],"b":"top"}""", "/m/0/a/1/b", "\"deep\"" },
        { """{"m":[{"a":[0,{"b":"deep"}]},"s"],"b":"top"}""", "/m/1", "\"s\"" },
        { """{"m":[{"a":[0,{"b":"deep"}]},"s"],"b":"top"}""", "/b", "\"top\"" },

        // Escaped property names compare by their unescaped text.
        { """{"te\u0078t":"v"}""", "/text", "\"v\"" },
        { """{"\u0074\u0065\u0078\u0074":"v"}""", "/text", "\"v\"" },
        { """{"a\"b":1}""", "/a\"b", "1" },
        { """{"a\/b":1}""", "/a~1b", "1" },
        { """{"caf\u00e9":"x"}""", "/café", "\"x\"" },
        { """{"\ud83d\ude00":"smile"}""", "/😀", "\"smile\"" },

        // A name with an escaped lone surrogate matches no pointer; the reader threw on it (make fuzz, barertc).
        { """{"messag\udbbbbA":"x","message":"hi"}""", "/message", "\"hi\"" },
        { """{"\udbbb":"x","text":"hi"}""", "/text", "\"hi\"" },
        { """{"\ude00b":{"text":"x"},"text":"hi"}""", "/text", "\"hi\"" },

        // RFC 6901 escapes.
        { """{"a/b":1,"m~n":2}""", "/a~1b", "1" },
        { """{"a/b":1,"m~n":2}""", "/m~0n", "2" },
        { """{"~1":3,"/0":4}""", "/~01", "3" },
        { """{"~1":3,"/0":4}""", "/~10", "4" },
        { """{"":{"":"empty"}}""", "//", "\"empty\"" },

        // Non-ASCII names and values.
        { """{"ключ":"значение","文本":"你好"}""", "/文本", "\"你好\"" },

        // Array-looking segments on objects are names; non-index segments never match arrays.
        { """{"0":"zero"}""", "/0", "\"zero\"" },
        { """{"a":{"01":"x"}}""", "/a/01", "\"x\"" },
        { """{"items":["a","b"]}""", "/items/01", null },
        { """{"items":["a","b"]}""", "/items/-", null },
        { """{"items":["a","b"]}""", "/items/2", null },
        { """{"items":["a","b"]}""", "/items/x", null },

        // Missing paths.
        { """{"a":{"b":1}}""", "/a/c", null },
        { """{"a":{"b":1}}""", "/x", null },
        { """{"a":{"b":1}}""", "/a/b/c", null },
        { """{"a":"str"}""", "/a/0", null },
        { """{"a":{"b":1}}""", "/b", null },
        { """{"x":{"a":1}}""", "/a", null },
        { """{"a":[{"b":1},{"c":{"b":9}}]}""", "/a/1/b", null },
        { """{"a":[[{"b":1}]]}""", "/a/0/b", null },
        { """{}""", "/a", null },

        // A same-named key deeper or in a sibling must not be taken for the target.
        { """{"x":{"a":1},"a":2}""", "/a", "2" },
        { """{"a":{"x":{"b":1}},"b":2}""", "/b", "2" },
        { """{"a":{"x":{"b":1}},"b":2}""", "/a/b", null },
        { """{"p":[{"q":1},{"q":2}],"q":3}""", "/p/1/q", "2" },

        // Duplicate keys: the last occurrence wins, including everything under it.
        { """{"a":1,"a":2}""", "/a", "2" },
        { """{"a":"first","b":0,"a":"last"}""", "/a", "\"last\"" },
        { """{"a":{"b":1},"a":{"b":3}}""", "/a/b", "3" },
        { """{"a":{"b":1},"a":{"c":2}}""", "/a/b", null },
        { """{"a":{"b":1},"a":{"c":2}}""", "/a", """{"c":2}""" },
        { """{"a":{"b":1,"b":[7]}}""", "/a/b", "[7]" },
        { """{"a":[{"t":"x"}],"a":[]}""", "/a/0/t", null },
    };

    [Theory]
    [MemberData(nameof(Located))]
    public void Scan_Pointer_FindsExactValueBytes(string json, string pointer, string? expected)
    {
        var bytes = Utf8(json);

        var location = Locate(bytes, pointer);

        Assert.Equal(expected, location is { } found ? Raw(bytes, found) : null);
    }

    [Theory]
    [InlineData("""{"a":"s"}""", "/a", JsonTokenType.String)]
    [InlineData("""{"a":1}""", "/a", JsonTokenType.Number)]
    [InlineData("""{"a":true}""", "/a", JsonTokenType.True)]
    [InlineData("""{"a":false}""", "/a", JsonTokenType.False)]
    [InlineData("""{"a":null}""", "/a", JsonTokenType.Null)]
    [InlineData("""{"a":{}}""", "/a", JsonTokenType.StartObject)]
    [InlineData("""{"a":[]}""", "/a", JsonTokenType.StartArray)]
    [InlineData("""{"a":[]}""", "", JsonTokenType.StartObject)]
    public void Scan_Pointer_ReportsTokenType(string json, string pointer, JsonTokenType expected)
    {
        var location = Locate(Utf8(json), pointer);

        Assert.Equal(expected, location?.TokenType);
    }

    [Fact]
    public void Scan_SeveralPointers_FillsEachSlot()
    {
        var json = Utf8("""
            {
              "room": "general",
              "message": { "text": "hello \"world\"", "title": "t", "attachments": [{ "body": "a0" }, { "body": "a1" }] },
              "isDirect": true,
              "sender": { "name": "ann" }
            }
            """);

        var (error, found) = Scan(
            json,
            "/message/text",
            "/message/attachments/1/body",
            "/isDirect",
            "/missing",
            "/room",
            "",
            "/message/text");

        Assert.Equal(JsonScanError.None, error);
        Assert.Equal("\"hello \\\"world\\\"\"", Raw(json, found[0]!.Value));
        Assert.Equal("\"a1\"", Raw(json, found[1]!.Value));
        Assert.Equal("true", Raw(json, found[2]!.Value));
        Assert.Null(found[3]);
        Assert.Equal("\"general\"", Raw(json, found[4]!.Value));
        Assert.Equal(0, found[5]!.Value.Start);
        Assert.Equal(json.Length, found[5]!.Value.Length);
        Assert.Equal(found[0], found[6]);
    }

    [Fact]
    public void Scan_ReusedScanner_ClearsPreviousResults()
    {
        var scanner = Scanner("/a", "/b");
        var found = new JsonValueLocation?[2];

        Assert.Equal(JsonScanError.None, scanner.Scan(Utf8("""{"a":1,"b":2}"""), found, out _));
        Assert.Equal(JsonScanError.None, scanner.Scan(Utf8("""{"b":3}"""), found, out _));

        Assert.Null(found[0]);
        Assert.Equal(new JsonValueLocation(5, 1, JsonTokenType.Number), found[1]);
    }

    [Fact]
    public void Scan_NoPointers_StillValidates()
    {
        var scanner = Scanner();

        Assert.Equal(JsonScanError.None, scanner.Scan(Utf8("""{"a":[1,2]}"""), [], out _));
        Assert.Equal(JsonScanError.Malformed, scanner.Scan(Utf8("""{"a":[1,2}"""), [], out _));
    }

    [Fact]
    public void Scan_WrongSlotCount_Throws()
    {
        var scanner = Scanner("/a");

        Assert.Throws<ArgumentException>(() => scanner.Scan(Utf8("{}"), new JsonValueLocation?[2], out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\r\n")]
    [InlineData("""{"a":""")]
    [InlineData("""{"a":1,}""")]
    [InlineData("""{"a":[1,]}""")]
    [InlineData("[1 2]")]
    [InlineData("""{"a":1}x""")]
    [InlineData("""{"a":1}}""")]
    [InlineData("""{"a":1}{"b":2}""")]
    [InlineData("""{"a":1} 2""")]
    [InlineData("""{"a" 1}""")]
    [InlineData("""{a:1}""")]
    [InlineData("""{'a':1}""")]
    [InlineData("""{"a":1 /* comment */}""")]
    [InlineData("""{"a":"unterminated}""")]
    [InlineData("""{"a":"bad \x escape"}""")]
    [InlineData("""{"a":"\u12"}""")]
    [InlineData("{\"a\":\"raw\ttab\"}")]
    [InlineData("""{"a":01}""")]
    [InlineData("""{"a":NaN}""")]
    [InlineData("""{"a":True}""")]
    [InlineData("""{"a":[}""")]
    [InlineData("""[1 2""")]
    [InlineData("{\"a\":1}\0")]
    public void Scan_MalformedJson_ReturnsMalformed(string json)
    {
        var found = new JsonValueLocation?[1];

        var error = Scanner("/a").Scan(Utf8(json), found, out var detail);

        Assert.Equal(JsonScanError.Malformed, error);
        Assert.False(string.IsNullOrEmpty(detail));
        Assert.Null(found[0]);
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("[{\"a\":1}]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("  [ ]  ")]
    public void Scan_RootNotObject_ReturnsNotAnObject(string json)
    {
        var found = new JsonValueLocation?[2];

        var error = Scanner("/a", "").Scan(Utf8(json), found, out var detail);

        Assert.Equal(JsonScanError.NotAnObject, error);
        Assert.False(string.IsNullOrEmpty(detail));
        Assert.Equal([null, null], found);
    }

    [Theory]
    [InlineData("7B2261223A22C328227D")] // {"a":"<C3 28>"}: a lead byte followed by ASCII, inside a string
    [InlineData("7B2261223A317DFF")] // a lone 0xFF after the document
    [InlineData("FF7B7D")] // a lone 0xFF before the document
    [InlineData("7B2261223AFF317D")] // a lone 0xFF between tokens
    [InlineData("7B2261223A22C0AF227D")] // overlong encoding of '/'
    [InlineData("7B2261223A22EDA080227D")] // a UTF-16 surrogate encoded as UTF-8
    [InlineData("7B2261223A22F4908080227D")] // beyond U+10FFFF
    [InlineData("7B2261223A22E282227D")] // truncated three-byte sequence
    [InlineData("7B2261223A2278222C2262223A22FE227D")] // {"a":"x","b":"<FE>"}: after the located value
    [InlineData("7B2261223A2278227DC3")] // truncated sequence at the very end
    public void Scan_InvalidUtf8_ReturnsInvalidUtf8(string hex)
    {
        var json = FromHex(hex);
        var found = new JsonValueLocation?[1];

        var error = Scanner("/a").Scan(json, found, out var detail);

        Assert.Equal(JsonScanError.InvalidUtf8, error);
        Assert.StartsWith("Invalid UTF-8 at byte ", detail, StringComparison.Ordinal);
        Assert.Null(found[0]);
    }

    [Fact]
    public void Scan_InvalidUtf8_DetailNamesFirstBadByte()
    {
        Scanner().Scan(FromHex("7B2261223A22C328227D"), [], out var detail);

        Assert.Equal("Invalid UTF-8 at byte 6.", detail);
    }

    [Theory]
    [InlineData(2, false)]
    [InlineData(63, false)]
    [InlineData(64, false)]
    [InlineData(65, true)]
    [InlineData(200, true)]
    [InlineData(1000, true)]
    public void Scan_NestedArrays_LimitsDepthAt64(int depth, bool tooDeep)
    {
        // The root object counts as one level.
        var json = Utf8("{\"a\":" + new string('[', depth - 1) + new string(']', depth - 1) + "}");

        var expected = tooDeep ? JsonScanError.TooDeep : JsonScanError.None;

        Assert.Equal(expected, Scanner("/a").Scan(json, new JsonValueLocation?[1], out _));
    }

    [Theory]
    [InlineData(64, false)]
    [InlineData(65, true)]
    public void Scan_NestedObjects_LimitsDepthAt64(int depth, bool tooDeep)
    {
        var json = Utf8(Repeat("{\"a\":", depth - 1) + "{}" + new string('}', depth - 1));

        var expected = tooDeep ? JsonScanError.TooDeep : JsonScanError.None;

        Assert.Equal(expected, Scanner("/a").Scan(json, new JsonValueLocation?[1], out _));
    }

    [Fact]
    public void Scan_TooDeepThenMalformed_ReturnsTooDeep()
    {
        // Depth is checked as the reader goes, so the excess is found before the later syntax error.
        var json = Utf8("{\"a\":" + new string('[', 70) + ",");

        Assert.Equal(JsonScanError.TooDeep, Scanner().Scan(json, [], out var detail));
        Assert.Contains("64", detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_ValueAtMaximumDepth_IsFound()
    {
        // 64 containers: the root object and 63 arrays; the string sits inside the innermost array.
        var json = Utf8("{\"a\":" + new string('[', 63) + "\"deep\"" + new string(']', 63) + "}");

        var location = Locate(json, "/a" + Repeat("/0", 63));

        Assert.Equal("\"deep\"", Raw(json, location!.Value));
    }

    [Theory]
    [InlineData(3, "{\"a\":{\"b\":{}}}", false)]
    [InlineData(3, "{\"a\":{\"b\":{\"c\":1}}}", false)]
    [InlineData(3, "{\"a\":{\"b\":{\"c\":[]}}}", true)]
    [InlineData(1, "{\"a\":1}", false)]
    [InlineData(1, "{\"a\":[]}", true)]
    public void Scan_CustomMaxDepth_IsHonoured(int maxDepth, string json, bool tooDeep)
    {
        Assert.Equal(tooDeep ? JsonScanError.TooDeep : JsonScanError.None, Scanner(maxDepth).Scan(Utf8(json), [], out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(JsonFieldScanner.MaxSupportedDepth + 1)]
    public void Constructor_OutOfRangeDepth_Throws(int maxDepth)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new JsonFieldScanner([], maxDepth));
    }

    [Fact]
    public void Scan_ManyPointersAndDeepLimit_UsesPooledScratch()
    {
        // 300 pointers and a 500-level limit exceed the stack scratch; results must be the same.
        var pointers = new string[300];
        for (var i = 0; i < pointers.Length; i++)
        {
            pointers[i] = "/k" + i;
        }

        var json = Utf8("{\"k7\":\"seven\",\"k299\":[1],\"z\":" + new string('[', 400) + new string(']', 400) + "}");
        var found = new JsonValueLocation?[pointers.Length];

        var error = Scanner(500, pointers).Scan(json, found, out _);

        Assert.Equal(JsonScanError.None, error);
        Assert.Equal("\"seven\"", Raw(json, found[7]!.Value));
        Assert.Equal("[1]", Raw(json, found[299]!.Value));
        Assert.Null(found[0]);
    }

    [Theory]
    [InlineData("/a", "\"x\"")]
    [InlineData("", "{\"a\":\"x\"}")]
    public void Scan_Utf8Bom_IsSkippedAndOffsetsCountIt(string pointer, string expected)
    {
        var json = FromHex("EFBBBF").Concat(Utf8("{\"a\":\"x\"}")).ToArray();

        var location = Locate(json, pointer);

        Assert.Equal(expected, Raw(json, location!.Value));
        Assert.Equal(pointer == "" ? 3 : 8, location.Value.Start);
    }

    [Theory]
    [InlineData("EFBBBF")]
    [InlineData("EFBBBFEFBBBF7B7D")]
    [InlineData("20EFBBBF7B7D")]
    [InlineData("7B7DEFBBBF")]
    public void Scan_MisplacedBom_ReturnsMalformed(string hex)
    {
        Assert.Equal(JsonScanError.Malformed, Scanner().Scan(FromHex(hex), [], out _));
    }

    [Fact]
    public void Scan_OneMegabyteStrings_FindsValues()
    {
        var big = new string('x', 1 << 20);
        var bigUnicode = string.Concat(Enumerable.Repeat("日本😀", (1 << 20) / 10));
        var json = Utf8($$"""{"pad":"{{big}}","message":{"text":"{{bigUnicode}}"},"tail":"{{big}}","flag":true}""");

        var (error, found) = Scan(json, "/message/text", "/flag", "/tail");

        Assert.Equal(JsonScanError.None, error);
        Assert.Equal(Encoding.UTF8.GetByteCount(bigUnicode) + 2, found[0]!.Value.Length);
        Assert.Equal("true", Raw(json, found[1]!.Value));
        Assert.Equal((1 << 20) + 2, found[2]!.Value.Length);
    }

    [Fact]
    public void Scan_ValidDocument_AllocatesNothing()
    {
        var scanner = Scanner("/message/text", "/items/2/body", "/te~1xt", "/flag", "");
        var json = Utf8("""
            {"message":{"te\u0078t":"hi","text":"hello"},"items":[{"body":1},[2,[3]],{"body":"b","x":{"body":4}}],
             "te/xt":[true,false,null],"flag":"true","n":-1.25e-3,"deep":[[[[{"a":[{}]}]]]]}
            """);
        var found = new JsonValueLocation?[5];
        scanner.Scan(json, found, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = scanner.Scan(json, found, out _);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(JsonScanError.None, error);
        Assert.Equal(0, allocated);
        Assert.Equal("\"hello\"", Raw(json, found[0]!.Value));
        Assert.Equal("\"b\"", Raw(json, found[1]!.Value));
        Assert.Equal("[true,false,null]", Raw(json, found[2]!.Value));
    }

    [Fact]
    public void Scan_Concurrently_GivesIndependentResults()
    {
        // One scanner per config snapshot is shared by all requests.
        var scanner = Scanner("/a/1", "/b");
        Parallel.For(0, 2000, i =>
        {
            var json = Utf8($$"""{"a":[0,{{i}}],"b":"{{new string('b', i % 50)}}"}""");
            var found = new JsonValueLocation?[2];

            Assert.Equal(JsonScanError.None, scanner.Scan(json, found, out _));
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), Raw(json, found[0]!.Value));
            Assert.Equal((i % 50) + 2, found[1]!.Value.Length);
        });
    }

    private static string Repeat(string text, int count) => string.Concat(Enumerable.Repeat(text, count));
}
