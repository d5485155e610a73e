using KimiSharp.Quants;
using KimiSharp.Quants.Repacked;
using Xunit;
using Xunit.Abstractions;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// <see cref="Q2KRepackedOrder"/> against ggml-cpu's repacked Q2_K kernels (ggml_gemv/gemm_q2_K_8x8_q8_K) on the same
/// data: the repack itself, ggml's 4-row activation quantizer, and the per-(row, token) floats, bit for bit.
/// </summary>
public sealed unsafe class Q2KRepackedOrderTests(ITestOutputHelper output)
{
    private const int Q2KBlockBytes = Q2KRepackOracle.Q2KBlockBytes, Q8KBlockBytes = Q2KRepackOracle.Q8KBlockBytes;

    [Theory]
    [InlineData(8, 256, 1)]
    [InlineData(16, 1024, 2)]
    [InlineData(24, 2816, 3)]
    public void Q2KRepack_layout_written_from_the_facts_equals_ggmls_repack(int rows, int n, int seed)
    {
        var plain = BlockData.Random(GgmlType.Q2_K, rows * n, seed);
        Assert.Equal(Q2KRepackOracle.RepackGgml(plain, rows, n), Q2KRepackOracle.Repack(plain, rows, n));
    }

    [Theory]
    [InlineData(256, 1)]
    [InlineData(1024, 2)]
    [InlineData(7168, 3)]
    public void Q2KRepack_quantize_mat_bytes_equal_quantize_row_q8_K_per_row(int n, int seed)
    {
        foreach (float scale in new[] { 1f, 1e-3f, 300f })
        {
            var x = TestData.Floats(4 * n, seed, scale);
            var rows = Q2KRepackOracle.Deinterleave(Q2KRepackOracle.QuantizeMat4(x, n), n);
            for (int r = 0; r < 4; r++)
            {
                var mine = new byte[n / 256 * Q8KBlockBytes];
                ActivationQuantizer.Quantize(GgmlType.Q8_K, x.AsSpan(r * n, n), mine);
                Assert.Equal(mine, rows[r]);
            }
        }
    }

    /// <summary>The one case where ggml's 4-row quantizer writes other bytes than quantize_row_q8_K: a block whose largest
    /// |x| appears as −m first and +m later. The bytes differ (d, q, bsums negated) but every dot stays bit-identical.</summary>
    [Fact]
    public void Q2KRepack_quantize_mat_tie_negates_the_block_but_not_the_dots()
    {
        if (!Simd.IsAvailable(SimdLevel.Avx2))
            return; // the portable fallback is only close (llama.cpp repacks Q2_K only in its AVX-512 build; the avx2 library's Q2_K kernels give the same bits)
        const int n = 512, nc = 8;
        var x = TestData.Floats(4 * n, 11);
        x[3] = -2.5f; x[40] = 2.5f;                // row 0 block 0: −m first
        x[n + 256 + 7] = 2.5f; x[n + 256 + 9] = -2.5f; // row 1 block 1: +m first (no difference)
        x[2 * n + 100] = -2.5f;                    // row 2: only −m
        var packed = Q2KRepackOracle.QuantizeMat4(x, n);
        var rows = Q2KRepackOracle.Deinterleave(packed, n);
        var plainRows = new byte[4][];
        for (int r = 0; r < 4; r++)
        {
            plainRows[r] = Quantize(x.AsSpan(r * n, n).ToArray());
            var as4x8 = new byte[plainRows[r].Length];
            Q2KRepackedActivations.QuantizeRowAs4x8(x.AsSpan(r * n, n), as4x8);
            Assert.Equal(rows[r], as4x8);
        }
        Assert.NotEqual(rows[0], plainRows[0]);
        Assert.True(BitConverter.ToSingle(rows[0]) == -BitConverter.ToSingle(plainRows[0]));
        Assert.Equal(rows[0].AsSpan(292), plainRows[0].AsSpan(292)); // block 1 untouched
        for (int r = 1; r < 4; r++) Assert.Equal(rows[r], plainRows[r]);

        var plain = BlockData.Random(GgmlType.Q2_K, nc * n, 12);
        var expected = Q2KRepackOracle.Gemm(Q2KRepackOracle.Repack(plain, nc, n), packed, n, 4, nc);
        fixed (byte* w = plain)
        fixed (byte* a = plainRows[0])
            for (int r = 0; r < nc; r++)
                AssertBits(expected[r], Q2KRepackedOrder.Gemm(w + r * (n / 256) * Q2KBlockBytes, a, n), $"row {r}");
    }

    [Theory]
    [InlineData(256, 8, 1)]
    [InlineData(512, 16, 2)]
    [InlineData(2816, 24, 3)]
    [InlineData(7168, 16, 4)]
    [InlineData(18432, 8, 5)]
    public void Q2KRepack_gemv_is_bit_identical_to_ggml(int n, int nc, int seed)
    {
        if (!Simd.IsAvailable(SimdLevel.Avx2))
            return; // the portable fallback is only close (llama.cpp repacks Q2_K only in its AVX-512 build; the avx2 library's Q2_K kernels give the same bits)
        var plain = BlockData.Random(GgmlType.Q2_K, nc * n, seed);
        var repacked = Q2KRepackOracle.Repack(plain, nc, n);
        for (int t = 0; t < 4; t++)
        {
            var act = Quantize(TestData.Floats(n, seed * 100 + t, t == 3 ? 50f : 1f));
            var expected = Q2KRepackOracle.Gemv(repacked, act, n, nc);
            fixed (byte* w = plain)
            fixed (byte* a = act)
                for (int r = 0; r < nc; r++)
                    AssertBits(expected[r], Q2KRepackedOrder.Gemv(w + r * (n / 256) * Q2KBlockBytes, a, n), $"row {r} token {t}");
        }
    }

    [Theory]
    [InlineData(256, 4, 8, 1)]
    [InlineData(512, 8, 16, 2)]
    [InlineData(1024, 16, 16, 3)]  // 16 tokens: ggml's 4-groups-at-once path
    [InlineData(2816, 20, 24, 4)]  // 16 + 4 tokens; 24 rows: AVX-512 pairs of 8 plus the AVX2 tail of 8
    [InlineData(7168, 12, 8, 5)]
    public void Q2KRepack_gemm_is_bit_identical_to_ggml(int n, int nr, int nc, int seed)
    {
        if (!Simd.IsAvailable(SimdLevel.Avx2))
            return; // the portable fallback is only close (llama.cpp repacks Q2_K only in its AVX-512 build; the avx2 library's Q2_K kernels give the same bits)
        var plain = BlockData.Random(GgmlType.Q2_K, nc * n, seed);
        var repacked = Q2KRepackOracle.Repack(plain, nc, n);
        var x = TestData.Floats(nr * n, seed * 7);
        var (groups, rows) = QuantizeGroups(x, nr, n);
        var expected = Q2KRepackOracle.Gemm(repacked, groups, n, nr, nc);
        fixed (byte* w = plain)
            for (int t = 0; t < nr; t++)
                fixed (byte* a = rows[t])
                    for (int r = 0; r < nc; r++)
                        AssertBits(expected[t * nc + r], Q2KRepackedOrder.Gemm(w + r * (n / 256) * Q2KBlockBytes, a, n), $"row {r} token {t}");
    }

    [Fact]
    public void Q2KRepack_scalar_and_simd_integer_sums_agree()
    {
        var plain = BlockData.Random(GgmlType.Q2_K, 64 * 256, 9);
        var act = Quantize(TestData.Floats(64 * 256, 10, 100f));
        fixed (byte* w0 = plain)
        fixed (byte* a0 = act)
            for (int b = 0; b < 64; b++)
            {
                byte* w = w0 + b * Q2KBlockBytes, a = a0 + b * Q8KBlockBytes;
                Q2KRepackedOrder.HalfSumsScalar(w, a, out int s0, out int s1, out int m0, out int m1);
                int[] expected = [s0, s1, m0, m1];
                if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
                {
                    Q2KRepackedOrder.HalfSumsAvx2(w, a, out s0, out s1, out m0, out m1);
                    Assert.Equal(expected, new[] { s0, s1, m0, m1 });
                }
                if (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported)
                {
                    Q2KRepackedOrder.HalfSumsAvx512(w, a, out s0, out s1, out m0, out m1);
                    Assert.Equal(expected, new[] { s0, s1, m0, m1 });
                }
            }
    }

    /// <summary>Awkward fp16 d/dmin (zero, −0, subnormal, max, ±Inf, NaN): 32 blocks as 8 rows × 4 blocks.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Q2KRepack_gemv_and_gemm_match_ggml_on_extreme_scales(int seed)
    {
        if (!Simd.IsAvailable(SimdLevel.Avx2))
            return; // the portable fallback is only close (llama.cpp repacks Q2_K only in its AVX-512 build; the avx2 library's Q2_K kernels give the same bits)
        const int n = 1024, nc = 8, nr = 4;
        var plain = BlockData.Extreme(GgmlType.Q2_K, seed);
        var repacked = Q2KRepackOracle.Repack(plain, nc, n);
        var x = TestData.Floats(nr * n, seed + 50);
        var (groups, rows) = QuantizeGroups(x, nr, n);
        var gemm = Q2KRepackOracle.Gemm(repacked, groups, n, nr, nc);
        fixed (byte* w = plain)
            for (int t = 0; t < nr; t++)
            {
                var gemv = Q2KRepackOracle.Gemv(repacked, rows[t], n, nc);
                fixed (byte* a = rows[t])
                    for (int r = 0; r < nc; r++)
                    {
                        byte* wr = w + r * (n / 256) * Q2KBlockBytes;
                        AssertBits(gemv[r], Q2KRepackedOrder.Gemv(wr, a, n), $"gemv row {r} token {t}");
                        AssertBits(gemm[t * nc + r], Q2KRepackedOrder.Gemm(wr, a, n), $"gemm row {r} token {t}");
                    }
            }
    }

    /// <summary>How often the repacked orders give other bits than vec_dot (and each other); they must differ sometimes,
    /// or these tests could not tell the orders apart.</summary>
    [Fact]
    public void Q2KRepack_gemv_and_gemm_differ_from_vec_dot_often()
    {
        int total = 0, gemvDiff = 0, gemmDiff = 0, gemvGemmDiff = 0;
        foreach (int n in new[] { 256, 1024, 7168 })
        {
            const int rows = 32, tokens = 8;
            var plain = BlockData.Random(GgmlType.Q2_K, rows * n, n);
            var x = TestData.Floats(tokens * n, n + 1);
            var (_, acts) = QuantizeGroups(x, tokens, n);
            fixed (byte* w0 = plain)
                for (int t = 0; t < tokens; t++)
                    fixed (byte* a = acts[t])
                        for (int r = 0; r < rows; r++)
                        {
                            byte* w = w0 + r * (n / 256) * Q2KBlockBytes;
                            float vd = GgmlOracle.VecDot(GgmlType.Q2_K, w, a, n);
                            float gv = Q2KRepackedOrder.Gemv(w, a, n), gm = Q2KRepackedOrder.Gemm(w, a, n);
                            total++;
                            if (BitConverter.SingleToInt32Bits(gv) != BitConverter.SingleToInt32Bits(vd)) gemvDiff++;
                            if (BitConverter.SingleToInt32Bits(gm) != BitConverter.SingleToInt32Bits(vd)) gemmDiff++;
                            if (BitConverter.SingleToInt32Bits(gm) != BitConverter.SingleToInt32Bits(gv)) gemvGemmDiff++;
                        }
        }
        output.WriteLine($"of {total} dots: gemv≠vec_dot {gemvDiff}, gemm≠vec_dot {gemmDiff}, gemm≠gemv {gemvGemmDiff}");
        Assert.True(gemvDiff > 0 && gemmDiff > 0 && gemvGemmDiff > 0);
    }

    private static byte[] Quantize(float[] x)
    {
        var q = new byte[x.Length / 256 * Q8KBlockBytes];
        ActivationQuantizer.Quantize(GgmlType.Q8_K, x, q);
        return q;
    }

    /// <summary>ggml's block_q8_Kx4 groups for nr tokens (concatenated, as forward_mul_mat lays them out) and the same
    /// tokens split back into plain Q8_K rows.</summary>
    private static (byte[] Groups, byte[][] Rows) QuantizeGroups(float[] x, int nr, int n)
    {
        var groups = new List<byte>();
        var rows = new byte[nr][];
        for (int g = 0; g < nr / 4; g++)
        {
            var packed = Q2KRepackOracle.QuantizeMat4(x.AsSpan(g * 4 * n, 4 * n), n);
            groups.AddRange(packed);
            var split = Q2KRepackOracle.Deinterleave(packed, n);
            for (int r = 0; r < 4; r++) rows[4 * g + r] = split[r];
        }
        return (groups.ToArray(), rows);
    }

    private static void AssertBits(float expected, float actual, string where)
    {
        if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(actual))
            Assert.Fail($"{where}: ggml {expected:R} (0x{BitConverter.SingleToInt32Bits(expected):X8}), ours {actual:R} (0x{BitConverter.SingleToInt32Bits(actual):X8})");
    }
}
