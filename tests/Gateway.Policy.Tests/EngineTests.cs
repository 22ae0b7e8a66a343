using Gateway.Policy.Model;
using Gateway.Policy.Rules;

namespace Gateway.Policy.Tests;

public sealed class EngineTests
{
    private static ChatMessage Msg(string text, bool direct = false, string? room = "lobby", string? sender = "@alice:example.org",
        bool moderator = false) =>
        new()
        {
            Protocol = "test",
            Sender = sender,
            Room = room,
            IsDirect = direct,
            SenderIsModerator = moderator,
            Fields = new[] { new MessageField(FieldKind.Body, text) },
        };

    private static Verdict Eval(FilterDefinition filter, string text) =>
        PolicyCompiler.Compile(new[] { filter }).Evaluate(Msg(text));

    private static FilterDefinition Censor(params string[] keywords) =>
        new() { Name = "words", Action = FilterAction.Censor, Keywords = keywords };

    [Theory]
    // whole word by default
    [InlineData("cat", "a cat sat", "a *** sat")]
    [InlineData("cat", "concatenate", "concatenate")]
    [InlineData("cat", "cat", "***")]
    [InlineData("cat", "CAT!", "***!")]
    [InlineData("cat", "cat's", "***'s")]
    [InlineData("cat", "cats", "cats")]
    // wildcards as Discord AutoMod has them
    [InlineData("cat*", "cats catalog concat", "**** ******* concat")]
    [InlineData("*cat", "bobcat cats", "****** cats")]
    [InlineData("*cat*", "concatenate", "***********")]
    [InlineData("*cat*", "dog", "dog")]
    // phrases
    [InlineData("bad word", "a bad   word here", "a ********** here")]
    [InlineData("bad word", "bad words", "bad words")]
    // evasions: censor the original characters
    [InlineData("spam", "buy ｓｐａｍ now", "buy **** now")]
    [InlineData("spam", "buy s.p.a.m now", "buy ******* now")]
    [InlineData("spam", "buy s p a m now", "buy ******* now")]
    [InlineData("spam", "buy 5p4m now", "buy **** now")]
    [InlineData("spam", "buy sp\u200Bam now", "buy **** now")]
    [InlineData("spam", "buy ѕраm now", "buy **** now")]
    [InlineData("spam", "buy 𝐬𝐩𝐚𝐦 now", "buy **** now")]
    [InlineData("spam", "buy śpäm now", "buy **** now")]
    [InlineData("spam", "buy s\u0336p\u0336a\u0336m\u0336 now", "buy **** now")]
    // multi-code-point characters: one star per user-perceived character
    [InlineData("*x*", "a👍🏽x", "a👍🏽*")]
    [InlineData("naïve", "so nai\u0308ve", "so *****")]
    public void Evaluate_KeywordCensor_RewritesOriginalCharacters(string keyword, string text, string expected)
    {
        var v = Eval(Censor(keyword), text);
        Assert.Equal(expected, v.DeliveredText(Msg(text), FieldKind.Body));
        Assert.Equal(expected == text ? VerdictAction.Forward : VerdictAction.Censor, v.Action);
    }

    [Theory]
    [InlineData("smartwatch", "my smartwatch broke", false)]
    [InlineData("smartwatch", "you twat", true)]
    [InlineData("smartwatch", "smartwatch twat", true)]
    public void Evaluate_AllowList_SuppressesHitsInsideAllowedTerms(string allow, string text, bool hit)
    {
        var f = new FilterDefinition { Name = "f", Keywords = new[] { "*twat*" }, Allow = new[] { allow } };
        Assert.Equal(hit, !Eval(f, text).IsClean);
    }

    [Fact]
    public void Evaluate_AllowList_IsPerFilter()
    {
        var a = new FilterDefinition { Name = "a", Keywords = new[] { "*twat*" }, Allow = new[] { "smartwatch" } };
        var b = new FilterDefinition { Name = "b", Keywords = new[] { "*twat*" }, Action = FilterAction.Drop };
        var v = PolicyCompiler.Compile(new[] { a, b }).Evaluate(Msg("smartwatch"));
        Assert.Equal(VerdictAction.Drop, v.Action);
        Assert.Equal(new[] { "b" }, v.Rules);
    }

    [Fact]
    public void Evaluate_Regex_MatchesNormalisedTextAndCensors()
    {
        var f = new FilterDefinition { Name = "links", Regexes = new[] { @"free\s*v-?bucks" } };
        var v = Eval(f, "get FREE V-Bucks now");
        Assert.Equal("get ************ now", v.DeliveredText(Msg(""), FieldKind.Body));
    }

    [Fact]
    public void Evaluate_RawRegex_MatchesOriginalText()
    {
        var f = new FilterDefinition { Name = "caps", Regexes = new[] { "[A-Z]{6,}" }, Normalize = false, CaseSensitive = true };
        Assert.False(Eval(f, "HELLOO there").IsClean);
        Assert.True(Eval(f, "helloo there").IsClean);
    }

    [Fact]
    public void Evaluate_Priority_FirstDropOrRejectWinsAndCensorsAccumulate()
    {
        var filters = new[]
        {
            new FilterDefinition { Name = "censor-a", Keywords = new[] { "darn" } },
            new FilterDefinition { Name = "reject-low", Keywords = new[] { "scam" }, Action = FilterAction.Reject, Notice = "no scams", Priority = 1 },
            new FilterDefinition { Name = "drop-high", Keywords = new[] { "scam" }, Action = FilterAction.Drop, Notice = "dropped", Priority = 5 },
            new FilterDefinition { Name = "censor-b", Keywords = new[] { "heck" } },
        };
        var snapshot = PolicyCompiler.Compile(filters);
        var drop = snapshot.Evaluate(Msg("darn scam"));
        Assert.Equal(VerdictAction.Drop, drop.Action);
        Assert.Equal("drop-high", drop.DecidingFilter);
        Assert.Equal("dropped", drop.Notice);
        Assert.Null(drop.DeliveredText(Msg("darn scam"), FieldKind.Body));

        var censor = snapshot.Evaluate(Msg("darn heck ok"));
        Assert.Equal(VerdictAction.Censor, censor.Action);
        Assert.Equal("**** **** ok", censor.DeliveredText(Msg(""), FieldKind.Body));
        Assert.Equal(new[] { "censor-a", "censor-b" }, censor.Rules);
    }

    [Theory]
    [InlineData(FilterScope.Both, false, true)]
    [InlineData(FilterScope.Both, true, true)]
    [InlineData(FilterScope.Public, false, true)]
    [InlineData(FilterScope.Public, true, false)]
    [InlineData(FilterScope.Direct, false, false)]
    [InlineData(FilterScope.Direct, true, true)]
    public void Evaluate_Scope_AppliesOnlyToMatchingConversations(FilterScope scope, bool direct, bool hit)
    {
        var snapshot = PolicyCompiler.Compile(new[] { new FilterDefinition { Name = "f", Keywords = new[] { "spam" }, Scope = scope } });
        Assert.Equal(hit, !snapshot.Evaluate(Msg("spam", direct)).IsClean);
    }

    [Theory]
    [InlineData("lobby", true)]
    [InlineData("Lobby", true)]
    [InlineData("!abc:example.org", true)]
    [InlineData("!abc:other.org", false)]
    [InlineData("offtopic", false)]
    [InlineData(null, false)]
    public void Evaluate_RoomGlobs_SelectRooms(string? room, bool hit)
    {
        var f = new FilterDefinition { Name = "f", Keywords = new[] { "spam" }, Rooms = new[] { "lobby", "!*:example.org" } };
        Assert.Equal(hit, !PolicyCompiler.Compile(new[] { f }).Evaluate(Msg("spam", room: room)).IsClean);
    }

    [Fact]
    public void Evaluate_ExcludedRoom_IsSkipped()
    {
        var f = new FilterDefinition { Name = "f", Keywords = new[] { "spam" }, ExcludeRooms = new[] { "spam-*" } };
        var s = PolicyCompiler.Compile(new[] { f });
        Assert.True(s.Evaluate(Msg("spam", room: "spam-zone")).IsClean);
        Assert.False(s.Evaluate(Msg("spam", room: "lobby")).IsClean);
    }

    [Theory]
    [InlineData(true, true, false)]
    [InlineData(true, false, true)]
    [InlineData(false, true, true)]
    public void Evaluate_ModeratorExemption_FollowsFilterSetting(bool exempt, bool moderator, bool hit)
    {
        var f = new FilterDefinition { Name = "f", Keywords = new[] { "spam" }, ExemptModerators = exempt };
        Assert.Equal(hit, !PolicyCompiler.Compile(new[] { f }).Evaluate(Msg("spam", moderator: moderator)).IsClean);
    }

    [Fact]
    public void Evaluate_ExemptUsers_ExactAndGlob()
    {
        var f = new FilterDefinition { Name = "f", Keywords = new[] { "spam" }, ExemptUsers = new[] { "@bot:example.org", "@admin-*:example.org" } };
        var s = PolicyCompiler.Compile(new[] { f });
        Assert.True(s.Evaluate(Msg("spam", sender: "@bot:example.org")).IsClean);
        Assert.True(s.Evaluate(Msg("spam", sender: "@admin-jo:example.org")).IsClean);
        Assert.False(s.Evaluate(Msg("spam", sender: "@alice:example.org")).IsClean);
    }

    [Fact]
    public void Evaluate_Fields_FilterChecksOnlyItsFields()
    {
        var f = new FilterDefinition { Name = "f", Keywords = new[] { "spam" }, Fields = FieldSet.Title | FieldSet.DisplayName };
        var s = PolicyCompiler.Compile(new[] { f });
        var msg = new ChatMessage
        {
            Protocol = "t",
            Fields = new[] { new MessageField(FieldKind.Body, "spam"), new MessageField(FieldKind.Title, "spam title") },
        };
        var v = s.Evaluate(msg);
        Assert.Equal(VerdictAction.Censor, v.Action);
        Assert.Equal("spam", v.DeliveredText(msg, FieldKind.Body));
        Assert.Equal("**** title", v.DeliveredText(msg, FieldKind.Title));
    }

    [Fact]
    public void Evaluate_DryRun_RecordsButDoesNotAct()
    {
        var f = new FilterDefinition { Name = "f", Keywords = new[] { "spam" }, Action = FilterAction.Reject, DryRun = true };
        var v = PolicyCompiler.Compile(new[] { f }).Evaluate(Msg("spam"));
        Assert.Equal(VerdictAction.Forward, v.Action);
        Assert.True(v.Matches[0].DryRun);
    }

    [Fact]
    public void Evaluate_CleanMessage_ReturnsSharedVerdictWithoutAllocating()
    {
        var words = Enumerable.Range(0, 5000).Select(i => $"badword{i}").ToArray();
        var s = PolicyCompiler.Compile(new[] { new FilterDefinition { Name = "f", Keywords = words, Regexes = new[] { "buy\\s+now" } } });
        var msg = Msg("a perfectly clean message about cats and dogs and the weather today");
        Assert.Same(Verdict.Clean, s.Evaluate(msg));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            s.Evaluate(msg);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Evaluate_TensOfThousandsOfKeywords_FindsTheRightOne()
    {
        var words = Enumerable.Range(0, 50_000).Select(i => $"w{i:x}q").ToList();
        words.Add("needle");
        var s = PolicyCompiler.Compile(new[] { new FilterDefinition { Name = "f", Keywords = words } });
        var v = s.Evaluate(Msg("find the needle here; w1fq and w1fqq"));
        Assert.Equal(new[] { "w1fq", "needle" }.OrderBy(x => x), v.Matches.Select(m => m.Term).OrderBy(x => x));
    }

    [Theory]
    [InlineData("(a+)+b", true)]          // catastrophic in a backtracking engine, linear here
    [InlineData("(?<=x)a", false)]        // lookbehind: unsupported by NonBacktracking
    [InlineData("(a)\\1", false)]         // backreference: unsupported
    [InlineData("a(", false)]             // syntax error
    [InlineData("a*", false)]             // matches the empty string
    public void TryCompile_HostilePatterns_AreLinearOrRefused(string pattern, bool ok)
    {
        Assert.Equal(ok, RegexRules.TryCompile(pattern, false, 512, out _, out var error));
        Assert.Equal(ok, error is null);
    }

    [Fact]
    public void Evaluate_HostileRegexOnLongInput_Completes()
    {
        var f = new FilterDefinition { Name = "f", Regexes = new[] { "(a+)+b" } };
        var v = Eval(f, new string('a', 50_000) + "!");
        Assert.True(v.IsClean);
    }
}
