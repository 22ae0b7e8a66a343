using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Runtime;

namespace Gateway.Admin;

/// <summary>The runtime overlay endpoints: IP blocks and server-ACL deny entries, listed, added and removed.</summary>
internal static partial class AdminEndpoints
{
    private static IResult IpBlocks(GatewayState state, OverlayStore store, TimeProvider time)
    {
        var s = state.Current;
        var now = time.GetUtcNow();
        var list = new JsonArray();
        foreach (var b in s.Overlay.IpBlocks)
        {
            list.Add(new JsonObject
            {
                ["cidr"] = b.Cidr.ToString(),
                ["expires"] = b.Expires is { } e ? Time(e) : null,
                ["reason"] = b.Reason,
                ["added"] = Time(b.Added),
                ["active"] = b.Expires is not { } x || now < x,
            });
        }

        return Json(new JsonObject { ["overlay"] = list, ["config_entries"] = s.Config.IpBlocks.Count, ["file"] = store.FilePath });
    }

    private static IResult Acl(GatewayState state, OverlayStore store)
    {
        var s = state.Current;
        var list = new JsonArray();
        foreach (var a in s.Overlay.AclDeny)
        {
            list.Add(new JsonObject
            {
                ["server"] = a.Server,
                ["expires"] = a.Expires is { } e ? Time(e) : null,
                ["reason"] = a.Reason,
                ["added"] = Time(a.Added),
            });
        }

        var config = new JsonArray();
        foreach (var d in s.Config.ServerAcl?.Deny ?? Array.Empty<string>())
        {
            config.Add(d);
        }

        return Json(new JsonObject { ["overlay"] = list, ["config_deny"] = config, ["file"] = store.FilePath });
    }

    private static async Task<IResult> AddIpBlockAsync(HttpContext context, OverlayStore store, TimeProvider time)
    {
        var (body, error) = await ReadJsonAsync(context);
        if (error is not null)
        {
            return error;
        }

        if (!TryExpiry(body!, time, out var expires, out var problem))
        {
            return problem!;
        }

        var cidr = Str(body!, "cidr");
        return Changed(store.AddIpBlock(cidr, expires, Str(body!, "reason")), () => new JsonObject { ["cidr"] = cidr, ["expires"] = expires is { } e ? Time(e) : null });
    }

    private static async Task<IResult> AddAclDenyAsync(HttpContext context, OverlayStore store, TimeProvider time)
    {
        var (body, error) = await ReadJsonAsync(context);
        if (error is not null)
        {
            return error;
        }

        if (!TryExpiry(body!, time, out var expires, out var problem))
        {
            return problem!;
        }

        var server = Str(body!, "server");
        return Changed(store.AddAclDeny(server, expires, Str(body!, "reason")), () => new JsonObject { ["server"] = server, ["expires"] = expires is { } e ? Time(e) : null });
    }

    private static IResult Changed(OverlayResult result, Func<JsonObject>? entry)
    {
        var outcome = result.Outcome switch
        {
            OverlayOutcome.Added => "added",
            OverlayOutcome.Replaced => "replaced",
            OverlayOutcome.Removed => "removed",
            _ => null,
        };
        if (outcome is not null)
        {
            var json = new JsonObject { ["outcome"] = outcome };
            if (entry is not null)
            {
                json["entry"] = entry();
            }

            return Json(json, result.Outcome == OverlayOutcome.Added ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        }

        return result.Outcome switch
        {
            OverlayOutcome.NotFound => Problem(StatusCodes.Status404NotFound, "not_found", result.Error!),
            OverlayOutcome.NotSaved => Problem(StatusCodes.Status503ServiceUnavailable, "not_saved", result.Error!),
            _ => Problem(StatusCodes.Status400BadRequest, "invalid_request", result.Error ?? "invalid"),
        };
    }

    /// <summary><c>expires</c> (ISO-8601) or <c>ttl_seconds</c>, or neither (never expires).</summary>
    private static bool TryExpiry(JsonObject body, TimeProvider time, out DateTimeOffset? expires, out IResult? problem)
    {
        expires = null;
        problem = null;
        var text = Str(body, "expires");
        var hasTtl = body["ttl_seconds"] is not null;
        if (text is not null && hasTtl)
        {
            problem = Problem(StatusCodes.Status400BadRequest, "invalid_request", "give expires or ttl_seconds, not both");
            return false;
        }

        if (text is not null)
        {
            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                problem = Problem(StatusCodes.Status400BadRequest, "invalid_request", "expires is not a date-time like 2027-01-01T00:00:00Z");
                return false;
            }

            expires = parsed;
        }
        else if (hasTtl)
        {
            if (body["ttl_seconds"] is not JsonValue v || !v.TryGetValue<long>(out var ttl) || ttl <= 0 || ttl > 10L * 365 * 24 * 3600)
            {
                problem = Problem(StatusCodes.Status400BadRequest, "invalid_request", "ttl_seconds must be a positive whole number of seconds (at most ten years)");
                return false;
            }

            expires = time.GetUtcNow().AddSeconds(ttl);
        }

        return true;
    }
}
