using KimiSharp.Engine;
using KimiSharp.Models.DeepSeek2;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Models;

/// <summary>
/// The batched (segmented) forward pass: several sequences in one step, each against its own paged cache, must give each
/// sequence the logits it gets alone.
/// </summary>
public class BatchedForwardTests(TinyModelFiles files) : IClassFixture<TinyModelFiles>
{
    private static int[] Tokens(int count, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => rng.Next(3, vocab)).ToArray();
    }

    /// <summary>
    /// Three sequences of 7, 13 and 3 prompt tokens run together over three steps that mix whole prompts, a prompt split in
    /// two chunks and single decode tokens; every token's logits are compared with a ForwardAll of that sequence alone.
    /// Batch-invariant mode sums each token's products in one order whatever the batch, so they must be bit-identical;
    /// the default (llama.cpp's batched order for batches) differs from the alone run by rounding only.
    /// </summary>
    [Theory]
    [InlineData("kimi-tiny", GgmlType.F32, KvCacheType.F32, true)]
    [InlineData("kimi-tiny", GgmlType.Q4_K, KvCacheType.F16, true)]
    [InlineData("v2lite-tiny", GgmlType.Q8_0, KvCacheType.Q8_0, true)]
    [InlineData("kimi-tiny", GgmlType.Q8_0, KvCacheType.Q8_0, true)]
    [InlineData("kimi-tiny", GgmlType.F32, KvCacheType.F32, false)]
    public void Sequences_run_together_get_the_logits_they_get_alone(string shape, GgmlType type, KvCacheType kv, bool invariant)
    {
        using var model = DeepSeek2Model.Load(files.Get(shape, type), new ModelOptions(2, kv, BatchInvariant: invariant));
        int vocab = model.VocabSize;
        // Prompt tokens, then the tokens fed at decode steps (arbitrary: the comparison is per position, not greedy).
        int[][] seqs = [Tokens(9, vocab, 1), Tokens(15, vocab, 2), Tokens(5, vocab, 3)];
        // Tokens each sequence runs in each step: A 7|1|1, B 5|8|2, C 3|1|1.
        int[][] plan = [[7, 5, 3], [1, 8, 1], [1, 2, 1]];

        var alone = seqs.Select(tokens =>
        {
            var logits = new float[tokens.Length * vocab];
            using var s = model.CreateSession(tokens.Length);
            s.ForwardAll(tokens, logits);
            return logits;
        }).ToArray();

        using var pool = new KvBlockPool(model.KvCacheBytesPerToken, capacityBlocks: 16, blockTokens: 4);
        var tables = seqs.Select(_ => new KvBlockTable(pool)).ToArray();
        using var runner = model.CreateBatchRunner(32);
        var together = seqs.Select(t => new float[t.Length * vocab]).ToArray();
        foreach (var counts in plan)
        {
            var segments = new List<BatchSegment>();
            var tokens = new List<int>();
            for (int q = 0; q < seqs.Length; q++)
            {
                int start = tables[q].Length;
                Assert.True(tables[q].TryReserve(counts[q]));
                segments.Add(new BatchSegment(tables[q], start, counts[q], SegmentOutputs.All));
                tokens.AddRange(seqs[q].AsSpan(start, counts[q]).ToArray());
            }
            var logits = new float[tokens.Count * vocab];
            runner.Run(tokens.ToArray(), segments.ToArray(), logits);
            int row = 0;
            foreach (var s in segments)
            {
                int q = Array.IndexOf(tables, s.Kv);
                logits.AsSpan(row * vocab, s.TokenCount * vocab).CopyTo(together[q].AsSpan(s.Start * vocab));
                row += s.TokenCount;
                Assert.Equal(s.Start + s.TokenCount, s.Kv.Length);
            }
        }
        for (int q = 0; q < seqs.Length; q++)
        {
            if (invariant)
                Assert.Equal(alone[q], together[q]);
            else
                Assert.True(MaxAbsDiff(alone[q], together[q]) <= 1e-4f, $"sequence {q}: max |Δ| {MaxAbsDiff(alone[q], together[q])}");
        }
        foreach (var t in tables) t.Dispose();
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public void A_step_that_wants_only_last_logits_writes_one_row_per_segment()
    {
        using var model = DeepSeek2Model.Load(files.Get("kimi-tiny"), new ModelOptions(1, BatchInvariant: true));
        int vocab = model.VocabSize;
        int[] a = Tokens(6, vocab, 4), b = Tokens(3, vocab, 5);
        using var pool = new KvBlockPool(model.KvCacheBytesPerToken, 8);
        using var ta = new KvBlockTable(pool);
        using var tb = new KvBlockTable(pool);
        Assert.True(ta.TryReserve(6) && tb.TryReserve(3));
        using var runner = model.CreateBatchRunner(16);
        var logits = new float[2 * vocab];
        runner.Run([.. a, .. b], [new BatchSegment(ta, 0, 6), new BatchSegment(tb, 0, 3)], logits);

        foreach (var (tokens, row) in new[] { (a, 0), (b, 1) })
        {
            var expected = new float[vocab];
            using var s = model.CreateSession(tokens.Length);
            s.Forward(tokens, expected);
            Assert.Equal(expected, logits.AsSpan(row * vocab, vocab).ToArray());
        }
    }

    [Fact]
    public void Bad_segments_are_refused_before_any_work()
    {
        using var model = DeepSeek2Model.Load(files.Get("kimi-tiny"), new ModelOptions(1));
        int vocab = model.VocabSize;
        using var pool = new KvBlockPool(model.KvCacheBytesPerToken, 4);
        using var t = new KvBlockTable(pool);
        using var runner = model.CreateBatchRunner(8);
        var logits = new float[vocab];
        // blocks not reserved
        Assert.Throws<ArgumentException>(() => runner.Run([5, 6], [new BatchSegment(t, 0, 2)], logits));
        Assert.True(t.TryReserve(2));
        // one cache twice, a count that does not add up, a start that is not the cache's end, too many tokens
        Assert.Throws<ArgumentException>(() => runner.Run([5, 6], [new BatchSegment(t, 0, 1), new BatchSegment(t, 0, 1)], new float[2 * vocab]));
        Assert.Throws<ArgumentException>(() => runner.Run([5, 6], [new BatchSegment(t, 0, 1)], logits));
        Assert.Throws<ArgumentException>(() => runner.Run([5, 6], [new BatchSegment(t, 1, 2)], logits));
        Assert.Throws<ArgumentException>(() => runner.Run(new int[9], [new BatchSegment(t, 0, 9)], logits));
        // a pool sized for another model's rows
        using var other = new KvBlockPool(model.KvCacheBytesPerToken + 4, 4);
        using var wrong = new KvBlockTable(other);
        Assert.True(wrong.TryReserve(2));
        Assert.Throws<ArgumentException>(() => runner.Run([5, 6], [new BatchSegment(wrong, 0, 2)], logits));
        Assert.Equal(0, t.Length);
    }

    private static float MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float max = 0;
        for (int i = 0; i < a.Length; i++)
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }
}
