using Gateway.Policy.Model;
using Gateway.Policy.Rules;

namespace Gateway.Reporting;

/// <summary>One verdict as the console shows it: metadata only, never the message text or the sender's words.</summary>
internal sealed record RecentVerdict(DateTimeOffset Time, string Action, string? Filter, string Protocol, string Route, string? Room, bool Direct);

/// <summary>
/// The last N verdicts that matched something (metadata only), for the admin console. A fixed array written under a
/// short lock: fed from the same place as the audit trail, bounded whatever the traffic.
/// </summary>
internal sealed class RecentVerdicts(int capacity, TimeProvider time)
{
    private readonly RecentVerdict?[] _ring = new RecentVerdict?[capacity];
    private readonly Lock _gate = new();
    private long _written;

    public int Capacity => _ring.Length;

    public void Record(ChatMessage message, Verdict verdict, string route)
    {
        if (verdict.IsClean)
        {
            return;
        }

        var filter = verdict.DecidingFilter ?? verdict.Matches[0].Filter;
        var entry = new RecentVerdict(time.GetUtcNow(), verdict.Action.ToString().ToLowerInvariant(), filter, message.Protocol, route,
            message.Room, message.IsDirect);
        lock (_gate)
        {
            _ring[_written % _ring.Length] = entry;
            _written++;
        }
    }

    /// <summary>Newest first.</summary>
    public IReadOnlyList<RecentVerdict> Snapshot()
    {
        lock (_gate)
        {
            var count = (int)Math.Min(_written, _ring.Length);
            var result = new RecentVerdict[count];
            for (var i = 0; i < count; i++)
            {
                result[i] = _ring[(_written - 1 - i) % _ring.Length]!;
            }

            return result;
        }
    }
}
