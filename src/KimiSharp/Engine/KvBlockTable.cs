using System.Runtime.InteropServices;

namespace KimiSharp.Engine;

/// <summary>
/// One sequence's KV cache as a list of pool blocks (its page table): token position p lives in block
/// <c>p / BlockTokens</c> at slot <c>p % BlockTokens</c>. Blocks may be shared with other sequences and the prefix
/// cache; a shared block is copied before this sequence writes into it. <see cref="Addresses"/> is the table in the
/// form the model reads during a step. Not thread-safe.
/// </summary>
public sealed unsafe class KvBlockTable : IDisposable
{
    private readonly KvBlockPool _pool;
    private readonly List<int> _blocks = [];
    private nint* _addresses;
    private int _addressCapacity;

    public KvBlockTable(KvBlockPool pool)
    {
        _pool = pool ?? throw new ArgumentNullException(nameof(pool));
        Grow(4);
    }

    public KvBlockPool Pool => _pool;
    public int BlockTokens => _pool.BlockTokens;

    /// <summary>Tokens whose KV rows are valid (positions 0..Length−1).</summary>
    public int Length { get; private set; }

    /// <summary>Blocks held, in position order.</summary>
    public IReadOnlyList<int> Blocks => _blocks;

    /// <summary>Block base addresses in position order (valid until the table changes).</summary>
    public nint* Addresses => _addresses;

    /// <summary>Positions the held blocks cover.</summary>
    public int Capacity => _blocks.Count * BlockTokens;

    /// <summary>
    /// Makes positions <see cref="Length"/>..Length+<paramref name="tokens"/>−1 writable: allocates the blocks they need and
    /// copies a shared block they would write into. False (nothing lost; blocks already taken stay) when the pool is out.
    /// </summary>
    public bool TryReserve(int tokens)
    {
        if (tokens <= 0) return true;
        if (Length < Capacity && !MakeWritable(Length / BlockTokens))
            return false;
        while (Capacity < Length + tokens)
        {
            if (!_pool.TryAllocate(out int block)) return false;
            Append(block);
        }
        return true;
    }

    /// <summary>Blocks <see cref="TryReserve"/> would need to allocate for <paramref name="tokens"/> more tokens.</summary>
    public int BlocksNeeded(int tokens)
    {
        int needed = _pool.BlocksFor(Length + tokens) - _blocks.Count;
        if (Length < Capacity && tokens > 0 && _pool.RefCount(_blocks[Length / BlockTokens]) > 1) needed++;
        return Math.Max(needed, 0);
    }

    /// <summary>Records that rows up to <paramref name="length"/> are written (after a step).</summary>
    public void Advance(int length)
    {
        if (length < Length || length > Capacity)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"must be within {Length}..{Capacity}");
        Length = length;
    }

    /// <summary>Appends a block that already holds valid rows (a shared, cached prefix block); takes a reference.</summary>
    public void AttachShared(int block, int validTokens)
    {
        if (Length != Capacity) throw new InvalidOperationException("shared blocks attach only at a block boundary");
        if (validTokens < 1 || validTokens > BlockTokens) throw new ArgumentOutOfRangeException(nameof(validTokens));
        _pool.AddRef(block);
        Append(block);
        Length += validTokens;
    }

    /// <summary>
    /// Swaps full block <paramref name="index"/> for <paramref name="block"/>, which holds the same rows (the prefix cache's
    /// copy of the same tokens): takes a reference to it and releases the old one.
    /// </summary>
    public void ReplaceBlock(int index, int block)
    {
        if ((index + 1) * BlockTokens > Length) throw new InvalidOperationException("only full blocks can be replaced");
        _pool.AddRef(block);
        _pool.Release(_blocks[index]);
        _blocks[index] = block;
        _addresses[index] = (nint)_pool.Address(block);
    }

    /// <summary>Forgets positions from <paramref name="length"/> on, releasing blocks no longer needed.</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"must be within 0..{Length}");
        Length = length;
        int keep = _pool.BlocksFor(length);
        while (_blocks.Count > keep)
        {
            _pool.Release(_blocks[^1]);
            _blocks.RemoveAt(_blocks.Count - 1);
        }
    }

    /// <summary>Releases every block.</summary>
    public void Clear() => Truncate(0);

    public void Dispose()
    {
        if (_addresses == null) return;
        Clear();
        NativeMemory.Free(_addresses);
        _addresses = null;
    }

    private bool MakeWritable(int index)
    {
        int block = _blocks[index];
        if (_pool.RefCount(block) == 1) return true;
        if (!_pool.TryAllocate(out int copy)) return false;
        _pool.Copy(block, copy);
        _pool.Release(block);
        _blocks[index] = copy;
        _addresses[index] = (nint)_pool.Address(copy);
        return true;
    }

    private void Append(int block)
    {
        if (_blocks.Count == _addressCapacity) Grow(_addressCapacity * 2);
        _addresses[_blocks.Count] = (nint)_pool.Address(block);
        _blocks.Add(block);
    }

    private void Grow(int capacity)
    {
        var next = (nint*)NativeMemory.Alloc((nuint)capacity, (nuint)sizeof(nint));
        if (_addresses != null)
        {
            Buffer.MemoryCopy(_addresses, next, capacity * sizeof(nint), _blocks.Count * sizeof(nint));
            NativeMemory.Free(_addresses);
        }
        _addresses = next;
        _addressCapacity = capacity;
    }
}
