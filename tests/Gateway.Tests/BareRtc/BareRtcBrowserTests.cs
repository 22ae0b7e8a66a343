using System.Diagnostics;
using System.Text.Json.Nodes;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Operations;
using Xunit.Abstractions;

namespace Gateway.Tests.BareRtc;

/// <summary>
/// Two chat pages in a real headless Chromium (tests/browser/barertc.mjs) open <c>/ws</c> through the gateway to
/// <see cref="FakeBareRtc"/> (which also serves the page, passed through on <c>/</c>): alice sends bob a DM that is
/// censored and one that is shadow-dropped. Fails, never skips, when the browser cannot run.
/// </summary>
public sealed class BareRtcBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ChatPages_InChromium_CensoredDmReachesBobAsStars_DroppedOneOnlyEchoesToAlice()
    {
        var root = BrowserConsoleTests.RepositoryRoot();
        Assert.True(Directory.Exists(Path.Combine(root, "tests", "browser", "node_modules", "playwright-core")),
            "playwright-core is not installed: run `make test` (it runs tests/browser/install.sh) or `npm ci` in tests/browser");
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(BareRtcEndToEndTests.Config(fake.Url));

        var (exit, stdout, stderr) = await RunAsync(root, Path.Combine(root, "tests", "browser", "barertc.mjs"),
            "--url", gw.Client.BaseAddress!.ToString().TrimEnd('/'),
            "--censored", "you darn fool", "--dropped", "please send me your address", "--clean", "see you");
        output.WriteLine(stdout);
        Assert.True(exit == 0, $"the browser run failed (exit {exit}):\n{stderr}\n{stdout}");

        var result = JsonNode.Parse(stdout.Trim().Split('\n')[^1])!.AsObject();
        var alice = result["alice"]!["shown"]!.AsArray().Select(n => n!.AsObject()).ToList();
        var bob = result["bob"]!["shown"]!.AsArray().Select(n => n!.AsObject()).ToList();
        Assert.Empty(result["pageErrors"]!.AsArray());

        // bob: the censored DM as stars (not a rule, not emphasis), then the clean one; never the dropped one.
        var bobDms = bob.Where(d => (string?)d["channel"] == "@alice").ToList();
        Assert.Equal(new[] { "you **** fool", "see you" }, bobDms.Select(d => (string?)d["text"]));
        Assert.All(bobDms, d => Assert.False((bool)d["rule"]! || (bool)d["emphasis"]!));
        Assert.DoesNotContain(result["bob"]!["frames"]!.AsArray(), f => f!.ToJsonString().Contains("address", StringComparison.Ordinal));

        // alice: her own censored copy from the server, the echo of the dropped one as if sent, and the ChatServer notice.
        var aliceDms = alice.Where(d => (string?)d["channel"] == "@bob").Select(d => (string?)d["text"]).ToList();
        Assert.Equal(new[] { "you **** fool", "please send me your address", "see you" }, aliceDms);
        Assert.Contains(alice, d => (string?)d["kind"] == "error" && (string?)d["username"] == "ChatServer"
            && (string?)d["text"] == "Your message has not been sent. Please make better choices.");
        Assert.DoesNotContain(fake.Received, r => r.Contains("address", StringComparison.Ordinal));
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, await stdout, await stderr + "\n(timed out after 120 s)");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
