using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Gateway.Protocols.Matrix;

/// <summary>[matrix] policy_rooms and how the gateway reaches them.</summary>
public sealed record PolicyRoomSettings
{
    /// <summary>Room ids (<c>!…</c>) or aliases (<c>#…</c>), in the order given.</summary>
    public IReadOnlyList<string> Rooms { get; init; } = Array.Empty<string>();

    /// <summary>The homeserver's client API base the gateway's own account lives on.</summary>
    public Uri? Homeserver { get; init; }

    /// <summary>The gateway account's access token (from the environment or a file; never logged).</summary>
    public Configuration.Secret? Token { get; init; }

    /// <summary>How long to wait after a failure before asking again (and the /sync long-poll timeout).</summary>
    public TimeSpan Retry { get; init; } = TimeSpan.FromSeconds(30);

    internal bool SameAs(PolicyRoomSettings? other) =>
        other is not null && Rooms.SequenceEqual(other.Rooms) && Homeserver == other.Homeserver && Retry == other.Retry
        && CryptographicOperations.FixedTimeEquals(Token?.Value ?? [], other.Token?.Value ?? []);
}

/// <summary>One followed room as the admin view and the logs see it: no rule text beyond counts, no token.</summary>
public sealed record PolicyRoomStatus(string Room, string? RoomId, int Rules, string? Error, DateTimeOffset? LastGood);

/// <summary>
/// Follows policy rooms the way Draupnir, Mjolnir and Meowlnir do, through the homeserver with the gateway's own
/// account: each room (an alias is resolved with <c>GET /directory/room/{alias}</c>) is read whole with
/// <c>GET /rooms/{id}/state</c>, then kept current from <c>/sync</c> (state events in <c>state</c> and
/// <c>timeline</c>). A room that cannot be read (unknown alias, not joined, homeserver down) is reported in the log and
/// the status, retried after <see cref="PolicyRoomSettings.Retry"/>, and its last good rules are kept.
/// </summary>
internal sealed class PolicyRoomFollower : IDisposable
{
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private PolicyRoomSettings? _settings;
    private CancellationTokenSource? _cts;
    private volatile MatrixPolicyList _current = MatrixPolicyList.Empty;
    private volatile IReadOnlyList<PolicyRoomStatus> _status = Array.Empty<PolicyRoomStatus>();
    private (MatrixPolicyList Files, MatrixPolicyList Rooms, MatrixPolicyList Merged)? _merged;

    public PolicyRoomFollower(HttpClient http, TimeProvider time, ILogger logger)
    {
        _http = http;
        _time = time;
        _logger = logger;
    }

    /// <summary>The rules of every followed room (the last good state of each).</summary>
    public MatrixPolicyList Current => _current;

    public IReadOnlyList<PolicyRoomStatus> Status => _status;

    /// <summary>Raised after every read or failure (tests wait on it instead of sleeping).</summary>
    public event Action? Changed;

    /// <summary>/sync requests that failed since the follower started (the rules in force were kept).</summary>
    public long SyncFailures => Interlocked.Read(ref _syncFailures);

    private long _syncFailures;

    /// <summary>The file lists and the rooms' rules together, merged once per change.</summary>
    public MatrixPolicyList Merged(MatrixPolicyList files)
    {
        var rooms = _current;
        if (rooms.Count == 0)
        {
            return files;
        }

        var m = _merged;
        if (m is { } x && ReferenceEquals(x.Files, files) && ReferenceEquals(x.Rooms, rooms))
        {
            return x.Merged;
        }

        var merged = MatrixPolicyList.Merge(files, rooms);
        _merged = (files, rooms, merged);
        return merged;
    }

    /// <summary>Starts, restarts or stops following when the settings changed (called on every config load).</summary>
    public void Configure(PolicyRoomSettings? settings)
    {
        lock (_gate)
        {
            if (settings is null || settings.Rooms.Count == 0 || settings.Homeserver is null || settings.Token is null)
            {
                if (_settings is not null)
                {
                    Stop();
                    _current = MatrixPolicyList.Empty;
                    _status = Array.Empty<PolicyRoomStatus>();
                }

                return;
            }

            if (settings.SameAs(_settings))
            {
                return;
            }

            Stop();
            _settings = settings;
            _cts = new CancellationTokenSource();
            var token = _cts.Token;
            _ = Task.Run(() => RunAsync(settings, token), token);
        }
    }

    private void Stop()
    {
        _cts?.Cancel();
        _cts?.Dispose();
        _cts = null;
        _settings = null;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            Stop();
        }
    }

    private sealed class Room(string name)
    {
        public string Name { get; } = name;

        public string? Id { get; set; }

        public bool Loaded { get; set; }

        public Dictionary<(string Type, string Key), JsonElement> Rules { get; } = [];

        public string? Error { get; set; }

        public DateTimeOffset? LastGood { get; set; }
    }

    private async Task RunAsync(PolicyRoomSettings s, CancellationToken ct)
    {
        var rooms = s.Rooms.Select(r => new Room(r)).ToList();
        string? since = null;
        while (!ct.IsCancellationRequested)
        {
            var failed = false;
            try
            {
                foreach (var room in rooms.Where(r => !r.Loaded))
                {
                    failed |= !await LoadAsync(s, room, ct);
                }

                Publish(rooms);
                // One /sync long-poll: the first (no since) only fixes where to continue from; state already read whole.
                var path = "_matrix/client/v3/sync?timeout=" + (since is null ? 0 : (long)s.Retry.TotalMilliseconds)
                    + (since is null ? "" : "&since=" + Uri.EscapeDataString(since));
                using var doc = await GetAsync(s, path, TimeSpan.FromMilliseconds(s.Retry.TotalMilliseconds + 10_000), ct);
                if (doc.Status != 200 || doc.Json is null || !doc.Json.RootElement.TryGetProperty("next_batch", out var nb) || nb.ValueKind != JsonValueKind.String)
                {
                    SyncFailed(doc.Status);
                    failed = true;
                }
                else
                {
                    if (since is not null)
                    {
                        Apply(rooms, doc.Json.RootElement);
                    }

                    since = nb.GetString();
                    Publish(rooms);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or OperationCanceledException)
            {
                SyncFailed(0);
                failed = true;
            }

            if (failed || rooms.Any(r => !r.Loaded))
            {
                try
                {
                    await Task.Delay(s.Retry, _time, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Resolves the room (alias → id) and reads its whole state; false (and the room's error set) when it cannot.</summary>
    private async Task<bool> LoadAsync(PolicyRoomSettings s, Room room, CancellationToken ct)
    {
        if (room.Id is null)
        {
            if (room.Name.StartsWith('!'))
            {
                room.Id = room.Name;
            }
            else
            {
                using var alias = await GetAsync(s, "_matrix/client/v3/directory/room/" + Uri.EscapeDataString(room.Name), TimeSpan.FromSeconds(10), ct);
                if (alias.Json?.RootElement is { ValueKind: JsonValueKind.Object } a && a.TryGetProperty("room_id", out var id) && id.ValueKind == JsonValueKind.String)
                {
                    room.Id = id.GetString();
                }
                else
                {
                    return Fail(room, alias.Status == 404 ? "alias not found" : $"alias lookup answered {alias.Status}");
                }
            }
        }

        using var state = await GetAsync(s, $"_matrix/client/v3/rooms/{Uri.EscapeDataString(room.Id!)}/state", TimeSpan.FromSeconds(10), ct);
        if (state.Status != 200 || state.Json?.RootElement is not { ValueKind: JsonValueKind.Array } events)
        {
            return Fail(room, state.Status == 403 ? "the gateway's account is not in the room (403)" : $"state read answered {state.Status}");
        }

        room.Rules.Clear();
        foreach (var e in events.EnumerateArray())
        {
            Take(room, e);
        }

        room.Loaded = true;
        room.Error = null;
        room.LastGood = _time.GetUtcNow();
        return true;
    }

    private void SyncFailed(int status)
    {
        MatrixLog.PolicySyncFailed(_logger, status);
        Interlocked.Increment(ref _syncFailures);
        Changed?.Invoke();
    }

    private bool Fail(Room room, string error)
    {
        if (room.Error != error)
        {
            MatrixLog.PolicyRoomFailed(_logger, room.Name, error);
        }

        room.Error = error;
        return false;
    }

    private static void Take(Room room, JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
            && MatrixPolicyList.IsRuleType(t.GetString()) && e.TryGetProperty("state_key", out var k) && k.ValueKind == JsonValueKind.String)
        {
            room.Rules[(t.GetString()!, k.GetString()!)] = e.Clone(); // a later rule with the same key replaces it; empty content removes it
        }
    }

    private void Apply(List<Room> rooms, JsonElement sync)
    {
        if (!sync.TryGetProperty("rooms", out var r) || r.ValueKind != JsonValueKind.Object || !r.TryGetProperty("join", out var join)
            || join.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var room in rooms.Where(x => x.Loaded))
        {
            if (!join.TryGetProperty(room.Id!, out var joined) || joined.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            foreach (var section in new[] { "state", "timeline" })
            {
                if (joined.TryGetProperty(section, out var sec) && sec.ValueKind == JsonValueKind.Object
                    && sec.TryGetProperty("events", out var events) && events.ValueKind == JsonValueKind.Array)
                {
                    foreach (var e in events.EnumerateArray())
                    {
                        Take(room, e);
                    }
                }
            }

            room.LastGood = _time.GetUtcNow();
        }
    }

    private void Publish(List<Room> rooms)
    {
        var errors = new List<string>();
        var list = MatrixPolicyList.FromEvents(
            rooms.SelectMany(r => r.Rules.Select(kv => ($"{r.Name}: {kv.Key.Type}/{kv.Key.Key}", kv.Value))), errors);
        _status = rooms.Select(r => new PolicyRoomStatus(r.Name, r.Id, r.Rules.Count, r.Error, r.LastGood)).ToArray();
        if (!SameRules(list, _current))
        {
            _current = list;
            MatrixLog.PolicyRoomsLoaded(_logger, rooms.Count(r => r.Loaded), rooms.Count, list.Count);
        }

        Changed?.Invoke();
    }

    private static bool SameRules(MatrixPolicyList a, MatrixPolicyList b) =>
        a.ServerBans.SequenceEqual(b.ServerBans) && a.UserBans.SequenceEqual(b.UserBans) && a.RoomBans.SequenceEqual(b.RoomBans);

    private sealed record Answer(int Status, JsonDocument? Json) : IDisposable
    {
        public void Dispose() => Json?.Dispose();
    }

    private async Task<Answer> GetAsync(PolicyRoomSettings s, string relative, TimeSpan timeout, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s.Homeserver!, relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", System.Text.Encoding.UTF8.GetString(s.Token!.Value).Trim());
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        using var response = await _http.SendAsync(request, cts.Token);
        if (!response.IsSuccessStatusCode)
        {
            return new Answer((int)response.StatusCode, null);
        }

        var bytes = await response.Content.ReadAsByteArrayAsync(cts.Token);
        return new Answer(200, JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64 }));
    }
}
