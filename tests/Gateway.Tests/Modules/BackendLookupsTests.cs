using Gateway.Protocols.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Modules;

/// <summary>The directories' answer cache (token owners, room moderators) under concurrent refreshes and removals.</summary>
public sealed class BackendLookupsTests
{
    [Theory]
    [InlineData(64)]
    [InlineData(4)] // few keys: two threads often put the same key at once
    public void Put_ConcurrentWithRemovals_CacheKeepsAcceptingEntries(int keys)
    {
        // Microsoft.Extensions.Caching.Memory up to 10.0.14 (dotnet/runtime#129186): replacing an entry while another
        // thread removes it counts its size out twice; the size drifts below zero and every later set is refused.
        // A plain Set here ends with an empty cache that refuses the probe; so does remove-then-set without a lock when
        // few keys make two threads put the same key at once (4 keys: 4 failures in 4 runs). Put removes and sets
        // under the key's lock.
        using var cache = BackendLookups.CreateCache(new FakeTimeProvider(), sizeLimit: 1_000);
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            var random = new Random(t);
            for (var i = 0; i < 1_000_000; i++)
            {
                var key = "token:" + random.Next(keys);
                if (random.Next(4) == 0)
                {
                    cache.Remove(key);
                }
                else
                {
                    BackendLookups.Put(cache, key, "@user" + i, TimeSpan.FromMinutes(5));
                }
            }
        });

        BackendLookups.Put(cache, "probe", "@probe:hs.test", TimeSpan.FromMinutes(5));
        Assert.True(cache.TryGetValue("probe", out var value));
        Assert.Equal("@probe:hs.test", value);
    }
}
