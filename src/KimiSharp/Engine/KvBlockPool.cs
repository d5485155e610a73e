using System.Runtime.InteropServices;

namespace KimiSharp.Engine;

/// <summary>
/// Paged KV memory: fixed-size blocks of <see cref="BlockTokens"/> tokens (all layers; the model decides the layout
/// inside a block), reference-counted so sequences and the prefix cache can share them. A block's memory is
/// allocated the first time it is needed and reused through a free list afterwards, so resident memory grows to the
/// high-water mark and stays there. At most <see cref="Capacity"/> blocks exist. Not thread-safe: the engine loop (or a
/// single session) owns it; the counters may be read from any thread.
/// </summary>
public sealed unsafe class KvBlockPool : IDisposable
{
    /// <summary>Tokens per block unless told otherwise (the prefix cache shares whole blocks; partial ones are copied).</summary>
    public const int DefaultBlockTokens = 32;

    private readonly List<nint> _memory = [];      // block id → address (0 until first used)
    private readonly List<int> _refs = [];
    private readonly List<bool> _cached = [];      // held by the prefix cache
    private readonly Stack<int> _free = new();
    private int _inUse;
    private int _cachedOnly;
    private bool _disposed;

    public KvBlockPool(long bytesPerToken, int capacityBlocks, int blockTokens = DefaultBlockTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerToken, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockTokens, 1);
        BytesPerToken = bytesPerToken;
        BlockTokens = blockTokens;
        BlockBytes = checked(bytesPerToken * blockTokens);
        Capacity = capacityBlocks;
    }

    public int BlockTokens { get; }
    public long BytesPerToken { get; }
    public long BlockBytes { get; }

    /// <summary>Most blocks that may exist at once.</summary>
    public int Capacity { get; }

    /// <summary>Blocks with at least one reference.</summary>
    public int InUse => Volatile.Read(ref _inUse);

    /// <summary>Blocks that can be handed out now without evicting anything.</summary>
    public int Available => Capacity - InUse;

    /// <summary>Blocks the prefix cache holds that no sequence uses (what <c>--cache-ram</c> bounds).</summary>
    public int CachedOnly => Volatile.Read(ref _cachedOnly);

    /// <summary>Blocks at least one sequence uses (0 once every sequence has ended).</summary>
    public int SequenceBlocks => InUse - CachedOnly;

    /// <summary>Blocks whose memory has been allocated (resident high-water mark).</summary>
    public int Allocated { get; private set; }

    /// <summary>Blocks needed to hold <paramref name="tokens"/> tokens.</summary>
    public int BlocksFor(long tokens) => (int)((tokens + BlockTokens - 1) / BlockTokens);

    /// <summary>A fresh block with one reference (contents undefined), or false when all <see cref="Capacity"/> are in use.</summary>
    public bool TryAllocate(out int block)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_free.TryPop(out block))
        {
            _refs[block] = 1;
            _inUse++;
            return true;
        }
        if (_memory.Count >= Capacity)
        {
            block = -1;
            return false;
        }
        var p = NativeMemory.AlignedAlloc((nuint)BlockBytes, 64);
        block = _memory.Count;
        _memory.Add((nint)p);
        _refs.Add(1);
        _cached.Add(false);
        Allocated++;
        _inUse++;
        return true;
    }

    public int RefCount(int block) => _refs[block];

    public void AddRef(int block)
    {
        if (_refs[block] <= 0) throw new InvalidOperationException($"KV block {block} is not in use");
        if (++_refs[block] == 2 && _cached[block]) _cachedOnly--;
    }

    /// <summary>Marks a block the caller holds a reference to as held (or no longer held) by the prefix cache.</summary>
    public void MarkCached(int block, bool cached)
    {
        if (_refs[block] <= 0) throw new InvalidOperationException($"KV block {block} is not in use");
        if (_cached[block] == cached) return;
        _cached[block] = cached;
        if (_refs[block] == 1) _cachedOnly += cached ? 1 : -1;
    }

    /// <summary>Drops one reference; the last one returns the block to the free list.</summary>
    public void Release(int block)
    {
        if (_refs[block] <= 0) throw new InvalidOperationException($"KV block {block} released more often than referenced");
        int left = --_refs[block];
        if (left == 1 && _cached[block]) _cachedOnly++;
        if (left == 0)
        {
            if (_cached[block]) throw new InvalidOperationException($"KV block {block} freed while the prefix cache holds it");
            _free.Push(block);
            _inUse--;
        }
    }

    /// <summary>Start of a block's memory (<see cref="BlockBytes"/> bytes).</summary>
    public byte* Address(int block) => (byte*)_memory[block];

    /// <summary>Copies a block's bytes into another (copy-on-write).</summary>
    public void Copy(int from, int to) =>
        Buffer.MemoryCopy(Address(from), Address(to), BlockBytes, BlockBytes);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var p in _memory)
            NativeMemory.AlignedFree((void*)p);
        _memory.Clear();
    }
}
