namespace Gateway.Policy.Matching;

/// <summary>
/// The build the automaton had before the flat one in KeywordAutomaton.Build.cs: a trie of per-state dictionaries,
/// renumbered breadth-first with LINQ. Kept only as the reference the tests compare the flat build's tables with
/// (it took 2 s and most of the policy's garbage for 60,000 disguise variants).
/// </summary>
public sealed partial class KeywordAutomaton
{
    /// <summary>The previous build (tests only): must give the same tables as <see cref="Build(IReadOnlyList{string}, bool[])"/>.</summary>
    internal static KeywordAutomaton BuildReference(IReadOnlyList<string> patterns, bool[]? transparent)
    {
        var (classOf, classes, transparentClass) = Alphabet(patterns, transparent);

        // 2. Trie with sparse children while building.
        var children = new List<Dictionary<int, int>?> { null };
        var ownOutputs = new List<List<int>?> { null };
        var patternLength = new int[patterns.Count];
        for (var pi = 0; pi < patterns.Count; pi++)
        {
            var p = patterns[pi];
            if (p.Length == 0)
            {
                throw new ArgumentException("empty pattern", nameof(patterns));
            }

            patternLength[pi] = p.Length;
            var s = 0;
            foreach (var c in p)
            {
                var cls = classOf[c];
                var map = children[s] ??= new Dictionary<int, int>();
                if (!map.TryGetValue(cls, out var next))
                {
                    next = children.Count;
                    children.Add(null);
                    ownOutputs.Add(null);
                    map[cls] = next;
                }

                s = next;
            }

            (ownOutputs[s] ??= new List<int>()).Add(pi);
        }

        (children, ownOutputs) = InBreadthFirstOrder(children, ownOutputs);
        var stateCount = children.Count;
        var delta = new int[checked(stateCount * classes)];
        var fail = new int[stateCount];
        var dictLink = new int[stateCount];
        var hasOutput = new bool[stateCount];
        Array.Fill(dictLink, -1);

        // 3. BFS: failure links folded into a complete transition table.
        var queue = new Queue<int>();
        for (var cls = 0; cls < classes; cls++)
        {
            if (cls == transparentClass)
            {
                delta[cls] = 0;
            }
            else if (children[0] is { } rootMap && rootMap.TryGetValue(cls, out var child))
            {
                delta[cls] = child * classes;
                fail[child] = 0;
                queue.Enqueue(child);
            }
            else
            {
                delta[cls] = 0;
            }
        }

        while (queue.Count > 0)
        {
            var s = queue.Dequeue();
            var f = fail[s];
            dictLink[s] = ownOutputs[f] is not null ? f : dictLink[f];
            hasOutput[s] = ownOutputs[s] is not null || dictLink[s] >= 0;
            var map = children[s];
            for (var cls = 0; cls < classes; cls++)
            {
                if (cls == transparentClass)
                {
                    delta[s * classes + cls] = s * classes;
                }
                else if (map is not null && map.TryGetValue(cls, out var child))
                {
                    delta[s * classes + cls] = child * classes;
                    fail[child] = delta[f * classes + cls] / classes;
                    queue.Enqueue(child);
                }
                else
                {
                    delta[s * classes + cls] = delta[f * classes + cls];
                }
            }
        }

        // Mark transitions into output states with the sign bit so the scan loop tests one comparison. (Not the
        // transparent self-loops: staying in a state reports nothing new.)
        for (var k = 0; k < delta.Length; k++)
        {
            if (k % classes != transparentClass && hasOutput[delta[k] / classes])
            {
                delta[k] = ~delta[k];
            }
        }

        // 4. Flatten outputs.
        var outputStart = new int[stateCount];
        var outputCount = new int[stateCount];
        var outputs = new List<int>();
        for (var s = 0; s < stateCount; s++)
        {
            outputStart[s] = outputs.Count;
            if (ownOutputs[s] is { } own)
            {
                outputs.AddRange(own);
                outputCount[s] = own.Count;
            }
        }

        return new KeywordAutomaton(classOf, delta, classes, hasOutput, outputStart, outputCount, outputs.ToArray(),
            dictLink, patternLength, transparentClass, DepthStarts(children, classes));
    }

    /// <summary>Where each depth starts in the breadth-first numbering (× classes), then the end of the table.</summary>
    private static int[] DepthStarts(List<Dictionary<int, int>?> children, int classes)
    {
        var depth = new int[children.Count];
        var starts = new List<int> { 0 };
        for (var s = 0; s < children.Count; s++)
        {
            if (depth[s] == starts.Count)
            {
                starts.Add(s * classes);
            }

            if (children[s] is { } map)
            {
                foreach (var child in map.Values)
                {
                    depth[child] = depth[s] + 1;
                }
            }
        }

        starts.Add(children.Count * classes);
        return [.. starts];
    }

    /// <summary>
    /// Renumbers the trie's states breadth-first. Insertion order scatters the shallow states, which ordinary text
    /// visits almost exclusively, across the whole table (megabytes for 10,000 keywords); breadth-first puts them
    /// together in the first few pages, so the scan's table reads stay in cache and TLB. State numbers are internal:
    /// the matches are the same.
    /// </summary>
    private static (List<Dictionary<int, int>?>, List<List<int>?>) InBreadthFirstOrder(List<Dictionary<int, int>?> children,
        List<List<int>?> ownOutputs)
    {
        var order = new List<int>(children.Count) { 0 };
        for (var k = 0; k < order.Count; k++)
        {
            if (children[order[k]] is { } map)
            {
                foreach (var (_, child) in map.OrderBy(e => e.Key))
                {
                    order.Add(child);
                }
            }
        }

        var newId = new int[children.Count];
        for (var k = 0; k < order.Count; k++)
        {
            newId[order[k]] = k;
        }

        var newChildren = new List<Dictionary<int, int>?>(children.Count);
        var newOutputs = new List<List<int>?>(children.Count);
        foreach (var old in order)
        {
            newChildren.Add(children[old]?.ToDictionary(e => e.Key, e => newId[e.Value]));
            newOutputs.Add(ownOutputs[old]);
        }

        return (newChildren, newOutputs);
    }

}
