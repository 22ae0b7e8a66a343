using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

/// <summary>
/// One protocol under load: its part of gateway.toml, the fake upstream it runs (which the chaos can stop), and one
/// client request per call. Each request carries an id in its text (<c>id123</c>) so the upstream can count it.
/// </summary>
internal interface ILoad
{
    /// <summary>The conservation rows this load fills (a protocol may have two: Matrix client-server and federation).</summary>
    IReadOnlyList<string> Rows { get; }

    /// <summary>The fake upstream, started and stopped by the rig.</summary>
    FakeUpstream Upstream { get; }

    /// <summary>The <c>[[backends]]</c> block (and any top-level tables) for this protocol.</summary>
    string Config();

    /// <summary>Sends one message of <paramref name="kind"/> and says how it ended (<see cref="Outcomes"/>).</summary>
    Task<(string Row, string Kind, string Outcome)> SendAsync(long id, Random random, CancellationToken ct);

    /// <summary>
    /// Which row message <paramref name="id"/> goes to (a protocol with several faces splits its messages by id), so
    /// a message that fails before the load answers (the gateway's port closed) is counted under the right row.
    /// </summary>
    string RowFor(long id) => Rows[0];

    /// <summary>Called once before load starts (log in, open sessions).</summary>
    Task PrepareAsync() => Task.CompletedTask;
}

/// <summary>The outcome names every load uses.</summary>
internal static class Outcomes
{
    public const string Delivered = "delivered";   // the upstream accepted it (its own answer reached the client)
    public const string Dropped = "dropped";       // the gateway's plausible success; the upstream never saw it
    public const string Rejected = "rejected";     // the gateway's protocol-shaped refusal with the notice
    public const string Refused = "refused";       // the gateway could not reach the upstream (502/503/504, a WebSocket it could not open)
    public const string RefusedReported = "refused_after_verdict"; // refused as above, after a drop/reject verdict the gateway reported (a BareRTC poll still goes upstream)
    public const string Lost = "lost";             // the connection died with the request in flight (a killed gateway or upstream)
    public const string Other = "other";           // anything else: a failure of the check

    /// <summary>Answers that fit no outcome, as "row: status body" (the first 20), printed at the end to explain an "other".</summary>
    public static readonly ConcurrentQueue<string> OtherSamples = new();

    /// <summary>Records an answer that fits no outcome and says <see cref="Other"/>.</summary>
    public static string Unexpected(string row, int status, string? answer)
    {
        if (OtherSamples.Count < 20)
        {
            OtherSamples.Enqueue($"{row}: {status} {(answer is { Length: > 300 } ? answer[..300] : answer)}");
        }

        return Other;
    }

    /// <summary>What kind of message a random draw is: 70 % clean, 15 % censored, 10 % dropped, 5 % rejected.</summary>
    public static string Kind(Random random) => random.Next(100) switch { < 70 => "clean", < 85 => "censor", < 95 => "drop", _ => "reject" };
}

/// <summary>What one upstream saw for one row: bodies, ids (duplicates), censored texts, and leaks.</summary>
internal sealed partial class Tally
{
    private long _requests;
    private long _censored;
    private long _leaks;
    private long _duplicates;

    public ConcurrentDictionary<long, bool> Ids { get; } = new();

    public ConcurrentQueue<string> LeakSamples { get; } = new();

    public long Requests => Interlocked.Read(ref _requests);

    public long Censored => Interlocked.Read(ref _censored);

    public long Leaks => Interlocked.Read(ref _leaks);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Counts one text as it arrived upstream; <paramref name="inspected"/> false for signed texts the gateway passes as they are.</summary>
    public void Saw(string? text, bool inspected = true)
    {
        Interlocked.Increment(ref _requests);
        text ??= "";
        var m = IdPattern().Match(text);
        var id = m.Success ? long.Parse(m.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture) : -1;
        if (!Ids.TryAdd(id, true))
        {
            Interlocked.Increment(ref _duplicates);
        }

        if (text.Contains('*', StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _censored);
        }

        if (inspected && Texts.HasFilteredTerm(text))
        {
            Interlocked.Increment(ref _leaks);
            if (LeakSamples.Count < 5)
            {
                LeakSamples.Enqueue(text.Length > 200 ? text[..200] : text);
            }
        }
    }

    [GeneratedRegex(@"\bid(\d+)\b")]
    private static partial Regex IdPattern();
}

/// <summary>The load's texts: a term for each filter, so every verdict is exercised, and where a leak would show.</summary>
internal static class Texts
{
    public static readonly string[] FilteredTerms = ["darn", "buycoins", "slurword"];
    private static readonly string[] Words = ["hello", "there", "how", "are", "you", "today", "the", "weather", "is", "nice", "see", "you", "later"];

    public static bool HasFilteredTerm(string text)
    {
        foreach (var term in FilteredTerms)
        {
            if (text.Contains(term, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><c>id{id}</c> then 3–14 words, one of them the kind's term.</summary>
    public static string Text(long id, string kind, Random random)
    {
        var sb = new StringBuilder("id").Append(id).Append(' ');
        var n = 3 + random.Next(12);
        var at = random.Next(n);
        for (var i = 0; i < n; i++)
        {
            sb.Append(i == at ? kind switch { "censor" => "darn", "drop" => "buycoins", "reject" => "slurword", _ => Words[random.Next(Words.Length)] } : Words[random.Next(Words.Length)]);
            sb.Append(' ');
        }

        return sb.ToString().TrimEnd();
    }

    /// <summary>How an HTTP answer of the gateway's own failures reads: the upstream was unreachable.</summary>
    public static bool IsRefusal(int status) => status is 502 or 503 or 504;
}

/// <summary>
/// A fake upstream on its own port, which the chaos stops and starts. Stopping cancels <see cref="Stopping"/> so open
/// WebSockets end at once (as a killed server's would) instead of keeping Kestrel's shutdown waiting.
/// </summary>
internal sealed class FakeUpstream(int port, Action<WebApplication> map)
{
    private WebApplication? _app;

    public int Port => port;

    public string Url => $"http://127.0.0.1:{port}";

    public CancellationToken Stopping => _app?.Lifetime.ApplicationStopping ?? new CancellationToken(true);

    public bool Running => _app is not null;

    public async Task StartAsync()
    {
        if (_app is not null)
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(Url);
        builder.WebHost.ConfigureKestrel(k => k.AllowSynchronousIO = false);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();
        app.UseWebSockets();
        app.Use(async (context, next) =>
        {
            context.Response.Headers["X-Soak-Upstream"] = "1"; // the gateway's own answers never carry it
            await next(context);
        });
        map(app);
        await app.StartAsync();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}

internal static class HttpAnswers
{
    /// <summary>Whether the answer came from the fake upstream (it marks every answer) rather than from the gateway.</summary>
    public static bool FromUpstream(HttpResponseMessage response) => response.Headers.Contains("X-Soak-Upstream");

    public static async Task<byte[]> ReadBodyAsync(this HttpRequest request)
    {
        using var ms = new MemoryStream();
        await request.Body.CopyToAsync(ms);
        return ms.ToArray();
    }
}
