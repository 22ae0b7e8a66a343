using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Protocols.Abstractions;
using Microsoft.Extensions.Caching.Memory;

namespace Gateway.Protocols.Lemmy;

/// <summary>The logged-in user behind a JWT, as the Lemmy site says.</summary>
public sealed record LemmyUser(long PersonId, string Name, bool IsAdmin);

/// <summary>A post or comment: the community it lives in and who wrote it.</summary>
public sealed record LemmyItem(long CommunityId, string? CreatorName);

/// <summary>A private message's two sides, by user name.</summary>
public sealed record LemmyPrivateMessage(string CreatorName, string RecipientName);

/// <summary>A community's name and the person ids of its moderators.</summary>
public sealed record LemmyCommunity(long Id, string Name, IReadOnlySet<long> Moderators);

/// <summary>Who sends (from the JWT) and where things are, as the Lemmy backend says, looked up as the sender.</summary>
public interface ILemmyDirectory
{
    ValueTask<LemmyUser?> UserAsync(string jwt, int version, CancellationToken cancellationToken);

    ValueTask<LemmyCommunity?> CommunityAsync(string jwt, int version, long communityId, CancellationToken cancellationToken);

    /// <summary>The community a post (or a comment) lives in; null when the look-up fails.</summary>
    ValueTask<long?> CommunityOfAsync(string jwt, int version, string what, long id, CancellationToken cancellationToken);

    ValueTask<string?> PersonNameAsync(string jwt, int version, long personId, CancellationToken cancellationToken);

    /// <summary>A post's or comment's community and creator; null when the look-up fails.</summary>
    ValueTask<LemmyItem?> ItemAsync(string jwt, int version, string what, long id, CancellationToken cancellationToken);

    /// <summary>Who sent and who received a private message the caller can see; null when it is not among theirs.</summary>
    ValueTask<LemmyPrivateMessage?> PrivateMessageAsync(string jwt, int version, long privateMessageId, CancellationToken cancellationToken);

    /// <summary>Forget a community's moderators (a moderator change passed through the gateway).</summary>
    void InvalidateCommunity(long communityId);
}

/// <summary>
/// Lemmy look-ups with bounded, expiring caches on the injected clock. JWTs are cached by their SHA-256, never as
/// text. A failed look-up is not cached and makes the sender "not a moderator, community unknown": filters apply.
/// </summary>
public sealed class LemmyDirectory : ILemmyDirectory, IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _api;
    private readonly TimeSpan _tokenTime;
    private readonly TimeSpan _communityTime;
    private readonly MemoryCache _cache;

    public LemmyDirectory(HttpClient http, Uri api, TimeSpan tokenTime, TimeSpan communityTime, TimeProvider? time = null)
    {
        _http = http;
        _api = api.AbsoluteUri.EndsWith('/') ? api : new Uri(api.AbsoluteUri + "/");
        _tokenTime = tokenTime;
        _communityTime = communityTime;
        _cache = BackendLookups.CreateCache(time);
    }

    public async ValueTask<LemmyUser?> UserAsync(string jwt, int version, CancellationToken cancellationToken)
    {
        var key = "tok:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(jwt)));
        if (_cache.TryGetValue(key, out LemmyUser? cached))
        {
            return cached;
        }

        // 0.19: GET /api/v3/site answers my_user for a logged-in caller; 1.0 moved it to GET /api/v4/account.
        using var doc = await GetJsonAsync(version == 4 ? "api/v4/account" : "api/v3/site", jwt, cancellationToken);
        if (doc is null)
        {
            return null;
        }

        var root = doc.RootElement;
        if (version != 4 && !(root.TryGetProperty("my_user", out root) && root.ValueKind == JsonValueKind.Object))
        {
            return null; // not logged in: the token is unknown or expired
        }

        if (!root.TryGetProperty("local_user_view", out var view) || !view.TryGetProperty("person", out var person)
            || !person.TryGetProperty("id", out var idElement) || !idElement.TryGetInt64(out var id)
            || !person.TryGetProperty("name", out var nameElement) || nameElement.GetString() is not { } name)
        {
            return null;
        }

        // 0.19 and 1.0 keep the flag on local_user; 0.18 kept it on person.
        var admin = IsTrue(view, "local_user", "admin") || IsTrue(view, "person", "admin");
        var user = new LemmyUser(id, name, admin);
        BackendLookups.Put(_cache, key, user, _tokenTime);
        return user;
    }

    public async ValueTask<LemmyCommunity?> CommunityAsync(string jwt, int version, long communityId, CancellationToken cancellationToken)
    {
        var key = "com:" + communityId;
        if (_cache.TryGetValue(key, out LemmyCommunity? cached))
        {
            return cached;
        }

        using var doc = await GetJsonAsync($"api/v{version}/community?id={communityId}", jwt, cancellationToken);
        if (doc is null || !doc.RootElement.TryGetProperty("community_view", out var cv) || !cv.TryGetProperty("community", out var c)
            || !c.TryGetProperty("name", out var n) || n.GetString() is not { } name)
        {
            return null;
        }

        var moderators = new HashSet<long>();
        if (doc.RootElement.TryGetProperty("moderators", out var mods) && mods.ValueKind == JsonValueKind.Array)
        {
            foreach (var m in mods.EnumerateArray())
            {
                if (m.TryGetProperty("moderator", out var p) && p.TryGetProperty("id", out var pid) && pid.TryGetInt64(out var personId))
                {
                    moderators.Add(personId);
                }
            }
        }

        var community = new LemmyCommunity(communityId, name, moderators);
        BackendLookups.Put(_cache, key, community, _communityTime);
        return community;
    }

    public async ValueTask<long?> CommunityOfAsync(string jwt, int version, string what, long id, CancellationToken cancellationToken) =>
        (await ItemAsync(jwt, version, what, id, cancellationToken))?.CommunityId;

    public async ValueTask<LemmyItem?> ItemAsync(string jwt, int version, string what, long id, CancellationToken cancellationToken)
    {
        var key = what + ":" + id;
        if (_cache.TryGetValue(key, out LemmyItem? cached))
        {
            return cached;
        }

        // GET /post?id= answers post_view, GET /comment?id= answers comment_view: both carry the community and creator.
        using var doc = await GetJsonAsync($"api/v{version}/{what}?id={id}", jwt, cancellationToken);
        if (doc is null || !doc.RootElement.TryGetProperty(what + "_view", out var v) || !v.TryGetProperty("community", out var c)
            || !c.TryGetProperty("id", out var cid) || !cid.TryGetInt64(out var communityId))
        {
            return null;
        }

        var item = new LemmyItem(communityId, Name(v, "creator"));
        BackendLookups.Put(_cache, key, item, _communityTime);
        return item;
    }

    public async ValueTask<LemmyPrivateMessage?> PrivateMessageAsync(string jwt, int version, long privateMessageId, CancellationToken cancellationToken)
    {
        var key = "pm:" + privateMessageId;
        if (_cache.TryGetValue(key, out LemmyPrivateMessage? cached))
        {
            return cached;
        }

        // Lemmy has no "get one private message": 0.19 lists the caller's (GET /private_message/list), 1.0 has them
        // among the caller's notifications. A report is about a recent message, so the newest page is enough; every
        // message on it is cached, so reports of the others need no second look-up.
        using var doc = await GetJsonAsync(
            version == 4 ? "api/v4/account/notification/list?type_=private_message&limit=50" : "api/v3/private_message/list?unread_only=false&limit=50",
            jwt, cancellationToken);
        if (doc is null || !doc.RootElement.TryGetProperty(version == 4 ? "items" : "private_messages", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        LemmyPrivateMessage? found = null;
        foreach (var entry in list.EnumerateArray())
        {
            var view = version == 4 && entry.TryGetProperty("data", out var data) ? data : entry;
            if (view.ValueKind == JsonValueKind.Object && view.TryGetProperty("private_message", out var pm) && pm.TryGetProperty("id", out var idElement)
                && idElement.TryGetInt64(out var id) && Name(view, "creator") is { } creator && Name(view, "recipient") is { } recipient)
            {
                var message = new LemmyPrivateMessage(creator, recipient);
                BackendLookups.Put(_cache, "pm:" + id, message, _communityTime);
                if (id == privateMessageId)
                {
                    found = message;
                }
            }
        }

        return found;
    }

    private static string? Name(JsonElement view, string person) =>
        view.TryGetProperty(person, out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
            ? n.GetString() : null;

    public async ValueTask<string?> PersonNameAsync(string jwt, int version, long personId, CancellationToken cancellationToken)
    {
        var key = "person:" + personId;
        if (_cache.TryGetValue(key, out string? cached))
        {
            return cached;
        }

        using var doc = await GetJsonAsync(version == 4 ? $"api/v4/person?person_id={personId}" : $"api/v3/user?person_id={personId}", jwt, cancellationToken);
        if (doc is null || !doc.RootElement.TryGetProperty("person_view", out var v) || !v.TryGetProperty("person", out var p)
            || !p.TryGetProperty("name", out var n) || n.GetString() is not { } name)
        {
            return null;
        }

        BackendLookups.Put(_cache, key, name, _communityTime);
        return name;
    }

    public void InvalidateCommunity(long communityId) => _cache.Remove("com:" + communityId);

    private static bool IsTrue(JsonElement view, string obj, string flag) =>
        view.TryGetProperty(obj, out var o) && o.ValueKind == JsonValueKind.Object && o.TryGetProperty(flag, out var f) && f.ValueKind == JsonValueKind.True;

    private Task<JsonDocument?> GetJsonAsync(string relative, string jwt, CancellationToken ct) =>
        BackendLookups.GetJsonAsync(_http, _api, relative, jwt, ct);

    public void Dispose() => _cache.Dispose();
}
