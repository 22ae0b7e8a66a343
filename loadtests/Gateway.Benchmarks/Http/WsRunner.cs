using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;

namespace Gateway.Benchmarks.Http;

/// <summary>
/// The relay load (issue 10, part 4): N WebSocket connections, each sending a JSON chat frame and waiting for its
/// echo, straight to the backend's echo server and through the gateway's relay (inspected route, policy with a few
/// hundred keywords), in alternating rounds of one run. Prints frames/s for both and the ratio (goal ≥ 0.7).
/// </summary>
internal static class WsRunner
{
    public static async Task<int> RunAsync(string raw, string repo, int connections, double seconds, int rounds)
    {
        Directory.CreateDirectory(raw);
        var backendPort = Proc.FreePort();
        var gatewayPort = Proc.FreePort();
        var config = Path.Combine(Path.GetFullPath(raw), "gateway-ws.toml");
        var words = string.Join(", ", Enumerable.Range(0, 300).Select(i => $"\"badword{i}\""));
        await File.WriteAllTextAsync(config, $$"""
            [server]
            listen = ["http://127.0.0.1:{{gatewayPort}}"]
            watch_config = false

            [[backends]]
            name = "chat"
            protocol = "json"
            upstreams = ["http://127.0.0.1:{{backendPort}}"]

              [[backends.routes]]
              path = "/ws"
              transport = "websocket"
                [backends.routes.json]
                body = "/text"
                sender = "/from"
                room = "/room"
                match = { "/type" = "message" }

              [[backends.routes]]
              path = "/tunnel"
              inspect = false

            [[filters]]
            name = "bench"
            keywords = [{{words}}]
            """);
        var env = new Dictionary<string, string> { ["DOTNET_NOLOGO"] = "1", ["ASPNETCORE_ENVIRONMENT"] = "Production" };
        using var backend = Proc.Start(null, "dotnet", [Path.Combine(repo, "loadtests/Backend/bin/Release/net10.0/bench-backend.dll"),
            $"http://127.0.0.1:{backendPort}"], Path.Combine(raw, "ws-backend.log"), env);
        using var gateway = Proc.Start(null, "dotnet", [Path.Combine(repo, "src/Gateway/bin/Release/net10.0/gateway.dll"), "serve", "--config", config],
            Path.Combine(raw, "ws-gateway.log"), env);
        await Proc.WaitForPortAsync(backendPort, TimeSpan.FromSeconds(60), backend);
        await Proc.WaitForPortAsync(gatewayPort, TimeSpan.FromSeconds(60), gateway);

        var direct = new Uri($"ws://127.0.0.1:{backendPort}/ws");
        var relayed = new Uri($"ws://127.0.0.1:{gatewayPort}/ws");
        var tunnelled = new Uri($"ws://127.0.0.1:{gatewayPort}/tunnel");
        Console.WriteLine($"WebSocket relay load: {connections} connections, {seconds} s per round, {rounds} rounds each, echo of a ~120-byte JSON frame");
        var cpu = new CpuClock(backend.Pid, gateway.Pid);
        _ = await MeasureAsync(direct, connections, 1, cpu); // warm-up: JIT, connection pools
        _ = await MeasureAsync(relayed, connections, 1, cpu);
        _ = await MeasureAsync(tunnelled, connections, 1, cpu);
        var directRates = new List<double>();
        var relayRates = new List<double>();
        var tunnelRates = new List<double>();
        var costs = new Dictionary<string, List<CpuCost>> { ["direct"] = new(), ["relay"] = new(), ["tunnel"] = new() };
        for (var r = 0; r < rounds; r++)
        {
            foreach (var (name, uri, rates) in new[] { ("direct", direct, directRates), ("relay", relayed, relayRates), ("tunnel", tunnelled, tunnelRates) })
            {
                var (rate, cost) = await MeasureAsync(uri, connections, seconds, cpu);
                rates.Add(rate);
                costs[name].Add(cost);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {r + 1}: direct {directRates[^1],8:F0}   relay {relayRates[^1],8:F0}   YARP tunnel {tunnelRates[^1],8:F0} frames/s"));
        }

        // CPU per frame of each process (utime+stime from /proc over the timed window, all rounds): with the client,
        // the gateway and the backend on the same cores, the gateway's share is what a hop costs.
        foreach (var (name, list) in costs)
        {
            var frames = list.Sum(c => c.Frames);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  cpu µs/frame {name,-6}: client {list.Sum(c => c.Client) / frames * 1e6,6:F1}   gateway {list.Sum(c => c.Gateway) / frames * 1e6,6:F1}   backend {list.Sum(c => c.Backend) / frames * 1e6,6:F1}   machine busy {list.Average(c => c.MachineBusy) * 100,5:F1}%"));
        }

        var d = Median(directRates);
        var g = Median(relayRates);
        var t = Median(tunnelRates);
        var ratio = g / d;
        // The tunnel (the same gateway, an uninspected route: YARP copying bytes) separates the cost of one more
        // process hop on a small machine from the cost of the relay itself.
        var line = string.Create(CultureInfo.InvariantCulture,
            $"websocket frames/s (median): direct {d:F0}, relay {g:F0}, YARP tunnel {t:F0}; relay/direct {ratio:F2} (goal >= 0.70: {(ratio >= 0.7 ? "met" : "NOT met")}), relay/tunnel {g / t:F2}");
        Console.WriteLine(line);
        await File.WriteAllTextAsync(Path.Combine(raw, "ws-result.txt"), line + Environment.NewLine);
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Frames per second counted both ways (each echo is one frame up, one down), and the CPU they took.</summary>
    private static async Task<(double Rate, CpuCost Cost)> MeasureAsync(Uri uri, int connections, double seconds, CpuClock cpu)
    {
        var sockets = new ClientWebSocket[connections];
        for (var i = 0; i < connections; i++)
        {
            sockets[i] = new ClientWebSocket();
            await sockets[i].ConnectAsync(uri, CancellationToken.None);
        }

        using var stop = new CancellationTokenSource();
        long echoes = 0;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loops = sockets.Select((s, i) => Task.Run(async () =>
        {
            var frame = Encoding.UTF8.GetBytes($"{{\"type\":\"message\",\"from\":\"user{i}\",\"room\":\"lobby\",\"text\":\"hello everyone, this is a perfectly ordinary chat line {i}\"}}");
            var buffer = new byte[4096];
            await start.Task;
            while (!stop.IsCancellationRequested)
            {
                await s.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
                ValueWebSocketReceiveResult r;
                do
                {
                    r = await s.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                }
                while (!r.EndOfMessage);

                Interlocked.Increment(ref echoes);
            }
        })).ToArray();
        var before = cpu.Read();
        var clock = Stopwatch.StartNew();
        start.SetResult();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        var counted = Interlocked.Read(ref echoes);
        var elapsed = clock.Elapsed.TotalSeconds;
        var after = cpu.Read();
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        foreach (var s in sockets)
        {
            await s.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            s.Dispose();
        }

        var busy = (after.MachineBusy - before.MachineBusy) / Math.Max(1e-9, after.MachineTotal - before.MachineTotal);
        return (counted * 2 / elapsed, new CpuCost(counted * 2, after.Client - before.Client, after.Gateway - before.Gateway, after.Backend - before.Backend, busy));
    }
}

/// <summary>CPU seconds of the three processes over one timed window; MachineBusy is the share of all cores in use.</summary>
internal readonly record struct CpuCost(long Frames, double Client, double Gateway, double Backend, double MachineBusy);

/// <summary>Reads process CPU time (utime+stime, all threads) from /proc, and the machine's busy/total jiffies.</summary>
internal sealed class CpuClock(int backendPid, int gatewayPid)
{
    public (double Client, double Gateway, double Backend, double MachineBusy, double MachineTotal) Read()
    {
        var (busy, total) = Machine();
        return (Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, ProcessSeconds(gatewayPid), ProcessSeconds(backendPid), busy, total);
    }

    private static double ProcessSeconds(int pid)
    {
        try
        {
            // Fields after the command (which may hold spaces) start at state: utime and stime are the 12th and 13th.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    private static (double Busy, double Total) Machine()
    {
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..].Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var idle = cpu[3] + cpu[4];
        var total = cpu.Take(8).Sum();
        return (total - idle, total);
    }
}
