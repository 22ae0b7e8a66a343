using System.Reflection;
using System.Runtime.InteropServices;

namespace Gateway.Cli;

/// <summary><c>gateway version</c>: the version, the commit and the time it was built (stamped by Gateway.csproj), and the .NET runtime.</summary>
internal static class BuildInfo
{
    public static string Describe()
    {
        var assembly = typeof(BuildInfo).Assembly;
        var version = assembly.GetName().Version?.ToString(3) ?? "0";
        var commit = Metadata(assembly, "GitCommit");
        var built = Metadata(assembly, "BuildTime");
        return $"gateway {version} (commit {(string.IsNullOrEmpty(commit) ? "unknown" : commit)}, committed {(string.IsNullOrEmpty(built) ? "unknown" : built)}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.RuntimeIdentifier})";
    }

    private static string? Metadata(Assembly assembly, string key) =>
        assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
}
