// Over 400 lines because the sync is one state machine (queue out, load in, heartbeat, membership) over one lock and
// one connection; split, its pieces would need each other's private state.
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gateway.Configuration;
using Gateway.Policy.Protections;
using Gateway.Runtime;
using StackExchange.Redis;

namespace Gateway.Cluster;

/// <summary>One live instance as its heartbeat last described it.</summary>
internal sealed record ClusterMember(string Instance, long ConfigVersion, string ConfigDigest, DateTimeOffset Started, DateTimeOffset Seen, bool Self)
{
    /// <summary>host:port of the instance's internal listener (DM pair owner pushes); null when it has none.</summary>
    public string? Peer { get; init; }
}

/// <summary>
/// Keeps the runtime blocks the same on every instance and announces this one. A change made here (an admin IP block
/// or ACL entry, a sender block by hand or by an escalation ladder) is written to a Redis hash, the change counter is
/// bumped and a notice is published; every instance reloads both hashes when it hears the notice, when its heartbeat
/// sees the counter move (a lost notice costs at most one beat), and when Redis comes back. Changes made while Redis
/// is away wait in a bounded queue and are written first on reconnect, then the shared set is loaded.
/// <para>Redis holds CIDRs, server names, sender ids of blocked senders and times: no message, no token.</para>
/// </summary>
internal sealed class ClusterSync : IDisposable
{
    private const int MaxPending = 10_000;

    [ThreadStatic]
    private static bool t_importing;

    private readonly RedisLink _link;
    private readonly GatewayState _state;
    private readonly SenderBlockList _blocks;
    private readonly TimeProvider _time;
    private readonly ILogger<ClusterSync> _logger;
    private readonly ClusterSettings _settings;
    private readonly Lock _pendingLock = new();
    private readonly Queue<(string Hash, string Field, string? Value)> _pending = new();
    private readonly SemaphoreSlim _syncGate = new(1, 1);
    private readonly DateTimeOffset _started;
    private readonly CancellationTokenSource _stop = new();
    private long _seenEpoch = -1;
    private long _digestVersion = -1;
    private string _digest = "";
    private int _loadQueued;
    private int _subscribed;
    private Task? _beat;

    public ClusterSync(RedisLink link, GatewayState state, SenderBlockList blocks, TimeProvider time, ILogger<ClusterSync> logger)
    {
        _link = link;
        _state = state;
        _blocks = blocks;
        _time = time;
        _logger = logger;
        _settings = link.Settings;
        _started = time.GetUtcNow();
        _blocks.Added += b =>
        {
            if (!t_importing)
            {
                Enqueue(BlocksKey, b.Sender, Encode(b));
            }
        };
        _blocks.Removed += s =>
        {
            if (!t_importing)
            {
                Enqueue(BlocksKey, s, null);
            }
        };
        _link.Restored += () => _ = SyncAsync();
    }

    /// <summary>The full overlay as Redis holds it, when it differs from this instance's; the admin overlay store applies it.</summary>
    public event Action<AdminOverlay>? OverlayReceived;

    public string Instance => _settings.Instance;

    /// <summary>host:port of this instance's internal listener, announced in every heartbeat once it is bound.</summary>
    public string? PeerAddress { get; set; }

    /// <summary>After every heartbeat that reached Redis: the live members (this one included), for DM pair owners.</summary>
    public event Action<IReadOnlyList<ClusterMember>>? MembersRefreshed;

    private string OverlayKey => _settings.KeyPrefix + "overlay";

    private string BlocksKey => _settings.KeyPrefix + "sender-blocks";

    private string EpochKey => _settings.KeyPrefix + "epoch";

    private string SeededKey => _settings.KeyPrefix + "seeded";

    private string MembersKey => _settings.KeyPrefix + "members";

    private RedisChannel Channel => RedisChannel.Literal(_settings.KeyPrefix + "changes");

    private string MemberKey(string instance) => _settings.KeyPrefix + "member:" + instance;

    /// <summary>
    /// At start, after the overlay file is loaded and before the first request: connect (bounded), subscribe, seed a
    /// fresh Redis with this instance's overlay, load the shared set; then beat.
    /// </summary>
    public void Start()
    {
        _link.Connect();
        if (_link.Up)
        {
            SubscribeAsync().GetAwaiter().GetResult();
            SyncAsync().GetAwaiter().GetResult();
        }

        Log.ClusterJoined(_logger, _settings.Instance, _settings.Display);
        _beat = Task.Run(BeatLoopAsync);
    }

    /// <summary>
    /// Listens for other instances' changes. A Redis that is away at start is subscribed to on the first heartbeat
    /// that finds it; after that the multiplexer restores the subscription on every reconnect.
    /// </summary>
    private async Task SubscribeAsync()
    {
        if (Volatile.Read(ref _subscribed) == 1)
        {
            return;
        }

        try
        {
            await _link.Subscriber.SubscribeAsync(Channel, (_, from) =>
            {
                if (from != _settings.Instance)
                {
                    QueueLoad();
                }
            }).ConfigureAwait(false);
            Volatile.Write(ref _subscribed, 1);
        }
        catch (Exception ex) when (RedisLink.IsClientFault(ex))
        {
            Log.ClusterSyncFailed(_logger, ex.GetType().Name);
        }
    }

    /// <summary>An admin overlay change: <paramref name="entry"/> is a one-entry overlay, or null when removed.</summary>
    public void OverlayChanged(string field, AdminOverlay? entry) => Enqueue(OverlayKey, field, entry?.ToJson());

    public static string IpField(string cidr) => "ip|" + cidr;

    public static string AclField(string server) => "acl|" + server.ToLowerInvariant();

    private static string Encode(SenderBlock b) =>
        b.Until.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + "|" + b.Source;

    private void Enqueue(string hash, string field, string? value)
    {
        lock (_pendingLock)
        {
            if (_pending.Count >= MaxPending)
            {
                _pending.Dequeue();
            }

            _pending.Enqueue((hash, field, value));
        }

        _ = FlushAsync();
    }

    /// <summary>Writes queued changes (in order), bumps the change counter and tells the others. False: Redis is away.</summary>
    private async Task<bool> FlushAsync()
    {
        if (!_link.Up)
        {
            return false;
        }

        try
        {
            var wrote = false;
            while (true)
            {
                (string Hash, string Field, string? Value) next;
                lock (_pendingLock)
                {
                    if (!_pending.TryPeek(out next))
                    {
                        break;
                    }
                }

                var db = _link.Database;
                if (next.Value is null)
                {
                    await db.HashDeleteAsync(next.Hash, next.Field).ConfigureAwait(false);
                }
                else
                {
                    await db.HashSetAsync(next.Hash, next.Field, next.Value).ConfigureAwait(false);
                }

                lock (_pendingLock)
                {
                    if (_pending.TryPeek(out var head) && head == next)
                    {
                        _pending.Dequeue();
                    }
                }

                wrote = true;
            }

            if (wrote)
            {
                var epoch = await _link.Database.StringIncrementAsync(EpochKey).ConfigureAwait(false);
                await _link.Subscriber.PublishAsync(Channel, _settings.Instance).ConfigureAwait(false);
                Interlocked.Exchange(ref _seenEpoch, epoch);
            }

            return true;
        }
        catch (Exception ex) when (RedisLink.IsClientFault(ex))
        {
            Log.ClusterSyncFailed(_logger, ex.GetType().Name);
            return false;
        }
    }

    private void QueueLoad()
    {
        if (Interlocked.Exchange(ref _loadQueued, 1) == 0)
        {
            _ = Task.Run(async () =>
            {
                Volatile.Write(ref _loadQueued, 0);
                await SyncAsync().ConfigureAwait(false);
            });
        }
    }

    /// <summary>Local changes out first, then the shared set in. One at a time.</summary>
    private async Task SyncAsync()
    {
        await _syncGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_link.Up)
            {
                return;
            }

            var db = _link.Database;
            if (await db.StringSetAsync(SeededKey, _settings.Instance, when: When.NotExists).ConfigureAwait(false))
            {
                // A fresh Redis: this instance's overlay file is where the shared set starts.
                var overlay = _state.Current.Overlay;
                foreach (var b in overlay.IpBlocks)
                {
                    Enqueue(OverlayKey, IpField(b.Cidr.ToString()), new AdminOverlay([b], []).ToJson());
                }

                foreach (var a in overlay.AclDeny)
                {
                    Enqueue(OverlayKey, AclField(a.Server), new AdminOverlay([], [a]).ToJson());
                }

                foreach (var s in _blocks.Snapshot())
                {
                    Enqueue(BlocksKey, s.Sender, Encode(s));
                }
            }

            if (!await FlushAsync().ConfigureAwait(false))
            {
                return;
            }

            var epoch = (long?)await db.StringGetAsync(EpochKey).ConfigureAwait(false) ?? 0;
            var overlayEntries = await db.HashGetAllAsync(OverlayKey).ConfigureAwait(false);
            var blockEntries = await db.HashGetAllAsync(BlocksKey).ConfigureAwait(false);
            Interlocked.Exchange(ref _seenEpoch, epoch);
            ApplyOverlay(overlayEntries);
            var senders = ApplyBlocks(blockEntries);
            Log.ClusterLoaded(_logger, _state.Current.Overlay.IpBlocks.Count, _state.Current.Overlay.AclDeny.Count, senders);
        }
        catch (Exception ex) when (RedisLink.IsClientFault(ex))
        {
            Log.ClusterSyncFailed(_logger, ex.GetType().Name);
        }
        finally
        {
            _syncGate.Release();
        }
    }

    private void ApplyOverlay(HashEntry[] entries)
    {
        var now = _time.GetUtcNow();
        var ips = new List<OverlayIpBlock>();
        var acl = new List<OverlayAclDeny>();
        foreach (var e in entries)
        {
            if (AdminOverlay.TryParse(e.Value.ToString(), out var one, out _))
            {
                ips.AddRange(one.IpBlocks);
                acl.AddRange(one.AclDeny);
            }
        }

        var shared = Sorted(new AdminOverlay(ips, acl).WithoutExpired(now));
        if (shared.ToJson() != Sorted(_state.Current.Overlay.WithoutExpired(now)).ToJson())
        {
            OverlayReceived?.Invoke(shared);
        }
    }

    private static AdminOverlay Sorted(AdminOverlay o) => new(
        o.IpBlocks.OrderBy(b => b.Cidr.ToString(), StringComparer.Ordinal).ToArray(),
        o.AclDeny.OrderBy(a => a.Server, StringComparer.OrdinalIgnoreCase).ToArray());

    private int ApplyBlocks(HashEntry[] entries)
    {
        var now = _time.GetUtcNow();
        var remote = new Dictionary<string, SenderBlock>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            var text = e.Value.ToString();
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            if (bar <= 0 || !long.TryParse(text.AsSpan(0, bar), NumberStyles.Integer, CultureInfo.InvariantCulture, out var until))
            {
                continue;
            }

            var block = new SenderBlock(e.Name.ToString(), DateTimeOffset.FromUnixTimeMilliseconds(until), text[(bar + 1)..], null);
            if (block.Until > now)
            {
                remote[block.Sender] = block;
            }
            else
            {
                _ = _link.Database.HashDeleteAsync(BlocksKey, e.Name, CommandFlags.FireAndForget);
            }
        }

        t_importing = true;
        try
        {
            foreach (var b in remote.Values)
            {
                _blocks.Add(b);
            }

            bool pending;
            lock (_pendingLock)
            {
                pending = _pending.Count > 0;
            }

            if (!pending)
            {
                foreach (var local in _blocks.Snapshot())
                {
                    if (!remote.ContainsKey(local.Sender))
                    {
                        _blocks.Remove(local.Sender);
                    }
                }
            }
        }
        finally
        {
            t_importing = false;
        }

        return remote.Count;
    }

    private async Task BeatLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await BeatAsync().ConfigureAwait(false);
                await Task.Delay(_settings.Heartbeat, _time, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>Announces this instance and catches up when the change counter moved without a notice reaching us.</summary>
    private async Task BeatAsync()
    {
        if (!_link.Up)
        {
            return;
        }

        try
        {
            await SubscribeAsync().ConfigureAwait(false);
            var db = _link.Database;
            var now = _time.GetUtcNow();
            var snapshot = _state.Current;
            var ttl = _settings.Heartbeat * 3;
            var member = new JsonObject
            {
                ["instance"] = _settings.Instance,
                ["config_version"] = snapshot.Version,
                ["config_digest"] = Digest(snapshot),
                ["started"] = _started.ToUnixTimeMilliseconds(),
                ["seen"] = now.ToUnixTimeMilliseconds(),
                ["peer"] = PeerAddress,
            };
            var set = db.StringSetAsync(MemberKey(_settings.Instance), member.ToJsonString(), ttl);
            var add = db.SortedSetAddAsync(MembersKey, _settings.Instance, now.ToUnixTimeMilliseconds());
            var epoch = db.StringGetAsync(EpochKey);
            await Task.WhenAll(set, add, epoch).ConfigureAwait(false);
            var e = (long?)epoch.Result ?? 0;
            bool pending;
            lock (_pendingLock)
            {
                pending = _pending.Count > 0;
            }

            if (pending || e != Interlocked.Read(ref _seenEpoch))
            {
                await SyncAsync().ConfigureAwait(false);
            }

            _link.MarkUp();
            if (MembersRefreshed is { } refreshed)
            {
                refreshed(await MembersAsync().ConfigureAwait(false));
            }
        }
        catch (Exception ex) when (RedisLink.IsClientFault(ex))
        {
            Log.ClusterSyncFailed(_logger, ex.GetType().Name);
        }
    }

    /// <summary>The live members (heartbeat within three beats), this one included.</summary>
    public async Task<IReadOnlyList<ClusterMember>> MembersAsync()
    {
        var list = new List<ClusterMember>();
        if (!_link.Up)
        {
            return list;
        }

        var db = _link.Database;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var stale = now - (long)(_settings.Heartbeat * 3).TotalMilliseconds;
        await db.SortedSetRemoveRangeByScoreAsync(MembersKey, double.NegativeInfinity, stale).ConfigureAwait(false);
        var names = await db.SortedSetRangeByScoreAsync(MembersKey, stale, double.PositiveInfinity).ConfigureAwait(false);
        foreach (var name in names)
        {
            var json = await db.StringGetAsync(MemberKey(name.ToString())).ConfigureAwait(false);
            if (json.IsNullOrEmpty || JsonNode.Parse(json.ToString()) is not JsonObject o)
            {
                continue;
            }

            list.Add(new ClusterMember(name.ToString(), (long?)o["config_version"] ?? 0, (string?)o["config_digest"] ?? "",
                DateTimeOffset.FromUnixTimeMilliseconds((long?)o["started"] ?? 0), DateTimeOffset.FromUnixTimeMilliseconds((long?)o["seen"] ?? 0),
                name == _settings.Instance)
            { Peer = (string?)o["peer"] });
        }

        return list.OrderBy(m => m.Instance, StringComparer.Ordinal).ToList();
    }

    /// <summary>The first 12 hex digits of the config file's SHA-256 as loaded: equal digests = the same file.</summary>
    private string Digest(RuntimeSnapshot snapshot)
    {
        if (snapshot.Version != _digestVersion)
        {
            _digestVersion = snapshot.Version;
            try
            {
                _digest = ConfigFile.TryReadText(snapshot.Config.SourcePath, ConfigFile.DefaultMaxBytes, out var text, out _)
                    ? Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..12]
                    : "";
            }
            catch (IOException)
            {
                _digest = "";
            }
        }

        return _digest;
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _beat?.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
            // the loop ends on cancellation
        }

        if (_link.Up)
        {
            try
            {
                _link.Database.KeyDelete(MemberKey(_settings.Instance), CommandFlags.FireAndForget);
                _link.Database.SortedSetRemove(MembersKey, _settings.Instance, CommandFlags.FireAndForget);
            }
            catch (Exception ex) when (RedisLink.IsClientFault(ex))
            {
                // leaving anyway: the member key expires on its own
            }
        }

        _stop.Dispose();
        _syncGate.Dispose();
    }
}
