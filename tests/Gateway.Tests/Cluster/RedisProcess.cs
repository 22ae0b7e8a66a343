using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.Tests.Cluster;

/// <summary>
/// A real Debian redis-server on a free loopback port in its own directory (no persistence unless asked for by SAVE).
/// Stop and Start again on the same port play "Redis killed" and "Redis back". Installed by tests/cluster/install.sh;
/// when it is missing the tests fail with that hint (they never skip).
/// </summary>
internal sealed class RedisProcess : IAsyncDisposable
{
    private Process? _process;

    private RedisProcess(int port, string dir)
    {
        Port = port;
        Directory = dir;
    }

    public int Port { get; }

    public string Directory { get; }

    public string Url => $"redis://127.0.0.1:{Port}";

    public static async Task<RedisProcess> StartAsync()
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("gw-redis-").FullName;
        var redis = new RedisProcess(FreePort(), dir);
        await redis.StartAsync_();
        return redis;
    }

    public static string Find(string name)
    {
        foreach (var d in new[] { "/usr/bin", "/usr/sbin", "/usr/local/bin" })
        {
            var p = Path.Combine(d, name);
            if (File.Exists(p))
            {
                return p;
            }
        }

        throw new InvalidOperationException($"{name} is not installed: run `bash tests/cluster/install.sh` (make test does)");
    }

    public async Task StartAsync_()
    {
        var psi = new ProcessStartInfo(Find("redis-server"),
            ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", Directory, "--dbfilename", "dump.rdb", "--protected-mode", "yes", "--loglevel", "warning"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        for (var i = 0; i < 200; i++)
        {
            if (await PingAsync())
            {
                return;
            }

            await Task.Delay(25);
        }

        throw new InvalidOperationException("redis-server did not answer PING");
    }

    /// <summary>Kills redis-server (SIGKILL: no goodbye to the clients, as a crash).</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            p.WaitForExit();
        }
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var n = await stream.ReadAsync(buffer);
            return Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Runs redis-cli against this server and returns its standard output.</summary>
    public async Task<string> CliAsync(params string[] args)
    {
        var psi = new ProcessStartInfo(Find("redis-cli"), ["-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return output;
    }

    /// <summary>Starts `redis-cli MONITOR`: every command the server runs, with its arguments, until disposed.</summary>
    public Process Monitor(StringBuilder into)
    {
        var psi = new ProcessStartInfo(Find("redis-cli"), ["-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "MONITOR"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (into)
                {
                    into.AppendLine(e.Data);
                }
            }
        };
        p.BeginOutputReadLine();
        return p;
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
