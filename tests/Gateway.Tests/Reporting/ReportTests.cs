using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Reporting;

/// <summary>Reports end to end: gateway → bounded queue → signed webhook, with DM context from the RAM buffers.</summary>
public sealed class ReportTests
{
    private const string Secret = "test-webhook-secret-0123456789";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>The standard test config plus a reporting filter, a user-report route and the [reports] table.</summary>
    private static (string Toml, Dictionary<string, string> Files) Config(string backendUrl, string webhookUrl, string reportsExtra = "")
    {
        var toml = JsonRouteTests.Config(backendUrl, $$"""
            [[filters]]
            name = "red-flags"
            priority = 20
            action = "drop"
            notice = "Not sent; reported."
            report = true
            keywords = ["red flag"]

            [[filters]]
            name = "swears-reported"
            report = true
            keywords = ["bother"]

            [reports]
            url = "{{webhookUrl}}"
            secret_file = "secrets/webhook"
            queue_capacity = 100
            drain_seconds = 10
            {{reportsExtra}}
            """);
        // A second backend route for user reports, inserted before the catch-all passthrough route.
        toml = toml.Replace("""
              [[backends.routes]]
              path = "/"
            """, """
              [[backends.routes]]
              path = "/api/report"
              methods = ["POST"]
                [backends.routes.json]
                kind = "report"
                body = "/reason"
                sender = "/reporter"
                recipient = "/about"
                direct = "/direct"

              [[backends.routes]]
              path = "/"
            """, StringComparison.Ordinal);
        return (toml, new Dictionary<string, string> { ["secrets/webhook"] = Secret + "\n" });
    }

    private static string Dm(string from, string to, string text) =>
        JsonSerializer.Serialize(new { direct = true, sender = from, recipient = to, msg = new { text } });

    [Fact]
    public async Task Report_FilterWithReport_ArrivesSignedWithRawTextAndDmContext()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        var (toml, files) = Config(backend.Url, hook.Url);
        Assert.Contains("recipient = \"/about\"", toml);
        await using var gw = await GatewayHost.StartAsync(toml, files);

        await gw.Client.PostAsync("/api/messages", Json(Dm("alice", "bob", "hi bob")));
        await gw.Client.PostAsync("/api/messages", Json(Dm("bob", "alice", "hey alice")));
        await gw.Client.PostAsync("/api/messages", Json(Dm("carol", "dave", "unrelated conversation")));
        var flagged = await gw.Client.PostAsync("/api/messages", Json(Dm("alice", "bob", "this is a RED  fl4g")));
        Assert.Equal(HttpStatusCode.Created, flagged.StatusCode);
        Assert.Equal("{\"status\":\"accepted\",\"notice\":\"Not sent; reported.\"}", await flagged.Content.ReadAsStringAsync());

        var d = Assert.Single(await hook.WaitForAsync(1));
        Assert.True(d.SignatureValid);
        var r = d.Json;
        Assert.Equal(1, r.GetProperty("version").GetInt32());
        Assert.Equal("filter", r.GetProperty("kind").GetString());
        Assert.Equal(d.IdempotencyKey, r.GetProperty("id").GetString());
        Assert.Equal("drop", r.GetProperty("action").GetString());
        Assert.Equal("red-flags", r.GetProperty("filters")[0].GetString());
        Assert.True(r.GetProperty("direct").GetBoolean());
        Assert.Equal("alice", r.GetProperty("sender").GetString());
        Assert.Equal("bob", r.GetProperty("recipients")[0].GetString());
        Assert.Equal("this is a RED  fl4g", r.GetProperty("original").GetProperty("body").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("delivered").ValueKind);
        Assert.Equal("red flag", r.GetProperty("matches")[0].GetProperty("term").GetString());
        Assert.False(r.TryGetProperty("client_ip", out _));
        var context = r.GetProperty("context").EnumerateArray().Select(c => (c.GetProperty("sender").GetString()!, c.GetProperty("text").GetString()!)).ToArray();
        Assert.Equal(new[] { ("alice", "hi bob"), ("bob", "hey alice") }, context);
    }

    [Fact]
    public async Task Report_WebhookDownThenUp_AllArriveOnceEach()
    {
        int port;
        using (var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }

        await using var backend = await RecordingBackend.StartAsync();
        var (toml, files) = Config(backend.Url, $"http://127.0.0.1:{port}/hook", "max_attempts = 2");
        await using var gw = await GatewayHost.StartAsync(toml, files);
        for (var i = 0; i < 5; i++)
        {
            var r = await gw.Client.PostAsync("/api/messages", Json($"{{\"msg\":{{\"text\":\"oh bother number {i}\"}}}}"));
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        }

        await Task.Delay(1500); // the webhook is down: deliveries fail and the reports stay queued
        await using var hook = await WebhookReceiver.StartAsync(Secret, port);
        var deliveries = await hook.WaitForAsync(5, seconds: 60);
        Assert.Equal(5, deliveries.Count);
        Assert.All(deliveries, d => Assert.True(d.SignatureValid));
        Assert.Equal(5, deliveries.Select(d => d.IdempotencyKey).Distinct().Count());
        var texts = deliveries.Select(d => d.Json.GetProperty("original").GetProperty("body").GetString()).ToArray();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"oh bother number {i}"), texts); // in order
        Assert.Contains("\"dropped\":0", await gw.Client.GetStringAsync("/_gateway/health"));
    }

    [Fact]
    public async Task Report_Webhook503ThenOk_RetriedWithSameIdempotencyKey()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        hook.Behaviour = WebhookReceiver.Mode.Fail;
        var (toml, files) = Config(backend.Url, hook.Url, "max_attempts = 2");
        await using var gw = await GatewayHost.StartAsync(toml, files);
        await gw.Client.PostAsync("/api/messages", Json("{\"msg\":{\"text\":\"bother\"}}"));
        for (var i = 0; i < 100 && hook.Attempts < 3; i++)
        {
            await Task.Delay(50);
        }

        Assert.True(hook.Attempts >= 3);
        hook.Behaviour = WebhookReceiver.Mode.Ok;
        var d = Assert.Single(await hook.WaitForAsync(1));
        Assert.True(d.SignatureValid);
        var health = JsonDocument.Parse(await gw.Client.GetStringAsync("/_gateway/health")).RootElement.GetProperty("reports");
        Assert.True(health.GetProperty("retried").GetInt64() >= 2);
        Assert.Equal(1, health.GetProperty("sent").GetInt64());
    }

    [Fact]
    public async Task Report_Webhook429RetryAfterAnHour_RetriedWithinTheDefaultCap()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        hook.Behaviour = WebhookReceiver.Mode.TooManyRequestsOnce;
        // Fake time starts at the real now so the receiver's 5-minute replay window accepts the signatures.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (toml, files) = Config(backend.Url, hook.Url);
        await using var gw = await GatewayHost.StartAsync(toml, files, configure: b => b.Services.AddSingleton<TimeProvider>(time));
        await gw.Client.PostAsync("/api/messages", Json("{\"msg\":{\"text\":\"bother\"}}"));
        for (var i = 0; i < 200 && hook.Attempts < 1; i++)
        {
            await Task.Delay(25);
        }

        Assert.Equal(1, hook.Attempts);
        // Each step stays far below the hour the receiver asked for (4 x 61 s < 300 s, inside the replay window too):
        // only a cap of reports.max_retry_after_seconds (default 60) gets the report through.
        for (var step = 0; step < 4 && hook.Deliveries.IsEmpty; step++)
        {
            for (var i = 0; i < 20 && hook.Deliveries.IsEmpty; i++)
            {
                await Task.Delay(25);
            }

            time.Advance(TimeSpan.FromSeconds(61));
            for (var i = 0; i < 40 && hook.Deliveries.IsEmpty; i++)
            {
                await Task.Delay(25);
            }
        }

        var delivery = Assert.Single(hook.Deliveries);
        Assert.True(delivery.SignatureValid);
        Assert.Equal(2, hook.Attempts);
    }

    [Fact]
    public async Task Report_WebhookHanging_MessageTrafficUnaffected()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        hook.Behaviour = WebhookReceiver.Mode.Hang;
        var (toml, files) = Config(backend.Url, hook.Url, "timeout_seconds = 600");
        await using var gw = await GatewayHost.StartAsync(toml, files);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var tasks = Enumerable.Range(0, 20).Select(i => gw.Client.PostAsync("/api/messages", Json($"{{\"msg\":{{\"text\":\"bother {i}\"}}}}"), cts.Token));
        var responses = await Task.WhenAll(tasks);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Equal(20, backend.Received.Count);
        hook.Behaviour = WebhookReceiver.Mode.Ok;
    }

    [Fact]
    public async Task Report_QueueFull_DropsAreCountedAndLoggedWithoutText()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        hook.Behaviour = WebhookReceiver.Mode.Hang;
        var (toml, files) = Config(backend.Url, hook.Url, "timeout_seconds = 600");
        // drain_seconds is in the base config: set it there (a key written twice is a config error).
        toml = toml.Replace("drain_seconds = 10", "drain_seconds = 0", StringComparison.Ordinal);
        await using var gw = await GatewayHost.StartAsync(toml.Replace("queue_capacity = 100", "queue_capacity = 2", StringComparison.Ordinal), files);
        for (var i = 0; i < 10; i++)
        {
            await gw.Client.PostAsync("/api/messages", Json($"{{\"msg\":{{\"text\":\"bother secretqueue{i}\"}}}}"));
        }

        var health = JsonDocument.Parse(await gw.Client.GetStringAsync("/_gateway/health")).RootElement.GetProperty("reports");
        var dropped = health.GetProperty("dropped").GetInt64();
        var enqueued = health.GetProperty("enqueued").GetInt64();
        Assert.True(dropped >= 7, $"dropped {dropped}");
        Assert.Equal(10, dropped + enqueued);
        Assert.Contains(gw.Logs.Lines, l => l.Contains("report queue is full", StringComparison.Ordinal));
        Assert.DoesNotContain(gw.Logs.Lines, l => l.Contains("secretqueue", StringComparison.Ordinal));
        hook.Behaviour = WebhookReceiver.Mode.Ok;
    }

    [Fact]
    public async Task Report_Shutdown_DrainsTheQueue()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        hook.Behaviour = WebhookReceiver.Mode.Slow;
        var (toml, files) = Config(backend.Url, hook.Url);
        var gw = await GatewayHost.StartAsync(toml, files);
        for (var i = 0; i < 4; i++)
        {
            await gw.Client.PostAsync("/api/messages", Json($"{{\"msg\":{{\"text\":\"bother {i}\"}}}}"));
        }

        await gw.DisposeAsync(); // StopAsync drains within drain_seconds
        Assert.Equal(4, hook.Deliveries.Count);
        Assert.Contains(gw.Logs.Lines, l => l.Contains("drained at shutdown", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UserReport_FromParticipant_IsForwardedAndEnrichedWithContext()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        var (toml, files) = Config(backend.Url, hook.Url);
        await using var gw = await GatewayHost.StartAsync(toml, files);
        await gw.Client.PostAsync("/api/messages", Json(Dm("mallory", "alice", "send me your password")));
        await gw.Client.PostAsync("/api/messages", Json(Dm("alice", "mallory", "no")));

        var report = await gw.Client.PostAsync("/api/report", Json("{\"reporter\":\"alice\",\"about\":\"mallory\",\"direct\":true,\"reason\":\"phishing\"}"));
        Assert.Equal(HttpStatusCode.Created, report.StatusCode);
        var stranger = await gw.Client.PostAsync("/api/report", Json("{\"reporter\":\"eve\",\"about\":\"mallory\",\"direct\":true,\"reason\":\"nosy\"}"));
        Assert.Equal(HttpStatusCode.Created, stranger.StatusCode);
        Assert.Equal(2, backend.Received.Count(r => r.Path == "/api/report"));

        var deliveries = await hook.WaitForAsync(2);
        var alice = deliveries.Single(d => d.Json.GetProperty("reporter").GetString() == "alice").Json;
        Assert.Equal("user_report", alice.GetProperty("kind").GetString());
        Assert.Equal("phishing", alice.GetProperty("reason").GetString());
        Assert.Equal(new[] { "send me your password", "no" }, alice.GetProperty("context").EnumerateArray().Select(c => c.GetProperty("text").GetString()));
        var eve = deliveries.Single(d => d.Json.GetProperty("reporter").GetString() == "eve").Json;
        Assert.Empty(eve.GetProperty("context").EnumerateArray());
    }

    [Fact]
    public async Task Report_BareRtcFormat_MatchesBareRtcPayload()
    {
        var envName = "GATEWAY_TEST_APIKEY_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(envName, "barertc-api-key");
        await using var backend = await RecordingBackend.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        var (toml, files) = Config(backend.Url, hook.Url, $"format = \"barertc\"\napi_key_env = \"{envName}\"");
        await using var gw = await GatewayHost.StartAsync(toml, files);
        await gw.Client.PostAsync("/api/messages", Json("{\"room\":\"lobby\",\"sender\":\"alice\",\"msg\":{\"text\":\"a red flag\"}}"));
        var r = Assert.Single(await hook.WaitForAsync(1)).Json;
        Assert.Equal("report", r.GetProperty("Action").GetString());
        Assert.Equal("barertc-api-key", r.GetProperty("APIKey").GetString());
        var inner = r.GetProperty("Report");
        Assert.Equal(new[] { "FromUsername", "AboutUsername", "Channel", "Timestamp", "Reason", "Message", "Comment" },
            inner.EnumerateObject().Select(p => p.Name));
        Assert.Equal("lobby", inner.GetProperty("Channel").GetString());
        Assert.Contains("a red flag", inner.GetProperty("Message").GetString());
    }

    [Fact]
    public async Task Audit_NonForwardVerdicts_WriteJsonLinesWithoutTextAndRotate()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var config = JsonRouteTests.Config(backend.Url, "[audit]\nfile = \"audit/audit.jsonl\"\nmax_file_bytes = 1024\nmax_files = 3\n");
        await using var gw = await GatewayHost.StartAsync(config);
        for (var i = 0; i < 20; i++)
        {
            await gw.Client.PostAsync("/api/messages", Json($"{{\"room\":\"r{i}\",\"sender\":\"s{i}\",\"msg\":{{\"text\":\"darn auditsecret{i}\"}}}}"));
        }

        var path = Path.Combine(gw.Directory, "audit", "audit.jsonl");
        Assert.True(File.Exists(path));
        Assert.True(File.Exists(path + ".1"));
        Assert.False(File.Exists(path + ".3"));
        var lines = File.ReadAllLines(path).Concat(File.ReadAllLines(path + ".1")).ToArray();
        Assert.All(lines, l =>
        {
            var e = JsonDocument.Parse(l).RootElement;
            Assert.Equal("censor", e.GetProperty("action").GetString());
            Assert.Equal("profanity", e.GetProperty("filter").GetString());
            Assert.DoesNotContain("auditsecret", l, StringComparison.Ordinal);
        });
        Assert.Contains(gw.Logs.Lines, l => l.Contains("Audit: censor by filter profanity", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Privacy_DirectMessagesWithReports_NeverReachLogsOrDisk()
    {
        var marker = Path.Combine(Path.GetTempPath(), $"privacy-marker-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(marker, "");
        File.SetLastWriteTimeUtc(marker, DateTime.UtcNow.AddSeconds(-2));
        await using var backend = await RecordingBackend.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(Secret);
        var (toml, files) = Config(backend.Url, hook.Url, "");
        toml += "\n[audit]\nfile = \"audit.jsonl\"\n";
        await using (var gw = await GatewayHost.StartAsync(toml, files))
        {
            for (var i = 0; i < 10; i++)
            {
                await gw.Client.PostAsync("/api/messages", Json(Dm("alice", "bob", $"PrivDMzq{i} bother")));
                await gw.Client.PostAsync("/api/messages", Json(Dm("bob", "alice", $"PrivDMzq reply {i} red flag")));
            }

            await gw.Client.PostAsync("/api/report", Json("{\"reporter\":\"alice\",\"about\":\"bob\",\"direct\":true,\"reason\":\"PrivDMzq reason\"}"));
            await hook.WaitForAsync(21);
            Assert.Contains(hook.Deliveries, d => d.Body.Contains("PrivDMzq", StringComparison.Ordinal)); // the webhook is the one place it goes
            Assert.NotEmpty(gw.Logs.Lines);
            foreach (var line in gw.Logs.Lines)
            {
                Assert.DoesNotContain("PrivDMzq", line, StringComparison.Ordinal);
            }

            AssertNoFileContains(gw.Directory, "PrivDMzq", marker);
        }

        AssertNoFileContains(Path.GetTempPath(), "PrivDMzq", marker);
        AssertNoFileContains(Directory.GetCurrentDirectory(), "PrivDMzq", marker);
        File.Delete(marker);
    }

    /// <summary>
    /// Reads every regular file under <paramref name="root"/> written since the test started. `find -type f` lists them:
    /// opening a FIFO or socket (other processes keep some in /tmp) would block forever.
    /// </summary>
    private static void AssertNoFileContains(string root, string needle, string marker)
    {
        if (!Directory.Exists(root))
        {
            return;
        }

        var psi = new System.Diagnostics.ProcessStartInfo("find", [root, "-xdev", "-type", "f", "-newer", marker, "-size", "-65536k"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var find = System.Diagnostics.Process.Start(psi)!;
        var list = find.StandardOutput.ReadToEnd();
        find.WaitForExit();
        var bytes = Encoding.UTF8.GetBytes(needle);
        foreach (var f in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            byte[] content;
            try
            {
                content = File.ReadAllBytes(f);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            Assert.True(content.AsSpan().IndexOf(bytes) < 0, $"{f} contains direct-message text");
        }
    }
}
