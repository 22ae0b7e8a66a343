using System.Text.Json.Nodes;
using Gateway.Inspection;
using Gateway.Runtime;

namespace Gateway.Admin;

/// <summary>
/// Rule hit counters (filters and protections, live and dry run) and sender blocks: listed, added by hand, removed.
/// A sender block refuses that sender's messages on every protocol and closes their relayed connections at their next frame.
/// </summary>
internal static partial class AdminEndpoints
{
    private static void MapProtections(WebApplication app)
    {
        app.MapGet("/rules", Rules);
        app.MapGet("/sender-blocks", SenderBlocks);
        app.MapPost("/sender-blocks", AddSenderBlockAsync);
        app.MapDelete("/sender-blocks", (HttpContext c, ProtectionState p) =>
            c.Request.Query["sender"].ToString() is { Length: > 0 } sender
                ? p.Blocks.Remove(sender)
                    ? Json(new JsonObject { ["outcome"] = "removed" })
                    : Problem(StatusCodes.Status404NotFound, "not_found", "that sender is not blocked")
                : Problem(StatusCodes.Status400BadRequest, "invalid_request", "give ?sender="));
    }

    /// <summary>Every configured rule with its hits: last minute, since this config version loaded, last hour.</summary>
    private static IResult Rules(GatewayState state, ProtectionState protections)
    {
        var snapshot = state.Current;
        var hits = protections.Hits.Snapshot().ToDictionary(h => h.Rule, StringComparer.Ordinal);
        var list = new JsonArray();
        void Add(string name, string type, string kind, bool dryRun, bool enabled)
        {
            hits.TryGetValue(name, out var h);
            var current = h is not null && h.LoadedVersion == snapshot.Version;
            list.Add(new JsonObject
            {
                ["rule"] = name,
                ["type"] = type,
                ["kind"] = kind,
                ["enabled"] = enabled,
                ["dry_run"] = dryRun,
                ["hits_last_minute"] = h?.LastMinute ?? 0,
                ["hits_since_load"] = current ? h!.SinceLoad : 0,
                ["hits_last_hour"] = h?.LastHour ?? 0,
            });
        }

        foreach (var f in snapshot.Config.Filters)
        {
            Add(f.Name, "filter", f.Action.ToString().ToLowerInvariant(), f.DryRun, f.Enabled);
        }

        foreach (var p in snapshot.Config.Protections)
        {
            Add(p.Name, "protection", p.Kind.ToString().ToLowerInvariant(), p.DryRun, p.Enabled);
        }

        return Json(new JsonObject
        {
            ["config_version"] = snapshot.Version,
            ["rules"] = list,
            ["counters"] = new JsonObject
            {
                ["keys"] = protections.Store.Count,
                ["evictions"] = protections.Store.Evictions,
                ["max_keys"] = snapshot.Config.Counters.MaxKeys,
            },
        });
    }

    private static IResult SenderBlocks(ProtectionState protections)
    {
        var list = new JsonArray();
        foreach (var b in protections.Blocks.Snapshot())
        {
            list.Add(new JsonObject { ["sender"] = b.Sender, ["until"] = Time(b.Until), ["source"] = b.Source, ["reason"] = b.Reason });
        }

        return Json(new JsonObject { ["sender_blocks"] = list, ["evictions"] = protections.Blocks.Evictions });
    }

    /// <summary><c>{"sender": "@spam:example.org", "ttl_seconds": 600, "reason": "…"}</c>; without a ttl, 24 hours.</summary>
    private static async Task<IResult> AddSenderBlockAsync(HttpContext context, ProtectionState protections, TimeProvider time)
    {
        var (body, error) = await ReadJsonAsync(context);
        if (error is not null)
        {
            return error;
        }

        var sender = Str(body!, "sender");
        if (string.IsNullOrWhiteSpace(sender) || sender.Length > 512)
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid_request", "sender must be a sender id (1 to 512 characters)");
        }

        if (!TryExpiry(body!, time, out var expires, out var problem))
        {
            return problem!;
        }

        var duration = (expires ?? time.GetUtcNow().AddHours(24)) - time.GetUtcNow();
        if (duration <= TimeSpan.Zero)
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid_request", "expires is in the past");
        }

        var block = protections.Blocks.Add(sender, duration, "admin", Str(body!, "reason"));
        return Json(new JsonObject { ["outcome"] = "added", ["entry"] = new JsonObject { ["sender"] = block.Sender, ["until"] = Time(block.Until) } },
            StatusCodes.Status201Created);
    }
}
