using Gateway.Configuration;
using Gateway.Policy.Rules;

namespace Gateway.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    private static IReadOnlyList<string> Errors(string toml) =>
        ConfigLoader.Load(toml, Path.Combine(Path.GetTempPath(), "gateway.toml")).Errors.Select(e => e.ToString()).ToArray();

    [Theory]
    [InlineData("[server]\ntrusted_proxys = []\n", "gateway.toml:2:1: server.trusted_proxys: unknown key")]
    [InlineData("colour = 1\n", "gateway.toml:1:1: colour: unknown key")]
    [InlineData("[limits]\nmax_body_bytes = \"big\"\n", "gateway.toml:2:1: limits.max_body_bytes: expected an integer, found the string \"big\"")]
    [InlineData("[limits]\nmax_body_bytes = 0\n", "gateway.toml:2:1: limits.max_body_bytes: must be between 1 and 1073741824, found 0")]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = [\"ok\"]\naction = \"explode\"\n",
        "gateway.toml:4:1: filters[0].action: must be one of \"censor\", \"drop\", \"reject\", \"forward\", found \"explode\"")]
    [InlineData("[[filters]]\nname = \"f\"\nregex = ['a(']\n",
        "gateway.toml:3:1: filters[0].regex[0]: regex /a(/ is invalid: Invalid pattern 'a(' at offset 2. Not enough )'s.")]
    [InlineData("[[filters]]\nname = \"f\"\nregex = ['(a)\\1']\n",
        "gateway.toml:3:1: filters[0].regex[0]: regex /(a)\\1/ is not supported by the linear-time engine: RegexOptions.NonBacktracking is not supported in conjunction with expressions containing: 'backreference (\\ number)'.")]
    [InlineData("[[filters]]\nname = \"f\"\nregex = ['x*']\n",
        "gateway.toml:3:1: filters[0].regex[0]: regex /x*/ matches the empty string, so it would match every message")]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = [\"**\"]\n",
        "gateway.toml:3:1: filters[0].keywords: keyword \"**\" is empty once its wildcards are removed")]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = [\"ok\"]\nrooms = [\"\"]\n", "gateway.toml:4:1: filters[0].rooms: glob is empty")]
    [InlineData("[[filters]]\nname = \"f\"\nkeywords = [\"ok\"]\nfields = [\"subject\"]\n",
        "gateway.toml:4:1: filters[0].fields: unknown field \"subject\"; known: body, title, link, display_name")]
    [InlineData("[[filters]]\nname = \"f\"\n", "gateway.toml:2:1: filters[0]: filter \"f\" has no keywords, keyword_files or regex: it can never match")]
    [InlineData("[ip_blocks]\ndeny = [\"10.0.0.1/8\"]\n", "gateway.toml:2:1: ip_blocks.deny: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?")]
    [InlineData("[server_acl]\ndeny = [\"\"]\n", "gateway.toml:2:1: server_acl.deny: server name glob is empty")]
    [InlineData("[[backends]]\nname = \"b\"\nprotocol = \"jsonx\"\nupstreams = [\"http://127.0.0.1:1\"]\n",
        "gateway.toml:3:1: backends[0].protocol: unknown protocol \"jsonx\"; known: barertc, json, lemmy, matrix, sogs, none")]
    [InlineData("[[backends]]\nname = \"b\"\nprotocol = \"none\"\nupstreams = [\"ftp://x\"]\n", "gateway.toml:4:1: backends[0].upstreams: \"ftp://x\" is not an http(s) URL")]
    [InlineData("[[backends]]\nname = \"b\"\nprotocol = \"json\"\nupstreams = [\"http://127.0.0.1:1\"]\n[[backends.routes]]\npath = \"/m\"\n",
        "gateway.toml:6:1: backends[0].routes[0].json: an inspected route of a \"json\" backend needs a [backends.routes.json] table naming its fields")]
    [InlineData("[[backends]]\nname = \"b\"\nprotocol = \"json\"\nupstreams = [\"http://127.0.0.1:1\"]\n[[backends.routes]]\npath = \"/m\"\n[backends.routes.json]\nbody = \"text\"\n",
        "gateway.toml:8:1: backends[0].routes[0].json.body: JSON Pointer 'text' must be empty or start with '/' (RFC 6901 section 3).")]
    [InlineData("a = [1,\n", "gateway.toml:2:1: TOML syntax: Unexpected end-of-file while parsing array.")]
    public void Load_BadConfig_NamesKeyAndPositionWordForWord(string toml, string expected)
    {
        Assert.Contains(expected, Errors(toml));
    }

    [Theory]
    [InlineData("[ \"*.\uFFFD\\")]
    public void Load_InputTomlynThrowsArgumentExceptionOn_IsASyntaxError(string toml)
    {
        // make fuzz (issue 17): Tomlyn threw ArgumentOutOfRangeException (Char.ConvertFromUtf32), not TomlException.
        var result = ConfigLoader.Load(toml, Path.Combine(Path.GetTempPath(), "gateway.toml"));
        Assert.False(result.Ok);
        Assert.Contains(result.Errors, e => e.ToString().Contains("TOML syntax", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_SeveralProblems_ListsEveryOne()
    {
        var errors = Errors("[server]\nbogus = 1\n[limits]\nmax_json_depth = \"x\"\n[[filters]]\nname = \"f\"\nregex = ['a(']\n");
        Assert.Equal(3, errors.Count);
    }

    [Fact]
    public void Load_MissingWordList_IsAnError()
    {
        var errors = Errors("[[filters]]\nname = \"f\"\nkeyword_files = [\"nope-does-not-exist.txt\"]\n");
        Assert.Single(errors);
        Assert.StartsWith("gateway.toml:3:1: filters[0].keyword_files: word list \"nope-does-not-exist.txt\" does not exist", errors[0]);
    }

    [Fact]
    public void Load_DuplicateFilterNames_AreRefused()
    {
        var errors = Errors("[[filters]]\nname = \"f\"\nkeywords = [\"a\"]\n[[filters]]\nname = \"f\"\nkeywords = [\"b\"]\n");
        Assert.Contains(errors, e => e.Contains("filter name \"f\" is used twice", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_RepositoryGatewayToml_IsValid()
    {
        var path = Path.Combine(RepoRoot(), "gateway.toml");
        var result = ConfigLoader.LoadFile(path);
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        Assert.Equal(1024 * 1024, result.Config!.Limits.MaxBodyBytes);
        Assert.Contains(result.Config.Filters, f => f.Name == "profanity" && f.Keywords.Contains("bollocks"));
    }

    [Fact]
    public void Load_EmptyFile_GivesDefaults()
    {
        var result = ConfigLoader.Load("", Path.Combine(Path.GetTempPath(), "gateway.toml"));
        Assert.True(result.Ok);
        Assert.Equal(new[] { "http://127.0.0.1:8080" }, result.Config!.Server.Listen);
        Assert.Equal(1048576, result.Config.Limits.MaxBodyBytes);
    }

    [Fact]
    public void Load_BareRtcMessageFilters_MapToFilters()
    {
        var result = ConfigLoader.Load("""
            [[MessageFilters]]
            Enabled = true
            PublicChannels = true
            PrivateChannels = false
            KeywordPhrases = ['\bbad\b']
            CensorMessage = false
            ForwardMessage = false
            ReportMessage = true
            ChatServerResponse = "Nope."
            """, Path.Combine(Path.GetTempPath(), "gateway.toml"));
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var f = Assert.Single(result.Config!.Filters);
        Assert.Equal(FilterAction.Drop, f.Action);
        Assert.Equal(FilterScope.Public, f.Scope);
        Assert.True(f.Report);
        Assert.Equal("Nope.", f.Notice);
        Assert.True(f.Normalize); // through the normaliser by default; Normalize = false for exact upstream matching
    }

    internal static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "Gateway.sln")))
        {
            dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("Gateway.sln not found above the test binaries");
        }

        return dir;
    }
}
