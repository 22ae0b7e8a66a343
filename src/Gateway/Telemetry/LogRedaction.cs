using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace Gateway.Telemetry;

/// <summary>
/// Rewrites text that may carry credentials: query strings, credential key=value pairs, Authorization schemes,
/// credential header lines, user info in URLs, and the raw bytes Kestrel quotes in its bad-request messages.
/// It cannot recognise message text, so DM text is kept out of logs by construction (Log.cs) instead.
/// </summary>
internal static partial class LogRedactor
{
    public const string Redacted = "[redacted]";

    public static string Redact(string text)
    {
        if (text.Length == 0)
        {
            return text;
        }

        text = KestrelDetail().Replace(text, "$1'" + Redacted + "'");
        text = UserInfo().Replace(text, "$1" + Redacted + "@");
        text = Query().Replace(text, "?" + Redacted);
        text = HeaderLine().Replace(text, "$1$2" + Redacted);
        var modules = s_modules;
        if (modules.Headers is { } headers)
        {
            text = headers.Replace(text, "$1$2" + Redacted);
        }

        if (modules.Schemes is { } schemes)
        {
            text = schemes.Replace(text, "$1 " + Redacted);
        }

        text = AuthScheme().Replace(text, "$1 " + Redacted);
        return Credential().Replace(text, "$1$2" + Redacted);
    }

    /// <summary>Structured keys whose whole value is a credential or a query (header names as HttpLogging uses them).</summary>
    public static bool IsSensitiveKey(string key) =>
        key.Equals("QueryString", StringComparison.OrdinalIgnoreCase) || key.Equals("Query", StringComparison.OrdinalIgnoreCase)
        || key.Equals("url.query", StringComparison.OrdinalIgnoreCase) || key.Equals("http.query", StringComparison.OrdinalIgnoreCase)
        || SensitiveKey().IsMatch(key) || s_modules.Keys?.IsMatch(key) == true;

    /// <summary>
    /// Adds the credential headers and authorization schemes protocol modules declare. The built-in modules' are in from
    /// the start (logging exists before any config is read); a gateway built with extra modules adds theirs. Only grows.
    /// </summary>
    public static void AddModules(IEnumerable<Gateway.Protocols.Abstractions.IProtocolModule> modules)
    {
        lock (s_gate)
        {
            var changed = false;
            foreach (var m in modules)
            {
                foreach (var h in m.CredentialHeaders)
                {
                    changed |= s_headerNames.Add(h.ToLowerInvariant());
                }

                foreach (var scheme in m.AuthorizationSchemes)
                {
                    changed |= s_schemeNames.Add(scheme);
                }
            }

            if (changed)
            {
                s_modules = ModulePatterns.Build(s_headerNames, s_schemeNames);
            }
        }
    }

    private static readonly Lock s_gate = new();
    private static readonly HashSet<string> s_headerNames = new(StringComparer.Ordinal);
    private static readonly HashSet<string> s_schemeNames = new(StringComparer.OrdinalIgnoreCase);
    private static ModulePatterns s_modules = ModulePatterns.None;

#pragma warning disable CA1810 // the built-in modules' patterns must be in before the first log line
    static LogRedactor() => AddModules(Gateway.Protocols.ProtocolModules.BuiltIn.All);
#pragma warning restore CA1810

    /// <summary>Regexes built from what modules declare: header lines, authorization schemes, structured keys.</summary>
    private sealed record ModulePatterns(Regex? Headers, Regex? Schemes, Regex? Keys)
    {
        public static ModulePatterns None { get; } = new(null, null, null);

        public static ModulePatterns Build(IEnumerable<string> headers, IEnumerable<string> schemes)
        {
            static string Name(string h) => h.EndsWith('-') ? Regex.Escape(h) + "[a-z0-9-]+" : Regex.Escape(h);
            var h = headers.Select(Name).ToArray();
            var s = schemes.Select(Regex.Escape).ToArray();
            const RegexOptions Options = RegexOptions.CultureInvariant | RegexOptions.Compiled;
            return new ModulePatterns(
                h.Length == 0 ? null : new Regex(@"(?im)\b(" + string.Join('|', h) + @")(\s*:\s*)[^\r\n']*", Options),
                s.Length == 0 ? null : new Regex(@"(?i)\b(" + string.Join('|', s) + @")\s+[a-z_]+=[^\r\n']*", Options),
                h.Length == 0 ? null : new Regex("(?i)(" + string.Join('|', headers.Select(x => Regex.Escape(x.TrimEnd('-')))) + ")", Options));
        }
    }

    /// <summary>A structured value with credentials rewritten; numbers, booleans, times and enums pass as they are.</summary>
    public static object? RedactValue(string key, object? value)
    {
        switch (value)
        {
            case null:
                return null;
            case bool or byte or sbyte or short or ushort or int or uint or long or ulong or float or double or decimal
                or Enum or Guid or DateTime or DateTimeOffset or TimeSpan:
                return value;
        }

        if (value is string[] array && !IsSensitiveKey(key))
        {
            return Array.ConvertAll(array, Redact);
        }

        var text = value as string ?? Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
        if (IsSensitiveKey(key))
        {
            return text.Length == 0 ? text : Redacted;
        }

        return Redact(text);
    }

    // Kestrel quotes the offending bytes: "Invalid request header: 'Authorization: Bearer …\x0D\x0A'",
    // "Invalid request line: '…'", "Unrecognized HTTP version: '…'". Everything between the quotes goes.
    [GeneratedRegex(@"(?i)\b((?:invalid|unrecognized|malformed)[^'\r\n:]{0,60}:\s*)'[^\r\n]*'")]
    private static partial Regex KestrelDetail();

    [GeneratedRegex(@"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@'""]+@")]
    private static partial Regex UserInfo();

    // Everything after '?' up to whitespace or a quote: ?access_token= query auth, signed URLs.
    [GeneratedRegex(@"\?[^\s""'<>]+")]
    private static partial Regex Query();

    [GeneratedRegex(@"(?im)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|x-access-token|x-gateway-signature)(\s*:\s*)[^\r\n']*")]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@"(?i)\b(Bearer|Basic|Digest)\s+(?!\[redacted\])[^\s'"",;]+")]
    private static partial Regex AuthScheme();

    [GeneratedRegex(@"(?i)\b(access_token|refresh_token|id_token|token|password|passwd|secret|sig|signature|api_key|apikey)(""?\s*[=:]\s*""?)(?!\[redacted\])[^\s""'&,;}\]]+")]
    private static partial Regex Credential();

    [GeneratedRegex(@"(?i)(authorization|cookie|api[-_]?key|access[-_]?token|refresh[-_]?token|password|secret|signature|^token$)")]
    private static partial Regex SensitiveKey();
}

/// <summary>
/// The host's <see cref="ILoggerFactory"/>: the framework's own factory (so every filter rule, per-provider key and
/// provider alias works as configured) with each logger it hands out wrapped in a <see cref="RedactingLogger"/>.
/// Every provider, registered now or added later, sits behind the wrapper.
/// </summary>
internal sealed class RedactingLoggerFactory : ILoggerFactory
{
    private readonly LoggerFactory _inner;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    public RedactingLoggerFactory(IEnumerable<ILoggerProvider> providers, IOptionsMonitor<LoggerFilterOptions> filterOptions,
        IOptions<LoggerFactoryOptions>? options = null, IExternalScopeProvider? scopeProvider = null) =>
        _inner = new LoggerFactory(providers, filterOptions, options, scopeProvider);

    public ILogger CreateLogger(string categoryName) =>
        _loggers.GetOrAdd(categoryName, static (category, inner) => new RedactingLogger(inner.CreateLogger(category)), _inner);

    public void AddProvider(ILoggerProvider provider) => _inner.AddProvider(provider);

    public void Dispose() => _inner.Dispose();
}

/// <summary>
/// Formats, rewrites and passes on: the message, every structured value, scopes and the exception text. Client faults
/// logged above Debug by the framework are passed on at Debug without their stack.
/// </summary>
internal sealed class RedactingLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(RedactedScope.Create(state));

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (exception is not null && logLevel >= LogLevel.Warning && ClientFaultRecords.IsClientFault(state, exception))
        {
            // Issue 9, defect 11: a client's malformed, slow or abandoned request is not the gateway's failure. Whoever
            // logs it (YARP's forwarder at Warning, Kestrel at Error), it is Debug without a stack: 500 slow clients
            // must not mean thousands of lines. The gateway's own line and gateway.client.faults count it.
            logLevel = LogLevel.Debug;
            exception = null;
        }

        if (!inner.IsEnabled(logLevel))
        {
            return;
        }

        var redacted = RedactedLogState.Create(state, exception, formatter);
        inner.Log(logLevel, eventId, redacted, RedactedException.Wrap(exception), RedactedLogState.Format);
    }
}

/// <summary>A log record's state after redaction: the structured values and the formatted message.</summary>
internal sealed class RedactedLogState : IReadOnlyList<KeyValuePair<string, object?>>
{
    public static readonly Func<RedactedLogState, Exception?, string> Format = static (state, _) => state.Message;

    private readonly KeyValuePair<string, object?>[] _values;

    private RedactedLogState(KeyValuePair<string, object?>[] values, string message)
    {
        _values = values;
        Message = message;
    }

    public string Message { get; }

    public int Count => _values.Length;

    public KeyValuePair<string, object?> this[int index] => _values[index];

    public static RedactedLogState Create<TState>(TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        new(RedactedScope.RedactValues(state), LogRedactor.Redact(formatter(state, exception) ?? ""));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_values).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => Message;
}

/// <summary>
/// A scope after redaction. Built lazily: the hosting layer opens a scope per request whether or not any provider
/// prints scopes, and that must stay one small allocation.
/// </summary>
internal sealed class RedactedScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly object _original;
    private KeyValuePair<string, object?>[]? _values;
    private string? _text;

    private RedactedScope(object original) => _original = original;

    private KeyValuePair<string, object?>[] Values => _values ??= RedactValues(_original);

    public int Count => Values.Length;

    public KeyValuePair<string, object?> this[int index] => Values[index];

    public static object Create<TState>(TState state) where TState : notnull =>
        state is string s ? LogRedactor.Redact(s) : new RedactedScope(state);

    internal static KeyValuePair<string, object?>[] RedactValues<TState>(TState state)
    {
        switch (state)
        {
            case IReadOnlyList<KeyValuePair<string, object?>> list:
                {
                    var values = new KeyValuePair<string, object?>[list.Count];
                    for (var i = 0; i < values.Length; i++)
                    {
                        var (key, value) = list[i];
                        values[i] = new(key, LogRedactor.RedactValue(key, value));
                    }

                    return values;
                }

            case IEnumerable<KeyValuePair<string, object?>> pairs:
                {
                    var values = new List<KeyValuePair<string, object?>>();
                    foreach (var (key, value) in pairs)
                    {
                        values.Add(new(key, LogRedactor.RedactValue(key, value)));
                    }

                    return values.ToArray();
                }

            default:
                return [];
        }
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)Values).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => _text ??= LogRedactor.Redact(_original.ToString() ?? "");
}

/// <summary>
/// Stands in for an exception whose text carried something to redact (a URL in an HttpRequestException, raw bytes
/// in Kestrel's BadHttpRequestException). Exceptions with nothing to redact are passed on untouched.
/// </summary>
internal sealed class RedactedException : Exception
{
    private readonly string _text;
    private readonly string? _stackTrace;

    private RedactedException(Exception original, string text)
        : base(LogRedactor.Redact(original.Message))
    {
        _text = text;
        _stackTrace = original.StackTrace;
        HResult = original.HResult;
        Source = original.Source;
    }

    public override string? StackTrace => _stackTrace;

    public static Exception? Wrap(Exception? exception)
    {
        if (exception is null)
        {
            return null;
        }

        var text = exception.ToString();
        var redacted = LogRedactor.Redact(text);
        return string.Equals(text, redacted, StringComparison.Ordinal) ? exception : new RedactedException(exception, redacted);
    }

    public override string ToString() => _text;
}

/// <summary>
/// Rewrites span names, tags and status text before any exporter sees them: the ASP.NET Core and HttpClient
/// instrumentations (and .NET's own System.Net.Http source) record url.query, url.full and names with URLs.
/// Added before the exporters, so it runs first.
/// </summary>
internal sealed class RedactingActivityProcessor : BaseProcessor<Activity>
{
    public override void OnEnd(Activity data)
    {
        List<KeyValuePair<string, object?>>? changes = null;
        foreach (ref readonly var tag in data.EnumerateTagObjects())
        {
            if (tag.Value is null or bool or int or long or double)
            {
                continue;
            }

            var redacted = LogRedactor.RedactValue(tag.Key, tag.Value);
            if (!Equals(redacted, tag.Value))
            {
                (changes ??= new()).Add(new(tag.Key, redacted));
            }
        }

        if (changes is not null)
        {
            foreach (var (key, value) in changes)
            {
                // A query has no use in a trace: drop the tag rather than keep "[redacted]".
                data.SetTag(key, key.Equals("url.query", StringComparison.Ordinal) ? null : value);
            }
        }

        data.DisplayName = LogRedactor.Redact(data.DisplayName);
        if (data.StatusDescription is { } description)
        {
            data.SetStatus(data.Status, LogRedactor.Redact(description));
        }
    }
}
