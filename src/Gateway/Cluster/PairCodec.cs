using System.Buffers;
using System.Text.Json;
using Gateway.Policy.Context;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Reporting;

namespace Gateway.Cluster;

/// <summary>
/// The plaintext inside a sealed push: a batch of <see cref="PairAppend"/>s as JSON, each with the report it carries
/// (without context: the owner adds its own). Only ever written into a <see cref="PeerSeal"/> envelope.
/// </summary>
internal static class PairCodec
{
    public static byte[] Encode(IReadOnlyList<PairAppend> batch)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("appends");
            foreach (var a in batch)
            {
                w.WriteStartObject();
                w.WriteString("key", a.Key.Value);
                w.WriteString("sender", a.Sender);
                w.WriteNumber("time", a.Time.UtcTicks);
                w.WriteBoolean("user_report", a.UserReport);
                Strings(w, "texts", a.Texts);
                if (a.Report is { } r)
                {
                    w.WritePropertyName("report");
                    WriteReport(w, r);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        var bytes = buffer.WrittenSpan.ToArray();
        buffer.Clear();
        return bytes;
    }

    /// <summary>False on anything but a well-formed batch (the sender is authentic, but its build may differ).</summary>
    public static bool TryDecode(ReadOnlyMemory<byte> json, out List<PairAppend> batch)
    {
        batch = [];
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
            foreach (var a in doc.RootElement.GetProperty("appends").EnumerateArray())
            {
                var key = new ConversationKey(a.GetProperty("key").GetString() ?? throw new FormatException());
                if (key.Value is null || !key.IsPair)
                {
                    return false;
                }

                batch.Add(new PairAppend(key, a.GetProperty("sender").GetString() ?? throw new FormatException(),
                    new DateTimeOffset(a.GetProperty("time").GetInt64(), TimeSpan.Zero),
                    ReadStrings(a.GetProperty("texts")),
                    a.TryGetProperty("report", out var r) ? ReadReport(r) : null,
                    a.GetProperty("user_report").GetBoolean()));
            }

            return true;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            batch = [];
            return false;
        }
    }

    private static void WriteReport(Utf8JsonWriter w, Report r)
    {
        w.WriteStartObject();
        w.WriteString("id", r.Id);
        w.WriteNumber("time", r.Time.UtcTicks);
        w.WriteString("kind", r.Kind);
        w.WriteString("protocol", r.Protocol);
        w.WriteString("backend", r.Backend);
        w.WriteString("route", r.Route);
        w.WriteString("room", r.Room);
        w.WriteBoolean("direct", r.Direct);
        w.WriteString("sender", r.Sender);
        Strings(w, "recipients", r.Recipients);
        Strings(w, "filters", r.Filters);
        w.WriteString("action", r.Action);
        Fields(w, "original", r.Original);
        if (r.Delivered is { } delivered)
        {
            Fields(w, "delivered", delivered);
        }

        w.WriteStartArray("matches");
        foreach (var m in r.Matches)
        {
            w.WriteStartObject();
            w.WriteString("filter", m.Filter);
            w.WriteNumber("action", (int)m.Action);
            w.WriteNumber("field", (int)m.Field);
            w.WriteString("term", m.Term);
            w.WriteNumber("start", m.Start);
            w.WriteNumber("end", m.End);
            w.WriteBoolean("dry_run", m.DryRun);
            w.WriteNumber("index", m.FieldIndex);
            Strings(w, "steps", m.Steps);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("reporter", r.Reporter);
        w.WriteString("reason", r.Reason);
        w.WriteString("comment", r.Comment);
        w.WriteString("reported_text", r.ReportedText);
        w.WriteString("client_ip", r.ClientIp);
        w.WriteEndObject();
    }

    private static Report ReadReport(JsonElement r)
    {
        var matches = new List<FilterMatch>();
        foreach (var m in r.GetProperty("matches").EnumerateArray())
        {
            matches.Add(new FilterMatch(m.GetProperty("filter").GetString() ?? throw new FormatException(), (FilterAction)m.GetProperty("action").GetInt32(),
                (FieldKind)m.GetProperty("field").GetInt32(), m.GetProperty("term").GetString() ?? throw new FormatException(), m.GetProperty("start").GetInt32(),
                m.GetProperty("end").GetInt32(), m.GetProperty("dry_run").GetBoolean(), m.GetProperty("index").GetInt32())
            {
                Steps = ReadStrings(m.GetProperty("steps")),
            });
        }

        return new Report
        {
            Id = r.GetProperty("id").GetGuid(),
            Time = new DateTimeOffset(r.GetProperty("time").GetInt64(), TimeSpan.Zero),
            Kind = r.GetProperty("kind").GetString() ?? throw new FormatException(),
            Protocol = r.GetProperty("protocol").GetString() ?? throw new FormatException(),
            Backend = r.GetProperty("backend").GetString(),
            Route = r.GetProperty("route").GetString(),
            Room = r.GetProperty("room").GetString(),
            Direct = r.GetProperty("direct").GetBoolean(),
            Sender = r.GetProperty("sender").GetString(),
            Recipients = ReadStrings(r.GetProperty("recipients")),
            Filters = ReadStrings(r.GetProperty("filters")),
            Action = r.GetProperty("action").GetString(),
            Original = ReadFields(r.GetProperty("original")),
            Delivered = r.TryGetProperty("delivered", out var d) ? ReadFields(d) : null,
            Matches = matches,
            Reporter = r.GetProperty("reporter").GetString(),
            Reason = r.GetProperty("reason").GetString(),
            Comment = r.GetProperty("comment").GetString(),
            ReportedText = r.GetProperty("reported_text").GetString(),
            ClientIp = r.GetProperty("client_ip").GetString(),
        };
    }

    private static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    private static string[] ReadStrings(JsonElement array)
    {
        var list = new string[array.GetArrayLength()];
        var i = 0;
        foreach (var e in array.EnumerateArray())
        {
            list[i++] = e.GetString() ?? throw new FormatException();
        }

        return list;
    }

    private static void Fields(Utf8JsonWriter w, string name, IReadOnlyList<MessageField> fields)
    {
        w.WriteStartArray(name);
        foreach (var f in fields)
        {
            w.WriteStartObject();
            w.WriteNumber("kind", (int)f.Kind);
            w.WriteString("text", f.Text);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static MessageField[] ReadFields(JsonElement array)
    {
        var list = new MessageField[array.GetArrayLength()];
        var i = 0;
        foreach (var e in array.EnumerateArray())
        {
            list[i++] = new MessageField((FieldKind)e.GetProperty("kind").GetInt32(), e.GetProperty("text").GetString() ?? throw new FormatException());
        }

        return list;
    }
}
