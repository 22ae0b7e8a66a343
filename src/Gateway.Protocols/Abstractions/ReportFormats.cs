using Gateway.Policy.Context;
using Gateway.Policy.Model;
using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Abstractions;

/// <summary>
/// A report as a payload writer sees it, protocol-neutral: a filter that asked for reports fired (<c>Kind</c> =
/// "filter"), or a user used the protocol's report function ("user_report"). Carries the raw text and the
/// conversation that led up to it (<see cref="Context"/>, oldest first, without the reported message itself).
/// </summary>
public sealed record ReportView
{
    public required Guid Id { get; init; }

    public required DateTimeOffset Time { get; init; }

    /// <summary>"filter" or "user_report".</summary>
    public required string Kind { get; init; }

    public required string Protocol { get; init; }

    public string? Backend { get; init; }

    public string? Route { get; init; }

    public string? Room { get; init; }

    public bool Direct { get; init; }

    public string? Sender { get; init; }

    public IReadOnlyList<string> Recipients { get; init; } = Array.Empty<string>();

    /// <summary>Filter reports: the filters that fired (dry runs excluded).</summary>
    public IReadOnlyList<string> Filters { get; init; } = Array.Empty<string>();

    /// <summary>Filter reports: the verdict, lower case ("censor", "drop", …).</summary>
    public string? Action { get; init; }

    /// <summary>Filter reports: the message as sent.</summary>
    public IReadOnlyList<MessageField> Original { get; init; } = Array.Empty<MessageField>();

    public IReadOnlyList<ContextMessage> Context { get; init; } = Array.Empty<ContextMessage>();

    public string? Reporter { get; init; }

    public string? Reason { get; init; }

    public string? Comment { get; init; }

    /// <summary>User reports: the reported message as the report carried it.</summary>
    public string? ReportedText { get; init; }
}

/// <summary>
/// A webhook payload a module offers (<c>format = "&lt;name&gt;"</c> in a <c>[reports]</c> table), so a protocol's own
/// report receiver gets reports in the shape it already reads. The host signs and delivers the bytes.
/// </summary>
public interface IReportFormat
{
    string Name { get; }

    /// <summary>The request body. <paramref name="apiKey"/>: the target's <c>api_key_env</c>/<c>api_key_file</c>, when set.</summary>
    byte[] Write(ReportView report, Secret? apiKey);
}
