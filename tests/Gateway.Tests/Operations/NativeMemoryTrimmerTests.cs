using System.Runtime.InteropServices;
using Gateway.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Operations;

/// <summary>
/// The once-a-minute <c>malloc_trim</c> (the soak's RSS check): it runs on the injected clock, on glibc for real, and
/// gives back what a burst of native allocations on other threads left in their arenas.
/// Runs with the tests that run alone: the fragmentation test reads the GC's process-wide state, which another test's
/// collection would change under it.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class NativeMemoryTrimmerTests
{
    [Theory]
    [InlineData(0, 0, false)]
    [InlineData(NativeMemoryTrimmer.CompactFloorBytes - 1, NativeMemoryTrimmer.CompactFloorBytes, false)] // under the floor
    [InlineData(NativeMemoryTrimmer.CompactFloorBytes, NativeMemoryTrimmer.CompactFloorBytes * 4, true)] // a quarter
    [InlineData(NativeMemoryTrimmer.CompactFloorBytes, NativeMemoryTrimmer.CompactFloorBytes * 4 + 1, false)] // less
    [InlineData(64L << 20, 80L << 20, true)]
    public void CompactsOnlyPastTheFloorAndAQuarterOfTheHeap(long fragmented, long heap, bool expected) =>
        Assert.Equal(expected, NativeMemoryTrimmer.ShouldCompact(fragmented, heap));

    [Fact]
    public void AFragmentedHeap_IsCompacted_AndTheFreeSpaceGoesAway()
    {
        // 48 MB of 8 KB arrays (small-object heap), promoted to gen2 by a compacting collection; then 7 in 8 die and a
        // background gen2 collection (it sweeps, never compacts) leaves their space as free lists: fragmentation.
        var blocks = new List<byte[]>();
        for (var i = 0; i < 6144; i++)
        {
            blocks.Add(new byte[8192]);
        }

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        for (var i = 0; i < blocks.Count; i++)
        {
            if (i % 8 != 0)
            {
                blocks[i] = null!;
            }
        }

        var lastBackground = GC.GetGCMemoryInfo(GCKind.Background).Index;
        GC.Collect(2, GCCollectionMode.Forced, blocking: false, compacting: false);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (GC.GetGCMemoryInfo(GCKind.Background).Index == lastBackground && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        var before = GC.GetGCMemoryInfo(GCKind.Any);
        Assert.True(NativeMemoryTrimmer.ShouldCompact(before.FragmentedBytes, before.HeapSizeBytes),
            $"setup: {before.FragmentedBytes} B fragmented of {before.HeapSizeBytes} B");

        using var trimmer = new NativeMemoryTrimmer(new FakeTimeProvider(), NullLogger<NativeMemoryTrimmer>.Instance);
        trimmer.Trim();
        var after = GC.GetGCMemoryInfo(GCKind.Any);
        Assert.Equal(1, trimmer.Compactions);
        Assert.True(after.Compacted, "the trimmer's collection compacts");
        Assert.True(after.FragmentedBytes * 4 < before.FragmentedBytes,
            $"fragmentation {before.FragmentedBytes} B before, {after.FragmentedBytes} B after");
        GC.KeepAlive(blocks);
    }

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
        var asked = trimmer.Collections + trimmer.Compactions;

        // Right after the last tick: no gen2 since, so one is asked for (a compacting one if the last left free space).
        trimmer.Trim();
        Assert.Equal(asked + 1, trimmer.Collections + trimmer.Compactions);

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        trimmer.Trim(); // the GC ran one itself and left nothing to compact: nothing asked
        Assert.Equal(asked + 1, trimmer.Collections + trimmer.Compactions);
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
