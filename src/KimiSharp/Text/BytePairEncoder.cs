using System.Buffers;
using System.Runtime.CompilerServices;

namespace KimiSharp.Text;

/// <summary>
/// Byte-level BPE over token ids: a piece's UTF-8 bytes start as byte tokens, then the adjacent pair with the lowest
/// merge rank is merged (ties: leftmost) until no pair has a merge — GPT-2/llama.cpp BPE, equal to tiktoken's rank
/// merging for vocabularies converted from tiktoken ranks.
/// </summary>
[SkipLocalsInit]
internal sealed class BytePairEncoder
{
    private const int HeapThreshold = 96;
    private readonly PairRankTable _pairRank;           // (left id, right id) → merge rank
    private readonly int[] _mergeResult;                // merge rank → id of the merged token
    private readonly int[] _byteToId;                   // byte → id of its single-byte token (-1 if none)

    public BytePairEncoder(PairRankTable pairRank, int[] mergeResult, int[] byteToId)
    {
        _pairRank = pairRank;
        _mergeResult = mergeResult;
        _byteToId = byteToId;
    }

    private int Rank(int left, int right) => _pairRank.Rank(left, right);

    /// <summary>Encodes the UTF-8 bytes of one piece and appends the ids to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<byte> bytes, List<int> output)
    {
        if (bytes.Length == 0) return;
        if (bytes.Length > HeapThreshold)
        {
            EncodeLong(bytes, output);
            return;
        }

        Span<int> ids = stackalloc int[bytes.Length];
        Span<int> ranks = stackalloc int[bytes.Length]; // ranks[i] = rank of (ids[i], ids[i+1])
        int count = 0;
        foreach (byte b in bytes)
        {
            int id = _byteToId[b];
            if (id < 0) throw new InvalidOperationException($"the vocabulary has no token for byte 0x{b:X2}");
            ids[count++] = id;
        }
        for (int i = 0; i + 1 < count; i++) ranks[i] = Rank(ids[i], ids[i + 1]);

        while (count > 1)
        {
            int best = int.MaxValue, at = -1;
            for (int i = 0; i + 1 < count; i++)
            {
                if (ranks[i] < best)
                {
                    best = ranks[i];
                    at = i;
                }
            }
            if (at < 0) break;

            ids[at] = _mergeResult[best];
            for (int i = at + 1; i + 1 < count; i++)
            {
                ids[i] = ids[i + 1];
                ranks[i] = ranks[i + 1];
            }
            count--;
            if (at > 0) ranks[at - 1] = Rank(ids[at - 1], ids[at]);
            ranks[at] = at + 1 < count ? Rank(ids[at], ids[at + 1]) : int.MaxValue;
        }

        for (int i = 0; i < count; i++) output.Add(ids[i]);
    }

    /// <summary>Same result for long pieces in O(n log n): linked symbols and a heap of candidate merges.</summary>
    private void EncodeLong(ReadOnlySpan<byte> bytes, List<int> output)
    {
        int n = bytes.Length;
        int[] ids = ArrayPool<int>.Shared.Rent(n);
        int[] next = ArrayPool<int>.Shared.Rent(n);
        int[] prev = ArrayPool<int>.Shared.Rent(n);
        try
        {
            for (int i = 0; i < n; i++)
            {
                int id = _byteToId[bytes[i]];
                if (id < 0) throw new InvalidOperationException($"the vocabulary has no token for byte 0x{bytes[i]:X2}");
                ids[i] = id;
                next[i] = i + 1 < n ? i + 1 : -1;
                prev[i] = i - 1;
            }

            // Priority: (rank, left position); entries are validated when popped (symbols may have changed).
            var heap = new PriorityQueue<(int Left, int LeftId, int RightId), long>();
            void Push(int left)
            {
                int right = next[left];
                if (left < 0 || right < 0) return;
                int r = Rank(ids[left], ids[right]);
                if (r != int.MaxValue) heap.Enqueue((left, ids[left], ids[right]), ((long)r << 32) | (uint)left);
            }
            for (int i = 0; i + 1 < n; i++) Push(i);

            while (heap.TryDequeue(out var e, out long priority))
            {
                int left = e.Left;
                int right = next[left];
                if (ids[left] < 0 || right < 0 || ids[left] != e.LeftId || ids[right] != e.RightId) continue;
                ids[left] = _mergeResult[(int)(priority >> 32)];
                ids[right] = -1;
                next[left] = next[right];
                if (next[right] >= 0) prev[next[right]] = left;
                if (prev[left] >= 0) Push(prev[left]);
                Push(left);
            }

            for (int i = 0; i >= 0; i = next[i]) output.Add(ids[i]);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(ids);
            ArrayPool<int>.Shared.Return(next);
            ArrayPool<int>.Shared.Return(prev);
        }
    }
}
