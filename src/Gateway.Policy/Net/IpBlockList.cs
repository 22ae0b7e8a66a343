using System.Diagnostics;
using System.Net;
using System.Numerics;

namespace Gateway.Policy.Net;

/// <summary>
/// A compiled, immutable IP block list. Lookups walk a 4-bit-stride trie over the 128-bit address space (IPv4 in
/// the IPv4-mapped range), so their cost depends on the address length, never on the number of entries, and they
/// do not allocate.
/// </summary>
/// <remarks>
/// Layout (one array of structs, no object per node): each node covers 4 address bits, that is 16 slots. A
/// 16-bit child map says which slots have a child node; the children of a node are stored next to each other from
/// <c>ChildBase</c>, so a child's index is <c>ChildBase + PopCount(ChildMap &amp; below)</c>. A second map and base
/// do the same for leaf slots, which hold the longest entry ending inside the node (prefix expansion: a /21 fills
/// 8 slots of the node covering bits 20-23). Empty slots cost nothing, so 100,000 /32s take a few megabytes.
/// Expiry: every distinct network keeps a link to the next shorter network that contains it; a lookup finds the
/// longest match, then follows those links past expired entries (at most 129 steps).
/// </remarks>
public sealed class IpBlockList
{
    private const int Stride = 4;
    private const int MaxDepth = 128 / Stride;
    private const int MappedDepth = IpBits.MappedPrefixLength / Stride;

    private readonly Node[] _nodes;
    private readonly int[] _leaves;
    private readonly IpBlockEntry[] _matchEntries;
    private readonly long[] _expiresTicks;
    private readonly int[] _parents;
    private readonly int _rootEntry;

    // Every IPv4 (and IPv4-mapped) lookup walks the same first 96 bits: remember where that walk ends.
    private readonly int _mappedNode;
    private readonly int _mappedEntry;

    private IpBlockList(IpBlockEntry[] all, Node[] nodes, int[] leaves, IpBlockEntry[] matchEntries, long[] expiresTicks, int[] parents, int rootEntry)
    {
        Entries = Array.AsReadOnly(all);
        _nodes = nodes;
        _leaves = leaves;
        _matchEntries = matchEntries;
        _expiresTicks = expiresTicks;
        _parents = parents;
        _rootEntry = rootEntry;
        _mappedEntry = Descend(0, 0, MappedDepth, 0, IpBits.MappedLowTag, rootEntry, out _mappedNode);
    }

    public static IpBlockList Empty { get; } = Build([]);

    /// <summary>Number of entries given to <see cref="Build"/>, duplicates included.</summary>
    public int Count => Entries.Count;

    /// <summary>The entries given to <see cref="Build"/>, in their order.</summary>
    public IReadOnlyList<IpBlockEntry> Entries { get; }

    /// <summary>
    /// Compiles entries. When several entries name the same network (1.2.3.0/24 and ::ffff:1.2.3.0/120 count as the
    /// same), the one that lives longest speaks for them all: it is live whenever any of them is.
    /// </summary>
    public static IpBlockList Build(IEnumerable<IpBlockEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var all = new List<IpBlockEntry>();
        var networks = new List<Network>();
        var byNetwork = new Dictionary<(UInt128 Bits, int Length), int>();
        foreach (var entry in entries)
        {
            if (entry is null)
            {
                throw new ArgumentException("entries must not contain null", nameof(entries));
            }

            if (entry.Cidr.IsDefault)
            {
                throw new ArgumentException("an entry has default(CidrBlock), which is not a network", nameof(entries));
            }

            all.Add(entry);
            var ticks = entry.Expires is { } expires ? expires.UtcTicks : long.MaxValue;
            var key = (entry.Cidr.Bits, entry.Cidr.Length);
            if (byNetwork.TryGetValue(key, out var existing))
            {
                if (ticks > networks[existing].ExpiresTicks)
                {
                    networks[existing] = new Network(key.Bits, key.Length, ticks, entry);
                }
            }
            else
            {
                byNetwork.Add(key, networks.Count);
                networks.Add(new Network(key.Bits, key.Length, ticks, entry));
            }
        }

        var sorted = networks.ToArray();

        // Address order, shorter first on ties: an enclosing network always comes before what it encloses.
        Array.Sort(sorted, static (a, b) => a.Bits != b.Bits ? a.Bits.CompareTo(b.Bits) : a.Length.CompareTo(b.Length));

        var matchEntries = new IpBlockEntry[sorted.Length];
        var expiresTicks = new long[sorted.Length];
        var parents = new int[sorted.Length];
        var enclosing = new Stack<int>();
        for (var i = 0; i < sorted.Length; i++)
        {
            matchEntries[i] = sorted[i].Entry;
            expiresTicks[i] = sorted[i].ExpiresTicks;
            while (enclosing.Count > 0 && !Encloses(sorted[enclosing.Peek()], sorted[i]))
            {
                enclosing.Pop();
            }

            parents[i] = enclosing.Count > 0 ? enclosing.Peek() : -1;
            enclosing.Push(i);
        }

        var rootEntry = -1;
        var first = 0;
        if (sorted.Length > 0 && sorted[0].Length == 0)
        {
            rootEntry = 0;
            first = 1;
        }

        var builder = new TrieBuilder(sorted);
        builder.Nodes.Add(default);
        builder.Fill(0, 0, first, sorted.Length);
        return new IpBlockList(all.ToArray(), builder.Nodes.ToArray(), builder.Leaves.ToArray(), matchEntries, expiresTicks, parents, rootEntry);
    }

    /// <summary>Whether a live entry covers the address. Unknown address families are never blocked.</summary>
    public bool IsBlocked(IPAddress address, DateTimeOffset now)
    {
        return Find(address, now) >= 0;
    }

    /// <summary>
    /// The most specific live entry covering the address, if any. Expired entries are skipped, so a live entry
    /// above or below an expired one on the same path still matches.
    /// </summary>
    public bool TryMatch(IPAddress address, DateTimeOffset now, out IpBlockEntry? entry)
    {
        var index = Find(address, now);
        entry = index >= 0 ? _matchEntries[index] : null;
        return index >= 0;
    }

    private int Find(IPAddress address, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!IpBits.TryGet(address, out var high, out var low))
        {
            return -1;
        }

        int best;
        if (high == 0 && (low & 0xFFFF_FFFF_0000_0000UL) == IpBits.MappedLowTag)
        {
            best = _mappedNode < 0
                ? _mappedEntry
                : Descend(_mappedNode, MappedDepth, MaxDepth, high, low, _mappedEntry, out _);
        }
        else
        {
            best = Descend(0, 0, MaxDepth, high, low, _rootEntry, out _);
        }

        var nowTicks = now.UtcTicks;
        while (best >= 0 && nowTicks >= _expiresTicks[best])
        {
            best = _parents[best];
        }

        return best;
    }

    /// <summary>
    /// Walks from <paramref name="node"/> at <paramref name="depth"/> down to at most <paramref name="stopDepth"/>,
    /// returning the longest entry seen. <paramref name="endNode"/> is the node reached at stopDepth, or -1.
    /// </summary>
    private int Descend(int node, int depth, int stopDepth, ulong high, ulong low, int best, out int endNode)
    {
        var nodes = _nodes;
        while (depth < stopDepth)
        {
            var nibble = depth < 16
                ? (int)(high >> (60 - (depth * Stride))) & 0xF
                : (int)(low >> (60 - ((depth - 16) * Stride))) & 0xF;
            ref readonly var current = ref nodes[node];
            var bit = 1u << nibble;
            var below = bit - 1;
            if ((current.LeafMap & bit) != 0)
            {
                best = _leaves[current.LeafBase + BitOperations.PopCount(current.LeafMap & below)];
            }

            if ((current.ChildMap & bit) == 0)
            {
                endNode = -1;
                return best;
            }

            node = current.ChildBase + BitOperations.PopCount(current.ChildMap & below);
            depth++;
        }

        endNode = node;
        return best;
    }

    private static bool Encloses(in Network outer, in Network inner)
    {
        return outer.Length < inner.Length && (inner.Bits & IpBits.Mask(outer.Length)) == outer.Bits;
    }

    private readonly record struct Network(UInt128 Bits, int Length, long ExpiresTicks, IpBlockEntry Entry);

    private readonly struct Node
    {
        public readonly ushort ChildMap;
        public readonly ushort LeafMap;
        public readonly int ChildBase;
        public readonly int LeafBase;

        public Node(uint childMap, uint leafMap, int childBase, int leafBase)
        {
            ChildMap = (ushort)childMap;
            LeafMap = (ushort)leafMap;
            ChildBase = childBase;
            LeafBase = leafBase;
        }
    }

    private sealed class TrieBuilder
    {
        private readonly Network[] _sorted;

        public TrieBuilder(Network[] sorted)
        {
            _sorted = sorted;
        }

        public List<Node> Nodes { get; } = [];

        public List<int> Leaves { get; } = [];

        /// <summary>
        /// Fills node <paramref name="nodeIndex"/> at <paramref name="depth"/> from the sorted networks
        /// [<paramref name="lo"/>, <paramref name="hi"/>): all share the node's path and are longer than it.
        /// Children are reserved as one block before any of them is filled, so siblings stay adjacent.
        /// </summary>
        public void Fill(int nodeIndex, int depth, int lo, int hi)
        {
            Span<int> slotEntry = stackalloc int[16];
            Span<int> childLo = stackalloc int[16];
            Span<int> childHi = stackalloc int[16];
            slotEntry.Fill(-1);
            var shift = 128 - ((depth + 1) * Stride);
            var nodeEnd = (depth + 1) * Stride;
            var childMap = 0u;
            var i = lo;
            while (i < hi)
            {
                var nibble = Nibble(_sorted[i].Bits, shift);
                var length = _sorted[i].Length;
                if (length <= nodeEnd)
                {
                    // In sorted order an enclosing network comes first, so overwriting leaves the longest match.
                    var span = 1 << (nodeEnd - length);
                    slotEntry.Slice(nibble, span).Fill(i);
                    i++;
                    continue;
                }

                var start = i;
                while (i < hi && Nibble(_sorted[i].Bits, shift) == nibble)
                {
                    Debug.Assert(_sorted[i].Length > nodeEnd, "leaves of a slot sort before longer networks in it");
                    i++;
                }

                childLo[nibble] = start;
                childHi[nibble] = i;
                childMap |= 1u << nibble;
            }

            var childBase = Nodes.Count;
            var childCount = BitOperations.PopCount(childMap);
            for (var c = 0; c < childCount; c++)
            {
                Nodes.Add(default);
            }

            var leafMap = 0u;
            var leafBase = Leaves.Count;
            for (var slot = 0; slot < 16; slot++)
            {
                if (slotEntry[slot] >= 0)
                {
                    leafMap |= 1u << slot;
                    Leaves.Add(slotEntry[slot]);
                }
            }

            Nodes[nodeIndex] = new Node(childMap, leafMap, childBase, leafBase);
            var child = childBase;
            for (var slot = 0; slot < 16; slot++)
            {
                if ((childMap & (1u << slot)) != 0)
                {
                    Fill(child, depth + 1, childLo[slot], childHi[slot]);
                    child++;
                }
            }
        }

        private static int Nibble(UInt128 bits, int shift) => (int)(bits >> shift) & 0xF;
    }
}
