namespace Gateway;

/// <summary>
/// Every log line the gateway writes, source-generated with stable event ids. None of them takes message text,
/// tokens or request bodies as a parameter: that is how the privacy rule is kept, by construction.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Gateway listening on {Addresses} (config version {Version}, {Filters} filters, {Keywords} keywords, {Regexes} regexes)")]
    public static partial void Started(ILogger logger, string addresses, long version, int filters, int keywords, int regexes);

    [LoggerMessage(1001, LogLevel.Information, "Config reloaded from {Path}: version {Version}, {Filters} filters, {Keywords} keywords, {Regexes} regexes")]
    public static partial void Reloaded(ILogger logger, string path, long version, int filters, int keywords, int regexes);

    [LoggerMessage(1002, LogLevel.Error, "Config reload refused; the last good config (version {Version}) keeps serving. {Problem}")]
    public static partial void ReloadRefused(ILogger logger, long version, string problem);

    [LoggerMessage(1003, LogLevel.Warning, "Listener changes in the config take effect only after a restart")]
    public static partial void ListenersNeedRestart(ILogger logger);

    [LoggerMessage(1004, LogLevel.Error, "Config reload abandoned after {Seconds} s (a file it names may block); the last good config (version {Version}) keeps serving")]
    public static partial void ReloadAbandoned(ILogger logger, long version, double seconds);

    [LoggerMessage(1006, LogLevel.Information, "Process hardening: {Status}")]
    public static partial void Hardened(ILogger logger, string status);

    [LoggerMessage(1007, LogLevel.Warning, "Process hardening: {Status}. Turn it back on by restarting without --allow-diagnostics / GATEWAY_ALLOW_DIAGNOSTICS")]
    public static partial void HardeningOff(ILogger logger, string status);

    [LoggerMessage(1005, LogLevel.Warning, "Config warning: {Warning}")]
    public static partial void ConfigWarning(ILogger logger, string warning);

    [LoggerMessage(2000, LogLevel.Information, "Verdict {Action} by filter {Filter} on route {Route} ({Protocol}, direct={Direct})")]
    public static partial void Verdict(ILogger logger, string action, string? filter, string route, string protocol, bool direct);

    [LoggerMessage(2001, LogLevel.Warning, "Request body refused on route {Route}: {Code}")]
    public static partial void BadBody(ILogger logger, string route, string code);

    [LoggerMessage(2002, LogLevel.Warning, "Request body larger than {Limit} bytes refused on route {Route}")]
    public static partial void TooLarge(ILogger logger, string route, long limit);

    // The exception's type only: its message or stack could carry fragments of the body.
    [LoggerMessage(2003, LogLevel.Error, "Inspection failed on route {Route} with {ExceptionType}; on_error={OnError}")]
    public static partial void InspectionFailed(ILogger logger, string route, string exceptionType, string onError);

    [LoggerMessage(2006, LogLevel.Error, "Unhandled {ExceptionType} in {Site} on a {Method} request; answered {Status} (0: the answer had started, connection aborted)")]
    public static partial void Unhandled(ILogger logger, string exceptionType, string site, string method, int status);

    [LoggerMessage(2004, LogLevel.Information, "Request from a blocked address refused ({Method})")]
    public static partial void IpBlocked(ILogger logger, string method);

    // A client's broken, slow or abandoned body is the client's fault: Debug, no exception (its stack says nothing
    // about the client, and 500 slow clients must not mean thousands of lines). Status 0: no answer was possible.
    [LoggerMessage(2005, LogLevel.Debug, "Client fault on route {Route}: {Reason}; answered {Status}")]
    public static partial void ClientFault(ILogger logger, string route, string reason, int status);

    // Audit: metadata only. User ids and room ids are not message text; the text itself never appears here.
    [LoggerMessage(3000, LogLevel.Information, "Audit: {Action} by filter {Filter} ({Protocol}, route {Route}, room {Room}, sender {Sender}, direct={Direct})")]
    public static partial void Audit(ILogger logger, string action, string? filter, string protocol, string route, string? room, string? sender, bool direct);

    [LoggerMessage(3001, LogLevel.Error, "Audit file could not be written ({ExceptionType}); audit events still go to the log")]
    public static partial void AuditFileFailed(ILogger logger, string exceptionType);

    [LoggerMessage(3100, LogLevel.Warning, "Report {ReportId} dropped: the report queue is full ({Capacity}); {Dropped} dropped so far")]
    public static partial void ReportDropped(ILogger logger, Guid reportId, int capacity, long dropped);

    [LoggerMessage(3101, LogLevel.Debug, "Report {ReportId} delivered ({Status})")]
    public static partial void ReportSent(ILogger logger, Guid reportId, int status);

    [LoggerMessage(3102, LogLevel.Warning, "Report {ReportId} not delivered yet ({Reason}); it stays queued and will be retried")]
    public static partial void ReportDeferred(ILogger logger, Guid reportId, string reason);

    [LoggerMessage(3103, LogLevel.Error, "Report {ReportId} refused by the webhook with {Status}; not retried")]
    public static partial void ReportRefused(ILogger logger, Guid reportId, int status);

    [LoggerMessage(3104, LogLevel.Information, "Report queue drained at shutdown: {Delivered} delivered, {Left} dropped")]
    public static partial void ReportsDrained(ILogger logger, int delivered, int left);

    [LoggerMessage(3105, LogLevel.Information, "User report on route {Route} not enriched: the reporter is not a participant of that conversation")]
    public static partial void UserReportNotParticipant(ILogger logger, string route);
}
