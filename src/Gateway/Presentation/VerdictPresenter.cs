using System.Text.Json.Nodes;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;

namespace Gateway.Presentation;

/// <summary>
/// How a verdict and its fields read as JSON, shared by the <c>check</c> command, the admin console and reports. A
/// leaf of the host: it names nothing in src/Gateway, so any folder may use it.
/// </summary>
internal static class VerdictPresenter
{
    /// <summary>The verdict as the `check` command and the admin console show it.</summary>
    public static JsonObject ToJson(ChatMessage message, Verdict verdict, FieldKind field)
    {
        var rules = new JsonArray();
        foreach (var r in verdict.Rules)
        {
            rules.Add(r);
        }

        var matches = new JsonArray();
        foreach (var m in verdict.Matches)
        {
            var steps = new JsonArray();
            foreach (var step in m.Steps)
            {
                steps.Add(step);
            }

            matches.Add(new JsonObject
            {
                ["filter"] = m.Filter,
                ["term"] = m.Term,
                ["steps"] = steps,
                ["field"] = FieldName(m.Field),
                ["start"] = m.Start,
                ["end"] = m.End,
                ["dry_run"] = m.DryRun,
            });
        }

        var original = message.Fields.Count > 0 ? message.Fields[0].Text : "";
        return new JsonObject
        {
            ["action"] = verdict.Action.ToString().ToLowerInvariant(),
            ["text"] = verdict.DeliveredText(message, field),
            ["rules"] = rules,
            ["report"] = verdict.Report,
            ["notice"] = verdict.Notice,
            ["deciding_filter"] = verdict.DecidingFilter,
            ["normalized"] = PolicySnapshot.Normalize(original),
            ["matches"] = matches,
        };
    }

    public static string FieldName(FieldKind kind) => kind switch
    {
        FieldKind.Body => "body",
        FieldKind.Title => "title",
        FieldKind.Link => "link",
        _ => "display_name",
    };
}
