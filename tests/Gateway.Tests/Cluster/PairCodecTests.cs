using System.Text;
using Gateway.Cluster;
using Gateway.Policy.Context;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Reporting;

namespace Gateway.Tests.Cluster;

/// <summary>The sealed push's plaintext: a report survives the trip whole (the owner sends it as the non-owner made it).</summary>
public sealed class PairCodecTests
{
    [Fact]
    public void Batch_WithReport_RoundTrips_EveryField()
    {
        var now = new DateTimeOffset(2026, 12, 2, 0, 30, 0, 123, TimeSpan.Zero);
        var report = new Report
        {
            Id = Guid.CreateVersion7(now),
            Time = now,
            Kind = "filter",
            Protocol = "json",
            Backend = "chat",
            Route = "chat/0",
            Room = null,
            Direct = true,
            Sender = "@a:x",
            Recipients = ["@b:x"],
            Filters = ["watchlist"],
            Action = "censor",
            Original = [new MessageField(FieldKind.Body, "the wätchword \"is\" here"), new MessageField(FieldKind.Link, "https://e.x/")],
            Delivered = [new MessageField(FieldKind.Body, "the ********* \"is\" here")],
            Matches = [new FilterMatch("watchlist", FilterAction.Censor, FieldKind.Body, "watchword", 4, 13, false, 0) { Steps = ["confusable"] }],
            ClientIp = "192.0.2.1",
        };
        var key = ConversationKey.Direct("json", "@a:x", "@b:x");
        var encoded = PairCodec.Encode([new PairAppend(key, "@a:x", now, ["one", "two"], report, false), new PairAppend(key, "@b:x", now, [], null, true)]);

        Assert.True(PairCodec.TryDecode(encoded, out var batch));
        Assert.Equal(2, batch.Count);
        var (a, b) = (batch[0], batch[1]);
        Assert.Equal((key, "@a:x", now, false), (a.Key, a.Sender, a.Time, a.UserReport));
        Assert.Equal(["one", "two"], a.Texts);
        Assert.Equal(Encoding.UTF8.GetString(report.ToGatewayJson()), Encoding.UTF8.GetString(a.Report!.ToGatewayJson()));
        Assert.Equal(report.Matches[0], a.Report.Matches[0] with { Steps = report.Matches[0].Steps });
        Assert.Equal(["confusable"], a.Report.Matches[0].Steps);
        Assert.Equal((true, null), (b.UserReport, b.Report));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("{\"appends\":[{\"key\":\"r4:jsonroom\",\"sender\":\"a\",\"time\":1,\"user_report\":false,\"texts\":[]}]}")] // a room, not a pair
    [InlineData("{\"appends\":[{\"key\":\"d4:json1:ab\",\"sender\":null,\"time\":1,\"user_report\":false,\"texts\":[]}]}")]
    [InlineData("{\"appends\":[{\"key\":\"d4:json1:ab\",\"sender\":\"a\",\"time\":1,\"user_report\":false,\"texts\":[null]}]}")]
    [InlineData("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]")]
    public void NotABatch_IsRefused(string json) => Assert.False(PairCodec.TryDecode(Encoding.UTF8.GetBytes(json), out _));

    [Fact]
    public void Seal_OpensOnlyForItsTarget_Once()
    {
        var seal = new PeerSeal(Encoding.UTF8.GetBytes(ClusterNode.Secret));
        var now = DateTimeOffset.UnixEpoch.AddYears(57);
        var envelope = seal.Seal("gw-1", "gw-2", now, "secret words"u8);
        Assert.DoesNotContain("secret", Encoding.Latin1.GetString(envelope), StringComparison.Ordinal);
        Assert.Equal(PeerOpenResult.Forged, seal.Open(envelope, "gw-3", now, out _, out _));
        Assert.Equal(PeerOpenResult.Ok, seal.Open(envelope, "gw-2", now + TimeSpan.FromSeconds(29), out var sender, out var plain));
        Assert.Equal(("gw-1", "secret words"), (sender, Encoding.UTF8.GetString(plain)));
        Assert.Equal(PeerOpenResult.Replayed, seal.Open(envelope, "gw-2", now, out _, out _));
        Assert.Equal(PeerOpenResult.Stale, seal.Open(envelope, "gw-2", now + TimeSpan.FromSeconds(31), out _, out _));
        Assert.Equal(PeerOpenResult.Malformed, seal.Open(envelope.AsSpan(0, 20), "gw-2", now, out _, out _));
    }
}
