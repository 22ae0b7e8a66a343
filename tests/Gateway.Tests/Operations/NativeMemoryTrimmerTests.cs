using System.Runtime.InteropServices;
using Gateway.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Operations;

/// <summary>
/// The once-a-minute <c>malloc_trim</c> (the soak's RSS check): it runs on the injected clock, on glibc for real, and
/// gives back what a burst of native allocations on other threads left in their arenas.
/// </summary>
public sealed class NativeMemoryTrimmerTests
{
    [Fact]
    public async Task TrimsOncePerMinuteOnTheInjectedClock_AndStopsWithTheHost()
    {
        Assert.True(OperatingSystem.IsLinux(), "the trimmer is glibc's malloc_trim");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 6, 0, 0, TimeSpan.Zero));
        using var trimmer = new NativeMemoryTrimmer(time, NullLogger<NativeMemoryTrimmer>.Instance);
        await trimmer.StartAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, trimmer.Trims);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, trimmer.Trims);
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(3, trimmer.Trims);

        await trimmer.StopAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(3, trimmer.Trims);
    }

    [Fact]
    public void AsksForABackgroundGen2Collection_OnlyWhenTheGcRanNoneSinceTheLastTick()
    {
        var time = new FakeTimeProvider();
        using var trimmer = new NativeMemoryTrimmer(time, NullLogger<NativeMemoryTrimmer>.Instance);
        trimmer.Trim(); // whatever ran before the trimmer existed
        var asked = trimmer.Collections;

        trimmer.Trim(); // right after the last tick: no gen2 since, so one is asked for
        Assert.Equal(asked + 1, trimmer.Collections);

        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        trimmer.Trim(); // the GC ran one itself: nothing asked
        Assert.Equal(asked + 1, trimmer.Collections);
    }

    [Fact]
    public void GivesBackWhatABurstOnOtherThreadsLeft()
    {
        // 16 threads each malloc 4 MB in 4 KB blocks (below the mmap threshold, so they land in the arenas), keep one
        // small block at the end (it pins the arena top: plain free cannot shrink it) and free the rest.
        var pinned = new IntPtr[16];
        var threads = Enumerable.Range(0, 16).Select(t => new Thread(() =>
        {
            var blocks = new IntPtr[1024];
            for (var i = 0; i < blocks.Length; i++)
            {
                blocks[i] = Marshal.AllocHGlobal(4096); // malloc on Unix
            }

            pinned[t] = Marshal.AllocHGlobal(64);
            foreach (var b in blocks)
            {
                Marshal.FreeHGlobal(b);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        var time = new FakeTimeProvider();
        using var trimmer = new NativeMemoryTrimmer(time, NullLogger<NativeMemoryTrimmer>.Instance);
        trimmer.Trim();
        Assert.Equal(1, trimmer.Trims);
        Assert.Equal(1, trimmer.Released);
        foreach (var p in pinned)
        {
            Marshal.FreeHGlobal(p);
        }
    }
}
