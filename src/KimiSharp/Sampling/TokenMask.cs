using System.Numerics;

namespace KimiSharp.Sampling;

/// <summary>
/// A set of allowed token ids as a bit set (bit i of word i/64 = token i). Allocated once per sequence and
/// refilled per step; <see cref="Apply"/> is the mask step of the sampler chain: every logit of a token outside
/// the set becomes -infinity, so the sampler, its filters and the reported log-probabilities all see only
/// allowed tokens.
/// </summary>
public sealed class TokenMask
{
    private readonly ulong[] _bits;

    public TokenMask(int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        VocabSize = vocabSize;
        _bits = new ulong[(vocabSize + 63) / 64];
    }

    public int VocabSize { get; }

    /// <summary>The raw words (for bulk operations by the grammar engine).</summary>
    public Span<ulong> Bits => _bits;

    public void Clear() => Array.Clear(_bits);

    public void SetAll()
    {
        Array.Fill(_bits, ulong.MaxValue);
        int tail = VocabSize & 63;
        if (tail != 0) _bits[^1] = (1UL << tail) - 1;
    }

    public void Set(int token) => _bits[token >> 6] |= 1UL << (token & 63);

    public void Unset(int token) => _bits[token >> 6] &= ~(1UL << (token & 63));

    public bool IsSet(int token) => (uint)token < (uint)VocabSize && (_bits[token >> 6] & (1UL << (token & 63))) != 0;

    public void CopyFrom(ReadOnlySpan<ulong> words) => words.CopyTo(_bits);

    /// <summary>Number of allowed tokens.</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (ulong w in _bits) n += BitOperations.PopCount(w);
            return n;
        }
    }

    /// <summary>Sets the logit of every token outside the set to -infinity.</summary>
    public void Apply(Span<float> logits)
    {
        if (logits.Length != VocabSize)
            throw new ArgumentException($"expected {VocabSize} logits, got {logits.Length}", nameof(logits));
        for (int w = 0; w < _bits.Length; w++)
        {
            ulong word = _bits[w];
            if (word == ulong.MaxValue) continue;
            int start = w << 6;
            int end = Math.Min(start + 64, logits.Length);
            if (word == 0)
            {
                logits[start..end].Fill(float.NegativeInfinity);
                continue;
            }
            ulong banned = ~word;
            while (banned != 0)
            {
                int i = start + BitOperations.TrailingZeroCount(banned);
                if (i >= end) break;
                logits[i] = float.NegativeInfinity;
                banned &= banned - 1;
            }
        }
    }
}
