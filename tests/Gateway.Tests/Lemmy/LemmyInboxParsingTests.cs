using Gateway.Protocols.Lemmy;

namespace Gateway.Tests.Lemmy;

/// <summary>The inbox gate's and reader's small parsers: inbox paths, the Signature keyId host, HTML as text.</summary>
public sealed class LemmyInboxParsingTests
{
    [Theory]
    [InlineData("POST", "/inbox", true)]
    [InlineData("POST", "/inbox/", true)]
    [InlineData("POST", "/site_inbox", true)]
    [InlineData("POST", "/c/memes/inbox", true)]
    [InlineData("POST", "/u/alice/inbox", true)]
    [InlineData("GET", "/inbox", false)]
    [InlineData("POST", "/c/inbox", false)]
    [InlineData("POST", "/c/a/b/inbox", false)]
    [InlineData("POST", "/api/v3/inbox", false)]
    [InlineData("POST", "/c/memes", false)]
    public void IsInbox_LemmysInboxRoutesOnly(string method, string path, bool expected) =>
        Assert.Equal(expected, LemmyInboxGate.IsInbox(method, path));

    [Theory]
    [InlineData("keyId=\"https://good.example/u/carol#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"x\"", "good.example")]
    [InlineData("algorithm=\"hs2019\",keyId=\"https://Mastodon.Example:8443/users/a#main-key\",signature=\"x\"", "mastodon.example")]
    [InlineData("keyId=\"not a url\",signature=\"x\"", null)]
    [InlineData("", null)]
    public void KeyIdHost_IsTheKeyUrlsHost(string signature, string? host) =>
        Assert.Equal(host, LemmyInboxGate.KeyIdHost(signature));

    [Theory]
    [InlineData("keyId=\"http://evi\uFFFD.example/u/bob#main-key\",signature=\"x\"")]
    public void KeyIdHost_HostIdnaRefuses_GivesItsPlainFormInsteadOfThrowing(string signature)
    {
        // make fuzz (issue 17): Uri.IdnHost threw UriFormatException out of the inbox gate.
        var host = LemmyInboxGate.KeyIdHost(signature);
        Assert.NotNull(host);
        Assert.EndsWith(".example", host, StringComparison.Ordinal);
    }

    [Fact]
    public void PeekAndParse_InvalidUtf8InAString_AreNotJson()
    {
        // make fuzz (issue 17): JsonDocument accepts such bytes and GetString then throws InvalidOperationException.
        var body = "{\"type\":\"Create\",\"actor\":\"https://a.example/u/~\",\"object\":{\"type\":\"Note\",\"content\":\"hi\"}}"u8.ToArray();
        body[Array.IndexOf(body, (byte)'~')] = 0xA7;

        Assert.Equal((null, null), LemmyInboxGate.Peek(body));
        var parsed = new LemmyInbox("lemmy.example", 64).Parse("/inbox", "lemmy.example", body);
        Assert.Equal("invalid_json", parsed.Error?.Code);
    }

    [Theory]
    [InlineData("<p>free <b>crypto</b></p>", "free crypto")]
    [InlineData("<p>one</p><p>two</p>", "one  two")]
    [InlineData("fish &amp; chips<br/>later", "fish & chips later")]
    public void HtmlText_DropsTagsKeepsWords(string html, string text) =>
        Assert.Equal(text, LemmyInbox.HtmlText(html));
}
