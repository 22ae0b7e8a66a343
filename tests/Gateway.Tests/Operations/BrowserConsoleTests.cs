using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Operations;

/// <summary>
/// The admin console in a real headless Chromium (Debian's <c>chromium</c>, driven by npm playwright-core from
/// tests/browser; `make test` installs both when missing). This test fails, never skips, when the browser cannot run.
/// </summary>
public sealed class BrowserConsoleTests
{
    [Fact]
    public async Task Console_InChromium_TypesAMessageClicksCheckAndShowsTheVerdict()
    {
        var root = RepositoryRoot();
        var script = Path.Combine(root, "tests", "browser", "console.mjs");
        Assert.True(Directory.Exists(Path.Combine(root, "tests", "browser", "node_modules", "playwright-core")),
            "playwright-core is not installed: run `make test` (it runs tests/browser/install.sh) or `npm ci` in tests/browser");

        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await OpsGateway.StartAsync(JsonRouteTests.Config(backend.Url) + OpsGateway.AdminTable());
        // Traffic first, so the page has counters and a recent verdict to show.
        using var content = new StringContent("""{"msg":{"text":"oh darn it"},"room":"lobby"}""", Encoding.UTF8, "application/json");
        await gw.Client.PostAsync("/api/messages", content);

        var screenshot = Path.Combine(AppContext.BaseDirectory, "artifacts", "admin-console.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        File.Delete(screenshot);
        var (exit, stdout, stderr) = await RunAsync("node", root,
            script, "--url", gw.AdminUrl!, "--token", OpsGateway.Token, "--text", "this is d4rn annoying", "--screenshot", screenshot);
        Assert.True(exit == 0, $"the browser run failed (exit {exit}):\n{stderr}\n{stdout}");

        var result = JsonNode.Parse(stdout.Trim().Split('\n')[^1])!.AsObject();
        Assert.Equal("censor", (string?)result["action"]);
        Assert.Equal("by profanity", (string?)result["filter"]);
        Assert.Equal("this is **** annoying", (string?)result["delivered"]);
        Assert.Equal("this is darn annoying", (string?)result["normalized"]);
        Assert.Equal("darn", (string?)result["matches"]![0]![1]);
        Assert.Equal("leet", (string?)result["matches"]![0]![2]); // the normalisation steps behind the match (issue 18)
        Assert.Equal("1", (string?)result["counters"]!["messages inspected"]);
        Assert.Equal("censor", (string?)result["recent"]![0]![1]);
        Assert.Equal("mallory", (string?)result["blocks"]![0]![0]);
        Assert.Equal("admin", (string?)result["blocks"]![0]![2]);
        Assert.Contains(result["rules"]!.AsArray(), r => (string?)r![0] == "profanity" && (string?)r[3] == "live" && (string?)r[5] == "1");
        Assert.True((bool)result["tokenInputEmpty"]!);
        Assert.False((bool)result["tokenStored"]!, "the token ended up in storage, a cookie or the URL");
        Assert.Empty(result["consoleErrors"]!.AsArray());

        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.True(png.Length > 1000 && png.AsSpan(1, 3).SequenceEqual("PNG"u8), "no screenshot was written to " + screenshot);
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Gateway.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Gateway.sln not found above " + AppContext.BaseDirectory);
    }

    internal static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string file, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(file)
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
