using Gateway.Cluster;
using Gateway.Configuration;
using Gateway.Policy.Acl;
using Gateway.Policy.Net;
using Gateway.Runtime;

namespace Gateway.Admin;

internal enum OverlayOutcome
{
    Added = 0,
    Replaced = 1,
    Removed = 2,
    NotFound = 3,
    Invalid = 4,

    /// <summary>The overlay file could not be written; nothing changed.</summary>
    NotSaved = 5,
}

/// <summary>What an overlay change did: a value, never an exception.</summary>
internal readonly record struct OverlayResult(OverlayOutcome Outcome, string? Error = null);

/// <summary>
/// Owns the admin overlay: loads it at start, changes it (validate, write the file atomically, then merge into the
/// live snapshot), prunes expired entries on a timer, and writes one audit log event per change (who = "admin",
/// what, which network or server; never the token).
/// </summary>
internal sealed class OverlayStore : IDisposable
{
    private const string Who = "admin";

    private readonly GatewayState _state;
    private readonly TimeProvider _time;
    private readonly ILogger<OverlayStore> _logger;
    private readonly Lock _gate = new();
    private readonly string _path;
    private ITimer? _pruneTimer;

    private readonly ClusterSync? _cluster;

    public OverlayStore(GatewayState state, TimeProvider time, ILogger<OverlayStore> logger, ClusterSync? cluster = null)
    {
        _state = state;
        _time = time;
        _logger = logger;
        _path = state.Current.Config.Admin.OverlayFile;
        _cluster = cluster;
        if (cluster is not null)
        {
            cluster.OverlayReceived += ApplyShared;
        }
    }

    /// <summary>
    /// The cluster's overlay (another instance changed it): applied here as it is, and written to this instance's
    /// file so a restart while Redis is away starts from the last shared set.
    /// </summary>
    private void ApplyShared(AdminOverlay shared)
    {
        lock (_gate)
        {
            var next = shared.WithoutExpired(_time.GetUtcNow());
            if (!TryWrite(next, out var error))
            {
                Log.OverlayNotSaved(_logger, _path, error!);
            }

            _state.SetOverlay(next);
            Log.AdminChange(_logger, "cluster", "overlay.sync", $"{next.IpBlocks.Count} IP blocks, {next.AclDeny.Count} ACL entries", "-");
            SchedulePrune(next);
        }
    }

    public string FilePath => _path;

    public AdminOverlay Current => _state.Current.Overlay;

    /// <summary>Reads the overlay file (validated with the config) and merges it before the first request is served.</summary>
    public void Load()
    {
        lock (_gate)
        {
            if (!File.Exists(_path))
            {
                return;
            }

            if (!AdminOverlay.TryParse(File.ReadAllText(_path), out var overlay, out var error))
            {
                // ConfigLoader checked this file moments ago: a failure here is a race with an outside writer.
                throw new InvalidOperationException($"overlay file {_path}: {error}");
            }

            var live = overlay.WithoutExpired(_time.GetUtcNow());
            _state.SetOverlay(live);
            Log.OverlayLoaded(_logger, _path, live.IpBlocks.Count, live.AclDeny.Count);
            SchedulePrune(live);
        }
    }

    public OverlayResult AddIpBlock(string? cidrText, DateTimeOffset? expires, string? reason)
    {
        if (!CidrBlock.TryParse(cidrText ?? "", out var cidr, out var error))
        {
            return new OverlayResult(OverlayOutcome.Invalid, error);
        }

        if (Validate(expires, reason) is { } invalid)
        {
            return invalid;
        }

        lock (_gate)
        {
            var current = Current;
            var replaced = current.IpBlocks.Any(b => b.Cidr == cidr);
            var blocks = current.IpBlocks.Where(b => b.Cidr != cidr).Append(new OverlayIpBlock(cidr, expires, reason, _time.GetUtcNow())).ToArray();
            var outcome = replaced ? OverlayOutcome.Replaced : OverlayOutcome.Added;
            return Commit(current with { IpBlocks = blocks }, outcome, "ip_block.add", cidr.ToString(), expires);
        }
    }

    public OverlayResult RemoveIpBlock(string? cidrText)
    {
        if (!CidrBlock.TryParse(cidrText ?? "", out var cidr, out var error))
        {
            return new OverlayResult(OverlayOutcome.Invalid, error);
        }

        lock (_gate)
        {
            var current = Current;
            if (!current.IpBlocks.Any(b => b.Cidr == cidr))
            {
                return new OverlayResult(OverlayOutcome.NotFound, $"{cidr} is not in the admin overlay (entries from gateway.toml are changed there)");
            }

            return Commit(current with { IpBlocks = current.IpBlocks.Where(b => b.Cidr != cidr).ToArray() }, OverlayOutcome.Removed,
                "ip_block.remove", cidr.ToString(), null);
        }
    }

    public OverlayResult AddAclDeny(string? server, DateTimeOffset? expires, string? reason)
    {
        if (!ServerNameGlob.TryValidate(server ?? "", out var error))
        {
            return new OverlayResult(OverlayOutcome.Invalid, error);
        }

        if (Validate(expires, reason) is { } invalid)
        {
            return invalid;
        }

        lock (_gate)
        {
            var current = Current;
            var replaced = current.AclDeny.Any(a => Same(a.Server, server!));
            var entries = current.AclDeny.Where(a => !Same(a.Server, server!)).Append(new OverlayAclDeny(server!, expires, reason, _time.GetUtcNow())).ToArray();
            return Commit(current with { AclDeny = entries }, replaced ? OverlayOutcome.Replaced : OverlayOutcome.Added, "acl_deny.add", server!, expires);
        }
    }

    public OverlayResult RemoveAclDeny(string? server)
    {
        if (string.IsNullOrEmpty(server))
        {
            return new OverlayResult(OverlayOutcome.Invalid, "server is required");
        }

        lock (_gate)
        {
            var current = Current;
            if (!current.AclDeny.Any(a => Same(a.Server, server)))
            {
                return new OverlayResult(OverlayOutcome.NotFound, $"{server} is not in the admin overlay (entries from gateway.toml are changed there)");
            }

            return Commit(current with { AclDeny = current.AclDeny.Where(a => !Same(a.Server, server)).ToArray() }, OverlayOutcome.Removed,
                "acl_deny.remove", server, null);
        }
    }

    private static bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private OverlayResult? Validate(DateTimeOffset? expires, string? reason)
    {
        if (expires is { } e && e <= _time.GetUtcNow())
        {
            return new OverlayResult(OverlayOutcome.Invalid, "expires is in the past");
        }

        return AdminOverlay.CheckReason(reason) is { } error ? new OverlayResult(OverlayOutcome.Invalid, error) : null;
    }

    /// <summary>File first, then the live snapshot: what serves is always what a restart would load.</summary>
    private OverlayResult Commit(AdminOverlay next, OverlayOutcome outcome, string what, string target, DateTimeOffset? expires)
    {
        next = next.WithoutExpired(_time.GetUtcNow());
        if (!TryWrite(next, out var error))
        {
            Log.OverlayNotSaved(_logger, _path, error!);
            return new OverlayResult(OverlayOutcome.NotSaved, $"the overlay file could not be written: {error}");
        }

        _state.SetOverlay(next);
        Publish(next, what, target);
        Log.AdminChange(_logger, Who, what, target, expires is { } e ? AdminOverlay.FormatTime(e) : "never");
        SchedulePrune(next);
        return new OverlayResult(outcome);
    }

    /// <summary>Tells the other instances (when clustered): the one entry that changed, or its removal.</summary>
    private void Publish(AdminOverlay next, string what, string target)
    {
        if (_cluster is null)
        {
            return;
        }

        if (what.StartsWith("ip_block.", StringComparison.Ordinal))
        {
            var entry = next.IpBlocks.FirstOrDefault(b => b.Cidr.ToString() == target);
            _cluster.OverlayChanged(ClusterSync.IpField(target), entry is null ? null : new AdminOverlay([entry], []));
        }
        else
        {
            var entry = next.AclDeny.FirstOrDefault(a => Same(a.Server, target));
            _cluster.OverlayChanged(ClusterSync.AclField(target), entry is null ? null : new AdminOverlay([], [entry]));
        }
    }

    private bool TryWrite(AdminOverlay overlay, out string? error)
    {
        var tmp = _path + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            File.WriteAllText(tmp, overlay.ToJson());
            File.Move(tmp, _path, overwrite: true);
            error = null;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = ex.GetType().Name + ": " + ex.Message;
            return false;
        }
    }

    private void SchedulePrune(AdminOverlay overlay)
    {
        _pruneTimer?.Dispose();
        _pruneTimer = null;
        if (overlay.NextExpiry is not { } next)
        {
            return;
        }

        var due = next - _time.GetUtcNow();
        _pruneTimer = _time.CreateTimer(_ => Prune(), null, due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Expired entries leave the file and the ACL (the IP trie already ignores them).</summary>
    private void Prune()
    {
        lock (_gate)
        {
            var current = Current;
            var next = current.WithoutExpired(_time.GetUtcNow());
            if (next.IpBlocks.Count == current.IpBlocks.Count && next.AclDeny.Count == current.AclDeny.Count)
            {
                SchedulePrune(current);
                return;
            }

            var pruned = current.IpBlocks.Count - next.IpBlocks.Count + current.AclDeny.Count - next.AclDeny.Count;
            if (TryWrite(next, out var error))
            {
                _state.SetOverlay(next);
                Log.AdminChange(_logger, Who, "expired.remove", $"{pruned} entries", "-");
            }
            else
            {
                Log.OverlayNotSaved(_logger, _path, error!);
                _state.SetOverlay(next);
            }

            SchedulePrune(next);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _pruneTimer?.Dispose();
            _pruneTimer = null;
        }
    }
}
