using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.BareRtc;

/// <summary>
/// A backend's own report target (issue 11): BareRTC's reports go to BareRTC's webhook in its own payload
/// (<c>format = "barertc"</c>, pkg/webhook_messages.go upstream) while another backend keeps the global
/// <c>[reports]</c> in the gateway format.
/// </summary>
public sealed partial class BareRtcReportTargetTests(ITestOutputHelper output)
{
    // The JSON backend first: Tomlyn drops an earlier [[backends]] entry when the array is continued after other tables.
    private static string Config(string fake, string json, string globalHook, string barertcHook) => $$"""
        [[backends]]
        name = "board"
        protocol = "json"
        upstreams = ["{{json}}"]

          [[backends.routes]]
          path = "/api/messages"
          methods = ["POST"]
            [backends.routes.json]
            body = "/text"
            sender = "/sender"
            room = "/room"

        """ + BareRtcEndToEndTests.Config(fake, $$"""
              [backends.reports]
              url = "{{barertcHook}}"
              format = "barertc"
              secret_file = "barertc-hook.secret"
              api_key_file = "barertc-admin.key"
            """) + $$"""


        [[filters]]
        name = "reported"
        keywords = ["report me"]
        action = "drop"
        report = true

        [reports]
        url = "{{globalHook}}"
        secret_file = "global-hook.secret"
        drain_seconds = 5
        """;

    private static Dictionary<string, string> Files() => new()
    {
        ["barertc-hook.secret"] = "barertc-hook-secret\n",
        ["global-hook.secret"] = "global-hook-secret\n",
        ["barertc-admin.key"] = "site-admin-key\n",
    };

    [Fact]
    public async Task TwoBackends_ReportToTheirOwnWebhooks_BareRtcInItsOwnPayload()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var board = await RecordingBackend.StartAsync();
        await using var globalHook = await WebhookReceiver.StartAsync("global-hook-secret");
        await using var barertcHook = await WebhookReceiver.StartAsync("barertc-hook-secret");
        await using var gw = await GatewayHost.StartAsync(Config(fake.Url, board.Url, globalHook.Url, barertcHook.Url), Files());
        await using var alice = await Client.LoginAsync(gw, "alice");
        await using var bob = await Client.LoginAsync(gw, "bob");

        await alice.SendAsync("""{"action":"message","channel":"@bob","message":"hi bob"}""");
        await bob.NextAsync("message", m => (string?)m["channel"] == "@alice");
        await bob.SendAsync("""{"action":"message","channel":"@alice","message":"hello alice"}""");
        await alice.NextAsync("message", m => (string?)m["username"] == "bob");
        await alice.SendAsync("""{"action":"message","channel":"@bob","message":"please report me now"}""");
        await alice.NextAsync("message", m => (string?)m["message"] == "<p>please report me now</p>"); // the drop's echo
        await alice.SendAsync("""{"action":"report","channel":"@bob","username":"bob","timestamp":"now","reason":"Rude","comment":"see above","message":"<p>hello alice</p>"}""");
        await gw.Client.PostAsync("/api/messages", new StringContent("""{"sender":"carol","room":"general","text":"report me please"}""", Encoding.UTF8, "application/json"));

        var barertc = await barertcHook.WaitForAsync(2);
        var global = Assert.Single(await globalHook.WaitForAsync(1));
        foreach (var d in barertc.Append(global))
        {
            output.WriteLine(d.Body);
        }

        Assert.Equal(2, barertc.Count);
        Assert.All(barertc, d => Assert.True(d.SignatureValid));
        Assert.True(global.SignatureValid);

        // The global target: the gateway's own format, the JSON backend's report only.
        Assert.Equal("filter", global.Json.GetProperty("kind").GetString());
        Assert.Equal("json", global.Json.GetProperty("protocol").GetString());
        Assert.Equal("board", global.Json.GetProperty("backend").GetString());

        // BareRTC's target: upstream's payload, fields in upstream's order.
        var filter = barertc.Single(d => d.Body.Contains("Server Side Message Filter", StringComparison.Ordinal)).Json;
        Assert.Equal(new[] { "Action", "APIKey", "Report" }, filter.EnumerateObject().Select(p => p.Name));
        Assert.Equal("report", filter.GetProperty("Action").GetString());
        Assert.Equal("site-admin-key", filter.GetProperty("APIKey").GetString());
        var r = filter.GetProperty("Report");
        Assert.Equal(new[] { "FromUsername", "AboutUsername", "Channel", "Timestamp", "Reason", "Message", "Comment" }, r.EnumerateObject().Select(p => p.Name));
        Assert.Equal("alice", r.GetProperty("FromUsername").GetString());
        Assert.Equal("alice", r.GetProperty("AboutUsername").GetString());
        Assert.Equal("@bob", r.GetProperty("Channel").GetString());
        Assert.Matches(Rfc1123(), r.GetProperty("Timestamp").GetString());
        Assert.Equal("please report me now", r.GetProperty("Message").GetString());
        Assert.Equal("This is an automated report via server side chat filters.\n\nThe recent context in this channel included the following conversation:\n\n"
            + "T [alice] hi bob\n\nT [bob] hello alice\n\nT [alice] please report me now", Times().Replace(r.GetProperty("Comment").GetString()!, "T"));

        var user = barertc.Single(d => d.Body.Contains("\"Rude\"", StringComparison.Ordinal)).Json.GetProperty("Report");
        Assert.Equal("alice", user.GetProperty("FromUsername").GetString());
        Assert.Equal("bob", user.GetProperty("AboutUsername").GetString());
        Assert.Equal("@bob", user.GetProperty("Channel").GetString());
        Assert.Equal("see above", user.GetProperty("Comment").GetString());
        // Like upstream's ring, the context holds what was sent, dropped messages included.
        Assert.Equal("<p>hello alice</p>\n\nRecent message context:\n\nT [alice] hi bob\n\nT [bob] hello alice\n\nT [alice] please report me now",
            Times().Replace(user.GetProperty("Message").GetString()!, "T"));
    }

    [Fact]
    public void UnknownReportFormat_IsAConfigErrorListingTheKnownOnes()
    {
        var result = Gateway.Configuration.ConfigLoader.Load("""
            [reports]
            url = "http://127.0.0.1:1/hook"
            secret_env = "PATH"
            format = "nope"
            """, Path.Combine(Path.GetTempPath(), "gateway.toml"));

        var error = Assert.Single(result.Errors).ToString();
        Assert.Contains("unknown report format \"nope\"; known: gateway, barertc", error, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d UTC$")]
    private static partial Regex Rfc1123();

    [GeneratedRegex(@"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")]
    private static partial Regex Times();
}
