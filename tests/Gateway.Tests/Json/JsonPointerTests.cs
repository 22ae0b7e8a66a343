using Gateway.Protocols.Json;
using Xunit;

namespace Gateway.Tests.Json;

public sealed class JsonPointerTests
{
    public static TheoryData<string, string[]> ValidPointers => new()
    {
        { "", [] },
        { "/", [""] },
        { "/message/text", ["message", "text"] },
        { "/items/0/body", ["items", "0", "body"] },
        { "/a~1b", ["a/b"] },
        { "/m~0n", ["m~n"] },
        { "/~01", ["~1"] },
        { "/~10", ["/0"] },
        { "//", ["", ""] },
        { "/a/", ["a", ""] },
        { "/ключ/文本/😀", ["ключ", "文本", "😀"] },
        { "/ ", [" "] },
        { "/a\\b", ["a\\b"] },
    };

    [Theory]
    [MemberData(nameof(ValidPointers))]
    public void TryParse_ValidPointer_DecodesSegments(string text, string[] expected)
    {
        Assert.True(JsonPointer.TryParse(text, out var pointer, out var error));
        Assert.Null(error);
        Assert.Equal(text, pointer.Text);
        Assert.Equal(expected, pointer.Segments);
        Assert.Equal(expected.Length, pointer.Depth);
    }

    [Theory]
    [InlineData("message/text")]
    [InlineData("#/message")]
    [InlineData(" /a")]
    [InlineData("/a~")]
    [InlineData("/a~2")]
    [InlineData("/~a")]
    [InlineData("/a/~/b")]
    [InlineData(null)]
    public void TryParse_InvalidPointer_ReturnsError(string? text)
    {
        Assert.False(JsonPointer.TryParse(text, out var pointer, out var error));
        Assert.Null(pointer);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void TryParse_LoneSurrogate_ReturnsError()
    {
        Assert.False(JsonPointer.TryParse("/a\uD800b", out _, out var error));
        Assert.Contains("surrogate", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/0", 0)]
    [InlineData("/7", 7)]
    [InlineData("/1234", 1234)]
    [InlineData("/2147483647", int.MaxValue)]
    [InlineData("/2147483648", -1)]
    [InlineData("/01", -1)]
    [InlineData("/-", -1)]
    [InlineData("/+1", -1)]
    [InlineData("/1a", -1)]
    [InlineData("/", -1)]
    public void ArrayIndex_Segment_ParsesPerRfc6901(string text, int expected)
    {
        Assert.True(JsonPointer.TryParse(text, out var pointer, out _));
        Assert.Equal(expected, pointer.ArrayIndex(0));
    }
}
