using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Gateway.Tests.Matrix;

/// <summary>Which real Matrix client library a harness run drives.</summary>
internal enum MatrixClientKind
{
    /// <summary>matrix-nio 0.20 (Debian python3-matrix-nio): /r0/ paths, token in <c>?access_token=</c>.</summary>
    Nio,

    /// <summary>matrix-js-sdk 36.2.0 (npm): /v3/ paths, token in <c>Authorization: Bearer</c> unless TokenStyle is query.</summary>
    JsSdk,
}

/// <summary>
/// How a client logs in and which room its steps act on. Give <see cref="Password"/> to log in with
/// m.login.password, or <see cref="Token"/> to use an existing access token. <see cref="TokenStyle"/>
/// ("header" or "query") only affects matrix-js-sdk; matrix-nio 0.20 always uses the query parameter.
/// </summary>
internal sealed record ClientLogin(string HomeserverUrl, string User, string? Password = null, string? Token = null, string? RoomId = null, string? TokenStyle = null);

/// <summary>The outcome of one client process: exit code, stdout split in lines, stderr, and whether it timed out.</summary>
internal sealed record ClientRun(int ExitCode, IReadOnlyList<string> StdoutLines, string Stderr, bool TimedOut)
{
    /// <summary>Every stdout line that is a JSON object (the scripts print nothing else there).</summary>
    public IReadOnlyList<JsonElement> Json => [.. StdoutLines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    /// <summary>The JSON lines of one step name ("send", "edit", "message", "login", …).</summary>
    public IReadOnlyList<JsonElement> Steps(string name) =>
        [.. Json.Where(j => j.TryGetProperty("step", out var s) && s.GetString() == name)];

    /// <summary>The <c>error</c> object of the failing step ({status, errcode, error}), if any.</summary>
    public JsonElement? Error => Json.Select(j => j.TryGetProperty("error", out var e) ? e : (JsonElement?)null).LastOrDefault(e => e is not null);

    /// <summary>The event ids printed by send/edit steps, in order.</summary>
    public IReadOnlyList<string> EventIds =>
        [.. Json.Where(j => j.TryGetProperty("step", out var s) && s.GetString() is "send" or "send-html" or "edit" or "edit-html"
                && j.TryGetProperty("event_id", out _))
            .Select(j => j.GetProperty("event_id").GetString()!)];

    /// <summary>Everything, for assertion messages.</summary>
    public override string ToString() =>
        $"exit {ExitCode}{(TimedOut ? " (timed out)" : "")}\n--- stdout\n{string.Join('\n', StdoutLines)}\n--- stderr\n{Stderr}";
}

/// <summary>
/// Runs the client scripts of tests/clients as processes: <c>nio_client.py</c> with the system interpreter
/// (/usr/bin/python3, which sees Debian's dist-packages; pyenv's python on PATH does not) and
/// <c>jssdk/client.mjs</c> with node. Steps are the scripts' words, e.g. <c>["send", "hello", "edit", "-", "hi"]</c>.
/// A client that cannot start is an exception, not a skipped test: run tests/clients/install.sh first.
/// </summary>
internal static class ClientHarness
{
    public const string SystemPython = "/usr/bin/python3";

    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <summary>The repository root (the directory holding Gateway.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ClientsDirectory => Path.Combine(RepoRoot, "tests", "clients");

    public static Task<ClientRun> RunAsync(MatrixClientKind kind, ClientLogin login, params string[] steps) =>
        RunAsync(kind, login, steps, DefaultTimeout);

    public static async Task<ClientRun> RunAsync(MatrixClientKind kind, ClientLogin login, IReadOnlyList<string> steps, TimeSpan timeout)
    {
        var args = new List<string> { "--homeserver", login.HomeserverUrl, "--user", login.User };
        if (login.Password is not null)
        {
            args.AddRange(["--password", login.Password]);
        }

        if (login.Token is not null)
        {
            args.AddRange(["--token", login.Token]);
        }

        if (login.RoomId is not null)
        {
            args.AddRange(["--room", login.RoomId]);
        }

        ProcessStartInfo psi;
        if (kind == MatrixClientKind.Nio)
        {
            psi = new ProcessStartInfo(SystemPython) { WorkingDirectory = ClientsDirectory };
            psi.ArgumentList.Add(Path.Combine(ClientsDirectory, "nio_client.py"));
            // Keep the interpreter to Debian's packages: no user site, no pyenv/virtualenv paths, no .pyc litter.
            psi.Environment["PYTHONNOUSERSITE"] = "1";
            psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
            psi.Environment.Remove("PYTHONPATH");
            psi.Environment.Remove("PYTHONHOME");
        }
        else
        {
            var dir = Path.Combine(ClientsDirectory, "jssdk");
            psi = new ProcessStartInfo(FindOnPath("node")) { WorkingDirectory = dir };
            psi.ArgumentList.Add(Path.Combine(dir, "client.mjs"));
            if (login.TokenStyle is not null)
            {
                args.AddRange(["--token-style", login.TokenStyle]);
            }
        }

        foreach (var a in args.Concat(steps))
        {
            psi.ArgumentList.Add(a);
        }

        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        psi.StandardOutputEncoding = Encoding.UTF8;
        psi.StandardErrorEncoding = Encoding.UTF8;
        // Loopback only: never let a proxy from the environment see the homeserver traffic.
        foreach (var proxy in new[] { "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" })
        {
            psi.Environment.Remove(proxy);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {psi.FileName}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var timedOut = false;
        using (var cts = new CancellationTokenSource(timeout))
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

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gateway.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Gateway.sln not found above " + AppContext.BaseDirectory);
    }

    private static string FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(dir, name);
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (var candidate in new[] { "/usr/bin/" + name, "/usr/local/bin/" + name })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"{name} is not installed: run tests/clients/install.sh");
    }
}
