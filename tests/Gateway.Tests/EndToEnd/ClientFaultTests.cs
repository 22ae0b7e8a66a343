using System.Diagnostics.Metrics;
using System.Net.Sockets;
using System.Text;
using Gateway.Telemetry;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// Issue 9, defect 11: a client that sends a broken or unfinished body is the client's fault. The gateway answers
/// 4xx while it still can, logs one Debug line without a stack trace, counts it, and never logs Error.
/// Raw sockets, because no well-behaved HTTP client sends these bytes.
/// </summary>
public sealed class ClientFaultTests
{
    private const string InspectedPath = "/api/messages";
    private const string PassthroughPath = "/plain/upload";

    [Theory]
    [InlineData(InspectedPath)]
    [InlineData(PassthroughPath)]
    public async Task ChunkSizeOverflow_Answers400_OneDebugLine_Counted(string path)
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(JsonRouteTests.Config(backend.Url));
        using var faults = new FaultCounter(gw.Service<GatewayTelemetry>());

        var status = await RawAsync(gw, $"POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "FFFFFFFFFFFFFFFFFF\r\n{\"msg\":{\"text\":\"hi\"}}\r\n0\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400", status);
        await faults.WaitAsync("bad_request");
        AssertQuiet(gw, expectedFaultLines: 1);
    }

    [Theory]
    [InlineData(InspectedPath)]
    [InlineData(PassthroughPath)]
    public async Task DisconnectMidBody_NoErrorLog_Counted(string path)
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(JsonRouteTests.Config(backend.Url));
        using var faults = new FaultCounter(gw.Service<GatewayTelemetry>());

        var uri = new Uri(gw.App.Urls.First());
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(uri.Host, uri.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"msg\":{{\"text\":\"hel"));
            await stream.FlushAsync();
            await Task.Delay(200);
            tcp.Client.LingerState = new LingerOption(true, 0); // a reset, like a phone losing its network
        }

        await faults.WaitAsync("aborted");
        AssertQuiet(gw, expectedFaultLines: 1);
    }

    [Theory]
    [InlineData(InspectedPath)]
    [InlineData(PassthroughPath)]
    public async Task SlowBody_BelowMinimumDataRate_Answers408_Counted(string path)
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(JsonRouteTests.Config(backend.Url), configure: b =>
            b.WebHost.ConfigureKestrel(k => k.Limits.MinRequestBodyDataRate = new MinDataRate(100, TimeSpan.FromSeconds(2))));
        using var faults = new FaultCounter(gw.Service<GatewayTelemetry>());

        var uri = new Uri(gw.App.Urls.First());
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"));
        var response = ReadStatusLineAsync(stream, TimeSpan.FromSeconds(20));
        for (var i = 0; i < 40 && !response.IsCompleted; i++)
        {
            try
            {
                await stream.WriteAsync(" "u8.ToArray());
            }
            catch (IOException)
            {
                break;
            }

            await Task.WhenAny(response, Task.Delay(400));
        }

        Assert.StartsWith("HTTP/1.1 408", await response);
        await faults.WaitAsync("timeout");
        AssertQuiet(gw, expectedFaultLines: 1);
    }

    /// <summary>No Error/Critical line, no stack trace above Debug, and exactly the expected number of client-fault lines.</summary>
    private static void AssertQuiet(GatewayHost gw, int expectedFaultLines)
    {
        // The fault is counted before its answer is written and logged after it: give the log line time to land.
        for (var i = 0; i < 100 && gw.Logs.Lines.Count(l => l.Contains("[2005]", StringComparison.Ordinal)) < expectedFaultLines; i++)
        {
            Thread.Sleep(20);
        }

        var lines = gw.Logs.Lines.ToArray();
        var all = string.Join("\n", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => !l.StartsWith("Debug ", StringComparison.Ordinal) && !l.StartsWith("Trace ", StringComparison.Ordinal)
            && l.Contains("\n   at ", StringComparison.Ordinal));
        var faultLines = lines.Where(l => l.Contains("[2005]", StringComparison.Ordinal)).ToArray();
        Assert.True(faultLines.Length == expectedFaultLines, all);
        Assert.All(faultLines, l =>
        {
            Assert.StartsWith("Debug ", l);
            Assert.DoesNotContain("   at ", l);
        });
    }

    private static async Task<string> RawAsync(GatewayHost gw, string request)
    {
        var uri = new Uri(gw.App.Urls.First());
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        return await ReadStatusLineAsync(stream, TimeSpan.FromSeconds(10));
    }

    private static async Task<string> ReadStatusLineAsync(NetworkStream stream, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var got = new List<byte>();
        var buffer = new byte[1024];
        try
        {
            while (!got.Contains((byte)'\n'))
            {
                var n = await stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    break;
                }

                got.AddRange(buffer.AsSpan(0, n).ToArray());
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
        }

        var text = Encoding.ASCII.GetString(got.ToArray());
        var end = text.IndexOf('\r', StringComparison.Ordinal);
        return end < 0 ? text : text[..end];
    }

    /// <summary>Listens to gateway.client.faults on this gateway's own meter (other tests' gateways run in parallel).</summary>
    private sealed class FaultCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _byReason = new();

        public FaultCounter(GatewayTelemetry telemetry)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, telemetry.Meter) && instrument.Name == "gateway.client.faults")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var t in tags)
                {
                    if (t.Key == "reason")
                    {
                        _byReason.AddOrUpdate((string)t.Value!, value, (_, v) => v + value);
                    }
                }
            });
            _listener.Start();
        }

        public async Task WaitAsync(string reason)
        {
            for (var i = 0; i < 100 && !_byReason.ContainsKey(reason); i++)
            {
                await Task.Delay(50);
            }

            Assert.True(_byReason.TryGetValue(reason, out var n) && n == 1,
                $"gateway.client.faults{{reason={reason}}} = {n}; seen: {string.Join(", ", _byReason)}");
        }

        public void Dispose() => _listener.Dispose();
    }
}
