using Gateway.Protocols.Abstractions;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Gateway.Configuration;
using Gateway.Policy.Context;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Telemetry;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Gateway.Tests.Operations;

/// <summary>
/// Runs alone, after the parallel tests: an OpenTelemetry MeterProvider listens to every meter named "Gateway" in the
/// process, and when another test's gateway stops, the SDK retires the instrument streams it shared with ours.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "telemetry (not in parallel)";
}

[Collection(TelemetryCollection.Name)]
public sealed class TelemetryTests
{
    private const string WebhookSecret = "telemetry-test-webhook-secret-0123";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string TelemetryTable(string receiverUrl) => $"""

        [telemetry]
        enabled = true
        endpoint = "{receiverUrl}"
        protocol = "http/protobuf"
        service_name = "gateway-under-test"
        export_interval_ms = 200
        headers = {"{"} "x-test-tenant" = "ops" {"}"}
        """;

    [Fact]
    public async Task Telemetry_Enabled_ExportsGatewayMetricsTracesAndLogsOverOtlpHttp_WithoutTextOrTokens()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var backend = await RecordingBackend.StartAsync();
        await using var webhook = await WebhookReceiver.StartAsync(WebhookSecret);
        // Webhook URLs often carry a secret of their own: it must not reach a span either.
        var webhookToken = "hooktoken" + Guid.NewGuid().ToString("N");
        var reports = $$"""
            [[filters]]
            name = "red-flags"
            priority = 20
            action = "drop"
            report = true
            keywords = ["red flag"]

            [reports]
            url = "{{webhook.Url}}?token={{webhookToken}}"
            secret_file = "webhook-secret"
            """;
        await using var gw = await OpsGateway.StartAsync(JsonRouteTests.Config(backend.Url, reports) + TelemetryTable(receiver.Url),
            productionLogging: true, extraFiles: new Dictionary<string, string> { ["webhook-secret"] = WebhookSecret });

        var secretText = "darn-" + Guid.NewGuid().ToString("N");
        var queryToken = "syt_" + Guid.NewGuid().ToString("N");
        var censored = await gw.Client.PostAsync($"/api/messages?access_token={queryToken}",
            Json($$"""{"msg":{"text":"this is darn {{secretText}}"},"sender":"alice","room":"lobby"}"""));
        Assert.Equal(HttpStatusCode.Created, censored.StatusCode);
        var dropped = await gw.Client.PostAsync("/api/messages", Json("""{"msg":{"text":"buy followers now"},"sender":"mallory"}"""));
        Assert.Equal(HttpStatusCode.Created, dropped.StatusCode);
        var reported = await gw.Client.PostAsync("/api/messages", Json("""{"msg":{"text":"a red flag here"},"sender":"bob","direct":true,"recipient":"alice"}"""));
        Assert.Equal(HttpStatusCode.Created, reported.StatusCode);
        var deliveries = await webhook.WaitForAsync(1);
        Assert.True(deliveries.Count == 1, string.Join("\n", gw.Logs.Lines));
        var telemetry = gw.Service<GatewayTelemetry>();
        telemetry.CountOpaque("matrix", OpaqueKind.Encrypted);
        telemetry.CountAclDenied("matrix");
        telemetry.CountIpDenied();

        var expectedMetrics = new[]
        {
            GatewayTelemetry.MessagesInspected, GatewayTelemetry.Verdicts, GatewayTelemetry.EvaluationDuration,
            GatewayTelemetry.OpaqueMessages, GatewayTelemetry.AclDenials, GatewayTelemetry.IpDenials, GatewayTelemetry.Reports,
            GatewayTelemetry.ReportQueueDepth, GatewayTelemetry.ContextConversations, GatewayTelemetry.ContextSize,
            GatewayTelemetry.ConfigReloads, GatewayTelemetry.ConfigVersion,
            // tags and units travel too
            GatewayTelemetry.ProtocolTag, GatewayTelemetry.FilterTag, "{message}", "profanity", "shops",
        };
        var missing = await receiver.WaitForAsync("metrics", expectedMetrics, TimeSpan.FromSeconds(20));
        Assert.True(missing.Count == 0, "metrics never exported: " + string.Join(", ", missing));

        var spans = await receiver.WaitForAsync("traces",
            new[] { GatewayTelemetry.ParseSpan, GatewayTelemetry.EvaluateSpan, GatewayTelemetry.ReportSpan, "gateway-under-test", GatewayTelemetry.ActionTag },
            TimeSpan.FromSeconds(20));
        Assert.True(spans.Count == 0, "spans never exported: " + string.Join(", ", spans));
        var logs = await receiver.WaitForAsync("logs", new[] { "Gateway.Reporting.AuditTrail" }, TimeSpan.FromSeconds(20));
        Assert.True(logs.Count == 0, "logs never exported: " + string.Join(", ", logs));

        Assert.False(receiver.ContainsAnywhere(secretText), "message text reached an OTLP export");
        Assert.False(receiver.ContainsAnywhere(queryToken), "a query-string token reached an OTLP export");
        Assert.False(receiver.ContainsAnywhere(webhookToken), "the webhook URL's secret reached an OTLP export");
        Assert.False(receiver.ContainsAnywhere("a red flag here"), "reported message text reached an OTLP export");
        Assert.Equal("ops", receiver.TenantHeader);
        // HttpClient's own request logs would name the webhook URL (its path can be the secret): filtered out.
        Assert.DoesNotContain(gw.Logs.Lines, l => l.Contains(new Uri(webhook.Url).AbsolutePath, StringComparison.Ordinal));
        Assert.All(receiver.Received, r => Assert.StartsWith("application/x-protobuf", r.ContentType));
    }

    // In the same non-parallel collection as the enabled test: an OpenTelemetry provider listening to "Gateway"
    // meters elsewhere in the process would switch these instruments on.
    [Fact]
    public async Task Telemetry_Disabled_RegistersNoOpenTelemetryAndInstrumentsStayOff()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await OpsGateway.StartAsync(JsonRouteTests.Config(backend.Url));
        Assert.Null(gw.Services.GetService<MeterProvider>());
        Assert.Null(gw.Services.GetService<TracerProvider>());

        var telemetry = gw.Service<GatewayTelemetry>();
        var response = await gw.Client.PostAsync("/api/messages", Json("""{"msg":{"text":"darn"}}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(1, telemetry.InspectedTotal);
        Assert.Equal(1, telemetry.VerdictTotal(Policy.Rules.VerdictAction.Censor));
        Assert.Equal(0, telemetry.EvaluationStarting()); // no listener: not even a clock read
        Assert.Null(telemetry.StartParse("json", "chat#0"));
    }

    [Fact]
    public void BoundedTagValues_PastCapacity_NewValuesBecomeOther()
    {
        var tags = new BoundedTagValues(3);
        Assert.Equal("a", tags.Get("a"));
        Assert.Equal("b", tags.Get("b"));
        Assert.Equal("c", tags.Get("c"));
        Assert.Equal(BoundedTagValues.Other, tags.Get("d"));
        Assert.Equal("a", tags.Get("a"));
    }

    [Fact]
    public void Verdicts_MoreFiltersThanTheCap_FilterTagIsBounded()
    {
        using var telemetry = NewTelemetry();
        var seen = new HashSet<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, telemetry.Meter) && instrument.Name == GatewayTelemetry.Verdicts)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var t in tags)
            {
                if (t.Key == GatewayTelemetry.FilterTag)
                {
                    seen.Add((string)t.Value!);
                }
            }
        });
        listener.Start();
        for (var i = 0; i < 250; i++)
        {
            var verdict = new Policy.Rules.Verdict { Action = Policy.Rules.VerdictAction.Drop, DecidingFilter = "filter-" + i };
            telemetry.Evaluated("json", "chat#0", verdict, 0);
        }

        Assert.Equal(GatewayTelemetry.MaxTagValues + 1, seen.Count);
        Assert.Contains(BoundedTagValues.Other, seen);
    }

    [Theory]
    [InlineData("[telemetry]\nendpoint = \"localhost:4318\"", "telemetry.endpoint: \"localhost:4318\" is not an http(s) URL")]
    [InlineData("[telemetry]\nprotocol = \"http/json\"", "telemetry.protocol: must be one of \"http/protobuf\", \"grpc\", found \"http/json\"")]
    [InlineData("[telemetry]\nexport_interval_ms = 5", "telemetry.export_interval_ms: must be between 100 and 3600000, found 5")]
    [InlineData("[telemetry]\nheaders = \"a=b\"", "telemetry.headers: expected a table")]
    [InlineData("[telemetry]\nendpont = \"http://x\"", "telemetry.endpont: unknown key")]
    public void Config_BadTelemetryTable_IsRefusedWithKeyPath(string toml, string expected)
    {
        var result = ConfigLoader.Load(toml, "/tmp/gateway.toml");
        Assert.False(result.Ok);
        Assert.Contains(result.Errors, e => e.ToString().Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Config_TelemetryTable_IsRead()
    {
        var result = ConfigLoader.Load("""
            [telemetry]
            enabled = true
            endpoint = "http://collector:4318"
            protocol = "grpc"
            headers = { "x-tenant" = "ops" }
            service_name = "edge-gateway"
            export_interval_ms = 15000
            """, "/tmp/gateway.toml");
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var t = result.Config!.Telemetry;
        Assert.True(t.Enabled);
        Assert.Equal(new Uri("http://collector:4318"), t.Endpoint);
        Assert.Equal("grpc", t.Protocol);
        Assert.Equal("ops", t.Headers["x-tenant"]);
        Assert.Equal("edge-gateway", t.ServiceName);
        Assert.Equal(15000, t.ExportIntervalMilliseconds);
        Assert.False(ConfigLoader.Load("", "/tmp/gateway.toml").Config!.Telemetry.Enabled);
    }

    /// <summary>A holder over empty live objects, for tests that only look at instruments.</summary>
    internal static GatewayTelemetry NewTelemetry()
    {
        var config = ConfigLoader.Load("", Path.Combine(Path.GetTempPath(), "gateway.toml")).Config!;
        var state = new GatewayState(RuntimeSnapshot.Build(config, 1, DateTimeOffset.UnixEpoch));
        var queue = new ReportQueue(10, new ReportStats(), NullLogger<ReportQueue>.Instance);
        var store = new ConversationStore(new ConversationStoreOptions(), TimeProvider.System);
        return new GatewayTelemetry(new ConfigReadings(state), queue, store, TimeProvider.System);
    }
}
