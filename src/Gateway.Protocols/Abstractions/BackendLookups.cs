using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;

namespace Gateway.Protocols.Abstractions;

/// <summary>
/// What module directories share when they ask the backend who a token belongs to, who moderates a room, and cache
/// the answers: one authenticated GET that never throws for a backend's failure, and a MemoryCache on the injected
/// clock.
/// </summary>
public static class BackendLookups
{
    private static readonly Lock[] PutLocks = [.. Enumerable.Range(0, 64).Select(_ => new Lock())];

    /// <summary>
    /// GETs <paramref name="relative"/> under <paramref name="baseUri"/> as the bearer of <paramref name="token"/>.
    /// Null for any non-success answer, unreadable JSON, a dead backend or a timeout (callers then treat the sender as
    /// an ordinary, unknown user); a cancellation of the caller's request still throws.
    /// </summary>
    public static async Task<JsonDocument?> GetJsonAsync(HttpClient http, Uri baseUri, string relative, string token, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await http.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            var bytes = await response.Content.ReadAsByteArrayAsync(ct);
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>A size-limited cache whose expiries follow <paramref name="time"/> (FakeTimeProvider in tests).</summary>
    public static MemoryCache CreateCache(TimeProvider? time, long sizeLimit = 200_000) =>
        new(new MemoryCacheOptions { SizeLimit = sizeLimit, Clock = new TimeProviderClock(time ?? TimeProvider.System) });

    /// <summary>
    /// Caches <paramref name="value"/> (size 1) for <paramref name="ttl"/>. Any entry under the key is removed first
    /// rather than replaced: Microsoft.Extensions.Caching.Memory up to 10.0.14 (the shared framework's, which the
    /// gateway loads) can count a replaced entry's size out twice when the expiry scan removes it during the replace;
    /// the cache's size then drifts below zero and it refuses every later set (dotnet/runtime#129186), so every
    /// lookup would reach the backend. Remove-then-set runs under a lock striped by key: two threads putting the same
    /// key at once would otherwise both remove, then the second set would replace the first's entry after all (a CI
    /// run caught the cache latched that way).
    /// </summary>
    public static void Put(MemoryCache cache, object key, object? value, TimeSpan ttl)
    {
        lock (PutLocks[(key.GetHashCode() & int.MaxValue) % PutLocks.Length])
        {
            cache.Remove(key);
            cache.Set(key, value, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = ttl });
        }
    }

    /// <summary>MemoryCache still takes its clock as an ISystemClock: this one reads the injected TimeProvider.</summary>
    private sealed class TimeProviderClock(TimeProvider time) : Microsoft.Extensions.Internal.ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
}
