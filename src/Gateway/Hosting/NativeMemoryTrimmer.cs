using System.Runtime;
using System.Runtime.InteropServices;

namespace Gateway.Hosting;

/// <summary>
/// Gives the native memory glibc keeps after a burst back to the system (issue 17, the soak's RSS check).
/// The runtime, the JIT, TLS and exception unwinding allocate through malloc on whichever thread runs; after a burst
/// (every upstream down at once, thousands of failing requests unwinding on 30+ threads) glibc keeps the freed chunks
/// in its per-thread arenas, and the process's RSS stays up for good: the soak measured two such steps of ~14 MB each
/// in 30 minutes with no live native allocation behind them (heaptrack). <c>malloc_trim(0)</c> releases the free
/// pages of every arena (not only the top of the main heap); it runs once a minute, on a timer thread, and costs
/// ~1 ms. Linux with glibc only: on musl or another OS the entry point is missing and the trimmer stops itself.
/// <para>
/// The same tick asks for a background (concurrent, not compacting) gen2 collection when none ran since the last
/// tick. Under steady load the server GC collects gen0 and gen1 only, for many minutes, and dead objects promoted
/// into gen2 pile up: in a 30-minute soak GC-committed memory rose 42 → 59 MB, which was the whole RSS rise. A
/// background collection marks beside the requests rather than in front of them.
/// </para>
/// <para>
/// A background collection sweeps but never compacts: the dead space it finds stays committed as free lists inside
/// gen2 (fragmentation), and the soak after the change above still grew 43 → 64 MB committed. So when the last
/// collection reported at least 8 MB of fragmentation making up a quarter or more of the heap, the tick runs one
/// blocking, compacting gen2 collection instead, which moves the live objects together and lets the GC decommit the
/// emptied regions. Compacting the soak's 21–28 MB of live objects (dotnet-dump) pauses the process for milliseconds,
/// at most once a minute and only when there is that much to give back.
/// </para>
/// </summary>
internal sealed partial class NativeMemoryTrimmer(TimeProvider time, ILogger<NativeMemoryTrimmer> logger) : IHostedService, IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);
    private ITimer? _timer;
    private int _running;
    private int _gen2Seen = GC.CollectionCount(2);

    /// <summary>Trims done so far (tests).</summary>
    public int Trims { get; private set; }

    /// <summary>Trims that gave memory back.</summary>
    public int Released { get; private set; }

    /// <summary>Background gen2 collections asked for, because the GC ran none since the last tick.</summary>
    public int Collections { get; private set; }

    /// <summary>Compacting gen2 collections run, because the last collection left the heap fragmented.</summary>
    public int Compactions { get; private set; }

    /// <summary>Fragmentation below this never triggers a compaction, whatever its share of the heap.</summary>
    internal const long CompactFloorBytes = 8 << 20;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsLinux())
        {
            _timer = time.CreateTimer(_ => Trim(), null, Interval, Interval);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        return Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();

    internal void Trim()
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            return;
        }

        try
        {
            if (!CompactIfFragmented())
            {
                CollectGen2IfIdle();
            }

            // 1 when pages went back to the system, 0 when there was nothing to give.
            if (malloc_trim(0) == 1)
            {
                Released++;
            }

            Trims++;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            logger.LogInformation("native memory trimming is not available here (no glibc malloc_trim); it stays off");
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private bool CompactIfFragmented()
    {
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        if (!ShouldCompact(info.FragmentedBytes, info.HeapSizeBytes))
        {
            return false;
        }

        // The large-object heap too: the bounded tables (drop ids, nonces) grow by doubling, and each outgrown array
        // leaves a hole there that only a compaction asked for this way closes.
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        Compactions++;
        _gen2Seen = GC.CollectionCount(2);
        return true;
    }

    /// <summary>At least <see cref="CompactFloorBytes"/> of free space inside the heap, and a quarter of it or more.</summary>
    internal static bool ShouldCompact(long fragmentedBytes, long heapSizeBytes) =>
        fragmentedBytes >= CompactFloorBytes && fragmentedBytes * 4 >= heapSizeBytes;

    private void CollectGen2IfIdle()
    {
        if (GC.CollectionCount(2) == _gen2Seen)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: false, compacting: false);
            Collections++;
        }

        _gen2Seen = GC.CollectionCount(2);
    }

    [LibraryImport("libc")]
    private static partial int malloc_trim(nuint pad);
}
