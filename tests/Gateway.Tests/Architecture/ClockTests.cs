using System.Text.RegularExpressions;
using Gateway.Tests.Configuration;

namespace Gateway.Tests.Architecture;

/// <summary>
/// Time is injected (style habit 9, issue 10 #3): code in src/ reads the clock through a <see cref="TimeProvider"/>,
/// so tests can move it with FakeTimeProvider instead of sleeping. The build has no banned-API analyzer, so this
/// test stands in for one.
/// </summary>
public sealed partial class ClockTests
{
    /// <summary>
    /// TEMPORARY: "file: reason" for clock reads still waiting for a TimeProvider. Delete an entry when its file is
    /// fixed (the test fails on an entry that no longer matches).
    /// </summary>
    private static readonly string[] Exceptions =
    [
    ];

    [Fact]
    public void Source_ReadsTheClockOnlyThroughTimeProvider()
    {
        var root = ConfigLoaderTests.RepoRoot();
        var found = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            var lines = File.ReadAllLines(path);
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i];
                var comment = line.IndexOf("//", StringComparison.Ordinal);
                var code = comment < 0 ? line : line[..comment];
                var bad = ClockRead().IsMatch(code) || (TaskDelay().IsMatch(code) && !code.Contains("time", StringComparison.OrdinalIgnoreCase));
                if (!bad)
                {
                    continue;
                }

                if (Exceptions.Contains(relative))
                {
                    used.Add(relative);
                    continue;
                }

                found.Add($"{relative}:{i + 1}: {line.Trim()}");
            }
        }

        Assert.True(found.Count == 0, "read the clock through the injected TimeProvider:\n" + string.Join('\n', found));
        var stale = Exceptions.Where(e => !used.Contains(e)).ToList();
        Assert.True(stale.Count == 0, "no clock read left, delete from Exceptions: " + string.Join(", ", stale));
    }

    [GeneratedRegex(@"\b(?:DateTime(?:Offset)?\.(?:UtcNow|Now|Today)|Stopwatch\.|new\s+Stopwatch\b|Environment\.TickCount|new\s+(?:System\.Threading\.)?Timer\s*\(|new\s+PeriodicTimer\b)", RegexOptions.CultureInvariant)]
    private static partial Regex ClockRead();

    [GeneratedRegex(@"\bTask\.Delay\s*\(", RegexOptions.CultureInvariant)]
    private static partial Regex TaskDelay();
}
