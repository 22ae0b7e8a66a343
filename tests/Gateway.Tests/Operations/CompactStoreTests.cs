using Gateway.Protocols.Matrix;
using Gateway.Protocols.Sogs;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Operations;

/// <summary>
/// The long-lived per-request stores (Matrix drop ids, 50,000 for 24 h; SOGS nonces, 200,000 for 48 h) hold
/// fixed-size digests, not strings: their bytes per entry are measured here (managed allocations while filling,
/// which includes the tables' growth), and their answers are the same as when they held the strings. The heap is
/// measured whole, so these run alone, after the parallel tests (the telemetry collection); the bounds sit between the
/// digest layout (~110 and ~280 bytes measured) and the string one it replaced (~300 and ~570 bytes).
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class CompactStoreTests
{
    [Fact]
    public void MatrixDrops_SameTxnSameId_PerToken_Expiring_Bounded()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 7, 0, 0, TimeSpan.Zero));
        var drops = new MatrixDrops(time, capacity: 3, lifetime: TimeSpan.FromHours(1));

        var first = drops.EventIdFor("token-a", "txn1");
        Assert.Matches("^\\$[A-Za-z0-9_-]{43}$", first);
        Assert.Equal(first, drops.EventIdFor("token-a", "txn1"));
        Assert.NotEqual(first, drops.EventIdFor("token-b", "txn1"));
        Assert.True(drops.IsDropped("token-a", first));
        Assert.False(drops.IsDropped("token-b", first));
        Assert.False(drops.IsDropped("token-a", "$" + new string('A', 43)));
        Assert.False(drops.IsDropped("token-a", null));
        var noTxn = drops.EventIdFor("token-a", null);
        Assert.True(drops.IsDropped("token-a", noTxn));

        // A fourth entry evicts the oldest: txn1 of token-a gets a fresh id and the old one is forgotten.
        drops.EventIdFor("token-c", "txn9");
        Assert.False(drops.IsDropped("token-a", first));
        Assert.NotEqual(first, drops.EventIdFor("token-a", "txn1"));

        time.Advance(TimeSpan.FromHours(1));
        Assert.False(drops.IsDropped("token-a", noTxn));
        drops.EventIdFor("token-z", "t");
        Assert.Equal(1, drops.Count);
    }

    [Fact]
    public void MatrixDrops_LoweredCapacity_ForgetsTheOldestAtOnce_AndBoundsWhatFollows()
    {
        var drops = new MatrixDrops(new FakeTimeProvider(), capacity: 100);
        var ids = Enumerable.Range(0, 100).Select(i => drops.EventIdFor("token", $"txn{i}")).ToArray();
        drops.Capacity = 100; // unchanged: nothing forgotten
        Assert.Equal(100, drops.Count);

        drops.Capacity = 10;
        Assert.Equal(10, drops.Count);
        Assert.False(drops.IsDropped("token", ids[89]));
        Assert.True(drops.IsDropped("token", ids[90]));
        Assert.Equal(ids[99], drops.EventIdFor("token", "txn99"));
        for (var i = 0; i < 50; i++)
        {
            drops.EventIdFor("token", $"more{i}");
        }

        Assert.Equal(10, drops.Count);
        drops.Capacity = 1_000;
        drops.EventIdFor("token", "after");
        Assert.Equal(11, drops.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => drops.Capacity = 0);
    }

    [Fact]
    public void MatrixDrops_BytesPerEntry_Under400()
    {
        var drops = new MatrixDrops(new FakeTimeProvider(), capacity: 50_000);
        var tokens = Enumerable.Range(0, 50).Select(i => $"syt_dXNlcg_{i:D4}_abcdefghijklmnopqrst").ToArray();
        var txns = Enumerable.Range(0, 50_000).Select(i => $"m1733125200000.{i}").ToArray();
        var ids = new string[txns.Length];
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < txns.Length; i++)
        {
            ids[i] = drops.EventIdFor(tokens[i % tokens.Length], txns[i]);
        }

        // The returned ids are the caller's (the client gets them); what the store keeps is measured without them.
        Array.Clear(ids);
        var perEntry = (GC.GetTotalMemory(forceFullCollection: true) - before) / (double)txns.Length;
        GC.KeepAlive(drops);
        Assert.True(perEntry < 400, $"{perEntry:0} bytes an entry");
    }

    [Fact]
    public void SogsNonces_BytesPerEntry_Under180_AndReplaysStillRefused()
    {
        var nonces = new SogsNonces(new FakeTimeProvider(), 200_000);
        var session = "05" + new string('a', 64);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < 50_000; i++)
        {
            Assert.True(nonces.TryUse(session, BitConverter.GetBytes((long)i).Concat(new byte[8]).ToArray()));
        }

        var perEntry = (GC.GetTotalMemory(forceFullCollection: true) - before) / 50_000.0;
        Assert.True(perEntry < 180, $"{perEntry:0} bytes an entry");
        Assert.False(nonces.TryUse(session, BitConverter.GetBytes(7L).Concat(new byte[8]).ToArray()));
        Assert.True(nonces.TryUse("15" + new string('a', 64), BitConverter.GetBytes(7L).Concat(new byte[8]).ToArray()));
    }
}
