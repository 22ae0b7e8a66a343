using Gateway.Configuration;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gateway.Hosting;

internal static class TelemetryRegistration
{
    /// <summary>YARP's own activity source (forwarder spans).</summary>
    public const string YarpSource = "Yarp.ReverseProxy";

    /// <summary>
    /// Registers the <see cref="GatewayTelemetry"/> holder always (its calls are cheap without listeners) and the
    /// OpenTelemetry SDK only when [telemetry] enabled = true: telemetry off registers no provider, no exporter, no
    /// listener at all.
    /// </summary>
    public static void AddGatewayTelemetry(this WebApplicationBuilder builder, GatewayConfig config)
    {
        builder.Services.AddSingleton<IConfigReadings>(sp => new ConfigReadings(sp.GetRequiredService<GatewayState>()));
        builder.Services.AddSingleton<IReportReadings>(sp => sp.GetRequiredService<ReportQueue>());
        builder.Services.AddSingleton<GatewayTelemetry>();
        var settings = config.Telemetry;
        var otlp = settings.Enabled
            && !string.Equals(Environment.GetEnvironmentVariable("OTEL_SDK_DISABLED"), "true", StringComparison.OrdinalIgnoreCase);
        if (!otlp && !settings.Prometheus)
        {
            return;
        }

        var version = typeof(GatewayTelemetry).Assembly.GetName().Version?.ToString() ?? "0";
        var serviceName = settings.ServiceName
            ?? (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME")) ? TelemetrySettings.DefaultServiceName : null);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r =>
            {
                if (serviceName is not null)
                {
                    r.AddService(serviceName, serviceVersion: version);
                }
            })
            .WithMetrics(m =>
            {
                // "System.Runtime": the runtime's own meter (GC heap and committed memory, working set, thread pool).
                m.AddMeter(GatewayTelemetry.SourceName, "System.Runtime")
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (otlp)
                {
                    m.AddOtlpExporter((o, reader) =>
                    {
                        Configure(o, settings, "v1/metrics");
                        if (settings.ExportIntervalMilliseconds is { } ms)
                        {
                            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = ms;
                        }
                    });
                }

                if (settings.Prometheus)
                {
                    // Served by the admin listener (AdminServer maps /metrics with this provider).
                    m.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
                }
            });
        if (!otlp)
        {
            return;
        }

        otel
            .WithTracing(t => t
                // First, so it runs before the exporter: no URL query or credential leaves in a span.
                .AddProcessor(new RedactingActivityProcessor())
                .AddSource(GatewayTelemetry.SourceName, YarpSource)
                .AddAspNetCoreInstrumentation(o =>
                {
                    // Query strings can carry tokens (a deprecated ?access_token=): never record them.
                    o.EnrichWithHttpRequest = static (activity, _) => activity.SetTag("url.query", null);
                })
                .AddHttpClientInstrumentation(o =>
                {
                    // Webhook URLs often hold their secret in the path (Slack, Discord): the report span covers
                    // deliveries instead. Other client spans keep scheme, host and path, never the query.
                    o.FilterHttpRequestMessage = static request => !request.Options.TryGetValue(WebhookSender.SecretOption, out _);
                    o.EnrichWithHttpRequestMessage = static (activity, request) =>
                    {
                        if (request.RequestUri is { IsAbsoluteUri: true } uri)
                        {
                            activity.SetTag("url.full", uri.GetLeftPart(UriPartial.Path));
                        }
                    };
                })
                .AddOtlpExporter(o => Configure(o, settings, "v1/traces")))
            .WithLogging(
                l => l.AddOtlpExporter((o, processor) =>
                {
                    Configure(o, settings, "v1/logs");
                    if (settings.ExportIntervalMilliseconds is { } ms)
                    {
                        processor.BatchExportProcessorOptions.ScheduledDelayMilliseconds = ms;
                    }
                }),
                o =>
                {
                    // Log lines carry no text or tokens by construction (Log.cs); scopes would add request paths.
                    o.IncludeFormattedMessage = true;
                    o.IncludeScopes = false;
                });
    }

    private static void Configure(OtlpExporterOptions o, TelemetrySettings settings, string signalPath)
    {
        var protocol = settings.Protocol
            ?? (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_PROTOCOL")) ? "http/protobuf" : null);
        if (protocol is not null)
        {
            o.Protocol = protocol == "grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        }

        if (settings.Endpoint is { } endpoint)
        {
            // Like OTEL_EXPORTER_OTLP_ENDPOINT, the endpoint is the receiver's base URL: for OTLP/HTTP the SDK wants
            // the full signal URL when it is set in code, so the signal path is added here.
            o.Endpoint = o.Protocol == OtlpExportProtocol.HttpProtobuf
                ? new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/" + signalPath)
                : endpoint;
        }

        if (settings.Headers.Count > 0)
        {
            var extra = string.Join(",", settings.Headers.Select(h => $"{h.Key}={Uri.EscapeDataString(h.Value)}"));
            o.Headers = string.IsNullOrEmpty(o.Headers) ? extra : o.Headers + "," + extra;
        }

        if (settings.ExportIntervalMilliseconds is { } ms)
        {
            o.BatchExportProcessorOptions.ScheduledDelayMilliseconds = ms;
        }
    }
}
