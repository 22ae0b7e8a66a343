using Gateway.Configuration;
using Gateway.Protocols.Json;

namespace Gateway.Tests.Configuration;

/// <summary>Issue 9, defect 4: terms that can never match are config errors; json.keys is read and checked.</summary>
public sealed class TermAndKeyConfigTests
{
    private static IReadOnlyList<string> Errors(string toml) =>
        ConfigLoader.Load(toml, Path.Combine(Path.GetTempPath(), "gateway.toml")).Errors.Select(e => e.ToString()).ToArray();

    [Theory]
    [InlineData("keywords = [\"damn\", \"!!!\"]", "gateway.toml:3:1: filters[0].keywords: term \"!!!\" has no letter, digit or symbol once normalised")]
    [InlineData("keywords = [\"\u0301\"]", "gateway.toml:3:1: filters[0].keywords: term \"\u0301\" has no letter, digit or symbol once normalised")]
    [InlineData("keywords = [\"damn\"]\nallow = [\"?!\"]", "gateway.toml:4:1: filters[0].allow: term \"?!\" has no letter, digit or symbol once normalised")]
    [InlineData("keywords = [\"damn\"]\nallow = [\"\u0301abc\"]", "gateway.toml:4:1: filters[0].allow: term \"\u0301abc\" normalises to \"\u0301abc\" on its own but never to that inside a message")]
    [InlineData("keywords = [\"\\u200B\\u0001\"]", "gateway.toml:3:1: filters[0].keywords: term \"\u200B\u0001\" normalises to nothing")]
    public void Load_UnmatchableTerm_IsAnErrorNamingKeyAndTerm(string lines, string expectedStart)
    {
        var errors = Errors($"[[filters]]\nname = \"f\"\n{lines}\n");
        Assert.Contains(errors, e => e.StartsWith(expectedStart, StringComparison.Ordinal));
    }

    [Fact]
    public void Load_UnmatchableTermInWordList_IsAnError()
    {
        var dir = Path.Combine(Path.GetTempPath(), "gateway-terms-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "words.txt"), "damn\n!!!\n");
            File.WriteAllText(Path.Combine(dir, "gateway.toml"), "[[filters]]\nname = \"f\"\nkeyword_files = [\"words.txt\"]\n");
            var result = ConfigLoader.LoadFile(Path.Combine(dir, "gateway.toml"));
            Assert.Contains(result.Errors, e => e.ToString().Contains("filters[0].keyword_files: term \"!!!\"", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private const string Route = "[[backends]]\nname = \"b\"\nprotocol = \"json\"\nupstreams = [\"http://127.0.0.1:1\"]\n[[backends.routes]]\npath = \"/m\"\n[backends.routes.json]\nbody = \"/text\"\n";

    [Theory]
    [InlineData("", JsonKeyMatching.AnyCase)]
    [InlineData("keys = \"any_case\"\n", JsonKeyMatching.AnyCase)]
    [InlineData("keys = \"exact\"\n", JsonKeyMatching.Exact)]
    public void Load_JsonKeys_IsRead(string line, JsonKeyMatching expected)
    {
        var result = ConfigLoader.Load(Route + line, Path.Combine(Path.GetTempPath(), "gateway.toml"));
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        Assert.Equal(expected, ((JsonRouteOptions)result.Config!.Backends[0].Routes[0].Module!).Http.Keys);
    }

    [Fact]
    public void Load_JsonKeysUnknownValue_IsAnError()
    {
        Assert.Contains("gateway.toml:9:1: backends[0].routes[0].json.keys: must be one of \"any_case\", \"exact\", found \"insensitive\"",
            Errors(Route + "keys = \"insensitive\"\n"));
    }
}
