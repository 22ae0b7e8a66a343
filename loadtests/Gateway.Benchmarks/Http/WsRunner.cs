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
        _ = await MeasureAsync(direct, connections, 1); // warm-up: JIT, connection pools
        _ = await MeasureAsync(relayed, connections, 1);
        var directRates = new List<double>();
        var relayRates = new List<double>();
        var tunnelRates = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            directRates.Add(await MeasureAsync(direct, connections, seconds));
            relayRates.Add(await MeasureAsync(relayed, connections, seconds));
            tunnelRates.Add(await MeasureAsync(tunnelled, connections, seconds));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {r + 1}: direct {directRates[^1],8:F0}   relay {relayRates[^1],8:F0}   YARP tunnel {tunnelRates[^1],8:F0} frames/s"));
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

    /// <summary>Frames per second counted both ways (each echo is one frame up, one down).</summary>
    private static async Task<double> MeasureAsync(Uri uri, int connections, double seconds)
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
        var clock = Stopwatch.StartNew();
        start.SetResult();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        var counted = Interlocked.Read(ref echoes);
        var elapsed = clock.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        foreach (var s in sockets)
        {
            await s.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            s.Dispose();
        }

        return counted * 2 / elapsed;
    }
}
