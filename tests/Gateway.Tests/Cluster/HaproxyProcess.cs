using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Gateway.Tests.Cluster;

/// <summary>
/// A real Debian HAProxy in front of the gateway instances: consistent hashing on the conversation key (here the
/// <c>room</c> query parameter, as deploy/haproxy.cfg does for the JSON protocol), active health checks on
/// /_gateway/health, and a retry on another instance only when the connection failed (the request never left
/// HAProxy), so a request is never delivered twice.
/// </summary>
internal sealed class HaproxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;
    private readonly StringBuilder _log = new();

    private HaproxyProcess(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<HaproxyProcess> StartAsync(IReadOnlyList<Uri> instances)
    {
        var dir = Directory.CreateTempSubdirectory("gw-haproxy-").FullName;
        var port = RedisProcess.FreePort();
        var servers = new StringBuilder();
        for (var i = 0; i < instances.Count; i++)
        {
            servers.Append(CultureInfo.InvariantCulture, $"  server gw{i + 1} 127.0.0.1:{instances[i].Port} check\n");
        }

        var cfg = $"""
            global
              maxconn 2000

            defaults
              mode http
              timeout connect 1s
              timeout client 30s
              timeout server 30s
              retries 3
              option redispatch 1
              retry-on conn-failure
              option http-buffer-request

            frontend gateway
              bind 127.0.0.1:{port}
              default_backend gateways

            backend gateways
              balance url_param room
              hash-type consistent
              option httpchk GET /_gateway/health
              http-check expect status 200
              default-server inter 200ms fall 2 rise 2
            {servers}
            """;
        var path = Path.Combine(dir, "haproxy.cfg");
        await File.WriteAllTextAsync(path, cfg);
        var psi = new ProcessStartInfo(RedisProcess.Find("haproxy"), ["-db", "-f", path])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(psi)!;
        var h = new HaproxyProcess(process, dir, port);
        process.OutputDataReceived += (_, e) => h.Append(e.Data);
        process.ErrorDataReceived += (_, e) => h.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var client = new HttpClient();
        for (var i = 0; i < 200; i++)
        {
            try
            {
                if ((await client.GetAsync(h.Url + "/_gateway/health")).IsSuccessStatusCode)
                {
                    return h;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (process.HasExited)
            {
                throw new InvalidOperationException("haproxy exited: " + h.Log);
            }

            await Task.Delay(25);
        }

        throw new InvalidOperationException("haproxy did not come up: " + h.Log);
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
