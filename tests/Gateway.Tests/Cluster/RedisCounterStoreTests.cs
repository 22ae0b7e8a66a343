using Gateway.Cluster;
using Gateway.Configuration;
using Gateway.Policy.Protections;
using Gateway.Protocols.Configuration;
using Gateway.Tests.Operations;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Tests.Cluster;

/// <summary>
/// The Redis counters against a real redis-server, clocked by a FakeTimeProvider (the script takes the gateway's
/// time, so windows slide without sleeping): the same answers as the in-process store; and what each
/// on_shared_state_error gives when Redis is not there.
/// </summary>
public sealed class RedisCounterStoreTests
{
    private static readonly Secret Key = new(System.Text.Encoding.UTF8.GetBytes(ClusterNode.Secret));

    private static (RedisCounterStore Store, RedisLink Link) Store(int port, FakeTimeProvider time, SharedStateFallback fallback = SharedStateFallback.Local)
    {
        var settings = new ClusterSettings
        {
            Enabled = true,
            Host = "127.0.0.1",
            Port = port,
            Secret = Key,
            Instance = "t",
            Budget = TimeSpan.FromSeconds(2),
            OnSharedStateError = fallback,
        };
        var link = new RedisLink(settings, TelemetryTests.NewTelemetry(), NullLogger<RedisLink>.Instance);
        link.Connect();
        return (new RedisCounterStore(link, new LocalCounterStore(time), time), link);
    }

    private static async Task<long[]> Run(ICounterStore store, params CounterOp[] ops)
    {
        var results = new long[ops.Length];
        await store.ExecuteAsync(ops, results, CancellationToken.None);
        return results;
    }

    [Fact]
    public void IsClientFault_WhatTheClientThrowsWhenItsConnectionDies_NotOurBugsOrTheCallersCancellation()
    {
        // A soak that SIGKILLs Redis saw "writing is not allowed after writer was completed" (the socket pipe's
        // InvalidOperationException) escape the counters and fail a policy-server check with a 503.
        Assert.True(RedisLink.IsClientFault(new InvalidOperationException("Writing is not allowed after writer was completed.")));
        Assert.True(RedisLink.IsClientFault(new ObjectDisposedException("socket")));
        Assert.True(RedisLink.IsClientFault(new RedisConnectionException(ConnectionFailureType.SocketClosed, "closed")));
        Assert.True(RedisLink.IsClientFault(new IOException("reset")));
        Assert.True(RedisLink.IsClientFault(new TaskCanceledException()));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.False(RedisLink.IsClientFault(new OperationCanceledException(cancelled.Token), cancelled.Token));
        Assert.False(RedisLink.IsClientFault(new NullReferenceException()));
        Assert.False(RedisLink.IsClientFault(new ArgumentOutOfRangeException("ops")));
    }

    [Fact]
    public async Task Windows_Slide_DistinctCounts_FirstSeenStays_LikeTheLocalStore()
    {
        await using var redis = await RedisProcess.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var (a, linkA) = Store(redis.Port, time);
        var (b, linkB) = Store(redis.Port, time);
        using (linkA)
        using (linkB)
        {
            var minute = TimeSpan.FromMinutes(1);
            Assert.Equal(new long[] { 1 }, await Run(a, new CounterOp(CounterOpKind.Hit, "flood|x|alice", minute, 11)));
            time.Advance(TimeSpan.FromSeconds(30));
            Assert.Equal(new long[] { 2 }, await Run(b, new CounterOp(CounterOpKind.Hit, "flood|x|alice", minute, 11))); // the other instance sees the first
            time.Advance(TimeSpan.FromSeconds(31));
            Assert.Equal(new long[] { 2 }, await Run(a, new CounterOp(CounterOpKind.Hit, "flood|x|alice", minute, 11))); // the first left the window
            Assert.Equal(new long[] { 2 }, await Run(b, new CounterOp(CounterOpKind.Peek, "flood|x|alice", minute, 11)));

            var first = time.GetUtcNow().ToUnixTimeMilliseconds();
            Assert.Equal(new long[] { first }, await Run(a, new CounterOp(CounterOpKind.FirstSeen, "seen|alice", TimeSpan.Zero, 1)));
            time.Advance(TimeSpan.FromHours(1));
            Assert.Equal(new long[] { first }, await Run(b, new CounterOp(CounterOpKind.FirstSeen, "seen|alice", TimeSpan.Zero, 1)));

            Assert.Equal(new long[] { 1, 2, 2 }, await Run(a,
                new CounterOp(CounterOpKind.Distinct, "dup|x|alice|h", minute, 3, 7),
                new CounterOp(CounterOpKind.Distinct, "dup|x|alice|h", minute, 3, 8),
                new CounterOp(CounterOpKind.Distinct, "dup|x|alice|h", minute, 3, 7)));
            Assert.Equal(new long[] { 3 }, await Run(b, new CounterOp(CounterOpKind.Distinct, "dup|x|alice|h", minute, 3, 9)));
            Assert.Equal(new long[] { 3 }, await Run(b, new CounterOp(CounterOpKind.Distinct, "dup|x|alice|h", minute, 3, 10))); // at the cap

            // Caps bound what a key keeps: 5 hits with cap 3 read 3.
            var capped = await Run(a, Enumerable.Repeat(new CounterOp(CounterOpKind.Hit, "flood|y|bob", minute, 3), 5).ToArray());
            Assert.Equal(new long[] { 1, 2, 3, 3, 3 }, capped);
            Assert.Equal(a.HashSeed, b.HashSeed);
            Assert.Equal(0, linkA.Fallbacks);
        }
    }

    [Theory]
    [InlineData(SharedStateFallback.Local, 2, 1)]
    [InlineData(SharedStateFallback.FailOpen, 0, 0)]
    [InlineData(SharedStateFallback.FailClosed, 11, 11)]
    internal async Task RedisDown_AnswersAsOnSharedStateErrorSays_WithoutWaiting(SharedStateFallback fallback, long hits, long peek)
    {
        var time = new FakeTimeProvider();
        var (store, link) = Store(RedisProcess.FreePort(), time, fallback); // nothing listens there
        using (link)
        {
            await Run(store, new CounterOp(CounterOpKind.Hit, "flood|x|carol", TimeSpan.FromMinutes(1), 11));
            var results = await Run(store,
                new CounterOp(CounterOpKind.Hit, "flood|x|carol", TimeSpan.FromMinutes(1), 11),
                new CounterOp(CounterOpKind.Peek, "join|x|room", TimeSpan.FromMinutes(1), 11));
            Assert.Equal(hits, results[0]);
            Assert.Equal(fallback == SharedStateFallback.Local ? 0 : peek, results[1]);
            Assert.Equal(2, link.Fallbacks);
            Assert.False(link.Up);
        }
    }
}
