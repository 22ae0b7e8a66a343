using System.Text.Json.Nodes;
using Gateway.Cluster;

namespace Gateway.Admin;

/// <summary>GET /cluster: the live members with their config versions, and this instance's view of the shared state.</summary>
internal static partial class AdminEndpoints
{
    private static async Task<IResult> ClusterAsync(ClusterAccess cluster)
    {
        if (cluster.Sync is not { } sync || cluster.Link is not { } link)
        {
            return Json(new JsonObject { ["enabled"] = false, ["members"] = new JsonArray() });
        }

        var members = new JsonArray();
        foreach (var m in await sync.MembersAsync())
        {
            members.Add(new JsonObject
            {
                ["instance"] = m.Instance,
                ["config_version"] = m.ConfigVersion,
                ["config_digest"] = m.ConfigDigest,
                ["started"] = Time(m.Started),
                ["seen"] = Time(m.Seen),
                ["self"] = m.Self,
                ["internal"] = m.Peer is not null,
            });
        }

        var s = link.Settings;
        return Json(new JsonObject
        {
            ["enabled"] = true,
            ["instance"] = s.Instance,
            ["redis"] = s.Display,
            ["shared_state"] = link.Up ? "up" : "down",
            ["on_shared_state_error"] = s.OnSharedStateError switch
            {
                Configuration.SharedStateFallback.FailOpen => "fail_open",
                Configuration.SharedStateFallback.FailClosed => "fail_closed",
                _ => "local",
            },
            ["budget_ms"] = s.Budget.TotalMilliseconds,
            ["batches_shared"] = link.Shared,
            ["batches_fallback"] = link.Fallbacks,
            ["members"] = members,
            ["dm_owners"] = cluster.Owners is { } owners
                ? new JsonObject
                {
                    ["enabled"] = true,
                    ["pushed"] = owners.Pushed,
                    ["fallbacks"] = owners.Fallbacks,
                    ["unreachable"] = new JsonArray(owners.Unreachable.Select(u => (JsonNode?)JsonValue.Create(u)).ToArray()),
                }
                : new JsonObject { ["enabled"] = false },
        });
    }
}
