using System.Diagnostics;
using Gateway.Tests.Configuration;

namespace Gateway.Tests.Operations;

/// <summary>
/// The install scripts `make test` runs must wait for another apt process instead of failing at once (issue 9,
/// defect 17). A fake apt-get on PATH plays the lock holder: it fails with apt's lock message twice, then succeeds.
/// </summary>
public sealed class InstallScriptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-apt-").FullName;

    [Fact]
    public void AptGet_LockHeldByAnotherProcess_WaitsAndSucceeds()
    {
        var (exit, calls, stderr) = Run(lockedAttempts: 2);

        Assert.Equal(0, exit);
        Assert.Equal(3, calls.Length);
        Assert.All(calls, c => Assert.Contains("DPkg::Lock::Timeout=", c, StringComparison.Ordinal));
        Assert.Contains("waiting", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void AptGet_OtherFailure_FailsAtOnceWithApt_sMessage()
    {
        var (exit, calls, stderr) = Run(lockedAttempts: 0, failure: "E: Unable to locate package nosuchpackage");

        Assert.NotEqual(0, exit);
        Assert.Single(calls);
        Assert.Contains("Unable to locate package", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void InstallScripts_UseTheWaitingAptGet()
    {
        var root = ConfigLoaderTests.RepoRoot();
        foreach (var script in new[] { "tests/clients/install.sh", "tests/browser/install.sh", "Makefile" })
        {
            var text = File.ReadAllText(Path.Combine(root, script));
            Assert.Contains("lib/apt.sh", text, StringComparison.Ordinal);
            Assert.DoesNotContain("\tapt-get install", text.Replace("  ", "\t", StringComparison.Ordinal), StringComparison.Ordinal);
        }
    }

    private (int Exit, string[] Calls, string Stderr) Run(int lockedAttempts, string? failure = null)
    {
        var bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        var log = Path.Combine(_dir, "calls.log");
        var counter = Path.Combine(_dir, "count");
        File.WriteAllText(counter, "0");
        var fail = failure is null ? "exit 0" : $"echo '{failure}' >&2; exit 100";
        File.WriteAllText(Path.Combine(bin, "apt-get"), $$"""
            #!/usr/bin/env bash
            echo "$*" >> '{{log}}'
            n=$(cat '{{counter}}'); echo $((n + 1)) > '{{counter}}'
            if [ "$n" -lt {{lockedAttempts}} ]; then
              echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
              exit 100
            fi
            {{fail}}
            """);
        File.WriteAllText(Path.Combine(bin, "sudo"), "#!/usr/bin/env bash\nexec \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(bin, "apt-get"), (UnixFileMode)0b111_101_101);
            File.SetUnixFileMode(Path.Combine(bin, "sudo"), (UnixFileMode)0b111_101_101);
        }

        var apt = Path.Combine(ConfigLoaderTests.RepoRoot(), "tests", "lib", "apt.sh");
        var psi = new ProcessStartInfo("/bin/bash", ["-c", $". '{apt}' && apt_get install -y -qq somepackage"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        psi.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        psi.Environment["APT_RETRY_SECONDS"] = "0";
        psi.Environment["APT_LOCK_WAIT"] = "60";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), "apt.sh did not finish");
        var calls = File.Exists(log) ? File.ReadAllLines(log) : Array.Empty<string>();
        return (p.ExitCode, calls, stderr.Result);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
