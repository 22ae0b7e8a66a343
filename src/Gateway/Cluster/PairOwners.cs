using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.IO.Hashing;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Gateway.Configuration;
using Gateway.Policy.Context;
using Gateway.Reporting;
using Gateway.Telemetry;

namespace Gateway.Cluster;

/// <summary>
/// Scale-out of DM context (issue 15, part 4). Each direct pair's owner is the live member with the highest
/// rendezvous weight (XxHash3 of member name and pair key): every instance computes the same owner from the same
/// heartbeats, and a member joining or leaving moves only the pairs it wins or held. A message that arrives on
/// another instance is handed to the owner: its appends, and the report it caused, travel sealed
/// (<see cref="PeerSeal"/>) to the owner's internal listener, and the owner appends them and makes the report with
/// its context. This instance then keeps nothing of it.
/// </summary>
/// <remarks>
/// Pushes to one owner leave in order, in batches, from one lane per owner. When the owner cannot be reached (refused,
/// failed, or no answer within <see cref="PushTimeout"/>), the batch is applied here instead (appended to this
/// instance's context, reported with it), logged once per outage and counted; the owner is then skipped for three
/// heartbeats, after which it has either left the live members (its pairs move) or is tried again. Context is
/// best-effort across membership changes: a new owner starts from what it is sent, nothing is copied in bulk.
/// </remarks>
internal sealed class PairOwners : IPairOwners, IDisposable
{
    public const string PushPath = "/_cluster/v1/push";
    public const string PushesMetric = "gateway.cluster.pair_pushes";
    public const string FallbacksMetric = "gateway.cluster.pair_fallbacks";
    public static readonly TimeSpan PushTimeout = TimeSpan.FromSeconds(3);
    private const int LaneCapacity = 10_000;
    private const int MaxBatch = 64;

    private readonly ClusterSync _sync;
    private readonly ClusterSettings _settings;
    private readonly PeerSeal _seal;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger<PairOwners> _logger;
    private readonly HttpClient _http;
    private readonly Counter<long> _pushes;
    private readonly Counter<long> _fallbacks;
    private readonly ConcurrentDictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private volatile Members _members = new([], DateTimeOffset.MinValue);
    private long _pushedTotal;
    private long _fallbackTotal;

    public PairOwners(ClusterSync sync, RedisLink link, IServiceProvider services, GatewayTelemetry telemetry, TimeProvider time, ILogger<PairOwners> logger)
    {
        _sync = sync;
        _settings = link.Settings;
        _seal = new PeerSeal(_settings.Secret!.Value);
        _services = services;
        _time = time;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(1),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
            AllowAutoRedirect = false,
        })
        { Timeout = PushTimeout };
        _pushes = telemetry.Meter.CreateCounter<long>(PushesMetric, "{append}", "DM context appends handed to the pair's owner instance.");
        _fallbacks = telemetry.Meter.CreateCounter<long>(FallbacksMetric, "{append}",
            "DM context appends kept on the instance that saw them because the pair's owner could not be reached, by reason.");
        sync.MembersRefreshed += list => _members = new(list.Where(m => m.Peer is not null).ToArray(), _time.GetUtcNow());
    }

    public PeerSeal Seal => _seal;

    public string Instance => _settings.Instance;

    /// <summary>Members with an internal listener in the last heartbeat's view (this one included once it announced its own).</summary>
    public int KnownPeers => _members.List.Length;

    public long Pushed => Interlocked.Read(ref _pushedTotal);

    public long Fallbacks => Interlocked.Read(ref _fallbackTotal);

    /// <summary>The owners this instance currently cannot reach (pushes to them are applied here).</summary>
    public IReadOnlyList<string> Unreachable => _lanes.Values.Where(l => l.DownUntil > _time.GetUtcNow()).Select(l => l.Instance).Order(StringComparer.Ordinal).ToList();

    /// <summary>The pair's owner among the live members with an internal listener; null when there is none (this instance keeps it).</summary>
    public ClusterMember? OwnerOf(ConversationKey key)
    {
        var members = _members;
        var now = _time.GetUtcNow();
        var live = now - (_settings.Heartbeat * 3);
        if (members.At < now - (_settings.Heartbeat * 5))
        {
            // No heartbeat of this instance reached Redis for five beats: membership is unknown, keep everything here.
            return null;
        }

        ClusterMember? best = null;
        ulong bestWeight = 0;
        foreach (var m in members.List)
        {
            if (m.Seen < live)
            {
                continue;
            }

            var weight = Weight(m.Instance, key.Value);
            if (best is null || weight > bestWeight || (weight == bestWeight && string.CompareOrdinal(m.Instance, best.Instance) < 0))
            {
                best = m;
                bestWeight = weight;
            }
        }

        return best;
    }

    public bool TryHandOff(PairAppend append)
    {
        if (_sync.PeerAddress is null || OwnerOf(append.Key) is not { Self: false, Peer: { } peer } owner)
        {
            return false;
        }

        if (!_lanes.TryGetValue(owner.Instance, out var lane))
        {
            lock (_lanes)
            {
                // One lane (and one loop) per owner: created under the lock, never twice.
                lane = _lanes.GetOrAdd(owner.Instance, name => new Lane(this, name));
            }
        }

        lane.Peer = peer;
        if (lane.DownUntil > _time.GetUtcNow())
        {
            CountFallback("unreachable", 1);
            return false;
        }

        if (!lane.Queue.Writer.TryWrite(append))
        {
            CountFallback("queue_full", 1);
            return false;
        }

        return true;
    }

    private static ulong Weight(string instance, string key)
    {
        var bytes = Encoding.UTF8.GetBytes(instance + "\n" + key);
        var weight = XxHash3.HashToUInt64(bytes);
        CryptographicOperations.ZeroMemory(bytes);
        return weight;
    }

    private void CountFallback(string reason, int appends)
    {
        Interlocked.Add(ref _fallbackTotal, appends);
        _fallbacks.Add(appends, new KeyValuePair<string, object?>("reason", reason));
    }

    private void ApplyHere(List<PairAppend> batch)
    {
        var pipeline = _services.GetRequiredService<ReportingPipeline>();
        foreach (var a in batch)
        {
            pipeline.Apply(a);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var lane in _lanes.Values)
        {
            lane.Queue.Writer.TryComplete();
        }

        _http.Dispose();
    }

    private sealed record Members(ClusterMember[] List, DateTimeOffset At);

    /// <summary>One owner's queue and the loop that pushes it, in order.</summary>
    private sealed class Lane
    {
        private readonly PairOwners _owners;
        private int _down;
        private long _downUntilTicks = DateTimeOffset.MinValue.UtcTicks;

        public Lane(PairOwners owners, string instance)
        {
            _owners = owners;
            Instance = instance;
            Queue = Channel.CreateBounded<PairAppend>(new BoundedChannelOptions(LaneCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
            _ = Task.Run(RunAsync);
        }

        public string Instance { get; }

        public string Peer { get; set; } = "";

        public Channel<PairAppend> Queue { get; }

        /// <summary>Written by the lane's loop, read by every request thread: kept as ticks, read and written whole.</summary>
        public DateTimeOffset DownUntil
        {
            get => new(Interlocked.Read(ref _downUntilTicks), TimeSpan.Zero);
            private set => Interlocked.Exchange(ref _downUntilTicks, value.UtcTicks);
        }

        private async Task RunAsync()
        {
            var reader = Queue.Reader;
            var batch = new List<PairAppend>(MaxBatch);
            try
            {
                while (await reader.WaitToReadAsync(_owners._stop.Token).ConfigureAwait(false))
                {
                    batch.Clear();
                    while (batch.Count < MaxBatch && reader.TryRead(out var next))
                    {
                        batch.Add(next);
                    }

                    await PushAsync(batch).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // stopping: what is still queued is dropped with the process, as the context in RAM is
            }
        }

        private async Task PushAsync(List<PairAppend> batch)
        {
            var owners = _owners;
            if (DownUntil > owners._time.GetUtcNow())
            {
                owners.CountFallback("unreachable", batch.Count);
                owners.ApplyHere(batch);
                return;
            }

            var plain = PairCodec.Encode(batch);
            string? problem;
            try
            {
                var envelope = owners._seal.Seal(owners._settings.Instance, Instance, owners._time.GetUtcNow(), plain);
                using var content = new ByteArrayContent(envelope);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                using var response = await owners._http.PostAsync(new Uri("http://" + Peer + PushPath), content, owners._stop.Token).ConfigureAwait(false);
                problem = response.IsSuccessStatusCode ? null : "answered " + ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (HttpRequestException ex)
            {
                problem = ex.HttpRequestError.ToString();
            }
            catch (TaskCanceledException) when (!owners._stop.IsCancellationRequested)
            {
                problem = "timeout";
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plain);
            }

            if (problem is null)
            {
                Interlocked.Add(ref owners._pushedTotal, batch.Count);
                owners._pushes.Add(batch.Count);
                if (Interlocked.Exchange(ref _down, 0) == 1)
                {
                    Log.PairOwnerBack(owners._logger, Instance);
                }

                return;
            }

            DownUntil = owners._time.GetUtcNow() + (owners._settings.Heartbeat * 3);
            if (Interlocked.Exchange(ref _down, 1) == 0)
            {
                Log.PairOwnerUnreachable(owners._logger, Instance, problem);
            }

            owners.CountFallback(problem == "timeout" ? "timeout" : "unreachable", batch.Count);
            owners.ApplyHere(batch);
        }
    }
}
