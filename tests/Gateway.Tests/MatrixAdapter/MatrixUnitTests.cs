using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Matrix;

namespace Gateway.Tests.MatrixAdapter;

public sealed class MatrixUnitTests
{
    [Theory]
    [InlineData("PUT", "/_matrix/client/v3/rooms/!abc%3Aexample.org/send/m.room.message/txn1", MatrixRequestKind.Send, "!abc:example.org", "m.room.message")]
    [InlineData("PUT", "/_matrix/client/r0/rooms/!abc:example.org/send/m.room.encrypted/t", MatrixRequestKind.Send, "!abc:example.org", "m.room.encrypted")]
    [InlineData("PUT", "/_matrix/client/v3/rooms/!r:x/state/m.room.name", MatrixRequestKind.State, "!r:x", "m.room.name")]
    [InlineData("PUT", "/_matrix/client/v3/rooms/!r:x/state/m.room.member/@a:x", MatrixRequestKind.State, "!r:x", "m.room.member")]
    [InlineData("POST", "/_matrix/client/v3/rooms/!r:x/report/$ev", MatrixRequestKind.ReportEvent, "!r:x", null)]
    [InlineData("POST", "/_matrix/client/v3/rooms/!r:x/report", MatrixRequestKind.ReportRoom, "!r:x", null)]
    [InlineData("GET", "/_matrix/client/v3/rooms/!r:x/send/m.room.message/t", MatrixRequestKind.Other, null, null)]
    [InlineData("GET", "/_matrix/client/v3/sync", MatrixRequestKind.Other, null, null)]
    [InlineData("POST", "/_matrix/client/v3/rooms/!r:x/leave", MatrixRequestKind.MembershipChange, "!r:x", "leave")]
    [InlineData("POST", "/_matrix/client/v3/knock/%23club%3Ax", MatrixRequestKind.MembershipChange, "#club:x", "knock")]
    [InlineData("POST", "/_matrix/client/v3/rooms/!r:x/forget", MatrixRequestKind.Other, null, null)]
    [InlineData("PUT", "/_matrix/client/v1/rooms/!r:x/send/m.room.message/t", MatrixRequestKind.Other, null, null)]
    public void Parse_ClientPaths_Classified(string method, string path, MatrixRequestKind kind, string? room, string? type)
    {
        var p = MatrixPath.Parse(method, path);
        Assert.Equal(kind, p.Kind);
        Assert.Equal(room, p.RoomId);
        Assert.Equal(type, p.EventType);
    }

    [Theory]
    [InlineData("/_matrix/federation/v1/make_join/!r:x/@u:evil.org", "make_join", "!r:x", "@u:evil.org", true)]
    [InlineData("/_matrix/federation/v2/send_join/!r:x/$e", "send_join", "!r:x", null, true)]
    [InlineData("/_matrix/federation/v2/invite/!r:x/$e", "invite", "!r:x", null, true)]
    [InlineData("/_matrix/federation/v1/make_leave/!r:x/@u:x", "make_leave", "!r:x", "@u:x", false)]
    [InlineData("/_matrix/federation/v1/state_ids/!r:x", "state_ids", "!r:x", null, false)]
    [InlineData("/_matrix/federation/v1/send/txn123", "send", null, null, false)]
    [InlineData("/_matrix/federation/v1/backfill/!r:x", "backfill", "!r:x", null, false)]
    public void Parse_FederationPaths_Classified(string path, string endpoint, string? room, string? user, bool membership)
    {
        var p = MatrixPath.Parse("PUT", path);
        Assert.Equal(MatrixRequestKind.Federation, p.Kind);
        Assert.Equal(endpoint, p.FederationEndpoint);
        Assert.Equal(room, p.RoomId);
        Assert.Equal(user, p.UserId);
        Assert.Equal(membership, p.IsMembershipRequest);
    }

    [Theory]
    [InlineData("/_matrix/federation/v1/version")]
    [InlineData("/_matrix/key/v2/server")]
    [InlineData("/_matrix/federation/v1/query/directory")]
    public void Parse_OtherFederationPaths_AreNotGated(string path)
    {
        Assert.Equal(MatrixRequestKind.Other, MatrixPath.Parse("GET", path).Kind);
    }

    [Theory]
    [InlineData("<b>bad</b> word", "bad word")]
    [InlineData("b<i>a</i>d", "bad")]                      // inline tags don't split words
    [InlineData("one<br>two", "one two")]                  // block tags do
    [InlineData("fish &amp; chips &lt;3", "fish & chips <3")]
    [InlineData("<a href=\"x>y\">link</a>", "link")]          // '>' inside a quoted attribute
    public void Html_Text_IsWhatReadersSee(string html, string text)
    {
        Assert.Equal(text, MatrixHtml.Parse(html).Text);
    }

    [Theory]
    [InlineData("<b>darn</b> it", "<b>****</b> it")]
    [InlineData("d<i>ar</i>n it", "*<i>**</i>* it")]
    [InlineData("<a href=\"https://darn.example\">darn &amp; co</a>", "<a href=\"https://darn.example\">**** &amp; co</a>")]
    [InlineData("caf\u00e9 darn", "caf\u00e9 ****")]
    public void Html_Censor_KeepsTagsAndEscapes(string html, string expected)
    {
        var filters = new[] { new FilterDefinition { Name = "f", Keywords = new[] { "darn" } } };
        var parsed = MatrixHtml.Parse(html);
        var v = PolicyCompiler.Compile(filters).Evaluate(new ChatMessage { Protocol = "m", Fields = new[] { new MessageField(FieldKind.Body, parsed.Text) } });
        var ranges = v.Matches.Select(m => (m.Start, m.End)).ToList();
        Assert.Equal(expected, parsed.Censor(ranges));
    }

    [Theory]
    [InlineData("X-Matrix origin=\"matrix.org\",destination=\"example.org\",key=\"ed25519:1\",sig=\"abc\"", "matrix.org")]
    [InlineData("X-Matrix origin=evil.com:8448,key=\"ed25519:a\",sig=\"s\"", "evil.com:8448")]
    [InlineData("X-Matrix key=\"ed25519:a,b\",origin=\"o.org\",sig=\"x\"", "o.org")]
    [InlineData("Bearer abc", null)]
    [InlineData("X-Matrix key=\"k\"", null)]
    public void XMatrix_Origin_Parsed(string header, string? origin)
    {
        Assert.Equal(origin, XMatrix.Origin(header));
    }

    [Fact]
    public void PolicyList_BansAreReadAndOtherRecommendationsIgnored()
    {
        var json = """
            {"events":[
              {"type":"m.policy.rule.server","state_key":"a","content":{"entity":"*.evil.org","recommendation":"m.ban","reason":"spam"}},
              {"type":"m.policy.rule.user","state_key":"b","content":{"entity":"@spammer*:*","recommendation":"m.ban"}},
              {"type":"m.policy.rule.room","state_key":"c","content":{"entity":"!bad:x.org","recommendation":"m.ban"}},
              {"type":"m.policy.rule.user","state_key":"d","content":{"entity":"@fine:x.org","recommendation":"org.example.watch"}},
              {"type":"m.policy.rule.user","state_key":"e","content":{}}
            ]}
            """;
        var errors = new List<string>();
        var list = MatrixPolicyList.Parse(new[] { ("bans.json", json) }, errors);
        Assert.Empty(errors);
        Assert.Equal(new[] { "*.evil.org" }, list.ServerBans);
        Assert.True(list.IsUserBanned("@spammer99:any.org"));
        Assert.False(list.IsUserBanned("@fine:x.org"));
        Assert.True(list.IsRoomBanned("!bad:x.org"));
    }

    [Fact]
    public void PolicyList_BadFile_IsReported()
    {
        var errors = new List<string>();
        MatrixPolicyList.Parse(new[] { ("a.json", "{not json"), ("b.json", "{\"x\":1}") }, errors);
        Assert.Equal(2, errors.Count);
        Assert.StartsWith("a.json: not valid JSON", errors[0]);
        Assert.Equal("b.json: expected an array of m.policy.rule.* events or {\"events\": [...]}", errors[1]);
    }
}
