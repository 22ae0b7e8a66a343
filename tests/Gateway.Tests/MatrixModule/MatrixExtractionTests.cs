using System.Text;
using System.Text.Json;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Configuration;
using Gateway.Protocols.Matrix;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Tests.MatrixModule;

/// <summary>One field extraction for the client-server adapter and the antispam callbacks.</summary>
public sealed class MatrixExtractionTests
{
    private const string Edit = """
        {"msgtype":"m.text","body":"* fixed","m.new_content":{"msgtype":"m.text","body":"fixed","format":"org.matrix.custom.html",
         "formatted_body":"<b>fixed</b> scamword"},"m.relates_to":{"rel_type":"m.replace","event_id":"$orig"}}
        """;

    [Fact]
    public void Read_MessageWithEdit_EveryTextFieldIncludingNewFormattedBody()
    {
        var content = new MatrixCodec(64).Read(MatrixContentKind.Message, Encoding.UTF8.GetBytes(Edit));
        Assert.Equal(new[] { "* fixed", "fixed", "fixed scamword" }, content.Fields.Select(f => f.Text));
        Assert.All(content.Fields, f => Assert.Equal(FieldKind.Body, f.Kind));
    }

    [Theory]
    [InlineData("m.room.message", """{"body":"a","format":"org.matrix.custom.html","formatted_body":"<i>b</i>"}""", "Body:a|Body:b")]
    [InlineData("m.sticker", """{"body":"sticker text","url":"mxc://x/y"}""", "Body:sticker text")]
    [InlineData("m.room.name", """{"name":"Room name"}""", "Title:Room name")]
    [InlineData("m.room.topic", """{"topic":"A topic"}""", "Body:A topic")]
    [InlineData("m.room.member", """{"membership":"join","displayname":"Nick"}""", "DisplayName:Nick")]
    [InlineData("m.reaction", """{"body":"not read"}""", "")]
    public void EventFields_SameAsTheCodecReadsForTheEventType(string type, string content, string expected)
    {
        using var doc = JsonDocument.Parse($$"""{"type":"{{type}}","sender":"@a:o.test","content":{{content}}}""");
        var fields = AntispamEndpoints.EventFields(doc.RootElement);
        Assert.Equal(expected, string.Join("|", fields.Select(f => $"{f.Kind}:{f.Text}")));
        var codec = new MatrixCodec(64).Read(MatrixCodec.KindOfEvent(type), Encoding.UTF8.GetBytes(content)).Fields;
        Assert.Equal(codec.Select(f => (f.Kind, f.Text)), fields.Select(f => (f.Kind, f.Text)));
    }

    [Fact]
    public void KindOfRequest_ClientServerPaths_MatchEventKinds()
    {
        Assert.Equal(MatrixContentKind.Message, MatrixCodec.KindOfRequest(MatrixPath.Parse("PUT", "/_matrix/client/v3/rooms/!r:x/send/m.room.message/t1")));
        Assert.Equal(MatrixContentKind.RoomName, MatrixCodec.KindOfRequest(MatrixPath.Parse("PUT", "/_matrix/client/v3/rooms/!r:x/state/m.room.name/")));
        Assert.Equal(MatrixContentKind.DisplayName, MatrixCodec.KindOfRequest(MatrixPath.Parse("PUT", "/_matrix/client/v3/profile/@a:x/displayname")));
    }

    [Fact]
    public async Task Antispam_BadWordOnlyInNewContentFormattedBody_Refused()
    {
        var token = "antispam-token-1234";
        var host = new FakeModuleHost(
            new MatrixSettings { Antispam = new AntispamSettings { Enabled = true, Token = new Secret(Encoding.UTF8.GetBytes(token)) } },
            filters: new[] { new FilterDefinition { Name = "scam", Action = FilterAction.Reject, Keywords = new[] { "scamword" }, Notice = "Scams are not allowed here." } });
        var body = $$$"""{"event":{"type":"m.room.message","sender":"@r:o.test","room_id":"!r:hs.test","event_id":"$e","content":{{{Edit}}}}}""";

        var result = await Call("check_event_for_spam", body, token, host);

        Assert.Equal(403, result.StatusCode);
        Assert.Equal(new { errcode = "M_FORBIDDEN", error = "Scams are not allowed here." }.ToString(), ((IValueHttpResult)result).Value?.ToString());
        var (message, source) = Assert.Single(host.Evaluated);
        Assert.Equal("antispam", source);
        Assert.Equal("@r:o.test", message.Sender);
    }

    [Fact]
    public async Task Antispam_TokenAndSettings_ReadLiveFromTheHost()
    {
        var host = new FakeModuleHost();
        Assert.Equal(404, (await Call("check_event_for_spam", "{}", "t", host)).StatusCode);
        host.Matrix = new MatrixSettings { Antispam = new AntispamSettings { Enabled = true, Token = new Secret("right-token"u8.ToArray()) } };
        Assert.Equal(401, (await Call("check_event_for_spam", "{}", "wrong-token", host)).StatusCode);
        var ok = """{"event":{"type":"m.room.message","sender":"@r:o.test","room_id":"!r:hs.test","content":{"body":"hello"}}}""";
        Assert.Equal(200, (await Call("check_event_for_spam", ok, "right-token", host)).StatusCode);
    }

    private static async Task<IStatusCodeHttpResult> Call(string callback, string body, string token, FakeModuleHost host)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Headers.Authorization = "Bearer " + token;
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        var result = await AntispamEndpoints.HandleAsync(callback, context, host, NullLogger.Instance);
        return Assert.IsAssignableFrom<IStatusCodeHttpResult>(result);
    }

    [Theory]
    [InlineData("m.room.name", """{"name":"scamword lounge"}""")]
    [InlineData("m.room.topic", """{"topic":"get scamword"}""")]
    [InlineData("m.room.member", """{"membership":"join","displayname":"scamword bot"}""")]
    [InlineData("m.room.canonical_alias", """{"alias":"#ok:o.test","alt_aliases":["#scamword:o.test"]}""")]
    [InlineData("m.room.avatar", """{"url":"mxc://o.test/a","info":{"alt":"scamword"}}""")]
    public async Task Antispam_FederatedStateTexts_JudgedAsFromALocalClient(string type, string content)
    {
        var token = "antispam-token-1234";
        var host = new FakeModuleHost(
            new MatrixSettings { Antispam = new AntispamSettings { Enabled = true, Token = new Secret(Encoding.UTF8.GetBytes(token)) } },
            filters: new[] { new FilterDefinition { Name = "scam", Action = FilterAction.Reject, Keywords = new[] { "scamword" }, Fields = FieldSet.All, Notice = "No." } });
        var body = $$$"""{"event":{"type":"{{{type}}}","state_key":"","sender":"@r:o.test","room_id":"!r:hs.test","event_id":"$e","content":{{{content}}}}}""";

        Assert.Equal(403, (await Call("check_event_for_spam", body, token, host)).StatusCode);
        var clean = body.Replace("scamword", "fine", StringComparison.Ordinal);
        Assert.Equal(200, (await Call("check_event_for_spam", clean, token, host)).StatusCode);
    }
}
