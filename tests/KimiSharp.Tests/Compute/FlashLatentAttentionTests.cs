using System.Runtime.InteropServices;
using KimiSharp.Compute;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Compute;

public unsafe class FlashLatentAttentionTests
{
    /// <summary>Plain softmax attention in double over the stored rows: o[t, h] = Σ_j softmax_j(scale·q·k_j)·k_j[..latent].</summary>
    private static double[] Reference(PagedLatentCache p, float[] q, int tokens, int start, float scale)
    {
        var o = new double[p.Heads * tokens * p.Latent];
        var s = new double[start + tokens];
        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < p.Heads; h++)
            {
                int visible = start + t + 1;
                double max = double.NegativeInfinity;
                for (int j = 0; j < visible; j++)
                {
                    double dot = 0;
                    for (int d = 0; d < p.Row; d++)
                        dot += (double)q[(t * p.Heads + h) * p.Row + d] * p.Stored[(long)j * p.Row + d];
                    s[j] = dot * scale;
                    max = Math.Max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < visible; j++)
                    sum += s[j] = Math.Exp(s[j] - max);
                for (int d = 0; d < p.Latent; d++)
                {
                    double acc = 0;
                    for (int j = 0; j < visible; j++)
                        acc += s[j] * p.Stored[(long)j * p.Row + d];
                    o[(h * tokens + t) * p.Latent + d] = acc / sum;
                }
            }
        return o;
    }

    private static float[] Run(PagedLatentCache p, float[] q, int tokens, int start, float scale, SimdLevel level, int threads = 2, int keyBlock = 0)
    {
        var o = new float[p.Heads * tokens * p.Latent];
        using var pool = new WorkerPool(threads);
        using var scratch = new FlashAttentionScratch(threads, p.Heads, p.Latent, p.Rope, keyBlock);
        fixed (float* qp = q, op = o)
        {
            var input = new LatentAttentionInput
            {
                Queries = qp, Tokens = tokens, Heads = p.Heads, Latent = p.Latent, Rope = p.Rope, Start = start, Scale = scale,
                Output = op, OutputHeadStride = (long)tokens * p.Latent, OutputTokenStride = p.Latent,
            };
            FlashLatentAttention.Attend(input, p.View, scratch, pool, level);
        }
        return o;
    }

    /// <summary>The kernel's SIMD paths this machine can run.</summary>
    private static SimdLevel[] AvailableLevels() =>
        new[] { SimdLevel.Vector128, SimdLevel.Avx2, SimdLevel.Avx512 }.Where(l => l <= FlashLatentAttention.BestLevel).ToArray();

    public static TheoryData<SimdLevel> Levels() => new(AvailableLevels());

    private static void AssertClose(double[] expected, float[] actual, double tolerance, string what)
    {
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            Assert.False(double.IsNaN(actual[i]), $"{what}: NaN at {i}");
            if (err > worst)
                (worst, at) = (err, i);
        }
        Assert.True(worst <= tolerance, $"{what}: max |Δ| {worst:E3} at {at} (expected {(at >= 0 ? expected[at] : 0)})");
    }

    /// <summary>
    /// Shapes: kimi-tiny (8 heads, 64+16), 6 heads (padded lanes), odd latent (scalar tails), Kimi-K2 rows; pages of
    /// 32 rows unless given (F32 blocks are read in place when inside one page, copied when they straddle two).
    /// </summary>
    [Theory]
    [InlineData(8, 64, 16, GgmlType.F32, 37, 0, 16, 32)]      // prefill from 0, blocks of 16: masks at every block edge
    [InlineData(8, 64, 16, GgmlType.F16, 21, 11, 16, 32)]     // chunk starting mid-block
    [InlineData(8, 64, 16, GgmlType.Q8_0, 9, 30, 0, 32)]      // Q8_0 rows padded from 80 to 96 values
    [InlineData(6, 30, 6, GgmlType.F32, 19, 5, 7, 10)]        // 6 heads, latent not a multiple of 4, blocks straddling pages
    [InlineData(4, 64, 32, GgmlType.Q8_0, 23, 9, 0, 8)]       // Q8_0 rows (96 = 3 blocks), blocks of one small page
    [InlineData(64, 512, 64, GgmlType.F16, 2, 45, 0, 32)]     // Kimi-K2 rows, 64 heads: one token a tile, head groups
    [InlineData(64, 512, 64, GgmlType.Q8_0, 1, 70, 0, 32)]    // Kimi-K2 decode
    [InlineData(64, 512, 64, GgmlType.F32, 1, 70, 0, 32)]
    public void Attention_matches_a_double_precision_softmax_reference(int heads, int latent, int rope, GgmlType type,
        int tokens, int start, int keyBlock, int pageRows)
    {
        using var p = new PagedLatentCache(heads, latent, rope, start + tokens, type, seed: heads + latent + start, pageRows);
        var q = p.Queries(tokens, seed: 5);
        float scale = 1f / MathF.Sqrt(latent + rope) * 1.5f;
        var expected = Reference(p, q, tokens, start, scale);
        foreach (var level in AvailableLevels())
            AssertClose(expected, Run(p, q, tokens, start, scale, level, keyBlock: keyBlock), 2e-6, $"{type} {level}");
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Long_context_decode_and_chunk_match_the_reference(SimdLevel level)
    {
        using var p = new PagedLatentCache(8, 64, 16, 4100, GgmlType.F16, seed: 3);
        // Sharper scores than random rows give (scale 0.5), so the running max moves across blocks.
        foreach (var (tokens, start) in new[] { (1, 4099), (5, 4095) })
        {
            var q = p.Queries(tokens, seed: tokens);
            // Float sums over 4,096 rows: ~√n·ε relative error, so a looser bound than the short cases.
            AssertClose(Reference(p, q, tokens, start, 0.5f), Run(p, q, tokens, start, 0.5f, level), 1e-5, $"{tokens}@{start}");
        }
    }

    /// <summary>
    /// A token's output must not depend on its batch, tile, head group, thread count or the cache's page size
    /// (prefill = decode, a sequence in a batch = alone).
    /// </summary>
    [Theory]
    [InlineData(8, 64, 16, GgmlType.F16)]
    [InlineData(8, 64, 16, GgmlType.F32)]
    [InlineData(64, 512, 64, GgmlType.F32)]
    public void A_prefill_chunk_equals_its_tokens_run_one_at_a_time_bit_for_bit(int heads, int latent, int rope, GgmlType type)
    {
        int tokens = heads == 8 ? 29 : 3, start = 50;
        using var p = new PagedLatentCache(heads, latent, rope, start + tokens, type, seed: 9);
        using var paged = new PagedLatentCache(heads, latent, rope, start + tokens, type, seed: 9, pageRows: 5);
        var q = p.Queries(tokens, seed: 2);
        var batch = Run(p, q, tokens, start, 0.3f, FlashLatentAttention.BestLevel, threads: 2);
        for (int t = 0; t < tokens; t++)
        {
            var one = Run(paged, q[(t * heads * p.Row)..((t + 1) * heads * p.Row)], 1, start + t, 0.3f, FlashLatentAttention.BestLevel, threads: 1);
            for (int h = 0; h < heads; h++)
                for (int d = 0; d < latent; d++)
                    Assert.Equal(batch[(h * tokens + t) * latent + d], one[h * latent + d]);
        }
    }

    [Fact]
    public void Attend_rejects_queries_past_the_cache_and_a_mismatched_scratch()
    {
        using var p = new PagedLatentCache(8, 64, 16, 10, GgmlType.F32, seed: 1);
        var q = p.Queries(4, seed: 1);
        Assert.Contains("cache holds 10 rows", Assert.Throws<ArgumentException>(() => Run(p, q, 4, 7, 1f, SimdLevel.Vector128)).Message);
        using var pool = new WorkerPool(1);
        using var scratch = new FlashAttentionScratch(1, 4, 64, 16);
        var e = Assert.Throws<ArgumentException>(() =>
        {
            fixed (float* qp = q)
                FlashLatentAttention.Attend(new LatentAttentionInput { Queries = qp, Tokens = 1, Heads = 8, Latent = 64, Rope = 16 },
                    p.View, scratch, pool);
        });
        Assert.Contains("scratch is for 4 heads", e.Message);
    }

    [Fact]
    public void Half_rows_decode_to_the_reference_floats_for_every_half()
    {
        var halves = new ushort[65536 + 3];
        for (int i = 0; i < halves.Length; i++)
            halves[i] = (ushort)i;
        var floats = new float[halves.Length];
        fixed (ushort* h = halves)
        fixed (float* f = floats)
            KvRowDecoder.HalfToSingle(h, f, halves.Length);
        for (int i = 0; i < halves.Length; i++)
            Assert.Equal(BitConverter.SingleToUInt32Bits(Fp16.ToFloat(halves[i])), BitConverter.SingleToUInt32Bits(floats[i]));
    }

    [Theory]
    [InlineData(96)]
    [InlineData(80)]   // padded to 96
    public void Q8_0_rows_decode_to_the_codec_floats(int row)
    {
        using var p = new PagedLatentCache(1, row - 16, 16, 5, GgmlType.Q8_0, seed: 4);
        var decoded = new float[KvRowDecoder.StoredLength(GgmlType.Q8_0, row)];
        for (int j = 0; j < 5; j++)
        {
            fixed (float* d = decoded)
                KvRowDecoder.Decode(GgmlType.Q8_0, p.View.Row(j), d, row);
            Assert.Equal(p.Stored.AsSpan(j * row, row).ToArray(), decoded[..row]);
        }
    }
}
