using KimiSharp.Quants;
using KimiSharp.Quants.IQuants;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// For two or more tokens ggml-cpu computes a plain IQ4_NL mat-mul with llamafile's tinyBLAS (exported as
/// llamafile_sgemm), whose order differs from IQ4_NL's vec_dot: <see cref="Iq4NlCodec.DotOneAccumulator"/> follows it.
/// </summary>
public unsafe class Iq4NlTinyBlasTests
{
    /// <summary>C[t·rows + r] = Σ w_r·a_t by tinyBLAS (rows weight rows, tokens activation rows, n elements each).</summary>
    private static float[] TinyBlas(byte[] w, byte[] a, int rows, int tokens, int n) =>
        GgmlOracle.TinyBlas(GgmlType.IQ4_NL, w, GgmlType.Q8_0, a, rows, tokens, n) ?? throw new InvalidOperationException("llamafile_sgemm declined the IQ4_NL product");

    [Theory]
    [InlineData(7168)]
    [InlineData(2048)]
    [InlineData(96)]
    public void One_accumulator_dot_is_bit_identical_to_tinyBLAS(int n)
    {
        if (!GgmlOracle.IsReproducedBuild || !IQuantMath.HasAvx2 || !GgmlOracle.HasTinyBlas)
            return;
        const int rows = 8, tokens = 3;
        int rowBytes = (int)GgmlTypes.Get(GgmlType.IQ4_NL).RowBytes(n);
        int actBytes = (int)GgmlTypes.Get(GgmlType.Q8_0).RowBytes(n);
        for (int seed = 0; seed < 4; seed++)
        {
            var w = new byte[rows * rowBytes];
            RandomBlocks.Fill(GgmlType.IQ4_NL, w, new Random(seed), seed % 2 == 0 ? 0.5f : 0.01f);
            var a = new byte[tokens * actBytes];
            for (int t = 0; t < tokens; t++)
                ActivationQuantizer.Quantize(GgmlType.Q8_0, TestData.Floats(n, 100 * seed + t, t == 0 ? 30f : 1f), a.AsSpan(t * actBytes, actBytes));
            var expected = TinyBlas(w, a, rows, tokens, n);
            fixed (byte* pw = w)
            fixed (byte* pa = a)
                for (int t = 0; t < tokens; t++)
                    for (int r = 0; r < rows; r++)
                    {
                        float e = expected[t * rows + r];
                        float best = Iq4NlCodec.DotOneAccumulator(pw + r * rowBytes, pa + t * actBytes, n);
                        float avx2 = Iq4NlCodec.DotOneAccumulatorAvx2(pw + r * rowBytes, pa + t * actBytes, n);
                        Assert.True(BitConverter.SingleToInt32Bits(e) == BitConverter.SingleToInt32Bits(best), $"n={n} seed {seed} row {r} token {t}: tinyBLAS {e:R} ours {best:R}");
                        Assert.True(BitConverter.SingleToInt32Bits(e) == BitConverter.SingleToInt32Bits(avx2), $"n={n} seed {seed} row {r} token {t}: tinyBLAS {e:R} ours (Avx2) {avx2:R}");
                    }
        }
    }

    [Fact]
    public void TinyBLAS_order_differs_from_vec_dot_for_IQ4_NL()
    {
        // Why the separate kernel exists: on the same operands the two ggml paths round differently.
        if (!GgmlOracle.IsReproducedBuild || !GgmlOracle.HasTinyBlas)
            return;
        const int n = 7168, rows = 4, tokens = 2;
        int rowBytes = (int)GgmlTypes.Get(GgmlType.IQ4_NL).RowBytes(n), actBytes = (int)GgmlTypes.Get(GgmlType.Q8_0).RowBytes(n);
        var w = new byte[rows * rowBytes];
        RandomBlocks.Fill(GgmlType.IQ4_NL, w, new Random(1), 0.5f);
        var a = new byte[tokens * actBytes];
        for (int t = 0; t < tokens; t++)
            ActivationQuantizer.Quantize(GgmlType.Q8_0, TestData.Floats(n, 7 + t, 1f), a.AsSpan(t * actBytes, actBytes));
        var tiny = TinyBlas(w, a, rows, tokens, n);
        int differ = 0;
        for (int t = 0; t < tokens; t++)
            for (int r = 0; r < rows; r++)
                if (tiny[t * rows + r] != GgmlOracle.VecDot(GgmlType.IQ4_NL, w.AsSpan(r * rowBytes, rowBytes), a.AsSpan(t * actBytes, actBytes), n))
                    differ++;
        Assert.True(differ > 0, "tinyBLAS and vec_dot agreed on every output");
    }
}
