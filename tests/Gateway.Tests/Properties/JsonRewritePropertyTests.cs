using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Json;
using static Gateway.Tests.Json.JsonTestData;

namespace Gateway.Tests.Properties;

/// <summary>A JSON body as sent (whitespace and escapes as the client chose them) and the adapter setup.</summary>
public sealed record JsonCase(string Body, bool SharedPointers)
{
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var c in Body)
        {
            _ = c is >= ' ' and < '\u007f' ? sb.Append(c) : sb.Append(@"\u").Append(((int)c).ToString("x4", null));
        }

        return $"shared {SharedPointers}: {sb}";
    }
}

public static class JsonGenerators
{
    internal const string Term = "darn";

    public static Arbitrary<JsonCase> JsonCases()
    {
        var pieces = Gen.Elements("darn", "DARN", "d4rn", "dａrn", "d\u200barn", "d.a.r.n", "ok", " ", "a", "é", "😀", "\"", "\\", "/",
            "\n", "\t", "\u0001", "\u2028", "中文", "<b>", "darned", "x darn y");
        var text = pieces.ListOf().Select(p => string.Concat(p));
        var ws = Gen.Elements("", "", " ", "\n  ", "\t");
        var key = Gen.Elements("text", "Text", "TEXT", "other", "n", "meta", "title", "x");
        var str = text.SelectMany(t => Gen.Elements(0, 1, 2).Select(style => StringLiteral(t, style)));
        var scalar = Gen.OneOf(str, Gen.Elements("1", "-2.5e3", "true", "false", "null", "0"));
        var gen =
            from members in MemberList(key, str, scalar, ws, 2)
            from lead in ws
            from trail in ws
            from shared in Gen.Elements(true, false)
            select new JsonCase(lead + members + trail, shared);
        return gen.ToArbitrary();
    }

    // Inspected keys get strings (anything else there is refused as invalid_field, tested elsewhere); null now and then.
    private static Gen<string> MemberList(Gen<string> key, Gen<string> str, Gen<string> scalar, Gen<string> ws, int depth)
    {
        var value = depth == 0
            ? scalar
            : Gen.Frequency(
                (6, scalar),
                (1, Gen.Constant(0).SelectMany(_ => MemberList(key, str, scalar, ws, depth - 1))),
                (1, scalar.ListOf().Select(items => "[" + string.Join(",", items) + "]")));
        var member =
            from k in key
            from w1 in ws
            from w2 in ws
            from v in k is "other" or "n" or "x" or "meta" ? value : Gen.Frequency((9, str), (1, Gen.Constant("null")))
            select $"{w1}\"{k}\"{w2}:{w1}{v}{w2}";
        return member.ListOf().Select(ms => "{" + string.Join(",", ms) + "}");
    }

    // 0: minimal escapes; 1: every non-ASCII character as \uXXXX; 2: "/" as "\/" and letters as \u00XX now and then.
    private static string StringLiteral(string text, int style)
    {
        var sb = new StringBuilder("\"");
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '"' or '\\' || c < ' ')
            {
                sb.Append(c switch { '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\t' => "\\t", _ => $"\\u{(int)c:x4}" });
            }
            else if ((style == 1 && c > '\u007f') || (style == 2 && c == 'a'))
            {
                sb.Append($"\\u{(int)c:X4}");
            }
            else if (style == 2 && c == '/')
            {
                sb.Append("\\/");
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.Append('"').ToString();
    }
}

/// <summary>
/// Issue 17: a censored JSON body differs from the original only inside the censored strings — every byte between
/// the inspected string literals (keys, numbers, whitespace, other strings, escapes as the client wrote them) is
/// unchanged — and those strings now read as the censored text, with the term no longer readable.
/// </summary>
[Properties(Arbitrary = [typeof(JsonGenerators)], MaxTest = 300)]
public sealed class JsonRewritePropertyTests
{
    private static readonly PolicySnapshot Policy = PolicyCompiler.Compile(
    [
        new FilterDefinition { Name = "words", Action = FilterAction.Censor, Keywords = [JsonGenerators.Term], Fields = FieldSet.All },
    ]);

    [Property]
    public void Rewrite_AnyBody_ChangesOnlyTheCensoredStrings(JsonCase c)
    {
        var adapter = c.SharedPointers
            ? new JsonAdapter(new JsonAdapterOptions { Body = Pointer("/text"), Title = Pointer("/Text") })
            : new JsonAdapter(new JsonAdapterOptions { Body = Pointer("/text"), Title = Pointer("/meta/title") });
        var json = Encoding.UTF8.GetBytes(c.Body);
        var parsed = adapter.Parse(json, _ => null);
        Assert.Null(parsed.Error);
        if (parsed.Messages.Count == 0)
        {
            return;
        }

        var message = Assert.Single(parsed.Messages);
        var verdict = Policy.Evaluate(message);
        if (verdict.Action != VerdictAction.Censor)
        {
            Assert.True(verdict.IsClean);
            return;
        }

        var output = JsonAdapter.Rewrite(parsed, verdict, json);

        // Same document shape: the output parses, and the adapter finds the same fields in it.
        using (JsonDocument.Parse(output))
        {
        }

        var again = adapter.Parse(output, _ => null);
        Assert.Null(again.Error);
        var before = Distinct((JsonValueLocation[])parsed.State!);
        var after = Distinct((JsonValueLocation[])again.State!);
        Assert.Equal(before.Length, after.Length);

        // The bytes between the inspected strings are identical.
        var (bPos, aPos) = (0, 0);
        for (var i = 0; i < before.Length; i++)
        {
            Assert.True(json.AsSpan(bPos, before[i].Start - bPos).SequenceEqual(output.AsSpan(aPos, after[i].Start - aPos)),
                $"bytes before inspected string {i} differ");
            (bPos, aPos) = (before[i].End, after[i].End);
        }

        Assert.True(json.AsSpan(bPos).SequenceEqual(output.AsSpan(aPos)), "bytes after the last inspected string differ");

        // The strings now hold the censored text: no field of the rewritten body matches any more, and an unchanged
        // string keeps its original bytes (escapes included).
        Assert.True(Policy.Evaluate(Assert.Single(again.Messages)).IsClean);
        for (var i = 0; i < before.Length; i++)
        {
            var oldText = JsonValues.ReadString(json, before[i]);
            var newText = JsonValues.ReadString(output, after[i]);
            if (oldText == newText)
            {
                Assert.True(json.AsSpan(before[i].Start, before[i].Length).SequenceEqual(output.AsSpan(after[i].Start, after[i].Length)));
            }
        }
    }

    private static JsonValueLocation[] Distinct(JsonValueLocation[] locations) =>
        locations.DistinctBy(l => l.Start).OrderBy(l => l.Start).ToArray();
}
