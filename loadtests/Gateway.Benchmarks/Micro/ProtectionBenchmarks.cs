using BenchmarkDotNet.Attributes;
using Gateway.Policy.Model;
using Gateway.Policy.Protections;
using Gateway.Policy.Rules;

namespace Gateway.Benchmarks.Micro;

/// <summary>
/// The protections beside the keyword engine, on the same messages: a typical set (flood, duplicate text, DM link
/// spam, mentions, links, shouting) checked on messages from 100 000 rotating senders, so the counter store pays its
/// real lookups and evictions. <c>GatewayProtect</c> is the protections alone (one counter batch, in process);
/// <c>GatewayEvaluate</c> is the keyword engine on the same message; <c>GatewayShortProtect</c> a one-line chat message.
/// </summary>
public class Protections
{
    private static readonly ProtectionDefinition[] Typical =
    [
        new() { Name = "flood", Kind = ProtectionKind.Flood, Max = 10_000, Window = TimeSpan.FromMinutes(1) },
        new() { Name = "dup", Kind = ProtectionKind.Duplicate, Max = 10_000, Window = TimeSpan.FromMinutes(5) },
        new() { Name = "dmlinks", Kind = ProtectionKind.Duplicate, LinksOnly = true, DirectOnly = true, Max = 10_000 },
        new() { Name = "pings", Kind = ProtectionKind.Mentions, Max = 20 },
        new() { Name = "links", Kind = ProtectionKind.Links, DenyDomains = ["paypal.com", "*.scam.example", "bit.ly"] },
        new() { Name = "caps", Kind = ProtectionKind.Shouting, Percent = 90, MinLength = 20 },
    ];

    private readonly ProtectionSet _set = ProtectionSet.Compile(Typical, new List<string>());
    private readonly LocalCounterStore _store = new(TimeProvider.System, 100_000);
    private readonly SenderBlockList _blocks = new(TimeProvider.System);
    private readonly ChatMessage[] _senders = new ChatMessage[100_000];
    private readonly ChatMessage[] _short = new ChatMessage[100_000];
    private readonly string[] _keys = Enumerable.Range(0, 50_000).Select(i => "flood|flood|matrix|@user" + i + ":example.org").ToArray();
    private readonly string[] _seen = Enumerable.Range(0, 50_000).Select(i => "seen|matrix|@user" + i + ":example.org").ToArray();
    private readonly CounterOp[] _ops = new CounterOp[2];
    private readonly long[] _results = new long[2];
    private MessageData _m = null!;
    private int _next;

    [Params("clean-1k", "hits-1k")]
    public string Message { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _m = BenchState.Shared.Messages[Message];
        for (var i = 0; i < _senders.Length; i++)
        {
            _senders[i] = _m.Chat with { Sender = "@user" + i + ":example.org", Room = "!room" + (i % 50) + ":example.org" };
            _short[i] = _senders[i] with { Fields = [new MessageField(FieldKind.Body, "hey, is anyone around tonight? lol")] };
        }
    }

    [Benchmark]
    public int GatewayProtect()
    {
        var m = _senders[_next++ % _senders.Length];
        var pending = _set.CheckAsync(m, "chat", _store, _blocks, TimeProvider.System);
        return pending.IsCompletedSuccessfully ? pending.Result.Hits.Count : -1;
    }

    [Benchmark]
    public int GatewayShortProtect()
    {
        var m = _short[_next++ % _short.Length];
        var pending = _set.CheckAsync(m, "chat", _store, _blocks, TimeProvider.System);
        return pending.IsCompletedSuccessfully ? pending.Result.Hits.Count : -1;
    }

    /// <summary>The counter check alone: one batch of two operations (a flood window and a first sighting) on rotating keys.</summary>
    [Benchmark]
    public long GatewayCounterCheck()
    {
        var i = _next++ % _keys.Length;
        _ops[0] = new CounterOp(CounterOpKind.Hit, _keys[i], TimeSpan.FromMinutes(1), 11);
        _ops[1] = new CounterOp(CounterOpKind.FirstSeen, _seen[i], TimeSpan.Zero, 1);
        _store.Execute(_ops, _results);
        return _results[0];
    }

    [Benchmark]
    public Verdict GatewayEvaluate() => BenchState.Shared.Policy.Evaluate(_m.Chat);
}
