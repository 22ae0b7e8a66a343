using System.Diagnostics.Metrics;
using Gateway.Configuration;
using Gateway.Telemetry;
using StackExchange.Redis;

namespace Gateway.Cluster;

/// <summary>
/// The one connection to Redis (a multiplexer: one socket for commands, one for pub/sub) and whether it is usable.
/// Connecting never blocks a request: the multiplexer reconnects in the background, and <see cref="Up"/> says whether
/// to try. An outage is logged once when first noticed and once when over, and counted.
/// </summary>
internal sealed class RedisLink : IDisposable
{
    public const string FallbacksMetric = "gateway.cluster.fallbacks";
    public const string RedisUpMetric = "gateway.cluster.redis_up";

    private readonly ClusterSettings _settings;
    private readonly ILogger<RedisLink> _logger;
    private readonly Counter<long> _fallbacks;
    private ConnectionMultiplexer? _mux;
    private int _down;
    private long _fallbackTotal;
    private long _sharedTotal;

    public RedisLink(ClusterSettings settings, GatewayTelemetry telemetry, ILogger<RedisLink> logger)
    {
        _settings = settings;
        _logger = logger;
        _fallbacks = telemetry.Meter.CreateCounter<long>(FallbacksMetric, "{batch}",
            "Counter batches answered without Redis (down, over budget or failed), by reason.");
        telemetry.Meter.CreateObservableGauge(RedisUpMetric, () => Up ? 1 : 0, "{state}", "1 while the shared state (Redis) is connected.");
    }

    public ClusterSettings Settings => _settings;

    public bool Up => _mux is { IsConnected: true };

    public IDatabase Database => _mux!.GetDatabase(_settings.Database);

    public ISubscriber Subscriber => _mux!.GetSubscriber();

    public long Fallbacks => Interlocked.Read(ref _fallbackTotal);

    public long Shared => Interlocked.Read(ref _sharedTotal);

    /// <summary>
    /// Whether <paramref name="ex"/> is the Redis client failing rather than a bug of ours: a <see cref="RedisException"/>,
    /// but also what the client lets through when its connection dies under a command — an
    /// <see cref="InvalidOperationException"/> from the socket's pipe ("writing is not allowed after writer was
    /// completed": a soak that SIGKILLs Redis saw one reach the policy server), an <see cref="ObjectDisposedException"/>,
    /// I/O and socket errors, and a cancellation nobody here asked for.
    /// </summary>
    public static bool IsClientFault(Exception ex, CancellationToken callerToken = default) => ex switch
    {
        RedisException or InvalidOperationException or IOException or System.Net.Sockets.SocketException => true,
        OperationCanceledException => !callerToken.IsCancellationRequested,
        _ => false,
    };

    /// <summary>Raised (on a thread pool thread) when the connection comes back after an outage.</summary>
    public event Action? Restored;

    /// <summary>Connects, waiting at most the connect timeout; a Redis that is down now is retried in the background.</summary>
    public void Connect()
    {
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ConnectTimeout = 2000,
            SyncTimeout = 2000,
            AsyncTimeout = 2000,
            ConnectRetry = 1,
            KeepAlive = 5,
            ReconnectRetryPolicy = new LinearRetry(250),
            Ssl = _settings.Tls,
            SslHost = _settings.Tls ? _settings.Host : null,
            User = _settings.User,
            Password = _settings.Password is { } p ? System.Text.Encoding.UTF8.GetString(p.Value) : null,
            DefaultDatabase = _settings.Database,
            ClientName = "gateway-" + _settings.Instance,
        };
        options.EndPoints.Add(_settings.Host, _settings.Port);
        _mux = ConnectionMultiplexer.Connect(options);
        _mux.ConnectionFailed += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                MarkDown(e.FailureType.ToString());
            }
        };
        _mux.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                MarkUp();
            }
        };
        if (!_mux.IsConnected)
        {
            MarkDown("not reachable at start");
        }
    }

    /// <summary>A batch was answered without Redis: counted always, logged once per outage.</summary>
    public void CountFallback(string reason)
    {
        Interlocked.Increment(ref _fallbackTotal);
        _fallbacks.Add(1, new KeyValuePair<string, object?>("reason", reason));
        MarkDown(reason);
    }

    public void CountShared() => Interlocked.Increment(ref _sharedTotal);

    private void MarkDown(string reason)
    {
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            Log.SharedStateDown(_logger, _settings.Display, reason, _settings.OnSharedStateError);
        }
    }

    /// <summary>A batch got its answer from Redis: if an outage was logged, it is over.</summary>
    public void MarkUp()
    {
        if (Volatile.Read(ref _down) == 1 && Up && Interlocked.Exchange(ref _down, 0) == 1)
        {
            Log.SharedStateBack(_logger, _settings.Display);
            ThreadPool.QueueUserWorkItem(_ => Restored?.Invoke());
        }
    }

    public bool WasDown => Volatile.Read(ref _down) == 1;

    public void Dispose()
    {
        _mux?.Dispose();
        _mux = null;
    }
}
