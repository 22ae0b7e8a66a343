using Gateway.Reporting;
using Gateway.Telemetry;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gateway.Hosting;

internal static class GatewayLoggingRegistration
{
    /// <summary>
    /// The gateway's logging: quiet defaults an operator may override, and redaction in front of every provider that
    /// no configuration can turn off (issue 9, defect 5). ASP.NET Core's hosting diagnostics and YARP's forwarder log
    /// full URLs at Information, Kestrel logs raw header bytes at Debug: per-category filters cannot keep tokens out
    /// once an operator sets Logging__Console__LogLevel__Default, so every record is rewritten before any provider
    /// (Console, Debug, OpenTelemetry, one added by configuration later) sees it.
    /// </summary>
    public static void AddGatewayLogging(this WebApplicationBuilder builder)
    {
        // Noise defaults, not privacy: the lowest-precedence source, so appsettings, environment variables and
        // per-provider keys all override them.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Yarp"] = "Warning",
                ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning",
                ["Logging:LogLevel:Polly"] = "Warning",
            },
        });
        builder.Services.Replace(ServiceDescriptor.Singleton<ILoggerFactory, RedactingLoggerFactory>());
        // A webhook URL often holds its secret in the path (Slack, Discord), which no pattern can tell from a path:
        // the webhook client's request logging is removed whatever the log levels.
        builder.Services.AddHttpClient(WebhookSender.ClientName).RemoveAllLoggers();
    }
}
