using KimiSharp.Quants;
using KimiSharp.Quants.IQuants;

namespace KimiSharp.Tests.Quants.IQuants;

public unsafe class IQuantVecDotTests
{
    public static TheoryData<GgmlType> Types => IQuantTestData.TypeData();

    /// <summary>|ours − reference| ≤ 1e-5 · ‖w‖·‖a‖ over the dequantized rows.</summary>
    private static void AssertClose(float expected, float actual, double normProduct, string what)
    {
        double tolerance = 1e-5 * normProduct;
        Assert.True(Math.Abs(expected - actual) <= tolerance,
            $"{what}: {actual:R} vs {expected:R}, difference {Math.Abs(expected - actual):G3} > {tolerance:G3}");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_kernel_matches_the_scalar_reference_and_ggml_vec_dot(GgmlType type)
    {
        var codec = IQuantCodecs.Get(type);
        Assert.Equal("Scalar", codec.Kernels[0].Name);
        foreach (int n in new[] { 256, 1792, 4096 })
        {
            for (int seed = 1; seed <= 3; seed++)
            {
                var (w, a, wv, av) = IQuantTestData.DotOperands(type, n, seed);
                double norms = IQuantTestData.Norm(wv) * IQuantTestData.Norm(av);
                Assert.True(norms > 0);
                float ggml = GgmlOracle.VecDot(type, w, a, n);
                fixed (byte* pw = w)
                fixed (byte* pa = a)
                {
                    float scalar = codec.Kernels[0].Invoke(pw, pa, n);
                    AssertClose(ggml, scalar, norms, $"{type} scalar vs ggml, n={n}, seed={seed}");
                    foreach (var kernel in codec.Kernels)
                    {
                        float ours = kernel.Invoke(pw, pa, n);
                        AssertClose(scalar, ours, norms, $"{type} {kernel.Name} vs scalar, n={n}, seed={seed}");
                        AssertClose(ggml, ours, norms, $"{type} {kernel.Name} vs ggml, n={n}, seed={seed}");
                    }
                    AssertClose(ggml, QuantCodecs.VecDot(type, pw, pa, n), norms, $"{type} dispatch vs ggml");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Scalar_reference_equals_the_dot_of_the_dequantized_rows(GgmlType type)
    {
        // Independent of ggml's kernels: Σ w·a in double over ggml's own dequantization of both rows.
        var codec = IQuantCodecs.Get(type);
        var (w, a, wv, av) = IQuantTestData.DotOperands(type, 1024, 7);
        double exact = 0;
        for (int i = 0; i < wv.Length; i++) exact += (double)wv[i] * av[i];
        fixed (byte* pw = w)
        fixed (byte* pa = a)
            AssertClose((float)exact, codec.Kernels[0].Invoke(pw, pa, 1024), IQuantTestData.Norm(wv) * IQuantTestData.Norm(av), $"{type} scalar vs Σ dequantized");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Kernels_handle_extreme_weights_like_ggml(GgmlType type)
    {
        // Every byte random (any scale, any grid point, any sign) against maximal activations (±127 everywhere).
        var codec = IQuantCodecs.Get(type);
        var info = GgmlTypes.Get(type);
        int n = 2048;
        var rng = new Random(11);
        var w = new byte[n / info.BlockSize * info.TypeSize];
        rng.NextBytes(w);
        for (int b = 0; b < w.Length / info.TypeSize; b++)
            IQuantTestData.SetScale(type, w.AsSpan(b * info.TypeSize, info.TypeSize), (ushort)(0x3000 + rng.Next(0x0C00)));
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = rng.Next(2) == 0 ? -1f : 1f;
        var actType = codec.VecDotType;
        var a = new byte[GgmlTypes.Get(actType).RowBytes(n)];
        ActivationQuantizer.Quantize(actType, x, a);
        double norms = IQuantTestData.Norm(GgmlOracle.Dequantize(type, w, n)) * IQuantTestData.Norm(IQuantTestData.DecodeActivations(actType, a, n));
        float ggml = GgmlOracle.VecDot(type, w, a, n);
        fixed (byte* pw = w)
        fixed (byte* pa = a)
            foreach (var kernel in codec.Kernels)
                AssertClose(ggml, kernel.Invoke(pw, pa, n), norms, $"{type} {kernel.Name}");
    }

    [Theory]
    [InlineData(32)]
    [InlineData(224)]
    [InlineData(7168 + 32)]
    public void Iq4_nl_kernels_handle_odd_block_counts(int n)
    {
        var codec = IQuantCodecs.Get(GgmlType.IQ4_NL);
        var (w, a, wv, av) = IQuantTestData.DotOperands(GgmlType.IQ4_NL, n, 3);
        double norms = IQuantTestData.Norm(wv) * IQuantTestData.Norm(av);
        float ggml = GgmlOracle.VecDot(GgmlType.IQ4_NL, w, a, n);
        fixed (byte* pw = w)
        fixed (byte* pa = a)
            foreach (var kernel in codec.Kernels)
                AssertClose(ggml, kernel.Invoke(pw, pa, n), norms, $"IQ4_NL {kernel.Name} n={n}");
    }

    [Fact]
    public void Vec_dot_rejects_partial_blocks()
    {
        var e = Assert.Throws<ArgumentException>(() => QuantCodecs.VecDot(GgmlType.IQ2_XXS, null, null, 100));
        Assert.Contains("IQ2_XXS", e.Message);
    }
}
