using System.Threading.Channels;
using Gateway.Telemetry;

namespace Gateway.Reporting;

/// <summary>Counters for the report pipeline; readable from the health endpoint and as the gateway.reports metrics.</summary>
internal sealed class ReportStats
{
    private long _enqueued;
    private long _sent;
    private long _retried;
    private long _dropped;
    private long _rejected;

    public long Enqueued => Interlocked.Read(ref _enqueued);

    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Delivery attempts after the first (by the resilience handler or a later round).</summary>
    public long Retried => Interlocked.Read(ref _retried);

    /// <summary>Reports lost: queue full, or still queued when the shutdown drain ran out of time.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Reports the webhook refused permanently (a 4xx other than 408/429).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    public void CountEnqueued() => Interlocked.Increment(ref _enqueued);

    public void CountSent() => Interlocked.Increment(ref _sent);

    public void CountRetried() => Interlocked.Increment(ref _retried);

    public void CountDropped(long n = 1) => Interlocked.Add(ref _dropped, n);

    public void CountRejected() => Interlocked.Increment(ref _rejected);
}

/// <summary>
/// The bounded hand-off between requests and the webhook worker. A request never waits: when the queue is full the
/// report is counted as dropped and logged (its id, never its text).
/// </summary>
internal sealed class ReportQueue : IReportReadings
{
    private readonly Channel<Report> _channel;
    private readonly ILogger<ReportQueue> _logger;

    public ReportQueue(int capacity, ReportStats stats, ILogger<ReportQueue> logger)
    {
        Capacity = capacity;
        Stats = stats;
        _logger = logger;
        _channel = Channel.CreateBounded<Report>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails instead of waiting or evicting
            SingleReader = true,
            SingleWriter = false,
        });
    }

    public int Capacity { get; }

    public ReportStats Stats { get; }

    public int Count => _channel.Reader.Count;

    long IReportReadings.Enqueued => Stats.Enqueued;

    long IReportReadings.Sent => Stats.Sent;

    long IReportReadings.Retried => Stats.Retried;

    long IReportReadings.Dropped => Stats.Dropped;

    long IReportReadings.Rejected => Stats.Rejected;

    int IReportReadings.Waiting => Count;

    public ChannelReader<Report> Reader => _channel.Reader;

    public bool TryEnqueue(Report report)
    {
        if (_channel.Writer.TryWrite(report))
        {
            Stats.CountEnqueued();
            return true;
        }

        Stats.CountDropped();
        Log.ReportDropped(_logger, report.Id, Capacity, Stats.Dropped);
        return false;
    }

    public void Complete() => _channel.Writer.TryComplete();
}
