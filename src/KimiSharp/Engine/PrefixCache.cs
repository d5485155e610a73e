using System.Security.Cryptography;

namespace KimiSharp.Engine;

/// <summary>
/// A radix tree over token blocks indexing KV already computed: each node is one full block of tokens (its path from the
/// root is the exact token prefix) and holds a reference to the KV block that holds their rows. Running sequences offer
/// their blocks as they fill, finished ones as they end; a new prompt attaches the longest cached prefix (whole blocks
/// shared, and a partly matching block shared until the sequence writes into it, when <see cref="KvBlockTable"/> copies
/// it). Blocks no sequence uses are bounded by a budget and evicted least recently used first, leaves before their
/// parents; memory pressure evicts them too. With a <see cref="DiskPrefixStore"/> every new node is also written to disk,
/// and a prefix missing from memory is looked up there block by block. Engine loop only.
/// </summary>
internal sealed unsafe class PrefixCache : IDisposable
{
    private readonly KvBlockPool _pool;
    private readonly int _bt;
    private readonly Node _root;
    private readonly LinkedList<Node> _lru = new();      // least recently used first
    private readonly DiskPrefixStore? _disk;

    public PrefixCache(KvBlockPool pool, long maxCachedBlocks, DiskPrefixStore? disk, string identity)
    {
        _pool = pool;
        _bt = pool.BlockTokens;
        MaxCachedBlocks = maxCachedBlocks;
        _disk = disk;
        _root = new Node(null, [], -1, disk is null ? null : SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("kimisharp-prefix-v1\n" + identity)));
    }

    /// <summary>Most blocks kept that no sequence uses.</summary>
    public long MaxCachedBlocks { get; }

    /// <summary>Blocks (nodes) in the tree.</summary>
    public int Blocks => _lru.Count;

    /// <summary>Of the tokens attached by the last <see cref="Attach"/>, those read from disk.</summary>
    public int LastDiskTokens { get; private set; }

    /// <summary>
    /// Attaches the longest cached prefix of <paramref name="tokens"/>[0..limit) to the empty <paramref name="kv"/> and
    /// returns its length in tokens. Sets <paramref name="tail"/> to the node of the last whole block attached (for
    /// <see cref="Offer"/>).
    /// </summary>
    public int Attach(IReadOnlyList<int> tokens, int limit, KvBlockTable kv, out object? tail)
    {
        if (kv.Length != 0) throw new InvalidOperationException("a prefix attaches to an empty cache only");
        LastDiskTokens = 0;
        var node = _root;
        int matched = 0;
        while (matched + _bt <= limit)
        {
            var key = new TokenBlock(tokens, matched, _bt);
            if (node.Children is null || !node.Children.TryGetValue(key, out var child))
            {
                child = LoadFromDisk(node, key);
                if (child is null) break;
                LastDiskTokens += _bt;
            }
            kv.AttachShared(child.Block, _bt);
            Touch(child);
            node = child;
            matched += _bt;
        }
        tail = node == _root ? null : node;

        // A block that matches only in part: shared until the sequence writes its first new row into it (copied then).
        if (matched < limit && node.Children is { Count: > 0 })
        {
            Node? best = null;
            int bestCommon = 0;
            foreach (var child in node.Children.Values)
            {
                int common = 0, max = Math.Min(_bt, limit - matched);
                while (common < max && child.Tokens[common] == tokens[matched + common]) common++;
                if (common > bestCommon)
                {
                    best = child;
                    bestCommon = common;
                }
            }
            if (best is not null)
            {
                kv.AttachShared(best.Block, bestCommon);
                Touch(best);
                matched += bestCommon;
            }
        }
        return matched;
    }

    /// <summary>
    /// Offers the full blocks of a sequence's cache not offered yet (<paramref name="offered"/> of them are, the last under
    /// <paramref name="tail"/>). A block whose tokens the tree already holds is swapped for the tree's copy (same rows), so
    /// sequences with one prefix end up sharing it.
    /// </summary>
    public void Offer(IReadOnlyList<int> tokens, KvBlockTable kv, ref int offered, ref object? tail)
    {
        int full = kv.Length / _bt;
        var node = (Node?)tail ?? _root;
        for (int b = offered; b < full; b++)
        {
            var key = new TokenBlock(tokens, b * _bt, _bt);
            if (node.Children is not null && node.Children.TryGetValue(key, out var existing))
            {
                if (existing.Block != kv.Blocks[b]) kv.ReplaceBlock(b, existing.Block);
                Touch(existing);
                node = existing;
                continue;
            }
            var child = AddChild(node, key, kv.Blocks[b]);
            _disk?.Write(child.Hash!, node.Hash!, child.Tokens, _pool.Address(child.Block), _pool.BlockBytes);
            node = child;
        }
        offered = full;
        tail = node == _root ? null : node;
    }

    /// <summary>Evicts unused blocks, least recently used first, until <paramref name="blocks"/> are available in the pool;
    /// false if it could not.</summary>
    public bool EvictFor(int blocks)
    {
        while (_pool.Available < blocks)
            if (!EvictOne()) return false;
        return true;
    }

    /// <summary>Evicts unused blocks beyond the budget.</summary>
    public void Trim()
    {
        while (_pool.CachedOnly > MaxCachedBlocks)
            if (!EvictOne()) return;
    }

    /// <summary>Drops every node (blocks still used by sequences stay theirs).</summary>
    public void Clear()
    {
        foreach (var node in _lru)
        {
            _pool.MarkCached(node.Block, false);
            _pool.Release(node.Block);
        }
        _lru.Clear();
        _root.Children = null;
    }

    public void Dispose() => Clear();

    private bool EvictOne()
    {
        for (var item = _lru.First; item is not null; item = item.Next)
        {
            var node = item.Value;
            if (node.Children is { Count: > 0 } || _pool.RefCount(node.Block) != 1) continue;
            node.Parent!.Children!.Remove(new TokenBlock(node.Tokens, 0, _bt));
            _lru.Remove(item);
            _pool.MarkCached(node.Block, false);
            _pool.Release(node.Block);
            return true;
        }
        return false;
    }

    private Node AddChild(Node parent, TokenBlock key, int block)
    {
        int[] tokens = key.ToArray();
        byte[]? hash = parent.Hash is null ? null : ChainHash(parent.Hash, tokens);
        var child = new Node(parent, tokens, block, hash);
        (parent.Children ??= []).Add(new TokenBlock(tokens, 0, _bt), child);
        _pool.AddRef(block);
        _pool.MarkCached(block, true);
        child.Lru = _lru.AddLast(child);
        return child;
    }

    /// <summary>The next block of a prefix from the disk tier, as a new node (null when absent, invalid or no memory).</summary>
    private Node? LoadFromDisk(Node parent, TokenBlock key)
    {
        if (_disk is null || parent.Hash is null) return null;
        int[] tokens = key.ToArray();
        var hash = ChainHash(parent.Hash, tokens);
        if (!_disk.Contains(hash)) return null;
        if (_pool.Available < 1 && !EvictFor(1)) return null;
        if (!_pool.TryAllocate(out int block)) return null;
        if (!_disk.TryRead(hash, parent.Hash, tokens, _pool.Address(block), _pool.BlockBytes))
        {
            _pool.Release(block);
            return null;
        }
        var child = AddChild(parent, key, block);
        _pool.Release(block);   // the tree's reference is the one AddChild took
        return child;
    }

    private void Touch(Node node)
    {
        _lru.Remove(node.Lru!);
        _lru.AddLast(node.Lru!);
    }

    /// <summary>SHA-256(parent hash ‖ the block's token ids, little-endian int32): names a block by its whole prefix.</summary>
    internal static byte[] ChainHash(byte[] parent, int[] tokens)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(parent);
        fixed (int* p = tokens)
            sha.AppendData(new ReadOnlySpan<byte>(p, tokens.Length * sizeof(int)));
        return sha.GetHashAndReset();
    }

    private sealed class Node(Node? parent, int[] tokens, int block, byte[]? hash)
    {
        public Node? Parent { get; } = parent;
        public int[] Tokens { get; } = tokens;
        public int Block { get; } = block;
        public byte[]? Hash { get; } = hash;
        public Dictionary<TokenBlock, Node>? Children { get; set; }
        public LinkedListNode<Node>? Lru { get; set; }
    }

    /// <summary>A block's worth of tokens from a list, compared by value (the tree's child key).</summary>
    private readonly struct TokenBlock : IEquatable<TokenBlock>
    {
        private readonly IReadOnlyList<int> _tokens;
        private readonly int _start, _count, _hash;

        public TokenBlock(IReadOnlyList<int> tokens, int start, int count)
        {
            _tokens = tokens;
            _start = start;
            _count = count;
            var h = new HashCode();
            for (int i = 0; i < count; i++) h.Add(tokens[start + i]);
            _hash = h.ToHashCode();
        }

        public int[] ToArray()
        {
            var a = new int[_count];
            for (int i = 0; i < _count; i++) a[i] = _tokens[_start + i];
            return a;
        }

        public bool Equals(TokenBlock other)
        {
            if (_hash != other._hash || _count != other._count) return false;
            for (int i = 0; i < _count; i++)
                if (_tokens[_start + i] != other._tokens[other._start + i]) return false;
            return true;
        }

        public override bool Equals(object? obj) => obj is TokenBlock other && Equals(other);
        public override int GetHashCode() => _hash;
    }
}
