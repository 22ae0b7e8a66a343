using Gateway.Cli;
using Gateway.Configuration;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Configuration;

/// <summary>Issue 9, defects 12 and 13: arrays are arrays, tables are defined once, and method fall-through warns.</summary>
public sealed class ConfigTypingTests
{
    private static IReadOnlyList<string> Errors(string toml) =>
        ConfigLoader.Load(toml, Path.Combine(Path.GetTempPath(), "gateway.toml")).Errors.Select(e => e.ToString()).ToArray();

    private const string Backend = "[[backends]]\nname = \"b\"\nprotocol = \"json\"\n";

    /// <summary>Every array-typed key, written as a bare string: each must be an error on that key at its line.</summary>
    [Theory]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = \"damn\"\n", "3:1: filters[0].keywords")]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = [\"x\"]\nkeyword_files = \"w.txt\"\n", "4:1: filters[0].keyword_files")]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = [\"x\"]\nallow = \"y\"\n", "4:1: filters[0].allow")]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = [\"x\"]\nallow_files = \"w.txt\"\n", "4:1: filters[0].allow_files")]
    [InlineData("[[filters]]\nname = \"f\"\nregex = \"a+\"\n", "3:1: filters[0].regex")]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = [\"x\"]\nfields = \"body\"\n", "4:1: filters[0].fields")]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = [\"x\"]\nrooms = \"a\"\n", "4:1: filters[0].rooms")]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = [\"x\"]\nexclude_rooms = \"a\"\n", "4:1: filters[0].exclude_rooms")]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = [\"x\"]\nexempt_users = \"a\"\n", "4:1: filters[0].exempt_users")]
    [InlineData("[[MessageFilters]]\nKeywordPhrases = \"spam\"\n", "2:1: MessageFilters[0].KeywordPhrases")]
    [InlineData("[server]\nlisten = \"http://127.0.0.1:8080\"\n", "2:1: server.listen")]
    [InlineData("[server]\ntrusted_proxies = \"10.0.0.0/8\"\n", "2:1: server.trusted_proxies")]
    [InlineData(Backend + "upstreams = \"http://127.0.0.1:1\"\n", "4:1: backends[0].upstreams")]
    [InlineData(Backend + "upstreams = [\"http://127.0.0.1:1\"]\n[[backends.routes]]\npath = \"/m\"\nmethods = \"POST\"\ninspect = false\n",
        "7:1: backends[0].routes[0].methods")]
    [InlineData("[[backends]]\nname = \"m\"\nprotocol = \"matrix\"\nupstreams = [\"http://127.0.0.1:1\"]\n[backends.matrix]\npublic_rooms = \"!a:x\"\n",
        "6:1: backends[0].matrix.public_rooms")]
    [InlineData("[server_acl]\ndeny = \"evil.example\"\n", "2:1: server_acl.deny")]
    [InlineData("[server_acl]\nallow = \"*\"\n", "2:1: server_acl.allow")]
    [InlineData("[ip_blocks]\ndeny = \"10.0.0.0/8\"\n", "2:1: ip_blocks.deny")]
    [InlineData("[ip_blocks]\nfiles = \"ips.txt\"\n", "2:1: ip_blocks.files")]
    [InlineData("[matrix]\npolicy_lists = \"p.json\"\n", "2:1: matrix.policy_lists")]
    [InlineData("[matrix.antispam]\nfail_open = \"user_may_invite\"\n", "2:1: matrix.antispam.fail_open")]
    public void Load_StringWhereAnArrayIsExpected_IsAnError(string toml, string where)
    {
        Assert.Contains(Errors(toml), e => e.StartsWith("gateway.toml:" + where + ": expected an array of strings, found the string", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("[limits]\nmax_body_bytes = 1\n[limits]\nmax_json_depth = 2\n", "gateway.toml:3:1: limits: is already defined at line 1")]
    [InlineData("[limits]\nmax_body_bytes = 1\nmax_body_bytes = 2\n", "gateway.toml:3:1: limits.max_body_bytes: is already defined at line 2")]
    [InlineData("[server]\nwatch_config = true\n[limits]\n[server]\n", "gateway.toml:4:1: server: is already defined at line 1")]
    public void Load_TableOrKeyDefinedTwice_IsAnErrorWithPosition(string toml, string expected)
    {
        Assert.Contains(expected + "; a table or key can be defined only once", Errors(toml));
    }

    // Tomlyn 2.10.2 keeps only the entries after the last interruption of an array of tables: refused, never dropped.
    [Theory]
    [InlineData("[[filters]]\nname = \"a\"\nkeywords = [\"x\"]\n[limits]\n[[filters]]\nname = \"b\"\nkeywords = [\"y\"]\n",
        "gateway.toml:5:1: filters: [[filters]] continues after other tables; keep all [[filters]] entries together")]
    [InlineData("[[filters]]\nname = \"a\"\nkeywords = [\"x\"]\n[[protections]]\nname = \"p\"\nkind = \"flood\"\nmax = 3\n[[filters]]\nname = \"b\"\nkeywords = [\"y\"]\n",
        "gateway.toml:8:1: filters: [[filters]] continues after other tables")]
    public void Load_ArrayOfTablesContinuedAfterAnotherTable_IsRefusedWithTheLine(string toml, string expected)
    {
        Assert.Contains(Errors(toml), e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Load_NestedArraysOfEachEntry_AreNotAContinuation()
    {
        // [[backends]] → [[backends.routes]] → [backends.routes.json] → [[backends.routes]] → [[backends]] → … is one run.
        const string Backend = """
            [[backends]]
            name = "NAME"
            protocol = "json"
            upstreams = ["http://127.0.0.1:1"]
              [[backends.routes]]
              path = "/a"
                [backends.routes.json]
                body = "/text"
              [[backends.routes]]
              path = "/"
              inspect = false

            """;
        var toml = Backend.Replace("NAME", "one") + Backend.Replace("NAME", "two") + "[[filters]]\nname = \"f\"\nkeywords = [\"spam\"]\n";
        Assert.Empty(Errors(toml));
    }

    private static string Routes(string inspectedMethods, string fallback) => $$"""
        [[backends]]
        name = "chat"
        protocol = "json"
        upstreams = ["http://127.0.0.1:1"]

          [[backends.routes]]
          path = "/api/messages"
          {{inspectedMethods}}
            [backends.routes.json]
            body = "/text"
        {{fallback}}
        [[filters]]
        name = "f"
        keywords = ["spam"]
        """;

    private const string PassthroughRoot = "\n  [[backends.routes]]\n  path = \"/\"\n  inspect = false\n";
    private const string OtherBackendRoot = "\n[[backends]]\nname = \"web\"\nupstreams = [\"http://127.0.0.1:2\"]\n";

    private static async Task<(int Code, string Out, string Err)> Validate(string toml)
    {
        var path = Path.Combine(Path.GetTempPath(), $"gateway-{Guid.NewGuid():N}.toml");
        await File.WriteAllTextAsync(path, toml);
        try
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var code = await GatewayCli.RunAsync(new[] { "validate", "--config", path }, stdout, stderr);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(PassthroughRoot, "backends[0].routes[1] (\"/\" of backend \"chat\")")]
    [InlineData(OtherBackendRoot, "backends[1].routes[0] (\"/\" of backend \"web\")")]
    public async Task Validate_MethodsLimitedRouteWithUninspectedFallThrough_WarnsAndExitsZero(string fallback, string target)
    {
        var (code, output, err) = await Validate(Routes("methods = [\"POST\"]", fallback));

        Assert.Equal(0, code);
        Assert.Contains("valid", output);
        var warning = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("warning: ", warning);
        Assert.Contains(":8:3: backends[0].routes[0].methods: only POST on \"/api/messages\" are inspected; other methods fall through to " + target, warning);
    }

    [Theory]
    [InlineData("methods = [\"POST\"]", "")]
    [InlineData("", PassthroughRoot)]
    public async Task Validate_NoUninspectedFallThrough_NoWarning(string methods, string fallback)
    {
        var (code, _, err) = await Validate(Routes(methods, fallback));
        Assert.Equal(0, code);
        Assert.Equal("", err);
    }

    [Fact]
    public async Task Start_MethodsFallThrough_WarningIsLogged()
    {
        await using var gw = await GatewayHost.StartAsync(Routes("methods = [\"POST\"]", PassthroughRoot));
        Assert.Contains(gw.Logs.Lines, l => l.Contains("Config warning:", StringComparison.Ordinal)
            && l.Contains("backends[0].routes[0].methods: only POST", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_MessageFiltersAfterNativeFilters_AreNamedByTheirOwnIndex()
    {
        var result = ConfigLoader.Load("""
            [[filters]]
            name = "a"
            keywords = ["alpha"]

            [[filters]]
            name = "b"
            keywords = ["beta"]

            [[MessageFilters]]
            Enabled = true
            PublicChannels = true
            KeywordPhrases = ["gamma"]
            """, "gateway.toml");

        Assert.True(result.Ok, string.Join("\n", result.Errors));
        Assert.Equal(new[] { "a", "b", "MessageFilters[0]" }, result.Config!.Filters.Select(f => f.Name).ToArray());
    }
}
