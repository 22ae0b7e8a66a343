using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gateway.Tests.Configuration;

namespace Gateway.Tests.Operations;

/// <summary>
/// Issue 9, defect 9: the real built gateway (`dotnet gateway.dll serve`) against a port already in use, and against
/// config files it cannot read: one clear line on stderr, a plain exit code, no unhandled-exception stack or core dump.
/// </summary>
public sealed class ProcessStartTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gateway-proc-" + Guid.NewGuid().ToString("N"));

    public ProcessStartTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Serve(string config)
    {
        var dll = Path.Combine(ConfigLoaderTests.RepoRoot(), "src", "Gateway", "bin", "Release", "net10.0", "gateway.dll");
        Assert.True(File.Exists(dll), $"build the gateway first: {dll}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "serve", "--config", config })
        {
            start.ArgumentList.Add(a);
        }

        // No core dump from a crash in the test run.
        start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the gateway neither started nor exited within 60 s");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Serve_PortAlreadyInUse_OneLineNamingTheAddressExitOne()
    {
        using var occupier = new TcpListener(IPAddress.Loopback, 0);
        occupier.Start();
        var port = ((IPEndPoint)occupier.LocalEndpoint).Port;
        var config = Path.Combine(_dir, "gateway.toml");
        await File.WriteAllTextAsync(config, $"[server]\nlisten = [\"http://127.0.0.1:{port}\"]\nwatch_config = false\n");

        var (code, output, err) = await Serve(config);

        Assert.Equal(1, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"127.0.0.1:{port}", line);
        Assert.Contains("address already in use", line);
        Assert.DoesNotContain("Unhandled exception", output + err);
        Assert.DoesNotContain("   at ", output + err);
    }

    [Theory]
    [InlineData("fifo", "is a FIFO (named pipe), not a regular file")]
    [InlineData("directory", "is a directory, not a regular file")]
    [InlineData("missing", "does not exist")]
    public async Task Serve_UnreadableConfigFile_OneLineExitOne(string kind, string expected)
    {
        var config = Path.Combine(_dir, "gateway.toml");
        if (kind == "fifo")
        {
            ConfigFileSafetyTests.MakeFifo(config);
        }
        else if (kind == "directory")
        {
            Directory.CreateDirectory(config);
        }

        var (code, output, err) = await Serve(config);

        Assert.Equal(1, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(config, line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("Unhandled exception", output + err);
    }
}
