using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Tests.Configuration;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Operations;

/// <summary>
/// Issue 17 #3: DM context in RAM that the gateway's own (non-root) user cannot read out of the process. The real
/// built gateway runs as a separate process (as <c>nobody</c> when the tests run as root, else as the test's user);
/// a DM passes through it; then, as that same user, the test tries what a curious admin would: read
/// <c>/proc/&lt;pid&gt;/mem</c> looking for the DM text, <c>gcore</c>, the .NET diagnostics socket, and a crash
/// with core files allowed by the limit. The control run with <c>--allow-diagnostics</c> shows each attempt can succeed — the
/// DM text is found in memory — so the hardened run's refusals are the hardening's doing.
/// </summary>
public sealed class ProcessHardeningTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gateway-harden-" + Guid.NewGuid().ToString("N"));
    private RecordingBackend? _backend;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        // The unprivileged user needs to read the config and write its core files here.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_dir, (UnixFileMode)0x1FF);
        }
        _backend = await RecordingBackend.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private static bool IsRoot => Environment.UserName == "root";

    [Fact]
    public async Task Hardened_SameUserCannotReadMemoryAttachOrDump_AndTheControlRunShowsTheyWouldHaveWorked()
    {
        Assert.True(OperatingSystem.IsLinux(), "the hardening is Linux's prctl/rlimit");
        Assert.True(File.Exists("/usr/bin/gcore"), "gcore is missing: tests/lib/ops-tools.sh installs Debian's gdb");
        var marker = "dm-secret-" + Guid.NewGuid().ToString("N");

        // Control: the operator's switch leaves everything on, and the same attempts get the DM text.
        await using (var open = await StartAsync(allowDiagnostics: true))
        {
            await SendDmAsync(open.Port, marker);
            Assert.Contains("Process hardening: OFF", await open.WaitForLogAsync("Process hardening"));
            Assert.True(DiagnosticsSockets(open.Pid).Length > 0, "control: the .NET diagnostics socket should exist with --allow-diagnostics");
            var scan = await AsGatewayUserAsync("/usr/bin/python3", "-c", MemoryScanner, open.Pid.ToString(), marker);
            Assert.True(scan.Output.Contains("FOUND", StringComparison.Ordinal), "control: the memory scan should find the DM text: " + scan.Output + scan.Error);
        }

        await using var gw = await StartAsync(allowDiagnostics: false);
        await SendDmAsync(gw.Port, marker);
        var status = await gw.WaitForLogAsync("Process hardening");
        Assert.Contains("diagnostics port off, ptrace/proc-mem off, core files off", status);

        // 1. /proc/<pid>/mem: not even opened.
        var hardenedScan = await AsGatewayUserAsync("/usr/bin/python3", "-c", MemoryScanner, gw.Pid.ToString(), marker);
        Assert.DoesNotContain("FOUND", hardenedScan.Output);
        Assert.Contains("PermissionError", hardenedScan.Output + hardenedScan.Error);

        // 2. gcore (gdb's ptrace attach): refused, no core file written.
        var corePath = Path.Combine(_dir, "gcore-out");
        var gcore = await AsGatewayUserAsync("gcore", "-o", corePath, gw.Pid.ToString());
        Assert.NotEqual(0, gcore.Code);
        Assert.Empty(Directory.GetFiles(_dir, "gcore-out*"));

        // 3. The diagnostics socket dotnet-dump/dotnet-trace connect to: absent (the runtime started with it off).
        Assert.Empty(DiagnosticsSockets(gw.Pid));
        var environ = (await File.ReadAllTextAsync($"/proc/{gw.Pid}/environ")).Split('\0');
        Assert.Contains("DOTNET_EnableDiagnostics=0", environ);
        // The same re-exec limits glibc to two malloc arenas (the soak's RSS check; NativeMemoryTrimmer).
        Assert.Contains("MALLOC_ARENA_MAX=2", environ);

        // 4. Core files: started with an unlimited core size, the gateway set its own to 0; and a process that is not
        // dumpable gets no core file from the kernel whatever the limit (the control run's /proc/mem read shows the
        // same setting is what refused step 1). An external SIGABRT is not used: the runtime's handler makes it slow.
        var limits = await File.ReadAllTextAsync($"/proc/{gw.Pid}/limits");
        Assert.Matches(@"Max core file size\s+0\s+0", limits);
        Assert.Empty(Directory.GetFiles(_dir, "core*"));
    }

    /// <summary>Reads every readable mapping of the process through /proc/pid/mem and looks for the text (UTF-8 and UTF-16).</summary>
    private const string MemoryScanner = """
        import sys, re
        pid, marker = sys.argv[1], sys.argv[2]
        needles = [marker.encode(), marker.encode('utf-16-le')]
        with open(f'/proc/{pid}/maps') as maps, open(f'/proc/{pid}/mem', 'rb', 0) as mem:
            for line in maps:
                m = re.match(r'([0-9a-f]+)-([0-9a-f]+) (\S+)', line)
                if not m or m.group(3)[0] != 'r' or '[vvar]' in line:
                    continue
                start, end = int(m.group(1), 16), int(m.group(2), 16)
                if end - start > 1 << 30:
                    continue
                try:
                    mem.seek(start)
                    chunk = mem.read(end - start)
                except (OSError, ValueError, OverflowError):
                    continue
                if any(n in chunk for n in needles):
                    print('FOUND')
                    sys.exit(0)
        print('not found')
        """;

    private static string[] DiagnosticsSockets(int pid) =>
        Directory.GetFiles(Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } t ? t : "/tmp", $"dotnet-diagnostic-{pid}-*-socket");

    private static async Task SendDmAsync(int port, string marker)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var body = $$"""{"text":"meet me at {{marker}}","sender":"alice","direct":true,"recipient":"bob"}""";
        var response = await client.PostAsync("/api/messages", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private async Task<GatewayProcess> StartAsync(bool allowDiagnostics)
    {
        var port = FreePort();
        var config = Path.Combine(_dir, $"gateway-{port}.toml");
        await File.WriteAllTextAsync(config, $$"""
            [server]
            listen = ["http://127.0.0.1:{{port}}"]
            watch_config = false

            [[backends]]
            name = "chat"
            protocol = "json"
            upstreams = ["{{_backend!.Url}}"]
              [[backends.routes]]
              path = "/api/messages"
                [backends.routes.json]
                body = "/text"
                sender = "/sender"
                direct = "/direct"
                recipient = "/recipient"
            """);
        var dll = Path.Combine(ConfigLoaderTests.RepoRoot(), "src", "Gateway", "bin", "Release", "net10.0", "gateway.dll");
        Assert.True(File.Exists(dll), $"build the gateway first: {dll}");
        var args = new List<string> { "dotnet", dll, "serve", "--config", config };
        if (allowDiagnostics)
        {
            args.Add("--allow-diagnostics");
        }

        // Core files allowed by the limit, so only the gateway's own setting can stop them.
        var start = Command(["prlimit", "--core=unlimited", "--", .. AsGatewayUser(args)]);
        start.WorkingDirectory = _dir;
        var process = Process.Start(start)!;
        var gw = new GatewayProcess(process, port);
        await gw.WaitForLogAsync("Gateway listening");
        return gw;
    }

    private static IEnumerable<string> AsGatewayUser(IEnumerable<string> command) =>
        IsRoot ? ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", .. command] : command;

    private static async Task<(int Code, string Output, string Error)> AsGatewayUserAsync(params string[] command)
    {
        using var process = Process.Start(Command(AsGatewayUser(command)))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    private static ProcessStartInfo Command(IEnumerable<string> command)
    {
        var list = command.ToList();
        var start = new ProcessStartInfo(list[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in list.Skip(1))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["HOME"] = Path.GetTempPath();
        start.Environment.Remove("DOTNET_EnableDiagnostics");
        return start;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class GatewayProcess : IAsyncDisposable
    {
        private readonly Process _launcher;
        private readonly StringBuilder _log = new();

        public GatewayProcess(Process launcher, int port)
        {
            _launcher = launcher;
            Port = port;
            launcher.OutputDataReceived += (_, e) => Append(e.Data);
            launcher.ErrorDataReceived += (_, e) => Append(e.Data);
            launcher.BeginOutputReadLine();
            launcher.BeginErrorReadLine();
        }

        public int Port { get; }

        /// <summary>The dotnet process itself (prlimit and setpriv exec into it, so it keeps the launcher's pid).</summary>
        public int Pid => _launcher.Id;

        private void Append(string? line)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }

        public async Task<string> WaitForLogAsync(string text)
        {
            for (var i = 0; i < 600; i++)
            {
                lock (_log)
                {
                    var all = _log.ToString();
                    var at = all.IndexOf(text, StringComparison.Ordinal);
                    if (at >= 0)
                    {
                        var end = all.IndexOf('\n', at);
                        return end < 0 ? all[at..] : all[at..end];
                    }
                }

                Assert.False(_launcher.HasExited, "the gateway exited:\n" + _log);
                await Task.Delay(50);
            }

            throw new Xunit.Sdk.XunitException($"no \"{text}\" in the gateway's log within 30 s:\n{_log}");
        }

        public async ValueTask DisposeAsync()
        {
            if (!_launcher.HasExited)
            {
                _launcher.Kill(entireProcessTree: true);
                await _launcher.WaitForExitAsync();
            }

            _launcher.Dispose();
        }
    }
}
