namespace Gateway;

/// <summary>
/// The admin API's log lines (event ids 4000–4099), in the same source-generated <see cref="Log"/> class. The audit
/// events name who, what and which network or server; tokens and checked texts are never parameters.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Information, "Admin API listening on {Addresses} (token from {TokenSource})")]
    public static partial void AdminListening(ILogger logger, string addresses, string tokenSource);

    [LoggerMessage(4001, LogLevel.Warning, "Admin API request refused: missing or wrong bearer token ({Method} {Path} from {Client})")]
    public static partial void AdminUnauthorized(ILogger logger, string method, string path, string client);

    // Audit of runtime changes: one event per change.
    [LoggerMessage(4002, LogLevel.Information, "Admin change by {Who}: {What} {Target} (expires {Expires})")]
    public static partial void AdminChange(ILogger logger, string who, string what, string target, string expires);

    [LoggerMessage(4003, LogLevel.Information, "Admin overlay loaded from {Path}: {IpBlocks} IP blocks, {AclDeny} ACL deny entries")]
    public static partial void OverlayLoaded(ILogger logger, string path, int ipBlocks, int aclDeny);

    [LoggerMessage(4004, LogLevel.Error, "Admin overlay file {Path} could not be written ({Problem}); the change was not applied")]
    public static partial void OverlayNotSaved(ILogger logger, string path, string problem);

    [LoggerMessage(4005, LogLevel.Information, "Admin change by {Who}: config reload requested, {Outcome}")]
    public static partial void AdminReload(ILogger logger, string who, string outcome);
}
