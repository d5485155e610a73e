using KimiSharp.Compute;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Compute;

public unsafe class FlashMhaAttentionTests
{
    /// <summary>Random per-head weights stored as <paramref name="type"/> (heads × rows × cols) and their F32 values.</summary>
    private static (byte[] Bytes, float[] Values, long HeadBytes) Weights(GgmlType type, int heads, int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        long rowBytes = GgmlTypes.Get(type).RowBytes(cols);
        var bytes = new byte[rowBytes * rows * heads];
        var values = new float[(long)heads * rows * cols];
        var row = new float[cols];
        for (int i = 0; i < heads * rows; i++)
        {
            for (int k = 0; k < cols; k++)
                row[k] = (float)((rng.NextDouble() * 2 - 1) * 0.3);
            var dst = bytes.AsSpan((int)(i * rowBytes), (int)rowBytes);
            QuantCodecs.Quantize(type, row, dst);
            QuantCodecs.Dequantize(type, dst, values.AsSpan(i * cols, cols));
        }
        return (bytes, values, rowBytes * rows);
    }

    /// <summary>
    /// The decompressed chunk attention against plain MLA in double: per head, k_nope_j = W_kbᵀ·c_j, scores
    /// scale·(q_nope·k_nope_j + q_pe·k_pe_j) over the causal rows, softmax, o = W_vb·Σ_j p_j·c_j.
    /// </summary>
    [Theory]
    [InlineData(8, 64, 16, 32, 32, GgmlType.F32, GgmlType.F16, 37, 20, 32)]       // kimi-tiny shape, chunk mid-sequence
    [InlineData(8, 64, 16, 32, 32, GgmlType.F32, GgmlType.F32, 70, 0, 32)]        // prompt start: diagonal blocks, partial strip
    [InlineData(8, 64, 16, 32, 32, GgmlType.F16, GgmlType.F32, 41, 13, 5)]        // pages of 5 rows: blocks span pages
    [InlineData(4, 64, 16, 32, 32, GgmlType.F32, GgmlType.Q8_0, 33, 30, 7)]       // Q8_0 rows over pages of 7
    [InlineData(2, 512, 64, 128, 128, GgmlType.Q8_0, GgmlType.Q8_0, 19, 45, 32)]  // Kimi-K2 head sizes, Q8_0 weights and cache
    public void Chunk_attention_matches_a_double_precision_reference(int heads, int latent, int rope, int nope, int value,
        GgmlType weightType, GgmlType cacheType, int tokens, int start, int pageRows)
    {
        using var cache = new PagedLatentCache(heads, latent, rope, start + tokens, cacheType, seed: 7, pageRows);
        var (kb, kbValues, kbHead) = Weights(weightType, heads, latent, nope, 1);
        var (vb, vbValues, vbHead) = Weights(weightType, heads, value, latent, 2);
        var rng = new Random(3);
        int dk = nope + rope;
        var q = Enumerable.Range(0, tokens * heads * dk).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();   // [T, H, nope | rope]
        float scale = 0.15f;

        var expected = new double[tokens * heads * value];
        var s = new double[start + tokens];
        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < heads; h++)
            {
                int visible = start + t + 1;
                double max = double.NegativeInfinity;
                for (int j = 0; j < visible; j++)
                {
                    double dot = 0;
                    for (int d = 0; d < nope; d++)
                    {
                        double k = 0;
                        for (int i = 0; i < latent; i++)
                            k += (double)kbValues[((long)h * latent + i) * nope + d] * cache.Stored[(long)j * cache.Row + i];
                        dot += q[(t * heads + h) * dk + d] * k;
                    }
                    for (int d = 0; d < rope; d++)
                        dot += (double)q[(t * heads + h) * dk + nope + d] * cache.Stored[(long)j * cache.Row + latent + d];
                    s[j] = dot * scale;
                    max = Math.Max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < visible; j++)
                    sum += s[j] = Math.Exp(s[j] - max);
                for (int d = 0; d < value; d++)
                {
                    double acc = 0;
                    for (int i = 0; i < latent; i++)
                    {
                        double olat = 0;
                        for (int j = 0; j < visible; j++)
                            olat += s[j] * cache.Stored[(long)j * cache.Row + i];
                        acc += vbValues[((long)h * value + d) * latent + i] * olat / sum;
                    }
                    expected[(t * heads + h) * value + d] = acc;
                }
            }

        foreach (var level in new[] { SimdLevel.Vector128, SimdLevel.Avx2, SimdLevel.Avx512 }.Where(l => l <= FlashLatentAttention.BestLevel))
        {
            var o = new float[tokens * heads * value];
            using var pool = new WorkerPool(2);
            using var scratch = new MhaScratch(2, tokens, heads, latent, rope, nope, value);
            fixed (byte* kp = kb, vp = vb)
            fixed (float* qp = q, op = o)
            {
                var input = new MhaAttentionInput
                {
                    QueryNope = qp, NopeTokenStride = (long)heads * dk, NopeHeadStride = dk,
                    QueryRope = qp + nope, RopeTokenStride = (long)heads * dk, RopeHeadStride = dk,
                    Tokens = tokens, Heads = heads, Nope = nope, Rope = rope, Latent = latent, Value = value, Start = start, Scale = scale,
                    Output = op, OutputTokenStride = (long)heads * value, OutputHeadStride = value,
                };
                FlashMhaAttention.Attend(input, cache.View, new QuantMatrix(kp, weightType, latent, nope), kbHead,
                    new QuantMatrix(vp, weightType, value, latent), vbHead, scratch, pool, level);
            }
            double worst = 0;
            for (int i = 0; i < o.Length; i++)
                worst = Math.Max(worst, Math.Abs(o[i] - expected[i]));
            Assert.True(worst <= 2e-5, $"{level}: max |Δ| {worst:E3}");
        }
    }

    [Fact]
    public void The_cost_model_prefers_the_expanded_form_for_long_chunks_only()
    {
        Assert.False(FlashMhaAttention.Pays(1, 4096, 512, 128, 64, 128));      // decode: absorbed
        Assert.False(FlashMhaAttention.Pays(32, 4096, 512, 128, 64, 128));     // short chunk of Kimi-K2
        Assert.True(FlashMhaAttention.Pays(256, 4096, 512, 128, 64, 128));     // long Kimi-K2 chunk
        Assert.True(FlashMhaAttention.Pays(256, 8192, 64, 32, 16, 32));        // kimi-tiny prompt chunk
    }
}
