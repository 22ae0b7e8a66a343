using System.Reflection;
using System.Runtime.InteropServices;

namespace Gateway.Cli;

/// <summary><c>gateway version</c>: the version, the commit and the time it was built (stamped by Gateway.csproj), the .NET
/// runtime, and the GC settings the process runs with (read back from the runtime, so a build whose runtimeconfig lost
/// the gen0 budget cap says so).</summary>
internal static class BuildInfo
{
    public static string Describe()
    {
        var assembly = typeof(BuildInfo).Assembly;
        var version = assembly.GetName().Version?.ToString(3) ?? "0";
        var commit = Metadata(assembly, "GitCommit");
        var built = Metadata(assembly, "BuildTime");
        return $"gateway {version} (commit {(string.IsNullOrEmpty(commit) ? "unknown" : commit)}, committed {(string.IsNullOrEmpty(built) ? "unknown" : built)}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.RuntimeIdentifier}, {Gc()})";
    }

    /// <summary>"server GC, gen0 budget ≤ 8 MiB" (Gateway.csproj sets the cap; see docs/proof.md, soak fix 12).</summary>
    internal static string Gc()
    {
        var kind = System.Runtime.GCSettings.IsServerGC ? "server GC" : "workstation GC";
        var budget = GC.GetConfigurationVariables().TryGetValue("GCGen0MaxBudget", out var v) && v is IConvertible c
            ? c.ToInt64(System.Globalization.CultureInfo.InvariantCulture) : 0;
        return budget > 0 ? $"{kind}, gen0 budget <= {budget / (1024.0 * 1024):0.#} MiB" : $"{kind}, gen0 budget uncapped";
    }

    private static string? Metadata(Assembly assembly, string key) =>
        assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
}
