using Microsoft.Extensions.Logging;

namespace Gateway.Protocols.Matrix;

/// <summary>The Matrix module's log events (ids 4100-4199, as when they were the host's). Never message text or tokens.</summary>
internal static partial class MatrixLog
{
    [LoggerMessage(4100, LogLevel.Information, "Federation request from {Origin} to {Endpoint} refused ({Reason})")]
    public static partial void FederationDenied(ILogger logger, string origin, string endpoint, string reason);

    [LoggerMessage(4101, LogLevel.Debug, "Antispam callback {Callback}: {Decision}")]
    public static partial void AntispamDecision(ILogger logger, string callback, string decision);

    [LoggerMessage(4102, LogLevel.Error, "Antispam callback {Callback} failed with {ExceptionType} in {Site}; answering {Decision}")]
    public static partial void AntispamFailed(ILogger logger, string callback, string exceptionType, string site, string decision);


    [LoggerMessage(4103, LogLevel.Warning, "Policy room {Room} cannot be read ({Error}); its last good rules are kept")]
    public static partial void PolicyRoomFailed(ILogger logger, string room, string error);

    [LoggerMessage(4104, LogLevel.Warning, "Policy room /sync failed (status {Status}); retrying, last good rules kept")]
    public static partial void PolicySyncFailed(ILogger logger, int status);

    [LoggerMessage(4105, LogLevel.Information, "Policy rooms: {Loaded} of {Total} read, {Rules} ban rules in force")]
    public static partial void PolicyRoomsLoaded(ILogger logger, int loaded, int total, int rules);

    [LoggerMessage(4106, LogLevel.Debug, "Policy server /sign: {Decision}")]
    public static partial void PolicyServerDecision(ILogger logger, string decision);

    /// <summary>The exception's type and the method that threw it: never its message, which may quote the event.</summary>
    [LoggerMessage(4107, LogLevel.Error, "Policy server /sign failed with {ExceptionType} in {Site}; answering 503, nothing signed")]
    public static partial void PolicyServerFailed(ILogger logger, string exceptionType, string site);

    /// <summary>The event's content could not be read by the client-server extraction: type and site only.</summary>
    [LoggerMessage(4108, LogLevel.Warning, "Policy server /sign could not read an event's content ({ExceptionType} in {Site}); answering 400 M_BAD_JSON, nothing signed")]
    public static partial void PolicyServerUnreadable(ILogger logger, string exceptionType, string site);
}
