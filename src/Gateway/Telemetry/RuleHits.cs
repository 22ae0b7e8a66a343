using System.Collections.Concurrent;

namespace Gateway.Telemetry;

/// <summary>One rule's hits: in the last minute, since the config version loaded, in the last hour.</summary>
internal sealed record RuleHitCounts(string Rule, bool DryRun, long LastMinute, long SinceLoad, long LastHour, long LoadedVersion);

/// <summary>
/// Hit counters per rule (filters and protections alike, dry runs included) for the admin API and console: live
/// (last minute), since the config version that defines the rule loaded, and last hour (sixty one-minute buckets).
/// Bounded: rules come from the config, and counters of rules no longer configured are dropped at the next load.
/// </summary>
internal sealed class RuleHits(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Counter> _rules = new(StringComparer.Ordinal);

    public void Record(string rule, bool dryRun, long version)
    {
        var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
        var counter = _rules.GetOrAdd(rule, static (_, v) => new Counter(v), version);
        counter.Add(minute, dryRun, version);
    }

    /// <summary>Drops counters of rules the new config no longer has; the rest keep their hour, and start a new "since load".</summary>
    public void Loaded(IReadOnlyCollection<string> rules, long version)
    {
        foreach (var name in _rules.Keys)
        {
            if (!rules.Contains(name))
            {
                _rules.TryRemove(name, out _);
            }
        }

        foreach (var counter in _rules.Values)
        {
            counter.Reset(version);
        }
    }

    public IReadOnlyList<RuleHitCounts> Snapshot()
    {
        var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
        return _rules.Select(kv => kv.Value.Read(kv.Key, minute)).OrderBy(r => r.Rule, StringComparer.Ordinal).ToArray();
    }

    private sealed class Counter(long version)
    {
        private readonly long[] _minutes = new long[60];
        private readonly long[] _stamps = new long[60];
        private readonly Lock _lock = new();
        private long _sinceLoad;
        private long _version = version;
        private bool _dryRun;

        public void Add(long minute, bool dryRun, long version)
        {
            lock (_lock)
            {
                if (version != _version)
                {
                    _version = version;
                    _sinceLoad = 0;
                }

                var slot = (int)(minute % 60);
                if (_stamps[slot] != minute)
                {
                    _stamps[slot] = minute;
                    _minutes[slot] = 0;
                }

                _minutes[slot]++;
                _sinceLoad++;
                _dryRun = dryRun;
            }
        }

        public void Reset(long version)
        {
            lock (_lock)
            {
                if (version != _version)
                {
                    _version = version;
                    _sinceLoad = 0;
                }
            }
        }

        public RuleHitCounts Read(string rule, long minute)
        {
            lock (_lock)
            {
                long hour = 0;
                for (var i = 0; i < 60; i++)
                {
                    if (minute - _stamps[i] < 60)
                    {
                        hour += _minutes[i];
                    }
                }

                var slot = (int)(minute % 60);
                var last = _stamps[slot] == minute ? _minutes[slot] : 0;
                return new RuleHitCounts(rule, _dryRun, last, _sinceLoad, hour, _version);
            }
        }
    }
}
