using Gateway.Configuration;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.BareRtc;

/// <summary>
/// BareRTC's own settings.toml imported through <c>barertc.settings</c> (issue 11): its <c>[[MessageFilters]]</c> read as
/// upstream writes them (other tables ignored), scoped to the backend, matched through the normaliser (evasions
/// caught) unless <c>Normalize = false</c>, scope flags enforced, reloaded when the file changes; native
/// <c>[[filters]]</c> apply beside them.
/// </summary>
public sealed class BareRtcMessageFiltersTests(ITestOutputHelper output)
{
    internal const string Settings = """
        Title = "BareRTC"
        Branding = "BareRTC"
        WebsiteURL = "https://www.example.com"
        UseXForwardedFor = true

        [JWT]
          Enabled = false
          Strict = true
          SecretKey = ""

        [[PublicChannels]]
          ID = "lobby"
          Name = "Lobby"
          Icon = "fa fa-gavel"

        [[WebhookURLs]]
          Name = "report"
          Enabled = false
          URL = "https://www.example.com/v1/barertc/report"

        [[MessageFilters]]
          Enabled = true
          PublicChannels = true
          PrivateChannels = true
          KeywordPhrases = ['\bswear words\b', '\b(swearing|cursing)\b', '(?P<what>suck my) ([^\s]+)']
          CensorMessage = true
          ForwardMessage = true
          ReportMessage = false
          ChatServerResponse = "Watch your language."

        [[MessageFilters]]
          Enabled = true
          PublicChannels = false
          PrivateChannels = true
          KeywordPhrases = ['send me (a )?pics?$']
          CensorMessage = false
          ForwardMessage = false
          ReportMessage = false
          ChatServerResponse = "Your message has not been sent."

        [[MessageFilters]]
          Enabled = true
          PublicChannels = true
          PrivateChannels = true
          Normalize = false
          KeywordPhrases = ['EXACT']
          CensorMessage = true
          ForwardMessage = true

        [[ModerationRule]]
          Username = "example"
        """;

    private static string Config(string backend) => BareRtcEndToEndTests.Config(backend, """
          [backends.barertc]
          settings = "barertc/settings.toml"
        """);

    [Fact]
    public async Task SettingsToml_Filters_CensorWithNotice_CatchEvasions_AndLiveBesideNativeFilters()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(fake.Url), new Dictionary<string, string> { ["barertc/settings.toml"] = Settings });
        await using var alice = await Client.LoginAsync(gw, "alice");
        await using var bob = await Client.LoginAsync(gw, "bob");

        var names = gw.Service<Gateway.Runtime.GatewayState>().Current.Policy.FilterNames;
        Assert.Contains("chat/MessageFilters[0]", names);
        Assert.Contains("swears", names);

        string[] sent =
        {
            "stop CURSING me",   // case folded by the normaliser
            "stop cur$ing me",   // leetspeak
            "stop c u r s i n g me", // spaced out
            "well darn",         // a native [[filters]] rule on the same traffic
            "EXACT and exact",   // Normalize = false: RE2's case-sensitivity
        };
        var received = new List<string>();
        foreach (var text in sent)
        {
            await alice.SendAsync(System.Text.Json.JsonSerializer.Serialize(new { action = "message", channel = "@bob", message = text }));
            received.Add((string)(await bob.NextAsync("message"))["message"]!);
        }

        var notice = await alice.NextAsync("error", m => (string?)m["username"] == "ChatServer");
        for (var i = 0; i < sent.Length; i++)
        {
            output.WriteLine($"{sent[i]} -> {received[i]}");
        }

        Assert.Equal("<p>stop ******* me</p>", received[0]);
        Assert.Equal("<p>stop ******* me</p>", received[1]);
        Assert.Equal("<p>stop ************* me</p>", received[2]);
        Assert.Equal("<p>well ****</p>", received[3]);
        Assert.Equal("<p>***** and exact</p>", received[4]);
        Assert.Equal("Watch your language.", (string?)notice["message"]);
    }

    [Fact]
    public async Task SettingsToml_ScopeFlagsEnforced_PrivateOnlyDropHitsDmsNotTheLobby()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(fake.Url), new Dictionary<string, string> { ["barertc/settings.toml"] = Settings });
        await using var alice = await Client.LoginAsync(gw, "alice");
        await using var bob = await Client.LoginAsync(gw, "bob");

        await alice.SendAsync("""{"action":"message","channel":"lobby","message":"send me pics"}""");
        var lobby = await bob.NextAsync("message");
        await alice.SendAsync("""{"action":"message","channel":"@bob","message":"send me pics"}""");
        var echo = await alice.NextAsync("message", m => (string?)m["channel"] == "@bob");
        var notice = await alice.NextAsync("error", m => (string?)m["message"] != "Welcome to the chat!");
        await alice.SendAsync("""{"action":"message","channel":"@bob","message":"send me pics later"}""");
        var notAtEnd = await bob.NextAsync("message", m => (string?)m["channel"] == "@alice");
        BareRtcEndToEndTests.Print(output, "scope", lobby, echo, notice, notAtEnd);

        Assert.Equal("<p>send me pics</p>", (string?)lobby["message"]);
        Assert.Equal("<p>send me pics</p>", (string?)echo["message"]);
        Assert.Equal("Your message has not been sent.", (string?)notice["message"]);
        Assert.Equal("<p>send me pics later</p>", (string?)notAtEnd["message"]); // '$' is the end of the text, as in RE2
        Assert.Single(fake.Received, r => r.Contains("\"@bob\"", StringComparison.Ordinal) && r.Contains("send me pics", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SettingsToml_ChangedOnDisk_IsReloaded()
    {
        await using var fake = await FakeBareRtc.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(fake.Url), new Dictionary<string, string> { ["barertc/settings.toml"] = Settings }, watch: true);
        var state = gw.Service<Gateway.Runtime.GatewayState>();
        await using var alice = await Client.LoginAsync(gw, "alice");
        await using var bob = await Client.LoginAsync(gw, "bob");

        await File.WriteAllTextAsync(Path.Combine(gw.Directory, "barertc", "settings.toml"), Settings.Replace("swear words", "walrus", StringComparison.Ordinal));
        for (var i = 0; i < 100 && state.Current.Version == 1; i++)
        {
            await Task.Delay(100);
        }

        await alice.SendAsync("""{"action":"message","channel":"lobby","message":"a walrus and swear words"}""");
        var after = await bob.NextAsync("message");
        output.WriteLine((string?)after["message"]);

        Assert.Equal(2, state.Current.Version);
        Assert.Equal("<p>a ****** and swear words</p>", (string?)after["message"]);
    }

    [Theory]
    [InlineData(@"bad\Z", @"\Z")]
    [InlineData(@"(?U)bad+", "ungreedy")]
    [InlineData(@"[[:^alpha:]]", "negated POSIX")]
    public void SettingsToml_UntranslatablePattern_IsAConfigErrorNamingFilterAndPattern(string pattern, string why)
    {
        var dir = Path.Combine(Path.GetTempPath(), "gateway-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "settings.toml"), $"""
                [JWT]
                  Enabled = false

                [[MessageFilters]]
                  Enabled = true
                  PublicChannels = true
                  KeywordPhrases = ['fine', '{pattern}']
                """);
            var result = ConfigLoader.Load("""
                [[backends]]
                name = "chat"
                protocol = "barertc"
                upstreams = ["http://127.0.0.1:1"]
                  [backends.barertc]
                  settings = "settings.toml"
                """, Path.Combine(dir, "gateway.toml"));

            var error = Assert.Single(result.Errors).ToString();
            output.WriteLine(error);
            Assert.StartsWith("settings.toml:7:", error, StringComparison.Ordinal);
            Assert.Contains("MessageFilters[0].KeywordPhrases[1]", error, StringComparison.Ordinal);
            Assert.Contains("/" + pattern + "/", error, StringComparison.Ordinal);
            Assert.Contains(why, error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void GatewayToml_TopLevelMessageFilters_StillRead_AndUnknownUpstreamKeysIgnored()
    {
        var result = ConfigLoader.Load("""
            [[MessageFilters]]
            Enabled = true
            PrivateChannels = true
            KeywordPhrases = ['(?P<x>bad)$']
            ForwardMessage = true
            CensorMessage = true
            SomeFutureKey = 1
            """, Path.Combine(Path.GetTempPath(), "gateway.toml"));

        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var f = Assert.Single(result.Config!.Filters);
        Assert.Equal("MessageFilters[0]", f.Name);
        Assert.Equal(@"(?<x>bad)\z", Assert.Single(f.Regexes));
        Assert.Empty(f.Backends);
    }
}
