namespace KimiSharp.Text;

/// <summary>
/// Open-addressing hash map from a token-id pair to its merge rank (Fibonacci hashing, linear probing). A plain
/// Dictionary&lt;long,int&gt; hashes (left &lt;&lt; 32 | right) to left ^ right, which collides massively for BPE pairs.
/// </summary>
internal sealed class PairRankTable
{
    private const long Empty = -1;
    private readonly long[] _keys;
    private readonly int[] _ranks;
    private readonly int _shift;
    private readonly int _mask;

    public PairRankTable(IReadOnlyList<(int Left, int Right, int Rank)> entries)
    {
        int capacity = 16;
        while (capacity < entries.Count * 2) capacity <<= 1;
        _keys = new long[capacity];
        _ranks = new int[capacity];
        Array.Fill(_keys, Empty);
        _mask = capacity - 1;
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)capacity);
        foreach (var (left, right, rank) in entries)
        {
            long key = Key(left, right);
            int slot = Slot(key);
            while (_keys[slot] != Empty && _keys[slot] != key) slot = (slot + 1) & _mask;
            if (_keys[slot] == key) continue; // first (lowest-rank) merge of a pair wins
            _keys[slot] = key;
            _ranks[slot] = rank;
        }
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private int Slot(long key) => (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15)) >> _shift);

    /// <summary>Merge rank of (left, right), or int.MaxValue when the pair never merges.</summary>
    public int Rank(int left, int right)
    {
        long key = Key(left, right);
        int slot = Slot(key);
        while (true)
        {
            long k = _keys[slot];
            if (k == key) return _ranks[slot];
            if (k == Empty) return int.MaxValue;
            slot = (slot + 1) & _mask;
        }
    }
}
