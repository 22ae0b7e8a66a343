namespace Gateway;

/// <summary>The WebSocket relay's log lines (event ids 5000–5099). Names and codes only: never frame contents.</summary>
internal static partial class Log
{
    [LoggerMessage(5000, LogLevel.Debug, "WebSocket relay opened on route {Route} ({Protocol})")]
    public static partial void RelayOpened(ILogger logger, string route, string protocol);

    [LoggerMessage(5001, LogLevel.Debug, "WebSocket relay closed on route {Route} (gateway close code {Code})")]
    public static partial void RelayClosed(ILogger logger, string route, int? code);

    [LoggerMessage(5002, LogLevel.Warning, "WebSocket frame refused on route {Route}: {Code}")]
    public static partial void BadFrame(ILogger logger, string route, string code);

    [LoggerMessage(5003, LogLevel.Information, "WebSocket connection from a newly blocked address closed (1008)")]
    public static partial void RelayBlocked(ILogger logger);

    [LoggerMessage(5004, LogLevel.Information, "Non-WebSocket upgrade refused on frames route {Route}")]
    public static partial void UpgradeRefused(ILogger logger, string route);
}
