using System.Text;
using System.Text.Json;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Json;
using Microsoft.AspNetCore.Http;
using Xunit;
using static Gateway.Tests.Json.JsonTestData;

namespace Gateway.Tests.Json;

/// <summary>
/// Issue 9, defect 4a: a backend that reads keys case-insensitively, or takes another duplicate than the gateway
/// did, must not receive a text field the gateway never looked at.
/// </summary>
public sealed class JsonKeyMatchingTests
{
    [Theory]
    [InlineData("text", "text", true)]
    [InlineData("text", "TEXT", true)]
    [InlineData("text", "tExT", true)]
    [InlineData("desk", "de\u017Fk", true)]      // 'ſ' folds to 's' (Go's encoding/json)
    [InlineData("desk", "des\u212A", true)]      // Kelvin sign folds to 'k' (Go's encoding/json)
    [InlineData("sender", "\u017FENDER", true)]
    [InlineData("straße", "STRASSE", false)]     // simple folding only: one code point to one
    [InlineData("text", "texts", false)]
    [InlineData("text", "tex", false)]
    [InlineData("text", "t\u00E9xt", false)]
    [InlineData("σ", "ς", true)]
    [InlineData("𐐨", "𐐀", true)]                 // Deseret: astral case pair
    public void EqualsCanonical_CaseVariants_MatchAsLenientParsersDo(string segment, string name, bool equal)
    {
        Assert.Equal(equal, JsonKeyFold.EqualsCanonical(Utf8(name), JsonKeyFold.CanonicalForm(segment)));
    }

    [Fact]
    public void EqualsCanonical_AnythingOrdinalIgnoreCaseEquates_Matches()
    {
        // System.Text.Json's PropertyNameCaseInsensitive and Json.NET compare with OrdinalIgnoreCase.
        for (var c = 0; c < 0x10000; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            var s = ((char)c).ToString();
            var upper = s.ToUpperInvariant();
            Assert.True(JsonKeyFold.EqualsCanonical(Utf8(upper), JsonKeyFold.CanonicalForm(s)), $"U+{c:X4}");
        }
    }

    [Fact]
    public void ScanAll_AnyCase_FindsEveryVariantAndDuplicateInDocumentOrder()
    {
        var json = Utf8("""{"text":"a","TEXT":"b","n":{"text":"no"},"Text":"c","text":"d","te\u0058t":"e","tex":"f"}""");
        var scanner = new JsonFieldScanner([Pointer("/text")], foldKeyCase: true);
        var hits = new List<JsonFieldHit>();
        Assert.Equal(JsonScanError.None, scanner.ScanAll(json, hits, out _));
        Assert.Equal(["\"a\"", "\"b\"", "\"c\"", "\"d\"", "\"e\""], hits.Select(h => Raw(json, h.Location)));
    }

    [Fact]
    public void ScanAll_Exact_FindsEveryDuplicateButNoCaseVariant()
    {
        var json = Utf8("""{"text":"a","TEXT":"b","text":"d"}""");
        var scanner = new JsonFieldScanner([Pointer("/text")]);
        var hits = new List<JsonFieldHit>();
        Assert.Equal(JsonScanError.None, scanner.ScanAll(json, hits, out _));
        Assert.Equal(["\"a\"", "\"d\""], hits.Select(h => Raw(json, h.Location)));
    }

    [Fact]
    public void ScanAll_NestedVariantsAndContainers_AreAllFoundWithFullLength()
    {
        var json = Utf8("""{"msg":{"text":"a"},"MSG":{"Text":"b","x":1},"Msg":[1],"msg":{"TEXT":"c"}}""");
        var scanner = new JsonFieldScanner([Pointer("/msg/text"), Pointer("/msg")], foldKeyCase: true);
        var hits = new List<JsonFieldHit>();
        Assert.Equal(JsonScanError.None, scanner.ScanAll(json, hits, out _));
        Assert.Equal(["\"a\"", "\"b\"", "\"c\""], hits.Where(h => h.Pointer == 0).Select(h => Raw(json, h.Location)));
        Assert.Equal(["""{"text":"a"}""", """{"Text":"b","x":1}""", "[1]", """{"TEXT":"c"}"""],
            hits.Where(h => h.Pointer == 1).Select(h => Raw(json, h.Location)));
    }

    [Fact]
    public void ScanAll_MalformedDocument_LeavesNoHits()
    {
        var hits = new List<JsonFieldHit> { default };
        var scanner = new JsonFieldScanner([Pointer("/text")], foldKeyCase: true);
        Assert.Equal(JsonScanError.Malformed, scanner.ScanAll(Utf8("""{"text":"a","""), hits, out _));
        Assert.Empty(hits);
    }

    [Fact]
    public void Scan_SlotsWithFolding_LastVariantWins()
    {
        var json = Utf8("""{"text":"a","TEXT":"b"}""");
        var found = new JsonValueLocation?[1];
        Assert.Equal(JsonScanError.None, new JsonFieldScanner([Pointer("/text")], foldKeyCase: true).Scan(json, found, out _));
        Assert.Equal("\"b\"", Raw(json, found[0]!.Value));
    }

    // ── The adapter ───────────────────────────────────────────────────────────────────────────────────────────────

    private static JsonAdapter Adapter(JsonKeyMatching keys = JsonKeyMatching.AnyCase) => new(new JsonAdapterOptions
    {
        Body = Pointer("/text"),
        Title = Pointer("/subject"),
        Sender = Pointer("/sender"),
        Room = Pointer("/room"),
        Direct = Pointer("/direct"),
        Keys = keys,
    });

    private static readonly PolicySnapshot Policy = PolicyCompiler.Compile(new[]
    {
        new FilterDefinition { Name = "words", Keywords = new[] { "damn" }, Fields = FieldSet.Body | FieldSet.Title },
        new FilterDefinition { Name = "scams", Action = FilterAction.Reject, Keywords = new[] { "free crypto" }, Priority = 10, Fields = FieldSet.Body | FieldSet.Title },
    });

    private static (AdapterParse Parsed, AdapterOutcome Outcome) Run(JsonAdapter adapter, string body)
    {
        var json = Utf8(body);
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        var parsed = adapter.Parse(context.Request, json);
        Assert.Null(parsed.Error);
        var verdicts = parsed.Messages.Select(m => Policy.Evaluate(m)).ToArray();
        return (parsed, adapter.Apply(context, parsed, verdicts, json));
    }

    private static string Forwarded(AdapterOutcome outcome, string original) =>
        outcome.Kind == OutcomeKind.ForwardRewritten ? Encoding.UTF8.GetString(outcome.Body!) : original;

    [Theory]
    [InlineData("""{"TEXT":"damn it"}""", """{"TEXT":"**** it"}""")]
    [InlineData("""{"text":"hello","Text":"damn it"}""", """{"text":"hello","Text":"**** it"}""")]
    [InlineData("""{"text":"damn","text":"hello"}""", """{"text":"****","text":"hello"}""")]
    [InlineData("""{"text":"damn","tExt":"oh damn","TEXT":"ok"}""", """{"text":"****","tExt":"oh ****","TEXT":"ok"}""")]
    [InlineData("""{"T\u0045XT":"damn"}""", """{"T\u0045XT":"****"}""")]
    [InlineData("""{"text":"hi","\u017Fubject":"damn"}""", """{"text":"hi","\u017Fubject":"****"}""")]
    public void Apply_AnyCase_CensorsEveryCandidate(string body, string expected)
    {
        var (parsed, outcome) = Run(Adapter(), body);
        Assert.Equal(expected, Forwarded(outcome, body));
        using var forwarded = JsonDocument.Parse(Forwarded(outcome, body));
        Assert.Single(parsed.Messages);
    }

    [Theory]
    [InlineData("""{"text":"hello","TEXT":"free crypto"}""")]
    [InlineData("""{"text":"free crypto","text":"hello"}""")]
    [InlineData("""{"text":"hello","Subject":"free crypto"}""")]
    public void Apply_AnyCandidateTriggersReject_RejectsTheRequest(string body)
    {
        var (_, outcome) = Run(Adapter(), body);
        Assert.Equal(OutcomeKind.Respond, outcome.Kind);
        Assert.Equal(403, outcome.Status);
    }

    [Fact]
    public void Apply_Exact_IgnoresCaseVariantsButNotDuplicates()
    {
        var adapter = Adapter(JsonKeyMatching.Exact);
        Assert.Equal(OutcomeKind.Forward, Run(adapter, """{"text":"hello","TEXT":"damn"}""").Outcome.Kind);
        Assert.Equal("""{"text":"hello","text":"****"}""", Forwarded(Run(adapter, """{"text":"hello","text":"damn"}""").Outcome, ""));
    }

    [Theory]
    [InlineData("""{"sender":"alice","Sender":"mallory","text":"hi"}""", "/sender")]
    [InlineData("""{"sender":"alice","sender":"mallory","text":"hi"}""", "/sender")]
    [InlineData("""{"room":"a","ROOM":"b","text":"hi"}""", "/room")]
    [InlineData("""{"direct":false,"Direct":true,"text":"hi"}""", "/direct")]
    public void Apply_ConflictingIdentity_RefusedWith400(string body, string pointer)
    {
        var (parsed, outcome) = Run(Adapter(), body);
        Assert.Empty(parsed.Messages);
        Assert.Equal(OutcomeKind.Respond, outcome.Kind);
        Assert.Equal(400, outcome.Status);
        using var doc = JsonDocument.Parse(outcome.Body);
        Assert.Equal("ambiguous_field", doc.RootElement.GetProperty("error").GetString());
        Assert.Contains(pointer, doc.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"sender":"alice","Sender":"alice","text":"hi","room":"r","ROOM":null}""")]
    [InlineData("""{"sender":"5","Sender":5,"text":"hi"}""")]
    public void Parse_AgreeingIdentityCandidates_AreOneValue(string body)
    {
        var (parsed, outcome) = Run(Adapter(), body);
        var message = Assert.Single(parsed.Messages);
        Assert.NotNull(message.Sender);
        Assert.Equal(OutcomeKind.Forward, outcome.Kind);
    }

    [Fact]
    public void Apply_TwoPointersNamingOneKey_RewritesItOnceWithBothCensorships()
    {
        // body "/text" and title "/Text" both match each key with any-case keys.
        var adapter = new JsonAdapter(new JsonAdapterOptions { Body = Pointer("/text"), Title = Pointer("/Text") });
        var policy = PolicyCompiler.Compile(new[]
        {
            new FilterDefinition { Name = "b", Keywords = new[] { "damn" }, Fields = FieldSet.Body },
            new FilterDefinition { Name = "t", Keywords = new[] { "heck" }, Fields = FieldSet.Title },
        });
        var body = """{"TEXT":"damn heck","x":1}""";
        var json = Utf8(body);
        var context = new DefaultHttpContext();
        var parsed = adapter.Parse(context.Request, json);
        var outcome = adapter.Apply(context, parsed, parsed.Messages.Select(m => policy.Evaluate(m)).ToArray(), json);
        Assert.Equal("""{"TEXT":"**** ****","x":1}""", Forwarded(outcome, body));
    }
}
