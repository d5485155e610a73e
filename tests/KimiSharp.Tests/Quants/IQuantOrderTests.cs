using KimiSharp.Quants;
using KimiSharp.Quants.IQuants;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// I-quant and ternary dots that sum their float terms in the order of ggml-cpu's kernels (the same __AVX2__ code in its
/// AVX-512 and AVX2 builds) are bit-identical to ggml's vec_dot, both through the dispatching codec (best kernel here)
/// and through the AVX2 kernel.
/// </summary>
public unsafe class IQuantOrderTests
{
    public static TheoryData<GgmlType, int> Cases()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var t in ExactTypes)
            foreach (int n in new[] { 256, 4096, 7168 })
                data.Add(t, n);
        data.Add(GgmlType.IQ4_NL, 96);   // odd block counts end in ggml's scalar leftover
        data.Add(GgmlType.IQ4_NL, 4128);
        return data;
    }

    private static readonly GgmlType[] ExactTypes =
    [
        GgmlType.IQ4_XS, GgmlType.IQ4_NL, GgmlType.IQ2_XXS, GgmlType.IQ1_S, GgmlType.IQ3_XXS, GgmlType.IQ2_XS,
        GgmlType.IQ2_S, GgmlType.IQ3_S, GgmlType.IQ1_M, GgmlType.TQ1_0, GgmlType.TQ2_0,
    ];

    /// <summary>Random valid weights (scales varied by seed) and activations quantized exactly as ggml does.</summary>
    private static (byte[] W, byte[] A) Operands(IQuantCodec codec, int n, int seed)
    {
        var info = GgmlTypes.Get(codec.Type);
        var w = new byte[n / info.BlockSize * info.TypeSize];
        RandomBlocks.Fill(codec.Type, w, new Random(seed), seed % 2 == 0 ? 0.5f : 0.01f);
        var x = TestData.Floats(n, seed + 100, seed % 3 == 0 ? 30f : 1f);
        var a = new byte[GgmlTypes.Get(codec.VecDotType).RowBytes(n)];
        ActivationQuantizer.Quantize(codec.VecDotType, x, a);
        return (w, a);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void VecDot_is_bit_identical_to_ggml(GgmlType t, int n)
    {
        if (!GgmlOracle.IsReproducedBuild)
            return; // the library here is not the ggml build whose order our kernels reproduce on this CPU
        var codec = IQuantCodecs.Get(t);
        var avx2 = codec.Kernels.Single(k => k.Name == "Avx2");
        for (int seed = 0; seed < 12; seed++)
        {
            var (w, a) = Operands(codec, n, seed);
            float ggml = GgmlOracle.VecDot(t, w, a, n), best, atAvx2;
            fixed (byte* pw = w)
            fixed (byte* pa = a)
            {
                best = QuantCodecs.GetCodec(t).VecDot(pw, pa, n);
                atAvx2 = avx2.Invoke(pw, pa, n);
            }
            Assert.True(BitConverter.SingleToInt32Bits(ggml) == BitConverter.SingleToInt32Bits(best), $"{t} n={n} seed {seed}: ggml {ggml:R} ours (best) {best:R}");
            Assert.True(BitConverter.SingleToInt32Bits(ggml) == BitConverter.SingleToInt32Bits(atAvx2), $"{t} n={n} seed {seed}: ggml {ggml:R} ours (Avx2) {atAvx2:R}");
        }
    }

    public static TheoryData<GgmlType> Types()
    {
        var data = new TheoryData<GgmlType>();
        foreach (var t in ExactTypes) data.Add(t);
        return data;
    }

    /// <summary>Every byte random (any grid point, sign and sub-scale), the f16 scales finite: still bit-identical.</summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void VecDot_is_bit_identical_to_ggml_on_random_bytes(GgmlType t)
    {
        if (!GgmlOracle.IsReproducedBuild)
            return;
        var codec = IQuantCodecs.Get(t);
        var info = GgmlTypes.Get(t);
        var avx2 = codec.Kernels.Single(k => k.Name == "Avx2");
        const int n = 4096;
        for (int seed = 0; seed < 5; seed++)
        {
            var rng = new Random(seed + 50);
            var w = new byte[n / info.BlockSize * info.TypeSize];
            rng.NextBytes(w);
            for (int b = 0; b < w.Length / info.TypeSize; b++)
                IQuants.IQuantTestData.SetScale(t, w.AsSpan(b * info.TypeSize, info.TypeSize), (ushort)(0x2000 + rng.Next(0x3000)));
            var x = TestData.Floats(n, seed + 200, 3f);
            var a = new byte[GgmlTypes.Get(codec.VecDotType).RowBytes(n)];
            ActivationQuantizer.Quantize(codec.VecDotType, x, a);
            float ggml = GgmlOracle.VecDot(t, w, a, n), best, atAvx2;
            fixed (byte* pw = w)
            fixed (byte* pa = a)
            {
                best = codec.VecDot(pw, pa, n);
                atAvx2 = avx2.Invoke(pw, pa, n);
            }
            Assert.True(BitConverter.SingleToInt32Bits(ggml) == BitConverter.SingleToInt32Bits(best), $"{t} seed {seed}: ggml {ggml:R} ours (best) {best:R}");
            Assert.True(BitConverter.SingleToInt32Bits(ggml) == BitConverter.SingleToInt32Bits(atAvx2), $"{t} seed {seed}: ggml {ggml:R} ours (Avx2) {atAvx2:R}");
        }
    }
}
