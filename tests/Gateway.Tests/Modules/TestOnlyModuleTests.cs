using System.Net;
using System.Text;
using Gateway.Configuration;
using Gateway.Protocols;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Modules;

/// <summary>
/// A protocol added without touching the host: <see cref="PlainTextModule"/> is registered here, in a test, and the
/// gateway reads its config keys, proxies its traffic to a real backend and filters it (issue 10, part 6). Its
/// <c>signed</c> switch proves the capability: a censor verdict on bodies that cannot be rewritten becomes the route's
/// censor_fallback, and rewritten bytes never reach the backend.
/// </summary>
public sealed class TestOnlyModuleTests
{
    private static readonly ProtocolModules Modules = ProtocolModules.BuiltIn.With(new PlainTextModule());

    private static string Config(string backend, bool signed = false, string fallback = "") => $$"""
        [[backends]]
        name = "notes"
        protocol = "plaintext"
        upstreams = ["{{backend}}"]
          [backends.plaintext]
          sender_header = "X-Author"
          signed = {{(signed ? "true" : "false")}}

          [[backends.routes]]
          path = "/post"
          {{fallback}}
            [backends.routes.plaintext]
            room = "notes"

        [[filters]]
        name = "words"
        keywords = ["darn"]
        action = "censor"

        [[filters]]
        name = "spam"
        keywords = ["cheap pills"]
        action = "reject"
        notice = "No spam here."
        """;

    [Fact]
    public async Task TestModule_RegisteredInATest_GatewayProxiesAndFiltersItsTraffic()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url), modules: Modules);

        var clean = await Post(gw, "/post", "hello there");
        var censored = await Post(gw, "/post", "what a d4rn day");
        var rejected = await Post(gw, "/post", "buy CHEAP pills now");

        Assert.Equal(HttpStatusCode.Created, clean.StatusCode); // the recording backend answers 201
        Assert.Equal(HttpStatusCode.Created, censored.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, rejected.StatusCode);
        Assert.Equal("No spam here.", await rejected.Content.ReadAsStringAsync());
        var bodies = backend.Received.Select(r => Encoding.UTF8.GetString(r.Body)).ToArray();
        Assert.Equal(new[] { "hello there", "what a **** day" }, bodies);
    }

    [Fact]
    public async Task SignedBodies_CensorVerdict_BecomesTheDefaultFallbackRejectAndNothingIsForwarded()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url, signed: true), modules: Modules);

        var response = await Post(gw, "/post", "what a darn day");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(backend.Received);
    }

    [Theory]
    [InlineData("drop", HttpStatusCode.Accepted, null)]
    [InlineData("forward", HttpStatusCode.Created, "what a darn day")]
    public async Task SignedBodies_CensorFallback_IsTheRoute_sChoiceAndNeverRewritten(string fallback, HttpStatusCode status, string? delivered)
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gw = await GatewayHost.StartAsync(Config(backend.Url, signed: true, $"censor_fallback = \"{fallback}\""), modules: Modules);

        var response = await Post(gw, "/post", "what a darn day");

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(delivered is null ? Array.Empty<string>() : new[] { delivered },
            backend.Received.Select(r => Encoding.UTF8.GetString(r.Body)).ToArray());
    }

    [Fact]
    public async Task BackendFilters_FromTheModulesOwnFile_ApplyToThatBackendOnly_AndReloadWhenTheFileChanges()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var config = $$"""
            [[backends]]
            name = "notes"
            protocol = "plaintext"
            upstreams = ["{{backend.Url}}"]
              [backends.plaintext]
              sender_header = "X-Author"
              words_file = "board-words.txt"
              [[backends.routes]]
              path = "/post"

            [[backends]]
            name = "other"
            protocol = "plaintext"
            upstreams = ["{{backend.Url}}"]
              [backends.plaintext]
              sender_header = "X-Author"
              [[backends.routes]]
              path = "/other"

            [[filters]]
            name = "words"
            keywords = ["darn"]
            """;
        await using var gw = await GatewayHost.StartAsync(config, new Dictionary<string, string> { ["board-words.txt"] = "walrus\n" }, watch: true, modules: Modules);
        var state = gw.Service<Gateway.Runtime.GatewayState>();
        Assert.Contains("notes/words_file", state.Current.Policy.FilterNames);

        var scoped = await Post(gw, "/post", "a walrus here");
        var elsewhere = await Post(gw, "/other", "a walrus there");
        var global = await Post(gw, "/other", "darn");

        Assert.Equal(HttpStatusCode.Forbidden, scoped.StatusCode);
        Assert.Equal("Not on this board.", await scoped.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Created, elsewhere.StatusCode);
        Assert.Equal(new[] { "a walrus there", "****" }, backend.Received.Select(r => Encoding.UTF8.GetString(r.Body)).ToArray());

        await File.WriteAllTextAsync(Path.Combine(gw.Directory, "board-words.txt"), "narwhal\n");
        for (var i = 0; i < 100 && state.Current.Version == 1; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(2, state.Current.Version);
        Assert.Equal(HttpStatusCode.Created, (await Post(gw, "/post", "a walrus here")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(gw, "/post", "a narwhal here")).StatusCode);
    }

    [Fact]
    public void ModuleKeys_Errors_CarryFileLineColumnAndKeyPath()
    {
        var result = ConfigLoader.Load("""
            [[backends]]
            name = "notes"
            protocol = "plaintext"
            upstreams = ["http://127.0.0.1:9"]
              [backends.plaintext]
              sender_header = ""
              colour = "blue"
            """, "gateway.toml", Modules);

        Assert.False(result.Ok);
        var errors = result.Errors.Select(e => e.ToString()).ToArray();
        Assert.Contains(errors, e => e.StartsWith("gateway.toml:6:", StringComparison.Ordinal) && e.Contains("backends[0].plaintext.sender_header: must name a header", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("backends[0].plaintext.colour", StringComparison.Ordinal));
    }

    [Fact]
    public void WithoutTheModule_TheProtocolIsUnknown_AndTheBuiltInsAreListed()
    {
        var result = ConfigLoader.Load("""
            [[backends]]
            name = "notes"
            protocol = "plaintext"
            upstreams = ["http://127.0.0.1:9"]
            """, "gateway.toml");

        var error = Assert.Single(result.Errors);
        Assert.Contains("unknown protocol \"plaintext\"; known: barertc, json, lemmy, matrix, none", error.ToString(), StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> Post(GatewayHost gw, string path, string text)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(text, Encoding.UTF8, "text/plain") };
        request.Headers.Add("X-Author", "alice");
        return gw.Client.SendAsync(request);
    }
}
