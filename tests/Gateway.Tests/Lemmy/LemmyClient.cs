using System.Diagnostics;
using System.Text;
using Gateway.Tests.Matrix;

namespace Gateway.Tests.Lemmy;

/// <summary>
/// Runs tests/clients/lemmyjs/client.mjs (lemmy-js-client 0.19.9, installed by tests/clients/install.sh) against an
/// API base URL. Steps are the script's words, e.g. <c>["login", "comment", "100", "hello"]</c>; the output lines
/// are read with <see cref="ClientRun"/>.
/// </summary>
internal static class LemmyClient
{
    public static async Task<ClientRun> RunAsync(string api, string user, string password, string auth, params string[] steps)
    {
        var dir = Path.Combine(ClientHarness.ClientsDirectory, "lemmyjs");
        var psi = new ProcessStartInfo(File.Exists("/usr/bin/node") ? "/usr/bin/node" : "node")
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in new[] { Path.Combine(dir, "client.mjs"), "--api", api, "--user", user, "--password", password, "--auth", auth }.Concat(steps))
        {
            psi.ArgumentList.Add(a);
        }

        // Loopback only: never let a proxy from the environment see the traffic.
        foreach (var proxy in new[] { "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" })
        {
            psi.Environment.Remove(proxy);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start node: run tests/clients/install.sh");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var timedOut = false;
        using (var cts = new CancellationTokenSource(ClientHarness.DefaultTimeout))
        {
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = true;
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new ClientRun(timedOut ? -1 : process.ExitCode, lines, await stderr, timedOut);
    }
}
