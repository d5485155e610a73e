using KimiSharp.Quants;
using KimiSharp.Quants.IQuants;
using KimiSharp.Quants.Repacked;
using Xunit.Abstractions;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// llama.cpp repacks Q4_0 / IQ4_NL weights (rows a multiple of 8) into 8-row interleaved blocks and multiplies them with
/// ggml's gemv / gemm kernels: <see cref="Q40RepackedDot"/> and <see cref="Iq4NlRepackedDot"/> reproduce their floats
/// bit for bit from the plain layout. Checked against the exported functions via <see cref="Q40RepackOracle"/>.
/// </summary>
public unsafe class Q40RepackedOrderTests(ITestOutputHelper output)
{
    private const int Q8Bytes = 34;

    public static TheoryData<GgmlType, int> Cases()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var t in new[] { GgmlType.Q4_0, GgmlType.IQ4_NL })
            foreach (int n in new[] { 32, 96, 256, 288, 2048, 7168 })
                data.Add(t, n);
        return data;
    }

    private static byte[] Weights(GgmlType type, int rows, int n, int seed)
    {
        float scale = seed % 3 == 0 ? 0.01f : seed % 3 == 1 ? 0.5f : 3e-4f;
        if (type == GgmlType.Q4_0 && seed % 2 == 0)
            return BlockData.Random(GgmlType.Q4_0, rows * n, seed, scale);
        var w = new byte[rows * (n / 32) * 18];
        RandomBlocks.Fill(type, w, new Random(seed), scale);
        return w;
    }

    private static float[] Activations(int tokens, int n, int seed)
    {
        var x = new float[tokens * n];
        for (int t = 0; t < tokens; t++)
            TestData.Floats(n, 1000 * seed + t, t % 3 == 0 ? 30f : t % 3 == 1 ? 1f : 0.02f).CopyTo(x, t * n);
        return x;
    }

    private static byte[] QuantizeRows(float[] x, int tokens, int n)
    {
        int rowBytes = n / 32 * Q8Bytes;
        var a = new byte[tokens * rowBytes];
        for (int t = 0; t < tokens; t++)
            ActivationQuantizer.Quantize(GgmlType.Q8_0, x.AsSpan(t * n, n), a.AsSpan(t * rowBytes, rowBytes));
        return a;
    }

    private static float Ours(GgmlType type, byte* w, byte* a, int n) =>
        type == GgmlType.Q4_0 ? Q40RepackedDot.Dot(w, a, n) : Iq4NlRepackedDot.Dot(w, a, n);

    private static float OursScalar(GgmlType type, byte* w, byte* a, int n) =>
        type == GgmlType.Q4_0 ? Q40RepackedDot.DotScalar(w, a, n) : Iq4NlRepackedDot.DotScalar(w, a, n);

    private static void Ours8Rows(GgmlType type, byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (type == GgmlType.Q4_0)
            Q40RepackedDot.Dot8Rows(w, rowBytes, a, n, y);
        else
            Iq4NlRepackedDot.Dot8Rows(w, rowBytes, a, n, y);
    }

    private static void AssertSame(float expected, float actual, string what) =>
        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual),
            $"{what}: ggml {expected:R} ours {actual:R}");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Our_repack_layout_is_byte_identical_to_ggmls(GgmlType type, int n)
    {
        if (!GgmlOracle.IsReproducedBuild)
            return;
        const int rows = 24;
        var plain = Weights(type, rows, n, n);
        Assert.Equal(Q40RepackOracle.RepackByGgml(type, plain, rows, n), Q40RepackOracle.Repack(type, plain, rows, n));
    }

    [Theory]
    [InlineData(32)]
    [InlineData(256)]
    [InlineData(7168)]
    public void Quantize_mat_bytes_equal_quantize_row_q8_0(int n)
    {
        // ggml quantizes groups of 4 tokens with quantize_mat_q8_0_4x8: same scale and rounding as quantize_row_q8_0,
        // only interleaved; so the plain Q8_0 rows of ActivationQuantizer are the kernels' input for gemm tokens too
        if (!GgmlOracle.IsReproducedBuild)
            return;
        for (int seed = 0; seed < 4; seed++)
        {
            var x = Activations(4, n, seed);
            if (seed == 3)
                for (int t = 0; t < 4; t++)
                    TestData.Awkward(32, t).AsSpan(0, Math.Min(n, 256)).CopyTo(x.AsSpan(t * n));
            var mat = Q40RepackOracle.Deinterleave4(Q40RepackOracle.QuantizeMat4(x, n), n);
            var ours = QuantizeRows(x, 4, n);
            Assert.Equal(ours, mat);
            int rowBytes = n / 32 * Q8Bytes;
            for (int t = 0; t < 4; t++)
                Assert.Equal(GgmlOracle.QuantizeCpu(GgmlType.Q8_0, x.AsSpan(t * n, n)), mat.AsSpan(t * rowBytes, rowBytes).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gemv_is_bit_identical_to_ggml(GgmlType type, int n)
    {
        if (!GgmlOracle.IsReproducedBuild)
            return;
        const int rows = 16, tokens = 3;
        int rowBytes = n / 32 * 18, aBytes = n / 32 * Q8Bytes;
        float* eight = stackalloc float[8];
        for (int seed = 0; seed < 4; seed++)
        {
            var plain = Weights(type, rows, n, seed);
            var repacked = Q40RepackOracle.RepackByGgml(type, plain, rows, n);
            var a = QuantizeRows(Activations(tokens, n, seed), tokens, n);
            fixed (byte* pw = plain)
            fixed (byte* pa = a)
                for (int t = 0; t < tokens; t++)
                {
                    var expected = Q40RepackOracle.Gemv(type, repacked, a.AsSpan(t * aBytes, aBytes), rows, n);
                    for (int r = 0; r < rows; r++)
                    {
                        string what = $"{type} n={n} seed {seed} row {r} token {t}";
                        AssertSame(expected[r], Ours(type, pw + r * rowBytes, pa + t * aBytes, n), what);
                        AssertSame(expected[r], OursScalar(type, pw + r * rowBytes, pa + t * aBytes, n), what + " (scalar)");
                    }
                    for (int g = 0; g < rows; g += 8)
                    {
                        Ours8Rows(type, pw + g * rowBytes, rowBytes, pa + t * aBytes, n, eight);
                        for (int k = 0; k < 8; k++)
                            AssertSame(expected[g + k], eight[k], $"{type} n={n} seed {seed} row {g + k} token {t} (8 rows)");
                        if (type != GgmlType.IQ4_NL || !System.Runtime.Intrinsics.X86.Avx2.IsSupported)
                            continue;
                        Iq4NlRepackedDot.Dot8RowsSigned(pw + g * rowBytes, rowBytes, pa + t * aBytes, n, eight);
                        for (int k = 0; k < 8; k++)
                            AssertSame(expected[g + k], eight[k], $"{type} n={n} seed {seed} row {g + k} token {t} (8 rows, signed path)");
                        if (!System.Runtime.Intrinsics.X86.AvxVnni.IsSupported)
                            continue;
                        Iq4NlRepackedDot.Dot8RowsVnni(pw + g * rowBytes, rowBytes, pa + t * aBytes, n, eight);
                        for (int k = 0; k < 8; k++)
                            AssertSame(expected[g + k], eight[k], $"{type} n={n} seed {seed} row {g + k} token {t} (8 rows, VNNI path)");
                    }
                }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gemm_is_bit_identical_to_ggml(GgmlType type, int n)
    {
        // 24 rows: ggml's AVX-512 gemm takes 16-row pairs of groups, the rest its AVX2 loop (the AVX2 build: all of them; the
        // same bits per output); 20 tokens: 16 in its
        // 16-token blocks, 4 in the tail loop; every (row, token) must match
        if (!GgmlOracle.IsReproducedBuild)
            return;
        const int rows = 24, tokens = 20;
        int rowBytes = n / 32 * 18, aBytes = n / 32 * Q8Bytes;
        float* eight = stackalloc float[8];
        for (int seed = 0; seed < 3; seed++)
        {
            var plain = Weights(type, rows, n, seed + 10);
            var x = Activations(tokens, n, seed);
            var q8x4 = new byte[tokens * aBytes];
            for (int t = 0; t < tokens; t += 4)
                Q40RepackOracle.QuantizeMat4(x.AsSpan(t * n, 4 * n), n).CopyTo(q8x4, t * aBytes);
            var expected = Q40RepackOracle.Gemm(type, Q40RepackOracle.RepackByGgml(type, plain, rows, n), q8x4, rows, tokens, n);
            var a = QuantizeRows(x, tokens, n);
            fixed (byte* pw = plain)
            fixed (byte* pa = a)
                for (int t = 0; t < tokens; t++)
                {
                    for (int r = 0; r < rows; r++)
                        AssertSame(expected[t * rows + r], Ours(type, pw + r * rowBytes, pa + t * aBytes, n), $"{type} n={n} seed {seed} row {r} token {t}");
                    for (int g = 0; g < rows; g += 8)
                    {
                        Ours8Rows(type, pw + g * rowBytes, rowBytes, pa + t * aBytes, n, eight);
                        for (int k = 0; k < 8; k++)
                            AssertSame(expected[t * rows + g + k], eight[k], $"{type} n={n} seed {seed} row {g + k} token {t} (8 rows)");
                    }
                }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, 1)]
    [InlineData(GgmlType.Q4_0, 7)]
    [InlineData(GgmlType.IQ4_NL, 2)]
    [InlineData(GgmlType.IQ4_NL, 9)]
    public void Forward_mul_mat_dispatch_gives_our_floats_for_every_token(GgmlType type, int tokens)
    {
        // gemm for the first tokens − tokens % 4 (quantize_mat), gemv for the rest (quantize_row_q8_0): one formula for all
        if (!GgmlOracle.IsReproducedBuild)
            return;
        const int rows = 32, n = 2048;
        int rowBytes = n / 32 * 18, aBytes = n / 32 * Q8Bytes;
        var plain = Weights(type, rows, n, tokens);
        var x = Activations(tokens, n, tokens);
        var expected = Q40RepackOracle.MulMat(type, plain, x, rows, tokens, n);
        var a = QuantizeRows(x, tokens, n);
        fixed (byte* pw = plain)
        fixed (byte* pa = a)
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++)
                    AssertSame(expected[t * rows + r], Ours(type, pw + r * rowBytes, pa + t * aBytes, n), $"{type} row {r} token {t}");
    }

    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.IQ4_NL)]
    public void Repacked_order_differs_from_vec_dot(GgmlType type)
    {
        // why the kernels exist: on the same operands ggml's repacked path and its vec_dot round differently
        if (!GgmlOracle.IsReproducedBuild)
            return;
        const int rows = 64, tokens = 4;
        foreach (int n in new[] { 256, 2048, 7168 })
        {
            int rowBytes = n / 32 * 18, aBytes = n / 32 * Q8Bytes, differ = 0;
            var plain = Weights(type, rows, n, 5);
            var repacked = Q40RepackOracle.RepackByGgml(type, plain, rows, n);
            var a = QuantizeRows(Activations(tokens, n, 5), tokens, n);
            for (int t = 0; t < tokens; t++)
            {
                var gemv = Q40RepackOracle.Gemv(type, repacked, a.AsSpan(t * aBytes, aBytes), rows, n);
                for (int r = 0; r < rows; r++)
                    if (BitConverter.SingleToInt32Bits(gemv[r]) != BitConverter.SingleToInt32Bits(
                            GgmlOracle.VecDot(type, plain.AsSpan(r * rowBytes, rowBytes), a.AsSpan(t * aBytes, aBytes), n)))
                        differ++;
            }
            output.WriteLine($"{type} n={n}: repacked gemv differs from vec_dot in {differ} of {rows * tokens} outputs");
            if (n >= 2048)
                Assert.True(differ > 0, $"{type} n={n}: repacked and vec_dot agreed on every output");
        }
    }
}
