using System.Diagnostics;
using Gateway.Tests.Configuration;

namespace Gateway.Tests.Operations;

/// <summary>
/// Issue 17 #4: `make deb` builds a package whose `gateway` command works without the SDK or the repo: the .deb is
/// built from this checkout (a self-contained publish), unpacked with dpkg-deb into an empty directory, and the
/// README's commands run from there against the packaged /etc/gateway/gateway.toml.
/// </summary>
public sealed class PackageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-deb-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Deb_UnpackedOnItsOwn_GatewayVersionValidateAndCheckWork()
    {
        var repo = ConfigLoaderTests.RepoRoot();
        var (code, output, error) = await RunAsync("bash", Path.Combine(repo, "deploy", "deb", "build.sh"), Path.Combine(_dir, "dist"));
        Assert.True(code == 0, $"build.sh failed ({code}): {output}\n{error}");
        var deb = output.Trim().Split('\n').Last();
        Assert.True(File.Exists(deb), "build.sh did not print the .deb it wrote: " + output);

        var fields = (await RunAsync("dpkg-deb", "-f", deb, "Package", "Architecture")).Output;
        Assert.Contains("Package: gateway", fields);
        var conffiles = (await RunAsync("dpkg-deb", "-I", deb, "conffiles")).Output;
        Assert.Contains("/etc/gateway/gateway.toml", conffiles);

        var root = Path.Combine(_dir, "root");
        Assert.Equal(0, (await RunAsync("dpkg-deb", "-x", deb, root)).Code);
        var gateway = Path.Combine(root, "usr", "bin", "gateway");
        var config = Path.Combine(root, "etc", "gateway", "gateway.toml");
        Assert.True(File.Exists(Path.Combine(root, "lib", "systemd", "system", "gateway.service")));

        // No SDK on PATH, no DOTNET_ROOT: the self-contained build brings its runtime.
        var version = await RunAsync(gateway, "version");
        Assert.Equal(0, version.Code);
        Assert.Matches(@"^gateway \d+\.\d+\.\d+ \(commit [0-9a-f]{7,}, committed \d{4}-\d\d-\d\dT[^,]+, \.NET 10\.", version.Output);
        Assert.Contains("server GC, gen0 budget <= 8 MiB", version.Output); // the runtimeconfig's cap reached the package

        var validate = await RunAsync(gateway, "validate", "--config", config);
        Assert.True(validate.Code == 0, validate.Output + validate.Error);
        Assert.Contains("valid", validate.Output);

        var check = await RunAsync(gateway, "check", "--config", config, "buy followers now");
        Assert.True(check.Code == 0, check.Output + check.Error);
        Assert.Contains("\"action\":", check.Output);

        var bad = Path.Combine(_dir, "bad.toml");
        await File.WriteAllTextAsync(bad, "[limits]\nmax_body_bytes = \"lots\"\n");
        var refused = await RunAsync(gateway, "validate", "--config", bad);
        Assert.Equal(2, refused.Code);
        Assert.Contains("max_body_bytes", refused.Error);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        if (!file.EndsWith("bash", StringComparison.Ordinal))
        {
            start.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
            start.Environment.Remove("DOTNET_ROOT");
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
