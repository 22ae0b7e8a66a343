using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Protocols.Abstractions;
using Gateway.Telemetry;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.WebSocket;

namespace Gateway.Tests.Operations;

/// <summary>
/// Debian's real <c>prometheus</c> scrapes the admin listener's <c>/metrics</c> (with the admin bearer token) while
/// traffic runs, then every query of the shipped Grafana dashboard is evaluated through Prometheus's HTTP API: each
/// must return data. Installed by tests/lib/ops-tools.sh; without it this test fails (it never skips).
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed partial class PrometheusScrapeTests
{
    private const string PrometheusBinary = "/usr/bin/prometheus";
    private const string WebhookSecret = "prometheus-test-webhook-secret-01";

    private static readonly string Deploy = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "deploy"));

    [GeneratedRegex(@"\$__rate_interval")]
    private static partial Regex RateInterval();

    [Fact]
    public async Task RealPrometheus_ScrapesMetrics_AndEveryDashboardQueryReturnsData()
    {
        Assert.True(File.Exists(PrometheusBinary), $"{PrometheusBinary} is missing: tests/lib/ops-tools.sh installs Debian's prometheus");
        await using var backend = await RecordingBackend.StartAsync();
        await using var wsBackend = await WsBackend.StartAsync();
        await using var webhook = await WebhookReceiver.StartAsync(WebhookSecret);
        var sockets = $$"""
            [[backends]]
            name = "sockets"
            protocol = "json"
            upstreams = ["{{wsBackend.Url}}"]
              [[backends.routes]]
              path = "/ws"
              transport = "websocket"
                [backends.routes.json]
                body = "/text"
                sender = "/from"

            """;
        var extra = $$"""

            [[filters]]
            name = "red-flags"
            action = "drop"
            report = true
            keywords = ["red flag"]

            [[protections]]
            name = "flood"
            kind = "flood"
            max = 1
            window = "1m"
            action = "reject"

            [counters]
            max_keys = 100

            [reports]
            url = "{{webhook.Url}}"
            secret_file = "webhook-secret"

            [telemetry]
            prometheus = true
            """;
        // Every [[backends]] entry together: the sockets backend goes before the JSON config's filters.
        var json = JsonRouteTests.Config(backend.Url, extra);
        var at = json.IndexOf("[[filters]]", StringComparison.Ordinal);
        var toml = json[..at] + sockets + json[at..] + OpsGateway.AdminTable();
        await using var gw = await OpsGateway.StartAsync(toml, extraFiles: new Dictionary<string, string> { ["webhook-secret"] = WebhookSecret });

        // Without the token: 401, like the rest of the admin API.
        using (var anonymous = new HttpClient { BaseAddress = new Uri(gw.AdminUrl!) })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);
        }

        var dir = Directory.CreateTempSubdirectory("gateway-prometheus-").FullName;
        var port = FreePort();
        var admin = new Uri(gw.AdminUrl!);
        await File.WriteAllTextAsync(Path.Combine(dir, "token"), OpsGateway.Token);
        await File.WriteAllTextAsync(Path.Combine(dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: gateway
                metrics_path: /metrics
                authorization:
                  type: Bearer
                  credentials_file: {Path.Combine(dir, "token")}
                static_configs:
                  - targets: ["{admin.Host}:{admin.Port}"]
            """);
        using var prometheus = Process.Start(new ProcessStartInfo(PrometheusBinary)
        {
            ArgumentList =
            {
                "--config.file=" + Path.Combine(dir, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(dir, "data"),
                $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var promLog = new StringBuilder();
        prometheus.OutputDataReceived += (_, e) => { lock (promLog) { promLog.AppendLine(e.Data); } };
        prometheus.ErrorDataReceived += (_, e) => { lock (promLog) { promLog.AppendLine(e.Data); } };
        prometheus.BeginOutputReadLine();
        prometheus.BeginErrorReadLine();
        try
        {
            await DriveTrafficAsync(gw, webhook);
            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            var queries = DashboardQueries();
            Assert.True(queries.Count >= 20, $"only {queries.Count} dashboard queries found");
            var pending = queries.ToDictionary(q => q, _ => "not evaluated yet");
            var deadline = DateTimeOffset.Now + TimeSpan.FromSeconds(90);
            while (pending.Count > 0 && DateTimeOffset.Now < deadline)
            {
                // Keep the counters moving so rate() over a short window has two distinct samples.
                await gw.Client.PostAsync("/api/messages", Json("""{"msg":{"text":"hello there"},"sender":"ticker-""" + Guid.NewGuid().ToString("N") + "\"}"));
                foreach (var query in pending.Keys.ToList())
                {
                    var outcome = await EvaluateAsync(api, query);
                    if (outcome is null)
                    {
                        pending.Remove(query);
                    }
                    else
                    {
                        pending[query] = outcome;
                    }
                }

                if (pending.Count > 0)
                {
                    await Task.Delay(1000);
                }
            }

            string log;
            lock (promLog)
            {
                log = promLog.ToString();
            }

            Assert.True(pending.Count == 0, "dashboard queries without data:\n" + string.Join("\n", pending.Select(p => $"  {p.Key} → {p.Value}")) + "\nprometheus:\n" + log);
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Traffic that moves every metric the dashboard shows, through the real paths where the JSON adapter has one.</summary>
    private static async Task DriveTrafficAsync(OpsGateway gw, WebhookReceiver webhook)
    {
        Assert.Equal(HttpStatusCode.Created, (await gw.Client.PostAsync("/api/messages", Json("""{"msg":{"text":"this is darn good"},"sender":"alice","room":"lobby"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await gw.Client.PostAsync("/api/messages", Json("""{"msg":{"text":"a red flag here"},"sender":"bob","direct":true,"recipient":"carol"}"""))).StatusCode);
        Assert.Single(await webhook.WaitForAsync(1));
        // The flood rule (1 a minute per sender) hits on a second message; 150 senders overflow the 100-key store.
        await gw.Client.PostAsync("/api/messages", Json("""{"msg":{"text":"again"},"sender":"alice","room":"lobby"}"""));
        for (var i = 0; i < 150; i++)
        {
            await gw.Client.PostAsync("/api/messages", Json($$"""{"msg":{"text":"hi"},"sender":"s{{i}}","room":"lobby"}"""));
        }

        // WebSocket frames through the relay.
        using (var ws = new ClientWebSocket())
        {
            var uri = new UriBuilder(gw.Client.BaseAddress!) { Scheme = "ws", Path = "/ws" }.Uri;
            await ws.ConnectAsync(uri, CancellationToken.None);
            await ws.SendAsync(Encoding.UTF8.GetBytes("""{"text":"hello","from":"dave"}"""), WebSocketMessageType.Text, true, CancellationToken.None);
            var buffer = new byte[4096];
            await ws.ReceiveAsync(buffer, CancellationToken.None);
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        }

        // A client fault: bad chunked framing on a raw socket gets a 400 and a count.
        var proxy = gw.Client.BaseAddress!;
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(proxy.Host, proxy.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                "POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"));
            var answer = new byte[512];
            var read = await stream.ReadAsync(answer);
            Assert.StartsWith("HTTP/1.1 400", Encoding.ASCII.GetString(answer, 0, read));
        }

        // A reload, counted by result.
        Assert.Equal(HttpStatusCode.OK, (await gw.Admin!.PostAsync("/reload", null)).StatusCode);

        // The two protocol-only counters (encrypted Matrix events, federation ACL denials) have their own end-to-end
        // tests; the JSON adapter has no such traffic, so they are counted here directly.
        var telemetry = gw.Service<GatewayTelemetry>();
        telemetry.CountOpaque("matrix", OpaqueKind.Encrypted);
        telemetry.CountAclDenied("matrix");

        // An IP block from the admin API, then a refused request (last: it blocks this test's own address).
        var block = await gw.Admin.PostAsync("/ip-blocks", Json("""{"cidr":"127.0.0.0/8","ttl_seconds":30,"reason":"prometheus test"}"""));
        Assert.Equal(HttpStatusCode.Created, block.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await gw.Client.GetAsync("/x")).StatusCode);
    }

    /// <summary>null when the query returns at least one series; else what came back.</summary>
    private static async Task<string?> EvaluateAsync(HttpClient api, string query)
    {
        try
        {
            using var response = await api.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(query));
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                return $"{(int)response.StatusCode} {body}";
            }

            using var doc = JsonDocument.Parse(body);
            var data = doc.RootElement.GetProperty("data");
            var result = data.GetProperty("result");
            var any = data.GetProperty("resultType").GetString() switch
            {
                "vector" or "matrix" => result.GetArrayLength() > 0,
                _ => true,
            };
            return any ? null : "no series";
        }
        catch (HttpRequestException ex)
        {
            return "prometheus not answering: " + ex.Message;
        }
    }

    private static List<string> DashboardQueries()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deploy, "grafana", "dashboards", "gateway.json")));
        var queries = new List<string>();
        foreach (var panel in doc.RootElement.GetProperty("panels").EnumerateArray())
        {
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                // Grafana fills $__rate_interval in; 1s scrapes make a 15 s window hold several samples.
                queries.Add(RateInterval().Replace(target.GetProperty("expr").GetString()!, "15s"));
            }
        }

        return queries;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
