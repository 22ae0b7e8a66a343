using System.Text;
using Gateway.Protocols.BareRtc;
using Gateway.Protocols.Json;

namespace Gateway.Tests.BareRtc;

/// <summary>The poll-answer merge and the ping substitution, on bytes.</summary>
public sealed class BareRtcPollMergeTests
{
    private static readonly byte[][] Frames = { "{\"a\":1}"u8.ToArray(), "{\"b\":2}"u8.ToArray() };

    private static string? Merge(string body, int status = 200, string? type = "application/json") =>
        new PollMerge(Frames).Rewrite(status, type, Encoding.UTF8.GetBytes(body)) is { } r ? Encoding.UTF8.GetString(r) : null;

    [Theory]
    [InlineData("{\"username\":\"u\",\"messages\":[]}", "{\"username\":\"u\",\"messages\":[{\"a\":1},{\"b\":2}]}")]
    [InlineData("{\"messages\":[ \n ],\"session_id\":\"s\"}\n", "{\"messages\":[ \n {\"a\":1},{\"b\":2}],\"session_id\":\"s\"}\n")]
    [InlineData("{\n  \"messages\": [\n    {\"x\":[1]}\n  ]\n}\n", "{\n  \"messages\": [\n    {\"x\":[1]}\n  ,{\"a\":1},{\"b\":2}]\n}\n")]
    public void Merge_AppendsAfterTheServersFrames(string body, string expected) => Assert.Equal(expected, Merge(body));

    [Theory]
    [InlineData("{\"messages\":[]}", 400, "application/json")]
    [InlineData("{\"messages\":[]}", 200, "text/html")]
    [InlineData("{\"messages\":[]}", 200, null)]
    [InlineData("{\"messages\":null}", 200, "application/json")]
    [InlineData("{\"messages\":[]} trailing", 200, "application/json")]
    [InlineData("[1,2]", 200, "application/json")]
    [InlineData("", 200, "application/json")]
    [InlineData("{\"other\":{\"messages\":[]}}", 200, "application/json")]
    public void Merge_PassesWhatItDoesNotUnderstand(string body, int status, string? type) => Assert.Null(Merge(body, status, type));

    [Fact]
    public void WithPing_ReplacesTheMsgObjectOnly()
    {
        var body = Encoding.UTF8.GetBytes("{\"username\":\"p\",\"msg\":{\"action\":\"message\",\"message\":\"x\"},\"session_id\":\"s\"}");
        var at = BareRtcCodec.Scanner("/msg");
        Span<JsonValueLocation?> found = stackalloc JsonValueLocation?[1];
        at.Scan(body, found, out _);

        var result = Encoding.UTF8.GetString(BareRtcPollAdapter.WithPing(body, found[0]!.Value));

        Assert.Equal("{\"username\":\"p\",\"msg\":{\"action\":\"ping\"},\"session_id\":\"s\"}", result);
    }
}
