using System.Net;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Runtime;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.EndToEnd;

/// <summary>Issue 9, defect 7: a reload that cannot finish is abandoned within a bound, reported, and never blocks the next.</summary>
public sealed class ReloadTimeoutTests
{
    private const string Good = "[[filters]]\nname = \"f\"\nkeyword_files = [\"words.txt\"]\n";

    [Fact]
    public async Task Reload_LoadThatNeverFinishes_IsAbandonedReportedAndTheNextReloadRuns()
    {
        await using var gw = await GatewayHost.StartAsync(Good, new Dictionary<string, string> { ["words.txt"] = "zebra\n" });
        var reloader = gw.Service<ConfigReloader>();
        var state = gw.Service<GatewayState>();
        using var release = new ManualResetEventSlim();
        var blocked = 0;
        reloader.Timeout = TimeSpan.FromMilliseconds(200);
        reloader.Loader = path =>
        {
            // Stands in for any read that blocks past ConfigFile's checks (a hung network mount).
            Interlocked.Increment(ref blocked);
            release.Wait();
            return ConfigLoader.LoadFile(path);
        };

        var stuck = await Task.Run(() => reloader.Reload(gw.ConfigPath));

        Assert.False(stuck.Ok);
        Assert.True(stuck.Abandoned);
        Assert.Contains("reload abandoned", Assert.Single(stuck.Errors).Message);
        Assert.Equal(1, state.ReloadFailures);
        Assert.Contains(gw.Logs.Lines, l => l.Contains("[1004] Config reload abandoned", StringComparison.Ordinal));

        // The next reload is not held behind the stuck one, and the stuck one can never swap when it ends.
        reloader.Loader = path => ConfigLoader.LoadFile(path);
        reloader.Timeout = ConfigReloader.DefaultTimeout;
        Assert.True((await Task.Run(() => reloader.Reload(gw.ConfigPath))).Ok);
        Assert.Equal(2, state.Current.Version);
        release.Set();
        Assert.Equal(1, blocked);
        Assert.Equal(HttpStatusCode.OK, (await gw.Client.GetAsync("/_gateway/health")).StatusCode);
    }

    [Fact]
    public async Task Reload_TooManyAbandonedLoads_RefusesWithoutStartingAnother()
    {
        await using var gw = await GatewayHost.StartAsync(Good, new Dictionary<string, string> { ["words.txt"] = "zebra\n" });
        var reloader = gw.Service<ConfigReloader>();
        using var release = new ManualResetEventSlim();
        var started = 0;
        reloader.Timeout = TimeSpan.FromMilliseconds(50);
        reloader.Loader = path =>
        {
            Interlocked.Increment(ref started);
            release.Wait();
            return ConfigLoader.LoadFile(path);
        };

        for (var i = 0; i < ConfigReloader.MaxAbandoned; i++)
        {
            Assert.True((await Task.Run(() => reloader.Reload(gw.ConfigPath))).Abandoned);
        }

        var refused = await Task.Run(() => reloader.Reload(gw.ConfigPath));
        Assert.False(refused.Ok);
        Assert.Contains("still stuck", Assert.Single(refused.Errors).Message);
        Assert.Equal(ConfigReloader.MaxAbandoned, started);
        release.Set();
    }
}
