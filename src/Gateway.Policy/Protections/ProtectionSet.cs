// Over 400 lines because one message's protections are planned, counted in one batch and decided in one place: the
// plan and the decision index the same operation list, and splitting them would hide which result belongs to which rule.
using System.Buffers;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using Gateway.Policy.Acl;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Policy.Text;

namespace Gateway.Policy.Protections;

/// <summary>One protection that fired on a message.</summary>
public sealed record ProtectionHit(string Rule, ProtectionKind Kind, VerdictAction Action, string? Notice, bool Report, bool DryRun,
    string Detail, SenderBlock? Block = null);

/// <summary>What the protections say about one message: the hits (dry runs included) and the action they decide.</summary>
public sealed record ProtectionResult(IReadOnlyList<ProtectionHit> Hits, VerdictAction Action, string? Notice, string? DecidingRule, bool Report)
{
    public static ProtectionResult None { get; } = new(Array.Empty<ProtectionHit>(), VerdictAction.Forward, null, null, false);

    /// <summary>A blocked sender's message: refused before anything else runs.</summary>
    public static ProtectionResult Blocked(SenderBlock block) =>
        new(new[] { new ProtectionHit("sender_block", ProtectionKind.Flood, VerdictAction.Reject, BlockNotice(block), false, false, "sender blocked", block) },
            VerdictAction.Reject, BlockNotice(block), "sender_block", false);

    public bool IsEmpty => Hits.Count == 0;

    /// <summary>The hits as filter matches, so audit, reports, metrics and the verdict log see protections like filters.</summary>
    public IReadOnlyList<FilterMatch> Matches()
    {
        var list = new FilterMatch[Hits.Count];
        for (var i = 0; i < Hits.Count; i++)
        {
            var h = Hits[i];
            var action = h.Action switch
            {
                VerdictAction.Reject => FilterAction.Reject,
                VerdictAction.Drop => FilterAction.Drop,
                _ => FilterAction.Forward,
            };
            list[i] = new FilterMatch(h.Rule, action, FieldKind.Body, h.Detail, 0, 0, h.DryRun);
        }

        return list;
    }

    internal static string BlockNotice(SenderBlock block) => "You are blocked from sending messages until " + block.Until.UtcDateTime.ToString("u", System.Globalization.CultureInfo.InvariantCulture) + ".";
}

/// <summary>
/// The compiled <c>[[protections]]</c> of one config version. For each message: pick the rules that apply, put every
/// counter they need in one batch (one round trip to a shared store), decide, and only on a hit run the escalation
/// batch. Counters hold rule names, sender and room ids and keyed hashes: never text.
/// </summary>
public sealed class ProtectionSet
{
    /// <summary>Seeds the text hashes for duplicate detection; new per process, so a hash says nothing outside it.</summary>
    private static readonly long HashSeed = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));

    private readonly Compiled[] _rules;
    private readonly bool _needsFirstSeen;
    private readonly Dictionary<string, ProtectionDefinition> _byName = new(StringComparer.Ordinal);

    private ProtectionSet(Compiled[] rules, IReadOnlyList<ProtectionDefinition>? all = null)
    {
        _rules = rules;
        foreach (var d in all ?? Array.Empty<ProtectionDefinition>())
        {
            _byName.TryAdd(d.Name, d);
        }

        foreach (var r in rules)
        {
            _needsFirstSeen |= r.Definition.Kind == ProtectionKind.NewSender;
        }
    }

    public static ProtectionSet Empty { get; } = new(Array.Empty<Compiled>());

    public bool IsEmpty => _rules.Length == 0;

    public IEnumerable<ProtectionDefinition> Definitions => _rules.Select(r => r.Definition);

    /// <summary>Compiles validated definitions; an error (unknown rule named by new_sender, a bad domain) names the rule.</summary>
    public static ProtectionSet Compile(IReadOnlyList<ProtectionDefinition> definitions, List<string> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in definitions)
        {
            if (!names.Add(d.Name))
            {
                errors.Add($"protection name \"{d.Name}\" is used twice");
            }
        }

        var conditional = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var d in definitions.Where(d => d.Enabled && d.Kind == ProtectionKind.NewSender))
        {
            foreach (var n in d.ForNewSenders)
            {
                if (!names.Contains(n))
                {
                    errors.Add($"protection \"{d.Name}\": for_new_senders names \"{n}\", which is not a protection");
                }
                else if (n == d.Name)
                {
                    errors.Add($"protection \"{d.Name}\": for_new_senders names itself");
                }
                else
                {
                    conditional[n] = d.Name;
                }
            }
        }

        var compiled = new List<Compiled>();
        foreach (var d in definitions)
        {
            if (!d.Enabled)
            {
                continue;
            }

            var allow = DomainList.Create(d.AllowDomains, out var allowError);
            var deny = DomainList.Create(d.DenyDomains, out var denyError);
            if ((allowError ?? denyError) is { } e)
            {
                errors.Add($"protection \"{d.Name}\": {e}");
                continue;
            }

            compiled.Add(new Compiled(d, GlobSet.Create(d.Rooms), GlobSet.Create(d.ExcludeRooms), GlobSet.Create(d.ExemptUsers),
                allow!, deny!, conditional.GetValueOrDefault(d.Name)));
        }

        return new ProtectionSet(compiled.ToArray(), definitions);
    }

    /// <summary>
    /// Checks one message that arrived through <paramref name="backend"/>. Blocks are not checked here (the caller
    /// does, before anything); escalation steps that block add to <paramref name="blocks"/>.
    /// </summary>
    public async ValueTask<ProtectionResult> CheckAsync(ChatMessage message, string? backend, ICounterStore store, SenderBlockList blocks,
        TimeProvider time, CancellationToken cancellationToken = default)
    {
        if (_rules.Length == 0 || message.Sender is null)
        {
            return ProtectionResult.None;
        }

        var active = ArrayPool<int>.Shared.Rent(_rules.Length);
        var count = 0;
        for (var i = 0; i < _rules.Length; i++)
        {
            if (_rules[i].AppliesTo(message, backend))
            {
                active[count++] = i;
            }
        }

        if (count == 0)
        {
            ArrayPool<int>.Shared.Return(active);
            return ProtectionResult.None;
        }

        try
        {
            return await CheckActiveAsync(message, active.AsMemory(0, count), store, blocks, time, cancellationToken);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(active);
        }
    }

    private async ValueTask<ProtectionResult> CheckActiveAsync(ChatMessage message, ReadOnlyMemory<int> active, ICounterStore store,
        SenderBlockList blocks, TimeProvider time, CancellationToken cancellationToken)
    {
        var sender = message.Sender!;
        var ops = new List<CounterOp>(active.Length + 1);
        var firstOps = new int[active.Length];
        var opCounts = new int[active.Length];
        var firstSeenOp = -1;
        if (_needsFirstSeen)
        {
            firstSeenOp = ops.Count;
            ops.Add(new CounterOp(CounterOpKind.FirstSeen, $"seen|{message.Protocol}|{sender}", TimeSpan.Zero, 1));
        }

        string? textHash = null;
        // A shared store hashes with the cluster's seed, so every instance keys the same text alike.
        var seed = store.HashSeed ?? HashSeed;
        IReadOnlyList<LinkHost>? links = null;
        for (var k = 0; k < active.Length; k++)
        {
            var rule = _rules[active.Span[k]];
            var d = rule.Definition;
            firstOps[k] = ops.Count;
            var cap = Math.Max(1, d.Max) + 1;
            switch (d.Kind)
            {
                case ProtectionKind.Flood:
                    ops.Add(new CounterOp(CounterOpKind.Hit, d.PerRoom ? $"flood|{d.Name}|{message.Protocol}|{sender}|{message.Room}" : $"flood|{d.Name}|{message.Protocol}|{sender}",
                        d.Window, cap));
                    break;
                case ProtectionKind.Duplicate when !d.DirectOnly || message.IsDirect:
                    var conversation = Hash(ConversationOf(message), seed);
                    if (d.LinksOnly)
                    {
                        links ??= MessageShape.Links(message);
                        foreach (var link in links.Where(l => l.Likely).Select(l => l.Folded + l.Path).Distinct().Take(8))
                        {
                            ops.Add(new CounterOp(CounterOpKind.Distinct, $"duplink|{d.Name}|{sender}|{Hex(Hash(link, seed))}", d.Window, cap, conversation));
                        }
                    }
                    else if (NormalizedBody(message) is { Length: > 0 } normalized)
                    {
                        textHash ??= Hex(Hash(normalized, seed));
                        ops.Add(new CounterOp(CounterOpKind.Distinct, $"dup|{d.Name}|{sender}|{textHash}", d.Window, cap, conversation));
                    }

                    break;
                case ProtectionKind.LinkFirst:
                    ops.Add(new CounterOp(CounterOpKind.Hit, $"first|{d.Name}|{message.Protocol}|{sender}", TimeSpan.FromDays(3650), cap));
                    break;
                case ProtectionKind.JoinWave when message.Kind == MessageKind.Join:
                    ops.Add(new CounterOp(CounterOpKind.Hit, $"join|{d.Name}|{message.Protocol}|{message.Room}", d.Window, cap));
                    break;
            }

            opCounts[k] = ops.Count - firstOps[k];
        }

        var results = ops.Count == 0 ? Array.Empty<long>() : new long[ops.Count];
        if (ops.Count > 0)
        {
            await store.ExecuteAsync(ops.ToArray(), results, cancellationToken);
        }

        var now = time.GetUtcNow();
        List<ProtectionHit>? hits = null;
        for (var k = 0; k < active.Length; k++)
        {
            var rule = _rules[active.Span[k]];
            var d = rule.Definition;
            if (rule.OnlyForNewSendersOf is { } parentName)
            {
                if (!_byName.TryGetValue(parentName, out var parent) || firstSeenOp < 0 || !IsNew(results[firstSeenOp], parent.Age, now))
                {
                    continue;
                }
            }

            var detail = Decide(rule, message, results.AsSpan(firstOps[k], opCounts[k]), firstSeenOp >= 0 ? results[firstSeenOp] : 0, now, ref links);
            if (detail is not null)
            {
                (hits ??= new List<ProtectionHit>()).Add(new ProtectionHit(d.Name, d.Kind, ActionOf(d.Action), d.Notice,
                    d.Report || d.Action == ProtectionAction.ReportOnly, d.DryRun, detail));
            }
        }

        if (hits is null)
        {
            return ProtectionResult.None;
        }

        await EscalateAsync(message, hits, store, blocks, cancellationToken);
        return Combine(hits);
    }

    private static bool IsNew(long firstSeenMs, TimeSpan age, DateTimeOffset now) =>
        now.ToUnixTimeMilliseconds() - firstSeenMs < (long)age.TotalMilliseconds;

    /// <summary>Why the rule fires on this message (a short description without text), or null.</summary>
    private static string? Decide(Compiled rule, ChatMessage message, ReadOnlySpan<long> results, long firstSeenMs, DateTimeOffset now,
        ref IReadOnlyList<LinkHost>? links)
    {
        var d = rule.Definition;
        switch (d.Kind)
        {
            case ProtectionKind.Flood:
                return results.Length > 0 && results[0] > d.Max ? $"more than {d.Max} messages in {Describe(d.Window)}" : null;
            case ProtectionKind.Duplicate:
                foreach (var r in results)
                {
                    if (r > d.Max)
                    {
                        return d.LinksOnly
                            ? $"the same link in more than {d.Max} conversations in {Describe(d.Window)}"
                            : $"the same text in more than {d.Max} conversations in {Describe(d.Window)}";
                    }
                }

                return null;
            case ProtectionKind.JoinWave:
                return results.Length > 0 && results[0] > d.Max ? $"more than {d.Max} joins in {Describe(d.Window)}" : null;
            case ProtectionKind.Mentions:
                var mentions = MessageShape.MentionCount(message);
                return mentions > d.Max ? $"{mentions} mentions (limit {d.Max})" : null;
            case ProtectionKind.LinkFirst:
                if (results.Length == 0 || results[0] > d.Max)
                {
                    return null;
                }

                links ??= MessageShape.Links(message);
                return LinkOrMedia(d, message, links) is { } what ? $"{what} in one of the first {d.Max} messages" : null;
            case ProtectionKind.NewSender:
                if (!IsNew(firstSeenMs, d.Age, now))
                {
                    return null;
                }

                links ??= MessageShape.Links(message);
                return LinkOrMedia(d, message, links) is { } w ? $"{w} from a sender first seen less than {Describe(d.Age)} ago" : null;
            case ProtectionKind.Links:
                links ??= MessageShape.Links(message);
                foreach (var link in links)
                {
                    if (rule.Deny.Count > 0 && rule.Deny.Matches(link))
                    {
                        return "a link to a denied domain";
                    }

                    if (rule.Allow.Count > 0 && link.Likely && !rule.Allow.Matches(link))
                    {
                        return "a link to a domain not allowed";
                    }
                }

                return null;
            case ProtectionKind.Shouting:
                var caps = MessageShape.CapitalsPercent(message, d.MinLength);
                return caps > d.Percent ? $"{caps:0}% capitals" : null;
            case ProtectionKind.Symbols:
                var symbols = MessageShape.SymbolsPercent(message, d.MinLength);
                return symbols > d.Percent ? $"{symbols:0}% symbols" : null;
            default:
                return null;
        }
    }

    private static string? LinkOrMedia(ProtectionDefinition d, ChatMessage message, IReadOnlyList<LinkHost> links)
    {
        if (d.NoMedia && message.HasMedia)
        {
            return "media";
        }

        if (d.NoLinks)
        {
            foreach (var l in links)
            {
                if (l.Likely)
                {
                    return "a link";
                }
            }
        }

        return null;
    }

    /// <summary>Live hits with a ladder move their sender up it: one more batch, only when something fired.</summary>
    private async ValueTask EscalateAsync(ChatMessage message, List<ProtectionHit> hits, ICounterStore store, SenderBlockList blocks,
        CancellationToken cancellationToken)
    {
        var laddered = new List<int>();
        for (var i = 0; i < hits.Count; i++)
        {
            if (!hits[i].DryRun && hits[i].Kind != ProtectionKind.JoinWave && _byName[hits[i].Rule].Escalation.Count > 0)
            {
                laddered.Add(i);
            }
        }

        if (laddered.Count == 0)
        {
            return;
        }

        var ops = new CounterOp[laddered.Count];
        for (var j = 0; j < laddered.Count; j++)
        {
            var hit = hits[laddered[j]];
            var def = _byName[hit.Rule];
            ops[j] = new CounterOp(CounterOpKind.Hit, $"esc|{hit.Rule}|{message.Protocol}|{message.Sender}", def.EscalationWindow, def.Escalation.Count);
        }

        var results = new long[ops.Length];
        await store.ExecuteAsync(ops, results, cancellationToken);
        for (var j = 0; j < laddered.Count; j++)
        {
            var hit = hits[laddered[j]];
            var def = _byName[hit.Rule];
            var step = def.Escalation[(int)Math.Clamp(results[j], 1, def.Escalation.Count) - 1];
            hits[laddered[j]] = step.Kind switch
            {
                EscalationKind.Warn => hit with { Action = VerdictAction.Forward, Detail = hit.Detail + " (warning)" },
                EscalationKind.Drop => hit with { Action = VerdictAction.Drop },
                EscalationKind.Reject => hit with { Action = VerdictAction.Reject },
                _ => Blocked(hit, blocks.Add(message.Sender!, step.Duration, "rule:" + hit.Rule, hit.Detail), step.Duration),
            };
        }
    }

    private static ProtectionHit Blocked(ProtectionHit hit, SenderBlock block, TimeSpan duration) => hit with
    {
        Action = VerdictAction.Reject,
        Report = true,
        Notice = hit.Notice ?? ProtectionResult.BlockNotice(block),
        Detail = hit.Detail + $" (blocked for {Describe(duration)})",
        Block = block,
    };

    private static ProtectionResult Combine(List<ProtectionHit> hits)
    {
        ProtectionHit? deciding = null;
        var report = false;
        foreach (var h in hits)
        {
            if (h.DryRun)
            {
                continue;
            }

            report |= h.Report;
            if (deciding is null || Severity(h.Action) > Severity(deciding.Action))
            {
                deciding = h;
            }
        }

        return new ProtectionResult(hits, deciding?.Action ?? VerdictAction.Forward, deciding?.Notice, deciding?.Rule, report);
    }

    private static int Severity(VerdictAction a) => a switch
    {
        VerdictAction.Reject => 3,
        VerdictAction.Drop => 2,
        _ => 0,
    };

    private static VerdictAction ActionOf(ProtectionAction a) => a switch
    {
        ProtectionAction.Reject => VerdictAction.Reject,
        ProtectionAction.Drop => VerdictAction.Drop,
        _ => VerdictAction.Forward,
    };

    private static string ConversationOf(ChatMessage message)
    {
        if (message.IsDirect && message.Recipient is { } other && message.Sender is { } self)
        {
            return string.CompareOrdinal(self, other) <= 0 ? $"dm|{self}|{other}" : $"dm|{other}|{self}";
        }

        return "room|" + message.Room;
    }

    private static string? NormalizedBody(ChatMessage message)
    {
        foreach (var f in message.Fields)
        {
            if (f.Kind == FieldKind.Body && f.Text.Length > 0)
            {
                var buffer = TextNormalizer.ThreadBuffer();
                TextNormalizer.Normalize(f.Text, buffer);
                return buffer.ToString();
            }
        }

        return null;
    }

    private static ulong Hash(string value, long seed)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        var rented = max <= 1024 ? null : ArrayPool<byte>.Shared.Rent(max);
        Span<byte> bytes = rented ?? stackalloc byte[1024];
        var n = Encoding.UTF8.GetBytes(value, bytes);
        var hash = XxHash3.HashToUInt64(bytes[..n], seed);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return hash;
    }

    private static string Hex(ulong value) => value.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    internal static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalDays == Math.Floor(span.TotalDays) ? $"{span.TotalDays:0}d"
        : span.TotalHours >= 1 && span.TotalHours == Math.Floor(span.TotalHours) ? $"{span.TotalHours:0}h"
        : span.TotalMinutes >= 1 && span.TotalMinutes == Math.Floor(span.TotalMinutes) ? $"{span.TotalMinutes:0}m"
        : $"{span.TotalSeconds:0}s";

    private sealed record Compiled(ProtectionDefinition Definition, GlobSet? RoomInclude, GlobSet? RoomExclude, GlobSet? ExemptUsers,
        DomainList Allow, DomainList Deny, string? OnlyForNewSendersOf)
    {
        public bool AppliesTo(ChatMessage message, string? backend)
        {
            var d = Definition;
            if ((d.Kind == ProtectionKind.JoinWave) != (message.Kind == MessageKind.Join))
            {
                return false;
            }

            if (d.Scope == FilterScope.Public ? message.IsDirect : d.Scope == FilterScope.Direct && !message.IsDirect)
            {
                return false;
            }

            if (d.Protocols.Count > 0 && !d.Protocols.Contains(message.Protocol))
            {
                return false;
            }

            if (d.Backends.Count > 0 && (backend is null || !d.Backends.Contains(backend)))
            {
                return false;
            }

            if (RoomInclude is not null && (message.Room is null || !RoomInclude.IsMatch(message.Room)))
            {
                return false;
            }

            if (RoomExclude is not null && message.Room is not null && RoomExclude.IsMatch(message.Room))
            {
                return false;
            }

            if (d.ExemptModerators && message.SenderIsModerator)
            {
                return false;
            }

            return ExemptUsers is null || message.Sender is null || !ExemptUsers.IsMatch(message.Sender);
        }
    }
}
