using Gateway.Protocols.Configuration;
using Tomlyn.Model;

namespace Gateway.Configuration;

/// <summary>
/// The [telemetry] table. Off by default; when on, traces, metrics and logs go to one OTLP endpoint. Keys left out
/// fall back to the standard OTEL_* environment variables (OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, _HEADERS,
/// OTEL_SERVICE_NAME, OTEL_METRIC_EXPORT_INTERVAL …), which the OpenTelemetry SDK reads itself.
/// </summary>
internal sealed record TelemetrySettings
{
    public const string DefaultServiceName = "gateway";

    public bool Enabled { get; init; }

    /// <summary>
    /// <c>prometheus = true</c>: a <c>GET /metrics</c> scrape endpoint on the admin listener (behind the admin bearer
    /// token), with or without OTLP. Needs the admin API on.
    /// </summary>
    public bool Prometheus { get; init; }

    /// <summary>Base URL of the OTLP receiver (like OTEL_EXPORTER_OTLP_ENDPOINT); null = the environment or the SDK default.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>"http/protobuf" or "grpc"; null = OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf.</summary>
    public string? Protocol { get; init; }

    /// <summary>Extra OTLP request headers. Values that are secrets belong in OTEL_EXPORTER_OTLP_HEADERS instead.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>null = OTEL_SERVICE_NAME, else "gateway".</summary>
    public string? ServiceName { get; init; }

    /// <summary>Metric export interval and trace/log batch delay; null = the SDK defaults (60 s metrics, 5 s traces).</summary>
    public int? ExportIntervalMilliseconds { get; init; }

    public static TelemetrySettings Read(TomlTableReader? t)
    {
        if (t is null)
        {
            return new TelemetrySettings();
        }

        var endpoint = ConfigUrls.ReadHttp(t, "endpoint", example: "http://127.0.0.1:4318");

        string? protocol = null;
        if (t.Has("protocol"))
        {
            protocol = t.Enum("protocol", "http/protobuf", ("http/protobuf", "http/protobuf"), ("grpc", "grpc"));
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var raw = t.Raw("headers");
        if (raw is TomlTable table)
        {
            foreach (var (name, value) in table)
            {
                if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                {
                    t.Error("headers", $"\"{name}\" is not an HTTP header name");
                }
                else if (value is string s)
                {
                    headers[name] = s;
                }
                else
                {
                    t.Error("headers", $"header \"{name}\": expected a string, found {TomlTableReader.Describe(value)}");
                }
            }
        }
        else if (raw is not null)
        {
            t.Error("headers", $"expected a table like {{ \"x-tenant\" = \"ops\" }}, found {TomlTableReader.Describe(raw)}");
        }

        var serviceName = t.String("service_name");
        if (serviceName is { Length: 0 })
        {
            t.Error("service_name", "must not be empty");
        }

        int? interval = t.Has("export_interval_ms") ? (int)t.Integer("export_interval_ms", 60_000, 100, 3_600_000) : null;
        var result = new TelemetrySettings
        {
            Enabled = t.Bool("enabled", false),
            Prometheus = t.Bool("prometheus", false),
            Endpoint = endpoint,
            Protocol = protocol,
            Headers = headers,
            ServiceName = string.IsNullOrEmpty(serviceName) ? null : serviceName,
            ExportIntervalMilliseconds = interval,
        };
        t.Finish();
        return result;
    }
}
