using System.Net;
using System.Text;
using Gateway.Hosting;
using Gateway.Runtime;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.EndToEnd;

public sealed class GateAndReloadTests
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task IpGate_BlockedClient_Gets403BeforeBodyIsRead()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var config = JsonRouteTests.Config(backend.Url) + "\n[ip_blocks]\ndeny = [\"127.0.0.0/8\"]\n";
        await using var gw = await GatewayHost.StartAsync(config);
        var response = await gw.Client.PostAsync("/api/messages", Json("{\"msg\":{\"text\":\"hi\"}}"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("blocked", await response.Content.ReadAsStringAsync());
        var passthrough = await gw.Client.GetAsync("/anything");
        Assert.Equal(HttpStatusCode.Forbidden, passthrough.StatusCode);
        Assert.Empty(backend.Received);
    }

    [Fact]
    public async Task IpGate_ExpiredEntry_NoLongerBlocks()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var config = JsonRouteTests.Config(backend.Url) + "\n[ip_blocks]\n[[ip_blocks.entries]]\ncidr = \"127.0.0.1\"\nexpires = 2001-01-01T00:00:00Z\n";
        await using var gw = await GatewayHost.StartAsync(config);
        var response = await gw.Client.GetAsync("/x");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("127.0.0.1/32", "203.0.113.9", HttpStatusCode.Forbidden)]          // trusted proxy: XFF believed
    [InlineData("127.0.0.1/32", "203.0.113.9, 10.0.0.1", HttpStatusCode.Created)]   // rightmost untrusted hop is the client
    [InlineData("", "203.0.113.9", HttpStatusCode.Created)]                          // untrusted peer: XFF ignored
    public async Task ClientIp_ForwardedFor_OnlyFromTrustedProxies(string trusted, string xff, HttpStatusCode expected)
    {
        await using var backend = await RecordingBackend.StartAsync();
        var trustedList = trusted.Length == 0 ? "" : $"\"{trusted}\"";
        var config = $"[server]\ntrusted_proxies = [{trustedList}]\n" + JsonRouteTests.Config(backend.Url)
            + "\n[ip_blocks]\ndeny = [\"203.0.113.0/24\"]\n";
        await using var gw = await GatewayHost.StartAsync(config);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/x");
        request.Headers.Add("X-Forwarded-For", xff);
        var response = await gw.Client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Reload_GoodBadGood_WhileTrafficFlows()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var original = JsonRouteTests.Config(backend.Url);
        await using var gw = await GatewayHost.StartAsync(original);
        var reloader = gw.Service<ConfigReloader>();
        var state = gw.Service<GatewayState>();

        using var cts = new CancellationTokenSource();
        var failures = 0;
        var sent = 0;
        var traffic = Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                var r = await gw.Client.PostAsync("/api/messages", Json("{\"msg\":{\"text\":\"plain hello\"}}"));
                Interlocked.Increment(ref sent);
                if (r.StatusCode != HttpStatusCode.Created)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        // good: a new filter appears
        await File.WriteAllTextAsync(gw.ConfigPath, original + "\n[[filters]]\nname = \"new\"\nkeywords = [\"zebra\"]\n");
        Assert.True(reloader.Reload(gw.ConfigPath).Ok);
        Assert.Equal(2, state.Current.Version);
        var censored = await gw.Client.PostAsync("/api/messages", Json("{\"msg\":{\"text\":\"a zebra\"}}"));
        Assert.Equal(HttpStatusCode.Created, censored.StatusCode);
        Assert.Contains(backend.Received, r => Encoding.UTF8.GetString(r.Body).Contains("a *****", StringComparison.Ordinal));

        // bad: refused with validate's messages, the last good config keeps serving
        await File.WriteAllTextAsync(gw.ConfigPath, original + "\n[[filters]]\nname = \"broken\"\nregex = ['(unclosed']\n");
        var bad = reloader.Reload(gw.ConfigPath);
        Assert.False(bad.Ok);
        Assert.Contains(bad.Errors, e => e.KeyPath == "filters[3].regex[0]");
        Assert.Equal(2, state.Current.Version);
        Assert.Contains(gw.Logs.Lines, l => l.Contains("Config reload refused", StringComparison.Ordinal) && l.Contains("filters[3].regex[0]", StringComparison.Ordinal));
        var still = await gw.Client.PostAsync("/api/messages", Json("{\"msg\":{\"text\":\"another zebra\"}}"));
        Assert.Equal(HttpStatusCode.Created, still.StatusCode);
        Assert.Contains(backend.Received, r => Encoding.UTF8.GetString(r.Body).Contains("another *****", StringComparison.Ordinal));

        // good again: the original rules
        await File.WriteAllTextAsync(gw.ConfigPath, original);
        Assert.True(reloader.Reload(gw.ConfigPath).Ok);
        Assert.Equal(3, state.Current.Version);
        await gw.Client.PostAsync("/api/messages", Json("{\"msg\":{\"text\":\"last zebra\"}}"));
        Assert.Contains(backend.Received, r => Encoding.UTF8.GetString(r.Body).Contains("last zebra", StringComparison.Ordinal));

        await cts.CancelAsync();
        await traffic;
        Assert.True(sent > 0);
        Assert.Equal(0, failures);
    }

    [Fact]
    public async Task Reload_FileWatcher_PicksUpAnEdit()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var original = JsonRouteTests.Config(backend.Url);
        await using var gw = await GatewayHost.StartAsync(original, watch: true);
        var state = gw.Service<GatewayState>();
        await File.WriteAllTextAsync(gw.ConfigPath, original + "\n[[filters]]\nname = \"watched\"\nkeywords = [\"walrus\"]\n");
        for (var i = 0; i < 100 && state.Current.Version == 1; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(2, state.Current.Version);
        await gw.Client.PostAsync("/api/messages", Json("{\"msg\":{\"text\":\"a walrus\"}}"));
        Assert.Contains(backend.Received, r => Encoding.UTF8.GetString(r.Body).Contains("a ******", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WordListFile_IsReadAndCommentsIgnored()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var config = JsonRouteTests.Config(backend.Url, """
            [[filters]]
            name = "list"
            keyword_files = ["lists/words.txt"]
            """);
        var files = new Dictionary<string, string> { ["lists/words.txt"] = "# comment line\nplatypus\n\n  wombat*  \n#ignored\n" };
        await using var gw = await GatewayHost.StartAsync(config, files);
        await gw.Client.PostAsync("/api/messages", Json("{\"msg\":{\"text\":\"platypus wombats ignored comment\"}}"));
        Assert.Equal("{\"msg\":{\"text\":\"******** ******* ignored comment\"}}", Encoding.UTF8.GetString(Assert.Single(backend.Received).Body));
    }

    [Fact]
    public async Task BareRtcMessageFilters_PublicPrivateFlagsAreEnforced()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var config = JsonRouteTests.Config(backend.Url, """
            [[MessageFilters]]
            Enabled = true
            PublicChannels = false
            PrivateChannels = true
            KeywordPhrases = ['\bsecret\s+handshake\b']
            CensorMessage = true
            ForwardMessage = true
            ReportMessage = false
            ChatServerResponse = "Careful."
            """);
        await using var gw = await GatewayHost.StartAsync(config);
        await gw.Client.PostAsync("/api/messages", Json("{\"direct\":false,\"msg\":{\"text\":\"the Secret Handshake\"}}"));
        var dm = await gw.Client.PostAsync("/api/messages", Json("{\"direct\":true,\"msg\":{\"text\":\"the Secret Handshake\"}}"));
        var bodies = backend.Received.Select(r => Encoding.UTF8.GetString(r.Body)).ToArray();
        Assert.Equal("{\"direct\":false,\"msg\":{\"text\":\"the Secret Handshake\"}}", bodies[0]);
        Assert.Equal("{\"direct\":true,\"msg\":{\"text\":\"the ****************\"}}", bodies[1]);
        Assert.Equal("Careful.", Uri.UnescapeDataString(dm.Headers.GetValues("X-Gateway-Notice").Single()));
    }
}
