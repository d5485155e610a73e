using KimiSharp.Quants;
using KimiSharp.Quants.Repacked;
using Xunit.Abstractions;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// Repacked Q4_K (block_q4_Kx8, "q4_K_8x8_q8_K") against ggml-cpu's own repack, 4-row quantizer, gemv and gemm,
/// bit for bit; our kernels read the plain Q4_K rows.
/// </summary>
public class Q4KRepackedOrderTests(ITestOutputHelper output)
{
    /// <summary>The AVX-512 and AVX2 builds give the same bits per output here (integer sums, the same float steps).</summary>
    private static bool OracleIsReproducedBuild => GgmlOracle.IsReproducedBuild;

    private static readonly float[] WeightScales = [0.5f, 0.01f, 3f, 1e-4f];
    private static readonly float[] ActivationScales = [30f, 1f, 0.02f];

    [Fact]
    public void Managed_repack_equals_ggmls_repack()
    {
        foreach (var (rows, n, seed) in new[] { (8, 256, 1), (16, 2048, 2), (24, 7168, 3) })
        {
            var plain = BlockData.Random(GgmlType.Q4_K, rows * n, seed, WeightScales[seed % WeightScales.Length]);
            Assert.Equal(RepackOracle.Repack(plain, rows, n), RepackOracle.RepackManaged(plain, rows, n));
        }
    }

    [Fact]
    public unsafe void Mat_quantizer_matches_ggml_quantize_mat_and_differs_from_quantize_row_only_on_sign_ties()
    {
        if (!Simd.IsAvailable(SimdLevel.Avx2))
            return; // ggml's 4-row quantizer is the AVX2 one; the portable fallback quantizes row by row
        int sameAsRowQuantizer = 0, tieBlocks = 0, total = 0;
        foreach (int n in new[] { 256, 2048, 7168 })
            for (int seed = 0; seed < 6; seed++)
            {
                var x = new float[4 * n];
                for (int r = 0; r < 4; r++)
                    TestData.Floats(n, 1000 * seed + r, ActivationScales[(seed + r) % ActivationScales.Length]).CopyTo(x, r * n);
                MakeAwkwardBlocks(x, n, seed);
                var ggmlRows = RepackOracle.Deinterleave4(RepackOracle.QuantizeMat4(x, n), n);
                for (int r = 0; r < 4; r++)
                {
                    var row = x.AsSpan(r * n, n);
                    var ours = new byte[n / 256 * 292];
                    Q8KMatQuantizer.QuantizeRow(row, ours);
                    Assert.Equal(ggmlRows[r], ours);

                    var rowQuantizer = new byte[ours.Length];
                    ActivationQuantizer.Quantize(GgmlType.Q8_K, row, rowQuantizer);
                    var weight = BlockData.Random(GgmlType.Q4_K, n, seed + 10 * r, 0.05f);
                    fixed (byte* pw = weight)
                    fixed (byte* pm = ours)
                    fixed (byte* pq = rowQuantizer)
                    {
                        // the sign flip on ties is exact: both quantizers give the same dot products
                        Assert.Equal(Bits(Q4KRepackedOrder.Gemm(pw, pm, n)), Bits(Q4KRepackedOrder.Gemm(pw, pq, n)));
                        Assert.Equal(Bits(Q4KRepackedOrder.Gemv(pw, pm, n)), Bits(Q4KRepackedOrder.Gemv(pw, pq, n)));
                    }
                    for (int b = 0; b < n / 256; b++)
                    {
                        total++;
                        bool same = ours.AsSpan(b * 292, 292).SequenceEqual(rowQuantizer.AsSpan(b * 292, 292));
                        if (same) sameAsRowQuantizer++;
                        if (HasNegativeMaxFirstTie(row.Slice(b * 256, 256))) tieBlocks++;
                        Assert.True(same != HasNegativeMaxFirstTie(row.Slice(b * 256, 256)), $"n={n} seed={seed} row={r} block={b}");
                    }
                }
            }
        Assert.True(tieBlocks > 0, "the test data must contain −amax-before-+amax ties");
        output.WriteLine($"quantize_mat vs quantize_row_q8_K: {sameAsRowQuantizer}/{total} blocks byte-identical, {tieBlocks} differ (sign ties)");
    }

    [Fact]
    public unsafe void Gemv_is_bit_identical_to_ggml()
    {
        if (!OracleIsReproducedBuild)
            return; // not the ggml build reproduced on this CPU
        const int rows = 24;
        int checks = 0, differFromVecDot = 0;
        var failures = new List<string>();
        foreach (int n in new[] { 256, 2048, 7168 })
            for (int seed = 0; seed < 8; seed++)
            {
                var plain = BlockData.Random(GgmlType.Q4_K, rows * n, seed, WeightScales[seed % WeightScales.Length]);
                var repacked = RepackOracle.RepackManaged(plain, rows, n);
                var x = TestData.Floats(n, seed + 100, ActivationScales[seed % ActivationScales.Length]);
                var act = new byte[n / 256 * 292];
                ActivationQuantizer.Quantize(GgmlType.Q8_K, x, act); // forward_mul_mat's from_float for gemv rows
                var ggml = RepackOracle.Gemv(repacked, act, n, rows);
                int rowBytes = n / 256 * 144;
                fixed (byte* pw = plain)
                fixed (byte* pa = act)
                {
                    foreach (int count in new[] { rows, rows - 3 }) // 8-row lanes, then 8-row lanes + single rows
                    {
                        var all = new float[count];
                        fixed (float* pd = all)
                            Q4KRepackedOrder.GemvRows(pw, count, pa, n, pd);
                        for (int r = 0; r < count; r++)
                            if (Bits(all[r]) != Bits(ggml[r]))
                                failures.Add($"GemvRows({count}) n={n} seed={seed} row={r}: ggml {ggml[r]:R} ours {all[r]:R}");
                    }
                    for (int r = 0; r < rows; r++)
                    {
                        float vecDot = GgmlOracle.VecDot(GgmlType.Q4_K, plain.AsSpan(r * rowBytes, rowBytes), act, n);
                        if (Bits(vecDot) != Bits(ggml[r])) differFromVecDot++;
                        foreach (var (name, ours) in new[]
                        {
                            ("best", Q4KRepackedOrder.Gemv(pw + r * rowBytes, pa, n)),
                            ("avx2", Simd.IsAvailable(SimdLevel.Avx2) ? Q4KRepackedOrder.GemvAvx2(pw + r * rowBytes, pa, n) : ggml[r]),
                            ("scalar", Q4KRepackedOrder.GemvScalar(pw + r * rowBytes, pa, n)),
                        })
                        {
                            checks++;
                            if (Bits(ours) != Bits(ggml[r]))
                                failures.Add($"{name} n={n} seed={seed} row={r}: ggml {ggml[r]:R} ours {ours:R}");
                        }
                    }
                }
            }
        output.WriteLine($"gemv: {checks} checks, {failures.Count} mismatches; ggml's gemv differs from its vec_dot on {differFromVecDot}/{checks / 3} (row, token)");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        Assert.True(differFromVecDot > 0, "gemv's order should differ from vec_dot's somewhere");
    }

    [Fact]
    public unsafe void Gemm_is_bit_identical_to_ggml_and_independent_of_chunking()
    {
        if (!OracleIsReproducedBuild)
            return;
        const int rows = 24, tokens = 20; // rows: 16 on the AVX-512 column path + 8 on the AVX2 one; tokens: 16 + 4
        int checks = 0, differFromVecDot = 0, differFromGemv = 0;
        var failures = new List<string>();
        foreach (int n in new[] { 256, 2048, 7168 })
            for (int seed = 0; seed < 4; seed++)
            {
                var plain = BlockData.Random(GgmlType.Q4_K, rows * n, seed + 50, WeightScales[seed % WeightScales.Length]);
                var repacked = RepackOracle.RepackManaged(plain, rows, n);
                var x = new float[tokens * n];
                for (int t = 0; t < tokens; t++)
                    TestData.Floats(n, 7 * seed + 31 * t, ActivationScales[(seed + t) % ActivationScales.Length]).CopyTo(x, t * n);
                int groupBytes = n / 256 * RepackOracle.Q8Kx4BlockBytes;
                var groups = new byte[tokens / 4 * groupBytes];
                var plainActs = new byte[tokens][];
                for (int g = 0; g < tokens / 4; g++)
                {
                    var q = RepackOracle.QuantizeMat4(x.AsSpan(4 * g * n, 4 * n), n);
                    q.CopyTo(groups, g * groupBytes);
                    var split = RepackOracle.Deinterleave4(q, n);
                    for (int r = 0; r < 4; r++) plainActs[4 * g + r] = split[r];
                }
                var ggml = RepackOracle.Gemm(repacked, groups, n, tokens, rows);

                // the same (row, token) from one-group, one-column-group calls (as small thread chunks would give)
                int repackedGroupBytes = n / 256 * RepackOracle.Q4Kx8BlockBytes;
                for (int g = 0; g < tokens / 4; g++)
                    for (int c = 0; c < rows / 8; c++)
                    {
                        var small = RepackOracle.Gemm(repacked.AsSpan(c * repackedGroupBytes, repackedGroupBytes),
                            groups.AsSpan(g * groupBytes, groupBytes), n, 4, 8);
                        for (int t = 0; t < 4; t++)
                            for (int r = 0; r < 8; r++)
                                Assert.Equal(Bits(ggml[(4 * g + t) * rows + 8 * c + r]), Bits(small[t * 8 + r]));
                    }

                int rowBytes = n / 256 * 144;
                fixed (byte* pw = plain)
                    for (int t = 0; t < tokens; t++)
                        fixed (byte* pa = plainActs[t])
                        {
                            var all = new float[rows - 3]; // 8-row lanes + single rows
                            fixed (float* pd = all)
                                Q4KRepackedOrder.GemmRows(pw, all.Length, pa, n, pd);
                            for (int r = 0; r < all.Length; r++)
                                if (Bits(all[r]) != Bits(ggml[t * rows + r]))
                                    failures.Add($"GemmRows n={n} seed={seed} token={t} row={r}: ggml {ggml[t * rows + r]:R} ours {all[r]:R}");
                            for (int r = 0; r < rows; r++)
                            {
                                float expected = ggml[t * rows + r];
                                float vecDot = GgmlOracle.VecDot(GgmlType.Q4_K, plain.AsSpan(r * rowBytes, rowBytes), plainActs[t], n);
                                if (Bits(vecDot) != Bits(expected)) differFromVecDot++;
                                if (Bits(Q4KRepackedOrder.Gemv(pw + r * rowBytes, pa, n)) != Bits(expected)) differFromGemv++;
                                foreach (var (name, ours) in new[]
                                {
                                    ("best", Q4KRepackedOrder.Gemm(pw + r * rowBytes, pa, n)),
                                    ("avx2", Simd.IsAvailable(SimdLevel.Avx2) ? Q4KRepackedOrder.GemmAvx2(pw + r * rowBytes, pa, n) : expected),
                                    ("scalar", Q4KRepackedOrder.GemmScalar(pw + r * rowBytes, pa, n)),
                                })
                                {
                                    checks++;
                                    if (Bits(ours) != Bits(expected))
                                        failures.Add($"{name} n={n} seed={seed} token={t} row={r}: ggml {expected:R} ours {ours:R}");
                                }
                            }
                        }
            }
        output.WriteLine($"gemm: {checks} checks, {failures.Count} mismatches; ggml's gemm differs from vec_dot on {differFromVecDot}/{checks / 3}, from gemv on {differFromGemv}/{checks / 3}");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        Assert.True(differFromVecDot > 0 && differFromGemv > 0, "gemm's order should differ from vec_dot's and gemv's somewhere");
    }

    private static int Bits(float f) => BitConverter.SingleToInt32Bits(f);

    /// <summary>Seeds some blocks with both ±amax, the negative one first (where the two Q8_K quantizers disagree), and one with +amax first.</summary>
    private static void MakeAwkwardBlocks(float[] x, int n, int seed)
    {
        float m = 40f + seed;
        x[3] = -m; x[200] = m;                          // row 0, block 0: −amax first
        x[n + 10] = m; x[n + 20] = -m;                  // row 1, block 0: +amax first
        x[2 * n + 5] = -m; x[2 * n + 6] = -m;           // row 2, block 0: only −amax (twice)
        Array.Clear(x, 3 * n, 256);                     // row 3, block 0: all zero
        if (n > 256) { x[3 * n + 256 + 7] = -0f; x[3 * n + 300] = -m; x[3 * n + 400] = m; }
    }

    private static bool HasNegativeMaxFirstTie(ReadOnlySpan<float> block)
    {
        float amax = 0;
        foreach (float v in block) amax = MathF.Max(amax, MathF.Abs(v));
        if (amax == 0) return false;
        int firstNeg = block.IndexOf(-amax), firstPos = block.IndexOf(amax);
        return firstNeg >= 0 && firstPos >= 0 && firstNeg < firstPos;
    }
}
