using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Protocols.Abstractions;
using Microsoft.Extensions.Caching.Memory;

namespace Gateway.Protocols.Matrix;

/// <summary>
/// What the gateway needs to know about a room for one sender. <paramref name="OtherMembers"/>: in a direct room, the
/// joined members other than the sender (who the message goes to); empty otherwise or when unknown.
/// </summary>
public readonly record struct MatrixRoomFacts(bool IsDirect, bool SenderIsModerator, int JoinedMembers, IReadOnlyList<string>? OtherMembers = null);

/// <summary>The texts a room shows in the directory: its name, topic and canonical alias.</summary>
public readonly record struct MatrixRoomTexts(string? Name, string? Topic, string? Alias);

/// <summary>Who sends (from the access token) and what the room is, as the homeserver says.</summary>
public interface IMatrixDirectory
{
    ValueTask<string?> WhoAmIAsync(string accessToken, CancellationToken cancellationToken);

    /// <summary>
    /// Who an application service's request acts as: whoami with the same <c>?user_id=</c> the request carries, so the
    /// homeserver itself says whether the token may masquerade as that user (null when it may not).
    /// </summary>
    ValueTask<string?> WhoAmIAsync(string accessToken, string? masqueradeAs, CancellationToken cancellationToken) =>
        WhoAmIAsync(accessToken, cancellationToken);

    /// <summary>The room's name, topic and canonical alias as the homeserver holds them now (null where unset or unreadable).</summary>
    ValueTask<MatrixRoomTexts> RoomTextsAsync(string accessToken, string roomId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(default(MatrixRoomTexts));

    ValueTask<MatrixRoomFacts> RoomFactsAsync(string accessToken, string userId, string roomId, CancellationToken cancellationToken);

    /// <summary>Forget cached facts of a room (its power levels changed through the gateway).</summary>
    void InvalidateRoom(string roomId);
}

/// <summary>Settings of the Matrix adapter for one backend.</summary>
public sealed record MatrixOptions
{
    /// <summary>Where to ask whoami / joined_members / power levels (the homeserver's client API base).</summary>
    public required Uri Homeserver { get; init; }

    /// <summary>"kick", "redact", "ban", or a number: senders at or above this power level are moderators.</summary>
    public string ModeratorLevel { get; init; } = "kick";

    /// <summary>How long a token → user id answer is trusted (a revoked token stops working within this).</summary>
    public TimeSpan TokenCacheTime { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan RoomCacheTime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Room id/alias globs the operator marks public (for the encrypted-event switch).</summary>
    public IReadOnlyList<string> PublicRooms { get; init; } = Array.Empty<string>();

    public bool RejectEncryptedInPublicRooms { get; init; }

    public int MaxJsonDepth { get; init; } = 64;
}

/// <summary>
/// Homeserver look-ups with bounded, expiring caches (Microsoft.Extensions.Caching.Memory). Tokens are cached by
/// their SHA-256, never as text. Look-up failures make the room "public, sender not a moderator": filters apply.
/// </summary>
public sealed class MatrixDirectory : IMatrixDirectory, IDisposable
{
    private readonly HttpClient _http;
    private readonly MatrixOptions _options;
    private readonly MemoryCache _cache;

    /// <param name="time">Expires cached answers (tests pass a fake clock); the system clock when null.</param>
    public MatrixDirectory(HttpClient http, MatrixOptions options, TimeProvider? time = null)
    {
        _http = http;
        _options = options;
        _cache = BackendLookups.CreateCache(time);
    }

    public ValueTask<string?> WhoAmIAsync(string accessToken, CancellationToken cancellationToken) =>
        WhoAmIAsync(accessToken, null, cancellationToken);

    public async ValueTask<string?> WhoAmIAsync(string accessToken, string? masqueradeAs, CancellationToken cancellationToken)
    {
        var key = "tok:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(accessToken))) + (masqueradeAs is null ? "" : "|" + masqueradeAs);
        if (_cache.TryGetValue(key, out string? cached))
        {
            return cached;
        }

        var relative = masqueradeAs is null
            ? "_matrix/client/v3/account/whoami"
            : "_matrix/client/v3/account/whoami?user_id=" + Uri.EscapeDataString(masqueradeAs);
        var userId = await WhoAmIRequestAsync(relative, accessToken, cancellationToken);
        if (userId is not null)
        {
            BackendLookups.Put(_cache, key, userId, _options.TokenCacheTime);
        }

        return userId;
    }

    /// <summary>
    /// The user id whoami names; null only when the homeserver itself refused the token (401 M_UNKNOWN_TOKEN /
    /// M_MISSING_TOKEN, 403 for a masquerade it does not allow): it then refuses the request itself, so it may pass.
    /// Any other failure (no answer, a timeout, 5xx, 429, an answer without <c>user_id</c>) throws
    /// <see cref="HomeserverUnavailableException"/>: the sender is unknown, the token may well be good, and a request
    /// forwarded uninspected could reach a homeserver that is back a moment later (the soak found exactly that: a
    /// filtered word delivered while the homeserver restarted). The host then applies the route's <c>on_error</c>.
    /// </summary>
    private async Task<string?> WhoAmIRequestAsync(string relative, string token, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_options.Homeserver, relative));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await _http.SendAsync(request, ct);
            if (response.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
            {
                return null;
            }

            if (response.IsSuccessStatusCode)
            {
                using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(ct), new JsonDocumentOptions { MaxDepth = 64 });
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("user_id", out var u)
                    && u.ValueKind == JsonValueKind.String && u.GetString() is { Length: > 0 } userId)
                {
                    return userId;
                }
            }

            throw new HomeserverUnavailableException($"whoami answered {(int)response.StatusCode} without a user id");
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            throw new HomeserverUnavailableException("whoami failed: " + ex.GetType().Name);
        }
    }

    public async ValueTask<MatrixRoomFacts> RoomFactsAsync(string accessToken, string userId, string roomId, CancellationToken cancellationToken)
    {
        var members = await JoinedMembersAsync(accessToken, roomId, cancellationToken);
        var direct = members.Count == 2 || (await DirectRoomsAsync(accessToken, userId, cancellationToken)).Contains(roomId);
        if (direct)
        {
            // Room power levels make moderators of group rooms only. In a DM both members usually hold 100 (the
            // creator always, the invitee too with trusted_private_chat), so "moderators are exempt" would mean DMs
            // are never filtered (issue 9). Nobody moderates a direct conversation.
            return new MatrixRoomFacts(true, false, members.Count, Others(members.Ids, userId));
        }

        var levels = await PowerLevelsAsync(accessToken, roomId, cancellationToken);
        var moderator = levels is not null && levels.LevelOf(userId) >= levels.ModeratorThreshold(_options.ModeratorLevel);
        return new MatrixRoomFacts(false, moderator, members.Count);
    }

    public async ValueTask<MatrixRoomTexts> RoomTextsAsync(string accessToken, string roomId, CancellationToken cancellationToken)
    {
        var room = Uri.EscapeDataString(roomId);
        async Task<string?> Read(string type, string key)
        {
            using var doc = await GetJsonAsync($"_matrix/client/v3/rooms/{room}/state/{type}", accessToken, cancellationToken);
            return doc is not null && doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(key, out var v)
                && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        }

        return new MatrixRoomTexts(await Read("m.room.name", "name"), await Read("m.room.topic", "topic"), await Read("m.room.canonical_alias", "alias"));
    }

    public void InvalidateRoom(string roomId)
    {
        _cache.Remove("pl:" + roomId);
        _cache.Remove("mem:" + roomId);
    }

    private static string[] Others(string[]? ids, string userId)
    {
        if (ids is null)
        {
            return Array.Empty<string>();
        }

        var others = new List<string>(ids.Length);
        foreach (var id in ids)
        {
            if (!string.Equals(id, userId, StringComparison.Ordinal))
            {
                others.Add(id);
            }
        }

        return others.ToArray();
    }

    /// <summary>Joined members: the count (-1 when the look-up failed), and the ids of small rooms (DMs are small).</summary>
    private readonly record struct Members(int Count, string[]? Ids);

    private const int MaxMemberIdsKept = 32;

    private async ValueTask<Members> JoinedMembersAsync(string token, string roomId, CancellationToken ct)
    {
        var key = "mem:" + roomId;
        if (_cache.TryGetValue(key, out Members cached))
        {
            return cached;
        }

        using var doc = await GetJsonAsync($"_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/joined_members", token, ct);
        if (doc is null || !doc.RootElement.TryGetProperty("joined", out var joined) || joined.ValueKind != JsonValueKind.Object)
        {
            return new Members(-1, null);
        }

        var ids = new List<string>();
        var count = 0;
        foreach (var member in joined.EnumerateObject())
        {
            if (++count <= MaxMemberIdsKept)
            {
                ids.Add(member.Name);
            }
        }

        var members = new Members(count, count <= MaxMemberIdsKept ? ids.ToArray() : null);
        BackendLookups.Put(_cache, key, members, _options.RoomCacheTime);
        return members;
    }

    private async ValueTask<PowerLevels?> PowerLevelsAsync(string token, string roomId, CancellationToken ct)
    {
        var key = "pl:" + roomId;
        if (_cache.TryGetValue(key, out PowerLevels? cached))
        {
            return cached;
        }

        using var doc = await GetJsonAsync($"_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/state/m.room.power_levels", token, ct);
        if (doc is null)
        {
            return null;
        }

        var levels = PowerLevels.From(doc.RootElement);
        BackendLookups.Put(_cache, key, levels, _options.RoomCacheTime);
        return levels;
    }

    private async ValueTask<HashSet<string>> DirectRoomsAsync(string token, string userId, CancellationToken ct)
    {
        var key = "dir:" + userId;
        if (_cache.TryGetValue(key, out HashSet<string>? cached) && cached is not null)
        {
            return cached;
        }

        var rooms = new HashSet<string>(StringComparer.Ordinal);
        using var doc = await GetJsonAsync($"_matrix/client/v3/user/{Uri.EscapeDataString(userId)}/account_data/m.direct", token, ct);
        if (doc is not null && doc.RootElement.ValueKind == JsonValueKind.Object)
        {
            foreach (var person in doc.RootElement.EnumerateObject())
            {
                if (person.Value.ValueKind == JsonValueKind.Array)
                {
                    foreach (var r in person.Value.EnumerateArray())
                    {
                        if (r.ValueKind == JsonValueKind.String)
                        {
                            rooms.Add(r.GetString()!);
                        }
                    }
                }
            }
        }

        BackendLookups.Put(_cache, key, rooms, _options.RoomCacheTime);
        return rooms;
    }

    private Task<JsonDocument?> GetJsonAsync(string relative, string token, CancellationToken ct) =>
        BackendLookups.GetJsonAsync(_http, _options.Homeserver, relative, token, ct);

    public void Dispose() => _cache.Dispose();

    /// <summary>The parts of m.room.power_levels that decide who moderates (spec defaults when absent).</summary>
    internal sealed record PowerLevels(Dictionary<string, long> Users, long UsersDefault, long Kick, long Redact, long Ban)
    {
        public long LevelOf(string userId) => Users.TryGetValue(userId, out var l) ? l : UsersDefault;

        public long ModeratorThreshold(string setting) => setting switch
        {
            "redact" => Redact,
            "ban" => Ban,
            "kick" => Kick,
            _ => long.TryParse(setting, out var n) ? n : Kick,
        };

        public static PowerLevels From(JsonElement content)
        {
            static long Level(JsonElement e, string name, long fallback) =>
                e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var l) ? l : fallback;

            var users = new Dictionary<string, long>(StringComparer.Ordinal);
            if (content.TryGetProperty("users", out var u) && u.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in u.EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt64(out var l))
                    {
                        users[p.Name] = l;
                    }
                }
            }

            return new PowerLevels(users, Level(content, "users_default", 0), Level(content, "kick", 50), Level(content, "redact", 50), Level(content, "ban", 50));
        }
    }
}

/// <summary>
/// The homeserver could not say who a token belongs to (down, slow, or an answer that is not whoami's): the request
/// cannot be attributed, so it is neither inspected nor passed as if the token were unknown. Carries no token or text.
/// </summary>
public sealed class HomeserverUnavailableException(string reason) : Exception(reason);
