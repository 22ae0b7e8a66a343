using System.Text.Json;
using Gateway.Cli;

namespace Gateway.Tests.Configuration;

public sealed class CliTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCli.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string RepoConfig => Path.Combine(ConfigLoaderTests.RepoRoot(), "gateway.toml");

    [Fact]
    public async Task Validate_RepositoryConfig_ExitsZero()
    {
        var (code, output, _) = await Run("validate", "--config", RepoConfig);
        Assert.Equal(0, code);
        Assert.Contains("valid", output);
    }

    [Fact]
    public async Task Validate_BadConfig_ExitsTwoAndListsProblems()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.toml");
        await File.WriteAllTextAsync(path, "[limits]\nmax_body_bytes = \"x\"\nunknown = 1\n");
        try
        {
            var (code, _, err) = await Run("validate", "--config", path);
            Assert.Equal(2, code);
            Assert.Contains(":2:1: limits.max_body_bytes: expected an integer", err);
            Assert.Contains(":3:1: limits.unknown: unknown key", err);
            Assert.Contains("2 problems found", err);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("hello everyone", "forward", "hello everyone", false)]
    [InlineData("this is d4mn annoying", "censor", "this is **** annoying", false)]
    [InlineData("Buy cheap followers today", "drop", null, false)]
    public async Task Check_RepositoryConfig_PrintsVerdictJson(string text, string action, string? delivered, bool report)
    {
        var (code, output, _) = await Run("check", "--config", RepoConfig, text);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(action, root.GetProperty("action").GetString());
        Assert.Equal(delivered, root.GetProperty("text").GetString());
        Assert.Equal(report, root.GetProperty("report").GetBoolean());
        Assert.Equal(JsonValueKind.Array, root.GetProperty("rules").ValueKind);
    }

    [Fact]
    public async Task Check_DirectAndRoomAndField_AreHonoured()
    {
        var path = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}.toml");
        await File.WriteAllTextAsync(path, "[[filters]]\nname = \"dm\"\nscope = \"direct\"\naction = \"reject\"\nfields = [\"title\"]\nrooms = [\"lobby\"]\nkeywords = [\"x\"]\n");
        try
        {
            var (_, hit, _) = await Run("check", "--config", path, "--direct", "--room", "lobby", "--field", "title", "an x");
            var (_, miss, _) = await Run("check", "--config", path, "--room", "lobby", "--field", "title", "an x");
            Assert.Contains("\"action\":\"reject\"", hit);
            Assert.Contains("\"rules\":[\"dm\"]", hit);
            Assert.Contains("\"action\":\"forward\"", miss);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("such a ƒ.u.c.k today", "[\"confusable\",\"spaced\"]", 7, 14)]
    [InlineData("what a fuuuucking mess", "[\"stretched\",\"form\"]", 7, 17)]
    [InlineData("well f*ck", "[\"masked\"]", 5, 9)]
    [InlineData("fuck", "[]", 0, 4)]
    public async Task Check_Hit_ShowsTheNormalisationStepsBehindIt(string text, string steps, int start, int end)
    {
        var path = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}.toml");
        await File.WriteAllTextAsync(path, "[[filters]]\nname = \"words\"\nforms = \"english\"\nkeywords = [\"fuck\"]\n");
        try
        {
            var (code, output, _) = await Run("check", "--config", path, text);
            Assert.Equal(0, code);
            using var doc = JsonDocument.Parse(output);
            var match = Assert.Single(doc.RootElement.GetProperty("matches").EnumerateArray());
            Assert.Equal(steps, match.GetProperty("steps").GetRawText());
            Assert.Equal(start, match.GetProperty("start").GetInt32());
            Assert.Equal(end, match.GetProperty("end").GetInt32());
            Assert.Equal("fuck", match.GetProperty("term").GetString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Validate_UnknownForms_ExitsTwoNamingTheKey()
    {
        var path = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}.toml");
        await File.WriteAllTextAsync(path, "[[filters]]\nname = \"words\"\nforms = \"klingon\"\nkeywords = [\"fuck\"]\n");
        try
        {
            var (code, _, err) = await Run("validate", "--config", path);
            Assert.Equal(2, code);
            Assert.Contains("forms", err);
            Assert.Contains("english", err);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Check_BadConfig_ExitsTwo()
    {
        var (code, _, err) = await Run("check", "--config", "/nonexistent/gateway.toml", "text");
        Assert.Equal(2, code);
        Assert.Contains("cannot read the config file", err);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("check", "--bogus", "x")]
    [InlineData("check", "--field", "subject", "x")]
    public async Task Cli_BadUsage_ExitsTwoWithUsage(params string[] args)
    {
        var (code, _, err) = await Run(args);
        Assert.Equal(2, code);
        Assert.Contains("usage:", err);
    }

    [Fact]
    public async Task Help_ListsEveryOptionTheParserAccepts()
    {
        // The options are read from the parser's own switch, so a new option without a usage line fails here.
        var source = File.ReadAllText(Path.Combine(ConfigLoaderTests.RepoRoot(), "src", "Gateway", "Cli", "GatewayCli.cs"));
        var options = System.Text.RegularExpressions.Regex.Matches(source, "case \"(--[a-z-]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Contains("--moderator", options);

        var (code, stdout, _) = await Run("--help");
        Assert.Equal(0, code);
        Assert.All(options, o => Assert.Contains(o, stdout));
    }
}
