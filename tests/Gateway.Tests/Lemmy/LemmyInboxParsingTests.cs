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
    [InlineData("<p>free <b>crypto</b></p>", "free crypto")]
    [InlineData("<p>one</p><p>two</p>", "one  two")]
    [InlineData("fish &amp; chips<br/>later", "fish & chips later")]
    public void HtmlText_DropsTagsKeepsWords(string html, string text) =>
        Assert.Equal(text, LemmyInbox.HtmlText(html));
}
