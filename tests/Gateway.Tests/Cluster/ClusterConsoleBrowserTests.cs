using System.Text.Json.Nodes;
using Gateway.Cluster;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Operations;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Tests.Cluster;

/// <summary>
/// The admin console's cluster panel in a real headless Chromium (as <see cref="BrowserConsoleTests"/>): two instances
/// on one redis-server; the panel of the first lists both live members with their config versions and digests, marks
/// itself, and shows Redis up and the DM pair owner counts, all from <c>GET /cluster</c>.
/// </summary>
public sealed class ClusterConsoleBrowserTests
{
    [Fact]
    public async Task ClusterPanel_InChromium_ListsLiveMembers_ConfigVersions_RedisUp()
    {
        var root = BrowserConsoleTests.RepositoryRoot();
        Assert.True(Directory.Exists(Path.Combine(root, "tests", "browser", "node_modules", "playwright-core")),
            "playwright-core is not installed: run `make test` (it runs tests/browser/install.sh) or `npm ci` in tests/browser");
        await using var redis = await RedisProcess.StartAsync();
        await using var backend = await RecordingBackend.StartAsync();
        await using var a = await ClusterNode.StartAsync(JsonRouteTests.Config(backend.Url) + ClusterNode.ClusterTable(redis.Url, "panel-a"));
        await using var b = await ClusterNode.StartAsync(JsonRouteTests.Config(backend.Url) + ClusterNode.ClusterTable(redis.Url, "panel-b"));
        while (new[] { a, b }.Any(n => n.Services.GetRequiredService<PairOwners>().KnownPeers < 2))
        {
            await Task.Delay(20);
        }

        var api = JsonNode.Parse(await a.Admin.GetStringAsync("/cluster"))!;
        var screenshot = Path.Combine(AppContext.BaseDirectory, "artifacts", "admin-console-cluster.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        File.Delete(screenshot);
        var (exit, stdout, stderr) = await BrowserConsoleTests.RunAsync("node", root, Path.Combine(root, "tests", "browser", "console-cluster.mjs"),
            "--url", a.Admin.BaseAddress!.ToString(), "--token", OpsGateway.Token, "--members", "2", "--screenshot", screenshot);
        Assert.True(exit == 0, $"the browser run failed (exit {exit}):\n{stderr}\n{stdout}");

        var result = JsonNode.Parse(stdout.Trim().Split('\n')[^1])!.AsObject();
        Assert.True((bool)result["visible"]!);
        Assert.EndsWith("(up)", (string?)result["summary"]!["redis"], StringComparison.Ordinal);
        Assert.Equal("panel-a", (string?)result["summary"]!["this instance"]);
        Assert.StartsWith("pushed ", (string?)result["summary"]!["DM pair owners"], StringComparison.Ordinal);
        var rows = result["members"]!.AsArray().Select(r => r!.AsArray().Select(c => (string?)c).ToArray()).ToList();
        Assert.Equal(["panel-a (this one)", "panel-b"], rows.Select(r => r[0]));
        foreach (var (row, member) in rows.Zip(api["members"]!.AsArray()))
        {
            Assert.Equal("live", row[1]);
            Assert.Equal(((long)member!["config_version"]!).ToString(System.Globalization.CultureInfo.InvariantCulture), row[2]);
            Assert.Equal((string?)member["config_digest"], row[3]);
            Assert.Equal("yes", row[4]);
        }

        Assert.Empty(result["consoleErrors"]!.AsArray());
        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.True(png.Length > 1000 && png.AsSpan(1, 3).SequenceEqual("PNG"u8), "no screenshot was written to " + screenshot);
    }
}
