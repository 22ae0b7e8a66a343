using Microsoft.Extensions.Logging;

namespace Gateway.Protocols.Matrix;

/// <summary>The Matrix module's log events (ids 4100-4199, as when they were the host's). Never message text or tokens.</summary>
internal static partial class MatrixLog
{
    [LoggerMessage(4100, LogLevel.Information, "Federation request from {Origin} to {Endpoint} refused ({Reason})")]
    public static partial void FederationDenied(ILogger logger, string origin, string endpoint, string reason);

    [LoggerMessage(4101, LogLevel.Debug, "Antispam callback {Callback}: {Decision}")]
    public static partial void AntispamDecision(ILogger logger, string callback, string decision);

    [LoggerMessage(4102, LogLevel.Error, "Antispam callback {Callback} failed with {ExceptionType}; answering {Decision}")]
    public static partial void AntispamFailed(ILogger logger, string callback, string exceptionType, string decision);
}
