using KimiSharp.Engine;
using KimiSharp.Gguf;
using KimiSharp.Models.DeepSeek2;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Models;

public class DeepSeek2ModelTests(TinyModelFiles files) : IClassFixture<TinyModelFiles>
{
    private static int[] Tokens(int count, int vocab, int seed = 11)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => rng.Next(3, vocab)).ToArray();
    }

    private static float MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float max = 0;
        for (int i = 0; i < a.Length; i++)
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    /// <summary>
    /// By default a batch sums in llama.cpp's batched order (which differs from its single-token order by rounding, and a
    /// quantized random MoE amplifies that); F32 stays within 1e-4. Batch-invariant mode must make the two bit-identical.
    /// </summary>
    [Theory]
    [InlineData("kimi-tiny", GgmlType.F32, false)]
    [InlineData("v2lite-tiny", GgmlType.F32, false)]
    [InlineData("kimi-tiny", GgmlType.F32, true)]
    [InlineData("kimi-tiny", GgmlType.Q8_0, true)]
    [InlineData("v2lite-tiny", GgmlType.Q4_K, true)]
    public void Prefill_in_one_batch_equals_token_by_token_decode(string shape, GgmlType type, bool batchInvariant)
    {
        // The tolerance case runs an F32 cache: an F16 cache rounds the batch's and the decode's slightly different
        // latents to halves, which can differ by a half's ulp. Batch-invariant runs must be bit-identical with any cache.
        using var model = DeepSeek2Model.Load(files.Get(shape, type),
            new ModelOptions(2, batchInvariant ? null : KvCacheType.F32, BatchInvariant: batchInvariant));
        int n = 24, vocab = model.VocabSize;
        var tokens = Tokens(n, vocab);
        var batch = new float[n * vocab];
        using (var s = model.CreateSession(n))
            s.ForwardAll(tokens, batch);

        var step = new float[vocab];
        using var decode = model.CreateSession(n);
        for (int i = 0; i < n; i++)
        {
            decode.Forward(tokens.AsSpan(i, 1), step);
            float diff = MaxAbsDiff(batch.AsSpan(i * vocab, vocab), step);
            Assert.True(batchInvariant ? diff == 0 : diff <= 1e-4f, $"position {i}: max |Δ| {diff}");
        }
        Assert.Equal(n, decode.Length);
    }

    [Fact]
    public void Micro_batches_and_thread_counts_do_not_change_the_logits()
    {
        var path = files.Get("kimi-tiny");
        int n = 40;
        float[] Run(int threads, int maxBatch)
        {
            using var model = DeepSeek2Model.Load(path, new ModelOptions(threads, MaxBatch: maxBatch));
            var logits = new float[n * model.VocabSize];
            using var s = model.CreateSession(n);
            s.ForwardAll(Tokens(n, model.VocabSize), logits);
            return logits;
        }
        var reference = Run(1, 256);
        Assert.True(MaxAbsDiff(reference, Run(2, 256)) <= 1e-4f);
        Assert.True(MaxAbsDiff(reference, Run(2, 7)) <= 1e-4f);
    }

    [Fact]
    public void Q8_0_kv_cache_pads_rows_that_are_not_whole_blocks()
    {
        // kimi-tiny's cache rows are 64 + 16 = 80 values: 3 Q8_0 blocks of 34 bytes (Kimi-K2's 576 are exactly 18).
        using var model = DeepSeek2Model.Load(files.Get("kimi-tiny"), new ModelOptions(1, KvCacheType.Q8_0));
        Assert.Equal(3 * 34L * model.Config.LayerCount, model.KvCacheBytesPerToken);
    }

    /// <summary>Mean |Δlogit| against an F32 cache: F16 ≈ 4e-4, Q8_0 ≈ 1e-2 on kimi-tiny (a broken cache is off by ~1).</summary>
    [Theory]
    [InlineData(KvCacheType.F16, 2e-3f)]
    [InlineData(KvCacheType.Q8_0, 3e-2f)]
    public void Reduced_precision_kv_cache_stays_close_to_F32(KvCacheType kv, float tolerance)
    {
        var path = files.Get("kimi-tiny");
        int n = 16;
        float[] Run(KvCacheType type)
        {
            using var model = DeepSeek2Model.Load(path, new ModelOptions(2, type));
            var logits = new float[n * model.VocabSize];
            using var s = model.CreateSession(n);
            s.ForwardAll(Tokens(n, model.VocabSize), logits);
            Assert.Equal(LatentRowBytes(type, model.Config.LatentRowLength) * model.Config.LayerCount, model.KvCacheBytesPerToken);
            Assert.Equal(model.KvCacheBytesPerToken * KvBlockPool.DefaultBlockTokens, s.KvCacheBytes);   // one block of 32 tokens
            return logits;
        }
        var f32 = Run(KvCacheType.F32);
        var reduced = Run(kv);
        double mean = f32.Zip(reduced, (a, b) => (double)Math.Abs(a - b)).Average();
        Assert.True(mean <= tolerance, $"mean |Δ| {mean}");
        Assert.NotEqual(f32, reduced);
    }

    /// <summary>
    /// The default path (flash attention, F16 cache) against llama.cpp's exact order (F32 cache): issue 13 allows
    /// top-1 agreement 2 points under llama.cpp's own defaults (89.6–93.8% on random models) and twice their mean KL
    /// (1.2e−3–3.5e−3); the kernel's rounding alone stays far inside that, so the bounds here are much tighter.
    /// </summary>
    [Theory]
    [InlineData(null, 96, 256)]
    [InlineData(KvCacheType.F32, 96, 256)]
    [InlineData(null, 384, 128)]   // chunks 2 and 3 (128 tokens after 128 and 256) attend in decompressed (MHA) form
    public void Default_path_stays_close_to_the_exact_path(KvCacheType? kv, int n, int maxBatch)
    {
        var path = files.Get("kimi-tiny");
        var tokens = Tokens(n, 576, seed: 5);   // kimi-tiny's vocabulary
        if (n > maxBatch)
            Assert.True(KimiSharp.Compute.FlashMhaAttention.Pays(maxBatch, 2 * maxBatch, 64, 32, 16, 32), "the case should cover the MHA path");
        float[] Run(ModelOptions options)
        {
            using var model = DeepSeek2Model.Load(path, options);
            var logits = new float[n * model.VocabSize];
            using var s = model.CreateSession(n);
            s.ForwardAll(tokens, logits);
            return logits;
        }
        var exact = Run(new ModelOptions(2, Exact: true));
        var fast = Run(new ModelOptions(2, kv, MaxBatch: maxBatch));
        int vocab = exact.Length / n, agree = 0;
        double kl = 0;
        for (int t = 0; t < n; t++)
        {
            var p = exact.AsSpan(t * vocab, vocab);
            var q = fast.AsSpan(t * vocab, vocab);
            if (p.IndexOf(MaxOf(p)) == q.IndexOf(MaxOf(q)))
                agree++;
            kl += KullbackLeibler(p, q);
        }
        Assert.True(agree >= n * 95 / 100, $"top-1 agreement {agree} of {n}");
        Assert.True(kl / n <= 1e-4, $"mean KL {kl / n:E2}");
        Assert.NotEqual(exact, fast);
    }

    private static float MaxOf(ReadOnlySpan<float> x)
    {
        float m = float.NegativeInfinity;
        foreach (float v in x)
            m = Math.Max(m, v);
        return m;
    }

    /// <summary>KL(softmax p ‖ softmax q) in double.</summary>
    private static double KullbackLeibler(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        double mp = MaxOf(p), mq = MaxOf(q), zp = 0, zq = 0;
        for (int i = 0; i < p.Length; i++)
        {
            zp += Math.Exp(p[i] - mp);
            zq += Math.Exp(q[i] - mq);
        }
        double kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double lp = p[i] - mp - Math.Log(zp), lq = q[i] - mq - Math.Log(zq);
            kl += Math.Exp(lp) * (lp - lq);
        }
        return kl;
    }

    private static long LatentRowBytes(KvCacheType t, int n) => t switch
    {
        KvCacheType.F32 => 4L * n,
        KvCacheType.F16 => 2L * n,
        _ => (n + 31) / 32 * 34L,
    };

    [Fact]
    public void Truncate_then_forward_recomputes_the_same_logits()
    {
        using var model = DeepSeek2Model.Load(files.Get("kimi-tiny"), new ModelOptions(2));
        int vocab = model.VocabSize;
        var tokens = Tokens(10, vocab);
        var first = new float[vocab];
        var again = new float[vocab];
        using var s = model.CreateSession(16);
        s.Forward(tokens, first);
        s.Truncate(6);
        s.Forward(tokens.AsSpan(6), again);
        Assert.True(MaxAbsDiff(first, again) <= 1e-4f);
    }

    [Fact]
    public void Session_rejects_bad_tokens_and_overflow_without_changing_state()
    {
        using var model = DeepSeek2Model.Load(files.Get("kimi-tiny"), new ModelOptions(1));
        var logits = new float[model.VocabSize];
        using var s = model.CreateSession(4);
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Forward([1, model.VocabSize], logits));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Forward([-1], logits));
        Assert.Equal(0, s.Length);
        Assert.Throws<InvalidOperationException>(() => s.Forward([1, 2, 3, 4, 5], logits));
        Assert.Throws<ArgumentException>(() => s.Forward([1], new float[3]));
        s.Forward([1, 2], logits);
        Assert.Equal(2, s.Length);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Load_names_the_missing_tensor_when_metadata_asks_for_a_dense_layer_the_file_lacks()
    {
        var path = files.Edited("kimi-tiny", "two-dense", w => w.SetUInt32("deepseek2.leading_dense_block_count", 2));
        var e = Assert.Throws<ModelLoadException>(() => DeepSeek2Model.Load(path, new ModelOptions(1)));
        Assert.Equal("blk.1.ffn_gate.weight", e.Name);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Load_names_tensor_and_expected_shape_when_a_shape_is_wrong()
    {
        var path = files.Edited("kimi-tiny", "wrong-embd", w => w.SetUInt32("deepseek2.embedding_length", 128));
        var e = Assert.Throws<ModelLoadException>(() => DeepSeek2Model.Load(path, new ModelOptions(1)));
        Assert.Equal("token_embd.weight", e.Name);
        Assert.Contains("expected {128,", e.Message);
    }

    [Fact]
    public void Load_keeps_weights_in_the_map_and_reports_kv_cost()
    {
        using var file = GgufFile.Open(files.Get("kimi-tiny"));
        long before = GC.GetAllocatedBytesForCurrentThread();
        using var model = DeepSeek2Model.Load(file, new ModelOptions(1));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;   // everything Load allocated, garbage included
        Assert.Equal(0, model.OwnedBytes);   // all norms are F32 in the map; nothing copied
        Assert.True(allocated + model.OwnedBytes < file.TotalFileSize / 20, $"{allocated} managed bytes for a {file.TotalFileSize}-byte file");
        // F16 by default (llama.cpp's default), F32 in exact mode.
        Assert.Equal(2L * model.Config.LatentRowLength * model.Config.LayerCount, model.KvCacheBytesPerToken);
        Assert.Contains("KV cache F16", model.Describe(1024));
        using var exact = DeepSeek2Model.Load(file, new ModelOptions(1, Exact: true));
        Assert.Equal(4L * model.Config.LatentRowLength * model.Config.LayerCount, exact.KvCacheBytesPerToken);
    }
}
