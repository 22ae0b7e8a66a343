using System.Runtime.InteropServices;

namespace Gateway.Policy.Matching;

/// <summary>
/// The build from flat arrays. A policy compiles at startup and on every reload; with 10,000 keywords and their
/// 60,000 disguise variants (250,000 states) the dictionary trie and its LINQ renumbering took ~2.5 s and most of
/// the garbage. Here nothing is allocated per state:
/// <list type="number">
/// <item>the patterns are sorted by their class sequences, so a depth-first pass over them creates the trie's nodes
/// with each depth's nodes in lexicographic order, which is breadth-first order within the depth (a parent's
/// children by class, parents in their own order);</item>
/// <item>a counting sort by depth then numbers the states breadth-first (the layout the scan wants: shallow states
/// together), and each state's children are one contiguous range of numbers;</item>
/// <item>each state's row is its failure state's row (complete, as that state is shallower) with its children
/// written over it.</item>
/// </list>
/// The tables are the ones <see cref="BuildReference"/> builds, entry for entry (the tests compare them).
/// </summary>
public sealed partial class KeywordAutomaton
{
    private static KeywordAutomaton BuildFlat(IReadOnlyList<string> patterns, ushort[] classOf, int classes, int transparentClass)
    {
        var count = patterns.Count;
        var patternLength = new int[count];
        var totalLength = 0L;
        var maxLength = 0;
        for (var pi = 0; pi < count; pi++)
        {
            var length = patterns[pi].Length;
            if (length == 0)
            {
                throw new ArgumentException("empty pattern", nameof(patterns));
            }

            patternLength[pi] = length;
            totalLength += length;
            maxLength = Math.Max(maxLength, length);
        }

        // 1. Patterns in lexicographic order of their class sequences; equal ones by index (their output order).
        var order = new int[count];
        for (var pi = 0; pi < count; pi++)
        {
            order[pi] = pi;
        }

        Array.Sort(order, (a, b) =>
        {
            var c = CompareClasses(patterns[a], patterns[b], classOf);
            return c != 0 ? c : a.CompareTo(b);
        });

        // 2. Trie nodes, depth-first: a pattern shares the nodes of its common prefix with the one before it.
        var nodeCapacity = checked((int)Math.Min(totalLength + 1, int.MaxValue));
        var nodeDepth = new int[nodeCapacity];
        var nodeParent = new int[nodeCapacity];
        var nodeClass = new int[nodeCapacity];
        var terminal = new int[count];
        var path = new int[maxLength + 1];
        var nodes = 1;
        string? previous = null;
        foreach (var pi in order)
        {
            var p = patterns[pi];
            var shared = previous is null ? 0 : CommonClassPrefix(previous, p, classOf);
            for (var d = shared; d < p.Length; d++)
            {
                var node = nodes++;
                nodeDepth[node] = d + 1;
                nodeParent[node] = path[d];
                nodeClass[node] = classOf[p[d]];
                path[d + 1] = node;
            }

            terminal[pi] = path[p.Length];
            previous = p;
        }

        // 3. Breadth-first numbers: a stable counting sort of the depth-first nodes by depth.
        var levelStart = new int[maxLength + 2];
        for (var node = 0; node < nodes; node++)
        {
            levelStart[nodeDepth[node] + 1]++;
        }

        for (var d = 1; d < levelStart.Length; d++)
        {
            levelStart[d] += levelStart[d - 1];
        }

        var depthStart = new int[levelStart.Length];
        for (var d = 0; d < levelStart.Length; d++)
        {
            depthStart[d] = levelStart[d] * classes;
        }

        var newId = new int[nodes];
        for (var node = 0; node < nodes; node++)
        {
            newId[node] = levelStart[nodeDepth[node]]++;
        }

        var stateCount = nodes;
        var stateClass = new int[stateCount];
        var firstChild = new int[stateCount];
        var childCount = new int[stateCount];
        var stateParent = new int[stateCount];
        for (var node = 1; node < nodes; node++)
        {
            stateParent[newId[node]] = newId[nodeParent[node]];
            stateClass[newId[node]] = nodeClass[node];
        }

        for (var s = 1; s < stateCount; s++)
        {
            if (childCount[stateParent[s]]++ == 0)
            {
                firstChild[stateParent[s]] = s;
            }
        }

        // 4. Own outputs per state, in pattern order.
        var outputCount = new int[stateCount];
        foreach (var node in terminal)
        {
            outputCount[newId[node]]++;
        }

        var outputStart = new int[stateCount];
        for (int s = 0, at = 0; s < stateCount; s++)
        {
            outputStart[s] = at;
            at += outputCount[s];
        }

        var outputs = new int[count];
        var filled = new int[stateCount];
        for (var pi = 0; pi < count; pi++)
        {
            var s = newId[terminal[pi]];
            outputs[outputStart[s] + filled[s]++] = pi;
        }

        // 5. Rows, failure and dictionary links, breadth-first. A state's dictionary link (so whether it has output)
        // is settled when its parent sets its failure state, which is shallower than the parent's children and so has
        // its own link already: the transitions into it are written with their output mark at once.
        var delta = GC.AllocateUninitializedArray<int>(checked(stateCount * classes));
        var fail = new int[stateCount];
        var dictLink = new int[stateCount];
        var hasOutput = new bool[stateCount];
        Array.Fill(dictLink, -1);
        Array.Clear(delta, 0, classes);
        for (var c = firstChild[0]; c < firstChild[0] + childCount[0]; c++)
        {
            hasOutput[c] = outputCount[c] > 0;
            delta[stateClass[c]] = hasOutput[c] ? ~(c * classes) : c * classes;
        }

        for (var s = 1; s < stateCount; s++)
        {
            var f = fail[s];
            var row = s * classes;
            Array.Copy(delta, f * classes, delta, row, classes);
            if (transparentClass >= 0)
            {
                delta[row + transparentClass] = row;
            }

            for (var c = firstChild[s]; c < firstChild[s] + childCount[s]; c++)
            {
                var to = delta[(f * classes) + stateClass[c]];
                var cf = (to < 0 ? ~to : to) / classes;
                fail[c] = cf;
                dictLink[c] = outputCount[cf] > 0 ? cf : dictLink[cf];
                hasOutput[c] = outputCount[c] > 0 || dictLink[c] >= 0;
                delta[row + stateClass[c]] = hasOutput[c] ? ~(c * classes) : c * classes;
            }
        }

        return new KeywordAutomaton(classOf, delta, classes, hasOutput, outputStart, outputCount, outputs,
            dictLink, patternLength, transparentClass, depthStart);
    }

    private static int CompareClasses(string a, string b, ushort[] classOf)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            var c = classOf[a[i]] - classOf[b[i]];
            if (c != 0)
            {
                return c;
            }
        }

        return a.Length - b.Length;
    }

    private static int CommonClassPrefix(string a, string b, ushort[] classOf)
    {
        var n = Math.Min(a.Length, b.Length);
        var i = 0;
        while (i < n && classOf[a[i]] == classOf[b[i]])
        {
            i++;
        }

        return i;
    }

    /// <summary>Tests: do two automata have the same tables, entry for entry?</summary>
    internal bool SameTables(KeywordAutomaton other) =>
        _classes == other._classes && _transparentClass == other._transparentClass && _maxLength == other._maxLength
        && _classOf.AsSpan().SequenceEqual(other._classOf) && _delta.AsSpan().SequenceEqual(other._delta)
        && _hasOutput.AsSpan().SequenceEqual(other._hasOutput)
        && MemoryMarshal.Cast<StateOutput, int>(_stateOutputs.AsSpan()).SequenceEqual(MemoryMarshal.Cast<StateOutput, int>(other._stateOutputs.AsSpan()))
        && _outputs.AsSpan().SequenceEqual(other._outputs) && _patternLength.AsSpan().SequenceEqual(other._patternLength)
        && _depthStart.AsSpan().SequenceEqual(other._depthStart);
}
