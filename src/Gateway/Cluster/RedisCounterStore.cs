using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gateway.Configuration;
using Gateway.Policy.Protections;
using StackExchange.Redis;

namespace Gateway.Cluster;

/// <summary>
/// Protection counters shared by every instance through Redis: one script call per batch (a message's counters in
/// one round trip), sliding windows as sorted sets of event times, distinct members as sorted sets of member hashes,
/// first-seen as a string set once; every key expires with its window. Keys are HMACs of the policy's keys under the
/// cluster secret, values are times and numeric hashes: Redis never holds a sender id, a room or a word of text.
/// <para>
/// The in-process <see cref="LocalCounterStore"/> counts every batch too (under a microsecond), so when Redis is down
/// or slower than the budget this instance's own exact counts are ready (<c>on_shared_state_error = "local"</c>).
/// </para>
/// </summary>
internal sealed class RedisCounterStore : ICounterStore
{
    // ARGV: now, nonce, then per key: kind, window ms, cap, member. Times are the gateway's clock (its TimeProvider),
    // so windows mean the same whichever instance counts. "h" = hit, "d" = distinct, "f" = first seen, "p" = peek.
    internal const string Script = """
        local now = tonumber(ARGV[1])
        local nonce = ARGV[2]
        local out = {}
        for i = 1, #KEYS do
          local b = 2 + (i - 1) * 4
          local kind = ARGV[b + 1]
          local win = tonumber(ARGV[b + 2])
          local cap = tonumber(ARGV[b + 3])
          local k = KEYS[i]
          if kind == 'f' then
            redis.call('SET', k, now, 'NX', 'PX', win)
            out[i] = tonumber(redis.call('GET', k))
          elseif kind == 'p' then
            out[i] = redis.call('ZCOUNT', k, '(' .. (now - win), '+inf')
          else
            redis.call('ZREMRANGEBYSCORE', k, '-inf', now - win)
            local member = ARGV[b + 4]
            if kind == 'h' then member = nonce .. ':' .. i end
            redis.call('ZADD', k, now, member)
            local n = redis.call('ZCARD', k)
            if n > cap then
              redis.call('ZREMRANGEBYRANK', k, 0, n - cap - 1)
              n = cap
            end
            redis.call('PEXPIRE', k, win + 1000)
            out[i] = n
          end
        end
        return out
        """;

    /// <summary>First sightings are kept this long (a sender unseen for longer is new again: stricter, never looser).</summary>
    internal static readonly TimeSpan FirstSeenTtl = TimeSpan.FromDays(90);

    private static readonly long MaxWindowMs = (long)TimeSpan.FromDays(3650).TotalMilliseconds;

    private readonly RedisLink _link;
    private readonly LocalCounterStore _local;
    private readonly TimeProvider _time;
    private readonly ClusterSettings _settings;
    private readonly byte[] _keyKey;
    private readonly string _nonce;
    private long _sequence;

    public RedisCounterStore(RedisLink link, LocalCounterStore local, TimeProvider time)
    {
        _link = link;
        _local = local;
        _time = time;
        _settings = link.Settings;
        var secret = _settings.Secret?.Value ?? throw new InvalidOperationException("[cluster] needs secret_env or secret_file");
        _keyKey = HMACSHA256.HashData(secret, "gateway counter keys"u8);
        HashSeed = BinaryPrimitives.ReadInt64LittleEndian(HMACSHA256.HashData(secret, "gateway hash seed"u8));
        _nonce = _settings.Instance + "." + Convert.ToHexString(RandomNumberGenerator.GetBytes(4));
    }

    public int Count => _local.Count;

    public long Evictions => _local.Evictions;

    public long? HashSeed { get; }

    public async ValueTask ExecuteAsync(ReadOnlyMemory<CounterOp> ops, Memory<long> results, CancellationToken cancellationToken)
    {
        // The local shadow first: exact for this instance, and the answer whenever Redis cannot give one in time.
        _local.Execute(ops.Span, results.Span);
        if (ops.Length == 0)
        {
            return;
        }

        if (!_link.Up)
        {
            Fallback(ops.Span, results.Span, "down");
            return;
        }

        var (keys, args) = Build(ops.Span);
        Task<RedisResult> call;
        try
        {
            call = _link.Database.ScriptEvaluateAsync(Script, keys, args);
        }
        catch (Exception ex) when (RedisLink.IsClientFault(ex, cancellationToken))
        {
            Fallback(ops.Span, results.Span, "error");
            return;
        }

        try
        {
            var answer = await call.WaitAsync(_settings.Budget, _time, cancellationToken).ConfigureAwait(false);
            var values = (long[]?)answer;
            if (values is null || values.Length != ops.Length)
            {
                Fallback(ops.Span, results.Span, "error");
                return;
            }

            values.CopyTo(results.Span);
            _link.CountShared();
            _link.MarkUp();
        }
        catch (TimeoutException)
        {
            // Over budget: the script still runs on the server (the event is counted there too), but this message
            // does not wait for it.
            _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            Fallback(ops.Span, results.Span, "budget");
        }
        catch (Exception ex) when (RedisLink.IsClientFault(ex, cancellationToken))
        {
            // Redis failed, or its client did (its connection went away mid-call: a cancellation nobody asked for, a
            // completed pipe): not a reason to fail the message — count locally.
            Fallback(ops.Span, results.Span, "error");
        }
    }

    private (RedisKey[] Keys, RedisValue[] Args) Build(ReadOnlySpan<CounterOp> ops)
    {
        var keys = new RedisKey[ops.Length];
        var args = new RedisValue[2 + ops.Length * 4];
        args[0] = _time.GetUtcNow().ToUnixTimeMilliseconds();
        args[1] = _nonce + "." + Interlocked.Increment(ref _sequence).ToString(CultureInfo.InvariantCulture);
        for (var i = 0; i < ops.Length; i++)
        {
            var op = ops[i];
            keys[i] = KeyOf(op.Key);
            var b = 2 + i * 4;
            args[b] = op.Kind switch
            {
                CounterOpKind.Hit => "h",
                CounterOpKind.Distinct => "d",
                CounterOpKind.FirstSeen => "f",
                _ => "p",
            };
            args[b + 1] = op.Kind == CounterOpKind.FirstSeen
                ? (long)FirstSeenTtl.TotalMilliseconds
                : Math.Clamp((long)op.Window.TotalMilliseconds, 1, MaxWindowMs);
            args[b + 2] = Math.Max(1, op.Cap);
            args[b + 3] = op.Member.ToString(CultureInfo.InvariantCulture);
        }

        return (keys, args);
    }

    /// <summary>The Redis key of a policy key: prefix + "c:" + 128 bits of HMAC-SHA256 under a key derived from the cluster secret.</summary>
    internal string KeyOf(string key)
    {
        Span<byte> mac = stackalloc byte[32];
        var max = Encoding.UTF8.GetMaxByteCount(key.Length);
        var rented = max <= 512 ? null : System.Buffers.ArrayPool<byte>.Shared.Rent(max);
        Span<byte> bytes = rented ?? stackalloc byte[512];
        var n = Encoding.UTF8.GetBytes(key, bytes);
        HMACSHA256.HashData(_keyKey, bytes[..n], mac);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        return _settings.KeyPrefix + "c:" + Convert.ToHexStringLower(mac[..16]);
    }

    private void Fallback(ReadOnlySpan<CounterOp> ops, Span<long> results, string reason)
    {
        _link.CountFallback(reason);
        switch (_settings.OnSharedStateError)
        {
            case SharedStateFallback.FailOpen:
                // Nothing counts: no protection that counts can fire (a first sighting reads as long ago).
                results[..ops.Length].Clear();
                break;
            case SharedStateFallback.FailClosed:
                // Everything is over its limit, and every sender is new.
                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                for (var i = 0; i < ops.Length; i++)
                {
                    results[i] = ops[i].Kind == CounterOpKind.FirstSeen ? now : Math.Max(1, ops[i].Cap);
                }

                break;
        }
    }
}
