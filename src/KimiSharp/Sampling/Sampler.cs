using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;

namespace KimiSharp.Sampling;

/// <summary>
/// Picks next tokens for one sequence with the chain described on <see cref="SamplingParams"/>.
/// Call <see cref="Sample"/> with the model's logits, then <see cref="Accept"/> with the token that was
/// actually used (also for prompt tokens that the penalties should see). Buffers are allocated once,
/// so sampling does not allocate per token. Not thread-safe.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingParams _params;
    private readonly int _vocabSize;
    private readonly SeededRandom _random;
    private readonly float[] _work;
    private readonly Candidate[] _candidates;
    private readonly Queue<int> _window = new();
    private readonly Dictionary<int, int> _counts = new();

    public Sampler(SamplingParams parameters, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        parameters.Validate(vocabSize);
        _params = parameters;
        _vocabSize = vocabSize;
        Seed = parameters.Seed ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        _random = new SeededRandom(Seed);
        _work = new float[vocabSize];
        _candidates = new Candidate[vocabSize];
    }

    /// <summary>The seed in use (the given one, or the random one drawn when none was given).</summary>
    public ulong Seed { get; }

    public SamplingParams Parameters => _params;

    /// <summary>Records a token in the penalty window.</summary>
    public void Accept(int token)
    {
        if (!_params.HasPenalties) return;
        _window.Enqueue(token);
        _counts[token] = _counts.GetValueOrDefault(token) + 1;
        if (_params.PenaltyWindow > 0 && _window.Count > _params.PenaltyWindow)
        {
            int old = _window.Dequeue();
            int left = _counts[old] - 1;
            if (left == 0) _counts.Remove(old);
            else _counts[old] = left;
        }
    }

    /// <summary>Chooses the next token from <paramref name="logits"/> (length = vocabulary size; not modified).</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.Length != _vocabSize)
            throw new ArgumentException($"expected {_vocabSize} logits, got {logits.Length}", nameof(logits));

        Span<float> work = _work;
        logits.CopyTo(work);
        ApplyBiasAndPenalties(work);

        if (_params.IsGreedy)
            return ArgMax(work);

        // Probabilities relative to the best token: p_i = exp((l_i - l_max) / T), so p_max = 1.
        int best = ArgMax(work);
        float max = work[best];
        float invT = 1f / _params.Temperature;
        double total = RelativeProbabilities(work, max, invT);

        if (_params.TopK == 0 && _params.TopP >= 1f && _params.MinP <= 0f)
            return DrawAll(work, total);
        Span<Candidate> kept = SelectCandidates(work, total);
        return Draw(kept);
    }

    /// <summary>p_i = exp((l_i − max)·invT) in place (NaN → 0), vectorised; returns Σ p_i.</summary>
    private static double RelativeProbabilities(Span<float> work, float max, float invT)
    {
        int i = 0;
        double total = 0;
        if (Vector256.IsHardwareAccelerated && work.Length >= Vector256<float>.Count)
        {
            var vMax = Vector256.Create(max);
            var vInvT = Vector256.Create(invT);
            var sum = Vector256<float>.Zero;
            ref float start = ref MemoryMarshal.GetReference(work);
            for (; i <= work.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var l = Vector256.LoadUnsafe(ref start, (nuint)i);
                var p = Vector256.Exp((l - vMax) * vInvT);
                p = Vector256.ConditionalSelect(Vector256.Equals(l, l), p, Vector256<float>.Zero); // NaN → 0
                p = Vector256.ConditionalSelect(Vector256.Equals(l, vMax), Vector256<float>.One, p);  // +inf max stays 1
                p.StoreUnsafe(ref start, (nuint)i);
                sum += p;
                if ((i & 4095) == 0) // fold into double now and then, so float sums stay accurate
                {
                    total += Vector256.Sum(sum);
                    sum = Vector256<float>.Zero;
                }
            }
            total += Vector256.Sum(sum);
        }
        for (; i < work.Length; i++)
        {
            float l = work[i];
            float p = l == max ? 1f : float.IsNaN(l) ? 0f : MathF.Exp((l - max) * invT);
            work[i] = p;
            total += p;
        }
        return total;
    }

    /// <summary>Draws from the whole distribution (no filter) without building a candidate list.</summary>
    private int DrawAll(ReadOnlySpan<float> probs, double total)
    {
        double u = _random.NextDouble() * total;
        double cumulative = 0;
        int last = -1;
        for (int i = 0; i < probs.Length; i++)
        {
            float p = probs[i];
            if (p <= 0f) continue;
            cumulative += p;
            last = i;
            if (u < cumulative) return i;
        }
        return last >= 0 ? last : throw new InvalidOperationException("no token left to sample (all excluded by logit_bias)");
    }

    private void ApplyBiasAndPenalties(Span<float> work)
    {
        if (_params.LogitBias is { } bias)
            foreach (var (id, b) in bias)
                work[id] += b;

        if (!_params.HasPenalties) return;
        float rep = _params.RepetitionPenalty, presence = _params.PresencePenalty, frequency = _params.FrequencyPenalty;
        foreach (var (id, count) in _counts)
        {
            if ((uint)id >= (uint)work.Length) continue;
            float l = work[id];
            if (rep != 1f) l = l > 0 ? l / rep : l * rep;
            l -= count * frequency + presence;
            work[id] = l;
        }
    }

    /// <summary>Index of the largest logit, first on ties; NaN never wins.</summary>
    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = -1;
        float bestValue = float.NegativeInfinity;
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] > bestValue)
            {
                bestValue = values[i];
                best = i;
            }
        }
        if (best < 0)
            throw new InvalidOperationException("every token has -infinity or NaN logits (all excluded by logit_bias?)");
        return best;
    }

    /// <summary>
    /// Applies top-k, top-p and min-p to the relative probabilities in <paramref name="probs"/> and returns
    /// the survivors (unnormalised weights).
    /// </summary>
    private Span<Candidate> SelectCandidates(ReadOnlySpan<float> probs, double total)
    {
        int topK = _params.TopK > 0 && _params.TopK < probs.Length ? _params.TopK : 0;
        float topP = _params.TopP;
        float minP = _params.MinP;
        Span<Candidate> c = _candidates;
        int n;

        if (topK > 0)
        {
            n = TopKSorted(probs, topK, c);
        }
        else if (topP < 1f)
        {
            n = NucleusSuperset(probs, total, topP, minP, c);
        }
        else
        {
            // Only min-p (or nothing): keep everything at or above the threshold, in index order.
            n = 0;
            for (int i = 0; i < probs.Length; i++)
                if (probs[i] > 0f && probs[i] >= minP)
                    c[n++] = new Candidate(i, probs[i]);
            return c[..n];
        }

        if (topP < 1f)
        {
            // Nucleus: the shortest sorted prefix whose mass reaches topP of the mass left after top-k
            // (all tokens when top-k is off; the candidate set is then a superset of the nucleus).
            double sum = 0;
            if (topK > 0) for (int i = 0; i < n; i++) sum += c[i].P;
            else sum = total;
            double target = topP * sum, cumulative = 0;
            for (int i = 0; i < n; i++)
            {
                cumulative += c[i].P;
                if (cumulative >= target)
                {
                    n = i + 1;
                    break;
                }
            }
        }

        if (minP > 0f)
        {
            // p_i / p_max >= minP; the set is sorted and its first element is the top token (p = 1).
            float threshold = minP * c[0].P;
            int keep = 1;
            while (keep < n && c[keep].P >= threshold) keep++;
            n = keep;
        }
        return c[..n];
    }

    /// <summary>The k most likely tokens, sorted by probability (descending, lower id first on ties).</summary>
    private static int TopKSorted(ReadOnlySpan<float> probs, int k, Span<Candidate> c)
    {
        // Min-heap of the best k seen so far; the root is the weakest.
        Span<Candidate> heap = c[..k];
        int size = 0;
        for (int i = 0; i < probs.Length; i++)
        {
            var item = new Candidate(i, probs[i]);
            if (size < k)
            {
                heap[size] = item;
                SiftUp(heap, size++);
            }
            else if (Candidate.Better(item, heap[0]))
            {
                heap[0] = item;
                SiftDown(heap, 0, size);
            }
        }
        heap.Sort(default(DescendingOrder));
        int n = k;
        while (n > 1 && heap[n - 1].P <= 0f) n--;
        return n;
    }

    /// <summary>
    /// A prefix of the tokens sorted by probability that surely contains the nucleus: all tokens with
    /// p ≥ e^-d for the smallest tried d whose set holds at least topP of the mass (no full sort needed).
    /// </summary>
    private static int NucleusSuperset(ReadOnlySpan<float> probs, double total, float topP, float minP, Span<Candidate> c)
    {
        ReadOnlySpan<float> thresholds = [0.25f, 0.05f, 1e-3f, 1e-5f, 1e-8f, 0f];
        double target = topP * total;
        foreach (float t0 in thresholds)
        {
            float t = Math.Max(t0, minP);
            double mass = 0;
            int n = 0;
            for (int i = 0; i < probs.Length; i++)
            {
                if (probs[i] >= t && probs[i] > 0f)
                {
                    mass += probs[i];
                    c[n++] = new Candidate(i, probs[i]);
                }
            }
            if (mass >= target || t0 == 0f || t == minP)
            {
                c[..n].Sort(default(DescendingOrder));
                return n;
            }
        }
        throw new InvalidOperationException("unreachable");
    }

    private int Draw(ReadOnlySpan<Candidate> kept)
    {
        double sum = 0;
        foreach (var k in kept) sum += k.P;
        if (kept.Length == 0 || !(sum > 0))
            throw new InvalidOperationException("no token left to sample (all excluded by logit_bias or filters)");
        double u = _random.NextDouble() * sum;
        double cumulative = 0;
        foreach (var k in kept)
        {
            cumulative += k.P;
            if (u < cumulative) return k.Id;
        }
        // Rounding: u landed on the very end; return the last token with weight.
        for (int i = kept.Length - 1; i >= 0; i--)
            if (kept[i].P > 0) return kept[i].Id;
        return kept[^1].Id;
    }

    private static void SiftUp(Span<Candidate> heap, int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Candidate.Better(heap[parent], heap[i])) break;
            (heap[parent], heap[i]) = (heap[i], heap[parent]);
            i = parent;
        }
    }

    private static void SiftDown(Span<Candidate> heap, int i, int size)
    {
        while (true)
        {
            int left = 2 * i + 1, right = left + 1, weakest = i;
            if (left < size && Candidate.Better(heap[weakest], heap[left])) weakest = left;
            if (right < size && Candidate.Better(heap[weakest], heap[right])) weakest = right;
            if (weakest == i) return;
            (heap[weakest], heap[i]) = (heap[i], heap[weakest]);
            i = weakest;
        }
    }

    private readonly record struct Candidate(int Id, float P)
    {
        /// <summary>Higher probability first; on ties the lower id.</summary>
        public static bool Better(Candidate a, Candidate b) => a.P > b.P || (a.P == b.P && a.Id < b.Id);
    }

    private readonly struct DescendingOrder : IComparer<Candidate>
    {
        public int Compare(Candidate x, Candidate y) => Candidate.Better(x, y) ? -1 : Candidate.Better(y, x) ? 1 : 0;
    }
}
