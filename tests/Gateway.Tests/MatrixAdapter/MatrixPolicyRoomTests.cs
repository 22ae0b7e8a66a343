using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Protocols.Matrix;
using Gateway.Runtime;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Matrix;

namespace Gateway.Tests.MatrixAdapter;

/// <summary>
/// Issue 16 part 2: policy lists as rooms. The gateway's own account reads each room's state through the fake
/// homeserver (an alias resolved first), then follows /sync; legacy rule types and recommendations apply; a room it
/// cannot read is reported and a failing homeserver leaves the last good rules in force.
/// </summary>
public sealed class MatrixPolicyRoomTests
{
    private const string AdminToken = "policy-room-admin-token-0123456789";

    private static async Task WaitUntil(PolicyRoomFollower follower, Func<bool> condition, string what)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnChanged() => changed.TrySetResult();
            follower.Changed += OnChanged;
            try
            {
                if (condition())
                {
                    return;
                }

                await changed.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
            finally
            {
                follower.Changed -= OnChanged;
            }
        }

        Assert.True(condition(), what);
    }

    private static HttpRequestMessage Send(string room, string token, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/send/m.room.message/{Guid.NewGuid():N}")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { msgtype = "m.text", body }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    [Fact]
    public async Task PolicyRooms_ReadWholeThenFollowedBySync_LegacyTypesApply_BadRoomReported_LastGoodKept()
    {
        await using var hs = await FakeHomeserver.StartAsync();
        var mod = hs.CreateUser("mod");
        var bot = hs.CreateUser("gatewaybot");
        var spammer = hs.CreateUser("spammer");
        var late = hs.CreateUser("late");
        var policyRoom = hs.CreateRoom(mod.UserId, new CreateRoomOptions(Preset: "public_chat", RoomAliasName: "bans"));
        hs.Join(policyRoom, bot.UserId);
        hs.SetState(policyRoom, mod.UserId, "m.policy.rule.user", "rule1", """{"entity":"@spammer:hs.test","recommendation":"m.ban","reason":"spam"}""");
        hs.SetState(policyRoom, mod.UserId, "org.matrix.mjolnir.rule.user", "legacy", """{"entity":"@legacy*:hs.test","recommendation":"org.matrix.mjolnir.ban"}""");
        hs.SetState(policyRoom, mod.UserId, "org.matrix.mjolnir.rule.server", "srv", """{"entity":"evil.test","recommendation":"m.ban"}""");
        hs.SetState(policyRoom, mod.UserId, "m.policy.rule.user", "other", """{"entity":"@x:hs.test","recommendation":"org.example.mute"}""");
        var chat = hs.CreateRoom(mod.UserId, new CreateRoomOptions(Preset: "public_chat"));
        hs.Join(chat, spammer.UserId);
        hs.Join(chat, late.UserId);

        await using var gw = await GatewayHost.StartAsync($$"""
            [[backends]]
            name = "synapse"
            protocol = "matrix"
            upstreams = ["{{hs.Url}}"]
              [[backends.routes]]
              path = "/_matrix"
              [backends.matrix]
              token_cache_seconds = 1

            [matrix]
            policy_rooms = ["#bans:hs.test", "!missing:hs.test"]
            policy_homeserver = "{{hs.Url}}"
            policy_token_file = "bot.token"
            policy_retry_seconds = 1

            [admin]
            listen = "http://127.0.0.1:0"
            token_file = "admin.token"
            """, new Dictionary<string, string> { ["bot.token"] = bot.AccessToken + "\n", ["admin.token"] = AdminToken + "\n" });
        var follower = ((MatrixRuntime)gw.Service<ModuleRuntimes>().Get("matrix")!).PolicyRooms;

        // 1. initial state read: stable and legacy rules, only ban recommendations
        await WaitUntil(follower, () => follower.Current.UserBans.Contains("@spammer:hs.test"), "the policy room's state was read");
        Assert.Equal(new[] { "@legacy*:hs.test", "@spammer:hs.test" }, follower.Current.UserBans.Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(new[] { "evil.test" }, follower.Current.ServerBans);
        var refused = await gw.Client.SendAsync(Send(chat, spammer.AccessToken, "hello"));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("policy list", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await gw.Client.SendAsync(Send(chat, late.AccessToken, "hi"))).StatusCode);

        // 2. the room the account is not in is reported, the other one still applies
        await WaitUntil(follower, () => follower.Status.Any(s => s.Room == "!missing:hs.test" && s.Error is not null), "the unreadable room is reported");
        var good = Assert.Single(follower.Status, s => s.Room == "#bans:hs.test");
        Assert.Equal(policyRoom, good.RoomId);
        Assert.Null(good.Error);
        Assert.Contains(gw.Logs.Lines, m => m.Contains("!missing:hs.test", StringComparison.Ordinal) && m.Contains("cannot be read", StringComparison.Ordinal));

        // the admin API's /status shows each followed room's health (counts and states, never the account's token)
        using var admin = new HttpClient { BaseAddress = new Uri(gw.Service<Gateway.Admin.AdminServer>().Addresses[0]) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        var statusText = await admin.GetStringAsync("/status");
        Assert.DoesNotContain(bot.AccessToken, statusText, StringComparison.Ordinal);
        var rooms = JsonDocument.Parse(statusText).RootElement.GetProperty("modules").GetProperty("matrix").GetProperty("policy_rooms");
        var shown = rooms.EnumerateArray().ToDictionary(r => r.GetProperty("room").GetString()!);
        Assert.Equal(policyRoom, shown["#bans:hs.test"].GetProperty("room_id").GetString());
        Assert.Equal(4, shown["#bans:hs.test"].GetProperty("rules").GetInt32()); // rule events, the mute one included
        Assert.Equal(JsonValueKind.Null, shown["#bans:hs.test"].GetProperty("error").ValueKind);
        Assert.Contains("not in the room", shown["!missing:hs.test"].GetProperty("error").GetString(), StringComparison.Ordinal);

        // 3. kept current from /sync: a new rule applies, a withdrawn (emptied) rule stops applying
        hs.SetState(policyRoom, mod.UserId, "m.policy.rule.user", "rule2", """{"entity":"@late:hs.test","recommendation":"m.ban"}""");
        hs.SetState(policyRoom, mod.UserId, "m.policy.rule.user", "rule1", "{}");
        await WaitUntil(follower, () => follower.Current.UserBans.Contains("@late:hs.test") && !follower.Current.UserBans.Contains("@spammer:hs.test"),
            "the /sync update was applied");
        Assert.Equal(HttpStatusCode.Forbidden, (await gw.Client.SendAsync(Send(chat, late.AccessToken, "hi again"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gw.Client.SendAsync(Send(chat, spammer.AccessToken, "reformed"))).StatusCode);

        // 4. the account's token stops working: /sync fails, the last good rules stay in force
        var failures = follower.SyncFailures;
        hs.RevokeToken(bot.AccessToken);
        await WaitUntil(follower, () => follower.SyncFailures > failures, "a failed /sync");
        Assert.Contains("@late:hs.test", follower.Current.UserBans);
        Assert.Equal(HttpStatusCode.Forbidden, (await gw.Client.SendAsync(Send(chat, late.AccessToken, "still banned"))).StatusCode);

        // the gateway account's token never reaches the logs
        Assert.DoesNotContain(gw.Logs.Lines, m => m.Contains(bot.AccessToken, StringComparison.Ordinal));
    }
}
