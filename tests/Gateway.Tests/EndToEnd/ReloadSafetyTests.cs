using System.Net;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Runtime;
using Gateway.Tests.Configuration;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.EndToEnd;

/// <summary>Issue 9, defects 6 and 7: a reload never takes the running gateway down or wedges later reloads.</summary>
public sealed class ReloadSafetyTests
{
    private const string Good = "[[filters]]\nname = \"f\"\nkeyword_files = [\"words.txt\"]\n";

    [Theory]
    [InlineData("/dev/zero", "is a character device")]
    [InlineData("/proc/self/mem", "Input/output error")]
    [InlineData("loop.txt", "Too many levels of symbolic links")]
    [InlineData("pipe.txt", "is a FIFO (named pipe)")]
    public async Task Reload_UnreadableListFile_IsRefusedAndTheLastGoodConfigKeepsServing(string file, string expected)
    {
        await using var gw = await GatewayHost.StartAsync(Good, new Dictionary<string, string> { ["words.txt"] = "zebra\n" });
        var reloader = gw.Service<ConfigReloader>();
        var state = gw.Service<GatewayState>();
        File.CreateSymbolicLink(Path.Combine(gw.Directory, "loop.txt"), Path.Combine(gw.Directory, "loop2.txt"));
        File.CreateSymbolicLink(Path.Combine(gw.Directory, "loop2.txt"), Path.Combine(gw.Directory, "loop.txt"));
        ConfigFileSafetyTests.MakeFifo(Path.Combine(gw.Directory, "pipe.txt"));
        await File.WriteAllTextAsync(gw.ConfigPath, Good.Replace("words.txt", file, StringComparison.Ordinal));

        var bad = await ReloadBounded(gw, reloader);

        Assert.False(bad.Ok);
        Assert.Contains(bad.Errors, e => e.ToString().StartsWith("gateway.toml:3:1: filters[0].keyword_files: ", StringComparison.Ordinal)
            && e.Message.Contains(expected, StringComparison.Ordinal));
        Assert.Equal(1, state.Current.Version);
        Assert.Equal(1, state.ReloadFailures);
        Assert.Equal(HttpStatusCode.OK, (await gw.Client.GetAsync("/_gateway/health")).StatusCode);

        // The next valid config applies: nothing was left holding the reload.
        await File.WriteAllTextAsync(gw.ConfigPath, Good);
        Assert.True((await ReloadBounded(gw, reloader)).Ok);
        Assert.Equal(2, state.Current.Version);
    }

    private static async Task<ConfigLoadResult> ReloadBounded(GatewayHost gw, ConfigReloader reloader) =>
        await ConfigFileSafetyTests.Bounded(() => reloader.Reload(gw.ConfigPath), gw.Directory);
}
