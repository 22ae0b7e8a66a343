using System.Text;
using System.Text.RegularExpressions;
using Gateway.Tests.Configuration;

namespace Gateway.Tests.Architecture;

/// <summary>
/// The host (src/Gateway) is a one-way house (issue 10, part 3): its folders depend on each other without a cycle,
/// and it names no protocol. Dependencies are read from the source text: <c>using Gateway.X</c>, fully qualified
/// <c>Gateway.X.</c>, and <c>X.Type</c> where X is a folder and Type is declared in it (every file sits in namespace
/// <c>Gateway.&lt;Folder&gt;</c>, so <c>X.</c> means <c>Gateway.X.</c>). The shared root namespace <c>Gateway</c>
/// (the source-generated <c>Log</c> class) is a leaf every folder may use.
/// </summary>
public sealed partial class FolderGraphTests
{
    /// <summary>
    /// TEMPORARY exceptions to <see cref="Host_NamesNoProtocol_OutsideTheModuleList"/>, paths under src/Gateway (a
    /// folder ends in '/'). These still name a protocol while the protocol-module work lands; delete an entry when its
    /// file stops naming one (the test fails on an entry that no longer needs to be here).
    /// </summary>
    private static readonly string[] ProtocolNamingExceptions =
    [
    ];

    /// <summary>
    /// Permanent: the files allowed to name protocols, because they are the list of modules (composition). Add the
    /// module registration file here when it exists.
    /// </summary>
    private static readonly string[] ProtocolListFiles = ["Program.cs"];

    /// <summary>Folders of Gateway.Protocols that are shared plumbing, not a protocol.</summary>
    private static readonly string[] SharedProtocolFolders = ["Abstractions", "Configuration", "Security"];

    [Fact]
    public void Folders_DependOnEachOther_WithoutCycle()
    {
        var graph = BuildGraph(out var why);
        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).ToList();
        if (cycles.Count == 0)
        {
            return;
        }

        var text = new StringBuilder("folders of src/Gateway depend on each other in a cycle:\n");
        foreach (var component in cycles)
        {
            text.Append("  ").AppendJoin(" -> ", CycleThrough(graph, component)).Append('\n');
            foreach (var from in component.Order(StringComparer.Ordinal))
            {
                foreach (var to in graph[from].Where(component.Contains).Order(StringComparer.Ordinal))
                {
                    text.Append("    ").Append(from).Append(" -> ").Append(to).Append(": ")
                        .AppendJoin(", ", why[(from, to)].Order(StringComparer.Ordinal)).Append('\n');
                }
            }
        }

        Assert.Fail(text.ToString());
    }

    [Fact]
    public void EveryFile_SitsInTheNamespaceOfItsFolder()
    {
        var wrong = new List<string>();
        foreach (var file in SourceFiles())
        {
            var ns = NamespaceLine().Match(File.ReadAllText(file.Path));
            if (file.Folder is null && !ns.Success)
            {
                continue; // Program.cs: top-level statements
            }

            var expected = file.Folder is null ? "Gateway" : "Gateway." + file.Folder;
            var actual = ns.Success ? ns.Groups[1].Value : "";
            // The root namespace holds the shared source-generated Log class, which any folder may extend.
            if (actual != expected && !actual.StartsWith(expected + ".", StringComparison.Ordinal) && actual != "Gateway")
            {
                wrong.Add($"{file.Relative}: namespace {actual}, expected {expected}");
            }
        }

        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
    }

    // The host holds no protocol name (issue 10, part 1): it loops over registered modules. Only the module list may
    // name them. Entries in ProtocolNamingExceptions are temporary and must shrink to nothing.
    [Fact]
    public void Host_NamesNoProtocol_OutsideTheModuleList()
    {
        var protocols = Directory.GetDirectories(Path.Combine(ConfigLoaderTests.RepoRoot(), "src", "Gateway.Protocols"))
            .Select(Path.GetFileName)
            .Where(n => !SharedProtocolFolders.Contains(n) && n is not ("bin" or "obj"))
            .ToList();
        var naming = new Regex(@"\bGateway\.(?:Protocols\.)?(?:" + string.Join('|', protocols) + @")\b", RegexOptions.CultureInvariant);

        var offenders = new List<string>();
        var usedExceptions = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in SourceFiles())
        {
            if (ProtocolListFiles.Contains(file.Relative) || !naming.IsMatch(StripComments(File.ReadAllText(file.Path))))
            {
                continue;
            }

            var exception = ProtocolNamingExceptions.FirstOrDefault(e => e.EndsWith('/') ? file.Relative.StartsWith(e, StringComparison.Ordinal) : file.Relative == e);
            if (exception is null)
            {
                offenders.Add(file.Relative);
            }
            else
            {
                usedExceptions.Add(exception);
            }
        }

        var stale = ProtocolNamingExceptions.Where(e => !usedExceptions.Contains(e)).ToList();
        Assert.True(offenders.Count == 0, "the host names a protocol outside the module list: " + string.Join(", ", offenders));
        Assert.True(stale.Count == 0, "no longer names a protocol, delete from ProtocolNamingExceptions: " + string.Join(", ", stale));
    }

    [Fact]
    public void Graph_SeesEveryKindOfReference()
    {
        // Guards the parser itself, so a green cycle test means something.
        var folders = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal)
        {
            ["Admin"] = ["AdminOverlay"],
            ["Cli"] = ["GatewayCli"],
            ["Telemetry"] = ["GatewayTelemetry"],
            ["Reporting"] = ["ReportQueue"],
        };
        var source = """
            using Gateway.Cli;
            namespace Gateway.Runtime;
            // Reporting.ReportQueue in a comment does not count
            class C(Telemetry.GatewayTelemetry t) { Admin.AdminOverlay o; string s = "Reporting.ReportQueue"; object p = x.Admin.Token; }
            """;
        var found = References(source, folders).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["Admin", "Cli", "Telemetry"], found);
    }

    private static Dictionary<string, SortedSet<string>> BuildGraph(out Dictionary<(string, string), SortedSet<string>> why)
    {
        var files = SourceFiles().Where(f => f.Folder is not null && f.Folder != "Matrix").ToList();
        var types = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var set = types.TryGetValue(file.Folder!, out var s) ? s : types[file.Folder!] = new HashSet<string>(StringComparer.Ordinal);
            foreach (Match m in TypeDeclaration().Matches(File.ReadAllText(file.Path)))
            {
                set.Add(m.Groups[1].Value);
            }
        }

        var graph = types.Keys.ToDictionary(k => k, _ => new SortedSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        why = new Dictionary<(string, string), SortedSet<string>>();
        foreach (var file in files)
        {
            foreach (var to in References(File.ReadAllText(file.Path), types))
            {
                if (to == file.Folder || !graph.ContainsKey(to))
                {
                    continue;
                }

                graph[file.Folder!].Add(to);
                var key = (file.Folder!, to);
                (why.TryGetValue(key, out var files2) ? files2 : why[key] = new SortedSet<string>(StringComparer.Ordinal)).Add(Path.GetFileName(file.Path));
            }
        }

        return graph;
    }

    /// <summary>The folders a source text depends on.</summary>
    private static HashSet<string> References(string source, IReadOnlyDictionary<string, HashSet<string>> folders)
    {
        var text = StripComments(source);
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in QualifiedReference().Matches(text))
        {
            if (folders.ContainsKey(m.Groups[1].Value))
            {
                found.Add(m.Groups[1].Value);
            }
        }

        foreach (Match m in PartialReference().Matches(text))
        {
            if (folders.TryGetValue(m.Groups[1].Value, out var declared) && declared.Contains(m.Groups[2].Value))
            {
                found.Add(m.Groups[1].Value);
            }
        }

        return found;
    }

    /// <summary>Source text without comments and string literals (good enough for this code base's C#).</summary>
    private static string StripComments(string source) =>
        StringOrComment().Replace(source, m => m.Value.StartsWith('/') ? " " : "\"\"");

    private static List<HashSet<string>> StronglyConnected(Dictionary<string, SortedSet<string>> graph)
    {
        // Tarjan's algorithm; the graph has a dozen nodes, recursion is fine.
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<HashSet<string>>();
        var next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph[v])
            {
                if (!index.TryGetValue(w, out var seen))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], seen);
                }
            }

            if (low[v] == index[v])
            {
                var component = new HashSet<string>(StringComparer.Ordinal);
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                result.Add(component);
            }
        }

        foreach (var v in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(v))
            {
                Visit(v);
            }
        }

        return result;
    }

    /// <summary>One concrete cycle inside a strongly connected component: the shortest way back to its first node.</summary>
    private static List<string> CycleThrough(Dictionary<string, SortedSet<string>> graph, HashSet<string> component)
    {
        var start = component.Order(StringComparer.Ordinal).First();
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>([start]);
        while (queue.Count > 0)
        {
            var v = queue.Dequeue();
            foreach (var w in graph[v].Where(component.Contains))
            {
                if (w == start)
                {
                    var path = new List<string> { start };
                    for (var x = v; x != start; x = parent[x])
                    {
                        path.Insert(1, x);
                    }

                    path.Add(start);
                    return path;
                }

                if (parent.TryAdd(w, v))
                {
                    queue.Enqueue(w);
                }
            }
        }

        return [start];
    }

    private sealed record SourceFile(string Path, string Relative, string? Folder);

    private static IEnumerable<SourceFile> SourceFiles()
    {
        var root = System.IO.Path.Combine(ConfigLoaderTests.RepoRoot(), "src", "Gateway");
        foreach (var path in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            var relative = System.IO.Path.GetRelativePath(root, path).Replace('\\', '/');
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal))
            {
                continue;
            }

            var slash = relative.IndexOf('/', StringComparison.Ordinal);
            yield return new SourceFile(path, relative, slash < 0 ? null : relative[..slash]);
        }
    }

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)\s*;", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex NamespaceLine();

    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+(?:struct\s+|class\s+)?([A-Z]\w*)", RegexOptions.CultureInvariant)]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"\bGateway\.([A-Z]\w*)\b", RegexOptions.CultureInvariant)]
    private static partial Regex QualifiedReference();

    [GeneratedRegex(@"(?<![\w.])([A-Z]\w*)\.([A-Z]\w*)\b", RegexOptions.CultureInvariant)]
    private static partial Regex PartialReference();

    [GeneratedRegex(""""//[^\n]*|/\*.*?\*/|"""(?:.|\n)*?"""|@"(?:[^"]|"")*"|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)'"""", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex StringOrComment();
}
