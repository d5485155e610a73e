namespace KimiSharp.Grammar;

/// <summary>
/// A byte trie over token strings, flattened in preorder so one mask computation is a single forward scan:
/// node i has a byte, a depth, the first token whose bytes end there (or -1) and <see cref="Next"/>, the index
/// just past its subtree (where the scan jumps when the grammar rejects the node's byte). Node 0 is the root.
/// </summary>
internal sealed class TokenTrie
{
    private TokenTrie(byte[] bytes, ushort[] depth, int[] token, int[] next, int[] sameBytesNext, int maxDepth, int tokenCount)
    {
        Bytes = bytes;
        Depth = depth;
        Token = token;
        Next = next;
        SameBytesNext = sameBytesNext;
        MaxDepth = maxDepth;
        TokenCount = tokenCount;
    }

    public byte[] Bytes { get; }
    public ushort[] Depth { get; }
    public int[] Token { get; }
    public int[] Next { get; }

    /// <summary>Per token id: the next token id with the same bytes, or -1.</summary>
    public int[] SameBytesNext { get; }

    public int MaxDepth { get; }
    public int NodeCount => Bytes.Length;
    public int TokenCount { get; }

    /// <summary>Builds the trie of the given tokens (id → bytes; null or empty entries are left out).</summary>
    public static TokenTrie Build(IReadOnlyList<byte[]?> tokenBytes, Func<int, bool> include)
    {
        var ids = new List<int>();
        for (int id = 0; id < tokenBytes.Count; id++)
            if (tokenBytes[id] is { Length: > 0 } && include(id)) ids.Add(id);
        ids.Sort((a, b) =>
        {
            int c = tokenBytes[a].AsSpan().SequenceCompareTo(tokenBytes[b]);
            return c != 0 ? c : a.CompareTo(b);
        });
        int maxLength = 0;
        long total = 0;
        foreach (int id in ids)
        {
            maxLength = Math.Max(maxLength, tokenBytes[id]!.Length);
            total += tokenBytes[id]!.Length;
        }
        if (maxLength > ushort.MaxValue) throw new ArgumentException("a token is longer than 65535 bytes");

        var bytes = new List<byte>((int)Math.Min(total, int.MaxValue / 2) / 2 + 1) { 0 };
        var depth = new List<ushort> { 0 };
        var token = new List<int> { -1 };
        var next = new List<int> { 0 };
        var sameBytesNext = new int[tokenBytes.Count];
        Array.Fill(sameBytesNext, -1);
        var path = new int[maxLength + 1]; // node index at each depth of the current path
        var lastAtNode = new Dictionary<int, int>();
        byte[] previous = [];
        foreach (int id in ids)
        {
            byte[] current = tokenBytes[id]!;
            int common = previous.AsSpan().CommonPrefixLength(current);
            for (int d = previous.Length; d > common; d--) next[path[d]] = bytes.Count; // close the old branch
            for (int d = common + 1; d <= current.Length; d++)
            {
                path[d] = bytes.Count;
                bytes.Add(current[d - 1]);
                depth.Add((ushort)d);
                token.Add(-1);
                next.Add(0);
            }
            int node = path[current.Length];
            if (token[node] < 0) token[node] = id;
            else sameBytesNext[lastAtNode[node]] = id;
            lastAtNode[node] = id;
            previous = current;
        }
        for (int d = previous.Length; d >= 1; d--) next[path[d]] = bytes.Count;
        next[0] = bytes.Count;
        return new TokenTrie(bytes.ToArray(), depth.ToArray(), token.ToArray(), next.ToArray(), sameBytesNext, maxLength, ids.Count);
    }
}
