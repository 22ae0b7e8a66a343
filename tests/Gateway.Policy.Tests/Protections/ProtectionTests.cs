using Gateway.Policy.Model;
using Gateway.Policy.Protections;
using Gateway.Policy.Rules;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Policy.Tests.Protections;

/// <summary>Every protection kind at the edges of its window and limit, with a fake clock.</summary>
public sealed class ProtectionTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private sealed class Rig
    {
        public FakeTimeProvider Time { get; } = new(Start);

        public LocalCounterStore Store { get; }

        public SenderBlockList Blocks { get; }

        public ProtectionSet Set { get; }

        public Rig(params ProtectionDefinition[] rules)
        {
            Store = new LocalCounterStore(Time);
            Blocks = new SenderBlockList(Time);
            var errors = new List<string>();
            Set = ProtectionSet.Compile(rules, errors);
            Assert.Empty(errors);
        }

        public ProtectionResult Check(ChatMessage m, string? backend = null) =>
            Set.CheckAsync(m, backend, Store, Blocks, Time).AsTask().GetAwaiter().GetResult();
    }

    private static ChatMessage Msg(string text, string sender = "alice", string room = "lobby", bool direct = false, string? to = null,
        bool moderator = false, bool media = false, MessageKind kind = MessageKind.Message) => new()
        {
            Protocol = "test",
            Sender = sender,
            Room = room,
            IsDirect = direct,
            Recipient = to,
            SenderIsModerator = moderator,
            HasMedia = media,
            Kind = kind,
            Fields = kind == MessageKind.Join ? Array.Empty<MessageField>() : new[] { new MessageField(FieldKind.Body, text) },
        };

    [Theory]
    [InlineData(5, 5, false)] // exactly N within the window: allowed
    [InlineData(5, 6, true)] // N + 1: the sixth is refused
    [InlineData(1, 2, true)]
    public void Flood_ExactlyNAllowed_NPlusOneHits(int max, int messages, bool lastHits)
    {
        var rig = new Rig(new ProtectionDefinition { Name = "flood", Kind = ProtectionKind.Flood, Max = max, Window = TimeSpan.FromSeconds(16) });
        ProtectionResult last = ProtectionResult.None;
        for (var i = 0; i < messages; i++)
        {
            last = rig.Check(Msg($"hello {i}"));
            rig.Time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(lastHits, last.Action == VerdictAction.Drop);
    }

    [Fact]
    public void Flood_WindowSlides_OldMessagesStopCounting()
    {
        var rig = new Rig(new ProtectionDefinition { Name = "flood", Kind = ProtectionKind.Flood, Max = 2, Window = TimeSpan.FromSeconds(10) });
        Assert.True(rig.Check(Msg("a")).IsEmpty);
        rig.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(rig.Check(Msg("b")).IsEmpty);
        rig.Time.Advance(TimeSpan.FromSeconds(4.999));
        Assert.False(rig.Check(Msg("c")).IsEmpty); // three inside 10 s
        rig.Time.Advance(TimeSpan.FromSeconds(10.001)); // everything before has left the window
        Assert.True(rig.Check(Msg("d")).IsEmpty);
    }

    [Fact]
    public void Flood_PerRoom_CountsEachRoomApart_AcrossRoomsCountsAll()
    {
        var perRoom = new Rig(new ProtectionDefinition { Name = "f", Kind = ProtectionKind.Flood, Max = 1, PerRoom = true });
        Assert.True(perRoom.Check(Msg("a", room: "r1")).IsEmpty);
        Assert.True(perRoom.Check(Msg("a", room: "r2")).IsEmpty);
        Assert.False(perRoom.Check(Msg("a", room: "r1")).IsEmpty);

        var across = new Rig(new ProtectionDefinition { Name = "f", Kind = ProtectionKind.Flood, Max = 1 });
        Assert.True(across.Check(Msg("a", room: "r1")).IsEmpty);
        Assert.False(across.Check(Msg("a", room: "r2")).IsEmpty);
        Assert.True(across.Check(Msg("a", sender: "bob")).IsEmpty); // another sender has their own count
    }

    [Fact]
    public void Duplicate_SameNormalisedTextInMoreThanNRooms_Hits_EvasionsCountAsTheSame()
    {
        var rig = new Rig(new ProtectionDefinition { Name = "dup", Kind = ProtectionKind.Duplicate, Max = 2, Window = TimeSpan.FromMinutes(5) });
        Assert.True(rig.Check(Msg("Buy cheap followers", room: "r1")).IsEmpty);
        Assert.True(rig.Check(Msg("BUY  cheap f0llowers", room: "r2")).IsEmpty);
        Assert.True(rig.Check(Msg("Buy cheap followers", room: "r2")).IsEmpty); // same room again: still two rooms
        var third = rig.Check(Msg("buy ch\u200Beap followers", room: "r3"));
        Assert.Equal(VerdictAction.Drop, third.Action);
        Assert.Contains("more than 2 conversations", third.Hits[0].Detail, StringComparison.Ordinal);
        Assert.True(rig.Check(Msg("something else", room: "r4")).IsEmpty);
    }

    [Fact]
    public void Duplicate_LinksToDirectConversations_IsBareRtcsDmLinkSpamGuard()
    {
        var rig = new Rig(new ProtectionDefinition
        {
            Name = "dmlinks",
            Kind = ProtectionKind.Duplicate,
            LinksOnly = true,
            DirectOnly = true,
            Max = 2,
            Window = TimeSpan.FromMinutes(10),
        });
        Assert.True(rig.Check(Msg("hey https://spam.com/x", direct: true, to: "bob")).IsEmpty);
        Assert.True(rig.Check(Msg("look spam.com/x", direct: true, to: "carol")).IsEmpty);
        Assert.True(rig.Check(Msg("https://spam.com/x in public", room: "lobby")).IsEmpty); // public: not counted
        Assert.False(rig.Check(Msg("https://SPAM.com/x", direct: true, to: "dave")).IsEmpty);
        rig.Time.Advance(TimeSpan.FromMinutes(11));
        Assert.True(rig.Check(Msg("https://spam.com/x", direct: true, to: "erin")).IsEmpty);
    }

    [Theory]
    [InlineData("hi @bob and @carol", 2, false)]
    [InlineData("hi @bob @carol @dave", 2, true)]
    [InlineData("@bob @bob @bob", 2, false)] // distinct users
    [InlineData("mail bob@example.com and @bob", 1, false)] // an address is not a mention
    [InlineData("@a:x.org @b:x.org @c@lemmy.world", 2, true)]
    public void Mentions_DistinctUsersAboveTheLimit_Hit(string text, int max, bool hits)
    {
        var rig = new Rig(new ProtectionDefinition { Name = "m", Kind = ProtectionKind.Mentions, Max = max, Action = ProtectionAction.Reject });
        Assert.Equal(hits, rig.Check(Msg(text)).Action == VerdictAction.Reject);
    }

    [Fact]
    public void Mentions_TheProtocolsListCounts()
    {
        var rig = new Rig(new ProtectionDefinition { Name = "m", Kind = ProtectionKind.Mentions, Max = 2 });
        var m = Msg("hello everyone") with { Mentions = new[] { "@a:x", "@b:x", "@c:x" } };
        Assert.False(rig.Check(m).IsEmpty);
    }

    [Fact]
    public void NewSender_NoLinksUntilAgePasses_AndNamedProtectionsApplyOnlyToNewSenders()
    {
        var rig = new Rig(
            new ProtectionDefinition { Name = "new", Kind = ProtectionKind.NewSender, Age = TimeSpan.FromMinutes(10), ForNewSenders = new[] { "strict-flood" } },
            new ProtectionDefinition { Name = "strict-flood", Kind = ProtectionKind.Flood, Max = 1, Window = TimeSpan.FromMinutes(1) });
        Assert.Equal("new", rig.Check(Msg("see https://example.com")).DecidingRule);
        Assert.Equal("strict-flood", rig.Check(Msg("hello")).DecidingRule); // the second message in a minute: over the new-sender limit
        rig.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.True(rig.Check(Msg("see https://example.com")).IsEmpty);
        Assert.True(rig.Check(Msg("a")).IsEmpty); // established: the strict flood limit no longer applies
        Assert.True(rig.Check(Msg("b")).IsEmpty);
    }

    [Fact]
    public void NewSender_Media_IsRefusedToo()
    {
        var rig = new Rig(new ProtectionDefinition { Name = "new", Kind = ProtectionKind.NewSender });
        Assert.Contains("media", rig.Check(Msg("", media: true)).Hits[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void LinkFirst_FirstNMessagesWithoutLinks_ThenLinksAllowed()
    {
        var rig = new Rig(new ProtectionDefinition { Name = "lf", Kind = ProtectionKind.LinkFirst, Max = 2 });
        Assert.False(rig.Check(Msg("www.example.com")).IsEmpty); // 1st
        Assert.True(rig.Check(Msg("hello")).IsEmpty); // 2nd
        Assert.True(rig.Check(Msg("example.com is nice")).IsEmpty); // 3rd: allowed
    }

    [Fact]
    public void JoinWave_LaterJoinersRefused_UntilTheWavePasses()
    {
        var rig = new Rig(new ProtectionDefinition { Name = "wave", Kind = ProtectionKind.JoinWave, Max = 3, Window = TimeSpan.FromMinutes(1), Action = ProtectionAction.Reject });
        for (var i = 0; i < 3; i++)
        {
            Assert.True(rig.Check(Msg("", sender: "u" + i, kind: MessageKind.Join)).IsEmpty);
        }

        Assert.Equal(VerdictAction.Reject, rig.Check(Msg("", sender: "u3", kind: MessageKind.Join)).Action);
        Assert.True(rig.Check(Msg("", sender: "u4", room: "other", kind: MessageKind.Join)).IsEmpty);
        Assert.True(rig.Check(Msg("a normal message")).IsEmpty); // messages are not joins
        rig.Time.Advance(TimeSpan.FromMinutes(1.01));
        Assert.True(rig.Check(Msg("", sender: "u5", kind: MessageKind.Join)).IsEmpty);
    }

    [Theory]
    [InlineData("pay at paypal.com now", true)]
    [InlineData("pay at https://www.paypal.com/login", true)]
    [InlineData("pay at p\u0430ypal.com now", true)] // Cyrillic а
    [InlineData("pay at xn--pypal-4ve.com now", true)] // the same, punycode
    [InlineData("pay at pay\u200Bpal.com now", true)] // zero-width space
    [InlineData("pay at paypal\u3002com now", true)] // ideographic full stop
    [InlineData("pay at notpaypal.com now", false)]
    [InlineData("mail me at bob@paypal.com", false)]
    [InlineData("paypal is a company", false)]
    public void Links_DenyList_MatchesAfterDecodingAndFolding(string text, bool hits)
    {
        var rig = new Rig(new ProtectionDefinition { Name = "links", Kind = ProtectionKind.Links, DenyDomains = new[] { "paypal.com" }, Action = ProtectionAction.Reject });
        Assert.Equal(hits, rig.Check(Msg(text)).Action == VerdictAction.Reject);
    }

    [Theory]
    [InlineData("see https://docs.example.org/x", false)]
    [InlineData("see example.org", false)]
    [InlineData("see https://a.b.example.org", false)] // an entry covers its subdomains
    [InlineData("see https://evil.net", true)]
    [InlineData("see https://docs.example.org.evil.net", true)]
    [InlineData("no links here. really.", false)]
    public void Links_AllowList_OnlyListedDomainsAndTheirSubdomains(string text, bool hits)
    {
        var rig = new Rig(new ProtectionDefinition { Name = "links", Kind = ProtectionKind.Links, AllowDomains = new[] { "example.org" } });
        Assert.Equal(hits, !rig.Check(Msg(text)).IsEmpty);
    }

    [Theory]
    [InlineData("https://shop.example.com", true)]
    [InlineData("https://example.com", false)]
    public void Links_StarDotEntry_CoversSubdomainsOnly(string text, bool hits)
    {
        var rig = new Rig(new ProtectionDefinition { Name = "links", Kind = ProtectionKind.Links, DenyDomains = new[] { "*.example.com" } });
        Assert.Equal(hits, !rig.Check(Msg(text)).IsEmpty);
    }

    [Theory]
    [InlineData("THIS IS ALL CAPS SHOUTING", true)]
    [InlineData("This Is Title Case Text", false)]
    [InlineData("OK FINE", false)] // too short to judge
    public void Shouting_CapitalsShareAboveThePercent(string text, bool hits)
    {
        var rig = new Rig(new ProtectionDefinition { Name = "caps", Kind = ProtectionKind.Shouting, Percent = 70, MinLength = 10 });
        Assert.Equal(hits, !rig.Check(Msg(text)).IsEmpty);
    }

    [Theory]
    [InlineData("!!!!!!$$$$$$%%%%%%", true)]
    [InlineData("😀😀😀😀😀😀😀😀😀😀😀 hi", true)]
    [InlineData("a normal sentence, with punctuation!", false)]
    public void Symbols_ShareAboveThePercent(string text, bool hits)
    {
        var rig = new Rig(new ProtectionDefinition { Name = "sym", Kind = ProtectionKind.Symbols, Percent = 60, MinLength = 10 });
        Assert.Equal(hits, !rig.Check(Msg(text)).IsEmpty);
    }

    [Fact]
    public void Escalation_WarnThenDropThenBlock_AndTheLadderExpires()
    {
        var rig = new Rig(new ProtectionDefinition
        {
            Name = "flood",
            Kind = ProtectionKind.Flood,
            Max = 1,
            Window = TimeSpan.FromMinutes(1),
            Notice = "Slow down.",
            Escalation = new[] { new EscalationStep(EscalationKind.Warn), new EscalationStep(EscalationKind.Drop), new EscalationStep(EscalationKind.Block, TimeSpan.FromMinutes(10)) },
            EscalationWindow = TimeSpan.FromHours(1),
        });
        Assert.True(rig.Check(Msg("1")).IsEmpty);
        var warn = rig.Check(Msg("2"));
        Assert.Equal(VerdictAction.Forward, warn.Action);
        Assert.Equal("Slow down.", warn.Notice);
        Assert.Equal(VerdictAction.Drop, rig.Check(Msg("3")).Action);
        var block = rig.Check(Msg("4"));
        Assert.Equal(VerdictAction.Reject, block.Action);
        Assert.NotNull(rig.Blocks.Find("alice"));
        rig.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Null(rig.Blocks.Find("alice"));
        rig.Time.Advance(TimeSpan.FromMinutes(51)); // the ladder's window has passed: back to the first step
        rig.Check(Msg("5"));
        Assert.Equal(VerdictAction.Forward, rig.Check(Msg("6")).Action);
    }

    [Fact]
    public void DryRun_RecordsTheHit_ActsOnNothing()
    {
        var rig = new Rig(new ProtectionDefinition { Name = "caps", Kind = ProtectionKind.Shouting, DryRun = true, Action = ProtectionAction.Reject });
        var r = rig.Check(Msg("THIS IS ALL CAPS SHOUTING"));
        Assert.Equal(VerdictAction.Forward, r.Action);
        Assert.True(Assert.Single(r.Hits).DryRun);
    }

    [Fact]
    public void Exemptions_ModeratorsUsersScopeRoomsProtocolsBackends()
    {
        var caps = new ProtectionDefinition
        {
            Name = "caps",
            Kind = ProtectionKind.Shouting,
            ExemptUsers = new[] { "trusted*" },
            Scope = FilterScope.Public,
            Rooms = new[] { "lobby" },
            Protocols = new[] { "test" },
            Backends = new[] { "chat" },
        };
        var rig = new Rig(caps);
        const string Loud = "THIS IS ALL CAPS SHOUTING";
        Assert.False(rig.Check(Msg(Loud), "chat").IsEmpty);
        Assert.True(rig.Check(Msg(Loud), "other").IsEmpty);
        Assert.True(rig.Check(Msg(Loud, moderator: true), "chat").IsEmpty);
        Assert.True(rig.Check(Msg(Loud, sender: "trusted-bot"), "chat").IsEmpty);
        Assert.True(rig.Check(Msg(Loud, direct: true, to: "bob"), "chat").IsEmpty);
        Assert.True(rig.Check(Msg(Loud, room: "elsewhere"), "chat").IsEmpty);
    }

    [Fact]
    public void Compile_RejectsUnknownNamesAndBadDomains()
    {
        var errors = new List<string>();
        ProtectionSet.Compile(new[]
        {
            new ProtectionDefinition { Name = "new", Kind = ProtectionKind.NewSender, ForNewSenders = new[] { "nope" } },
            new ProtectionDefinition { Name = "links", Kind = ProtectionKind.Links, DenyDomains = new[] { "http://x.com/" } },
        }, errors);
        Assert.Contains(errors, e => e.Contains("\"nope\"", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("not a domain", StringComparison.Ordinal));
    }

    [Fact]
    public void CounterStore_StaysWithinItsCap_UnderAMillionDistinctSenders_AndCountsEvictions()
    {
        var time = new FakeTimeProvider(Start);
        var store = new LocalCounterStore(time, maxKeys: 10_000);
        var op = new CounterOp[1];
        var result = new long[1];
        for (var i = 0; i < 1_000_000; i++)
        {
            op[0] = new CounterOp(CounterOpKind.Hit, "flood|f|test|sender" + i, TimeSpan.FromMinutes(1), 6);
            store.Execute(op, result);
        }

        Assert.Equal(10_000, store.Count);
        Assert.Equal(990_000, store.Evictions);
    }

    [Fact]
    public async Task CounterStore_KeysHoldNoText()
    {
        var rig = new Rig(new ProtectionDefinition { Name = "dup", Kind = ProtectionKind.Duplicate, Max = 5 });
        var keys = new List<string>();
        var recording = new RecordingStore(rig.Store, keys);
        await rig.Set.CheckAsync(Msg("my secret unique phrase"), null, recording, rig.Blocks, rig.Time);
        Assert.NotEmpty(keys);
        Assert.DoesNotContain(keys, k => k.Contains("secret", StringComparison.OrdinalIgnoreCase) || k.Contains("phrase", StringComparison.OrdinalIgnoreCase));
    }

    private sealed class RecordingStore(LocalCounterStore inner, List<string> keys) : ICounterStore
    {
        public int Count => inner.Count;

        public long Evictions => inner.Evictions;

        public ValueTask ExecuteAsync(ReadOnlyMemory<CounterOp> ops, Memory<long> results, CancellationToken cancellationToken)
        {
            foreach (var op in ops.Span)
            {
                keys.Add(op.Key);
            }

            return inner.ExecuteAsync(ops, results, cancellationToken);
        }
    }
}
