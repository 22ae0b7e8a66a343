using Gateway.Policy.Protections;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Policy.Tests.Protections;

/// <summary>
/// The in-process counter store's rings of event times: sized to what a key's window holds, not to the limit, and
/// exact up to the limit (issue 17's soak found every steady sender's ring growing to a 10,000-a-second cap).
/// </summary>
public sealed class CounterRingTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A store on a fake clock and one hit operation on <paramref name="key"/>.</summary>
    private static (FakeTimeProvider Time, LocalCounterStore Store, CounterOp[] Op, long[] Result) Counter(string key, TimeSpan window, int cap)
    {
        var time = new FakeTimeProvider(Start);
        return (time, new LocalCounterStore(time), [new CounterOp(CounterOpKind.Hit, key, window, cap)], new long[1]);
    }

    [Fact]
    public void CounterStore_ASteadySender_UnderAHighLimit_KeepsARingSizedToItsWindow_AndCountsExactly()
    {
        // The soak's flood limit (10,000 a second) and a sender at 100 a second: the window needs ~100 slots, not the
        // cap. Before, the ring doubled whenever it was full, whether or not its oldest event still counted, and every
        // steady sender's ring reached the cap (80 KB) in time.
        var (time, store, op, result) = Counter("flood|f|test|steady", TimeSpan.FromSeconds(1), 10_001);
        for (var i = 0; i < 100_000; i++)
        {
            store.Execute(op, result);
            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(100, result[0]); // the events of the last second, this one included
        Assert.InRange(store.RingLength("flood|f|test|steady"), 100, 512);

        // A burst inside one window grows it to what the window holds (exact up to the cap)…
        for (var i = 0; i < 5_000; i++)
        {
            store.Execute(op, result);
        }

        Assert.Equal(5_099, result[0]); // 99 steady ones still inside the second, and the burst
        Assert.InRange(store.RingLength("flood|f|test|steady"), 5_099, 10_001);

        // …and once the burst has left the window, the ring halves back toward the steady rate.
        for (var i = 0; i < 2_000; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            store.Execute(op, result);
        }

        Assert.Equal(100, result[0]);
        Assert.InRange(store.RingLength("flood|f|test|steady"), 100, 512);
    }

    [Fact]
    public void CounterStore_AtTheCap_CountsStayExact_AndTheRingNeverPassesIt()
    {
        var (_, store, op, result) = Counter("flood|f|test|burst", TimeSpan.FromMinutes(1), 50);
        for (var i = 1; i <= 200; i++)
        {
            store.Execute(op, result);
            Assert.Equal(Math.Min(i, 50), result[0]);
        }

        Assert.Equal(50, store.RingLength("flood|f|test|burst"));
    }
}
