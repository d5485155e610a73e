using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// Q3_K and Q5_K dot products against ggml-cpu's own vec_dot, bit for bit, on every SIMD path that reproduces
/// ggml's float order (its __AVX2__ kernels, the same code in its AVX-512 and AVX2 builds): the best level and the AVX2 kernels.
/// </summary>
public class KQuantOrderTests
{
    public static TheoryData<GgmlType> Types => new() { GgmlType.Q3_K, GgmlType.Q5_K };

    [Theory]
    [MemberData(nameof(Types))]
    public unsafe void VecDot_is_bit_identical_to_ggml_for_Q3_K_and_Q5_K(GgmlType t)
    {
        if (!GgmlOracle.IsReproducedBuild)
            return; // the library here is not the ggml build whose order our kernels reproduce on this CPU
        var codec = (BlockCodec)QuantCodecs.GetCodec(t);
        var levels = new[] { Simd.Best, SimdLevel.Avx2 }.Distinct().ToArray();
        float[] weightScales = [0.5f, 0.01f, 3f, 1e-4f];
        float[] activationScales = [30f, 1f, 0.02f];
        int mismatches = 0, checks = 0;
        var failures = new List<string>();
        foreach (int n in new[] { 256, 4096, 7168 })
            for (int seed = 0; seed < 12; seed++)
            {
                var w = BlockData.Random(t, n, seed, weightScales[seed % weightScales.Length]);
                var x = TestData.Floats(n, seed + 100, activationScales[seed % activationScales.Length]);
                var act = new byte[GgmlTypes.Get(codec.VecDotType).RowBytes(n)];
                ActivationQuantizer.Quantize(codec.VecDotType, x, act);
                float ggml = GgmlOracle.VecDot(t, w, act, n);
                foreach (var level in levels)
                {
                    float ours;
                    fixed (byte* pw = w)
                    fixed (byte* pa = act)
                        ours = codec.VecDot(level, pw, pa, n);
                    checks++;
                    if (BitConverter.SingleToInt32Bits(ggml) != BitConverter.SingleToInt32Bits(ours))
                    {
                        mismatches++;
                        failures.Add($"{level} n={n} seed {seed}: ggml {ggml:R} ours {ours:R}");
                    }
                }
            }
        Assert.True(mismatches == 0, $"{t}: {mismatches}/{checks} differ\n" + string.Join("\n", failures));
    }

    /// <summary>Raw random Q8_K rows (any byte, −128 included, random bsums): the kernels stay exact off the quantizer's range.</summary>
    [Theory]
    [MemberData(nameof(Types))]
    public unsafe void VecDot_is_bit_identical_to_ggml_on_raw_Q8_K_bytes(GgmlType t)
    {
        if (!GgmlOracle.IsReproducedBuild)
            return;
        var codec = (BlockCodec)QuantCodecs.GetCodec(t);
        const int n = 2048;
        for (int seed = 0; seed < 10; seed++)
        {
            var w = BlockData.Random(t, n, seed + 50, 0.1f);
            var act = BlockData.Random(GgmlType.Q8_K, n, seed + 70, 0.05f);
            act[4 + 17] = 0x80; // at least one −128
            float ggml = GgmlOracle.VecDot(t, w, act, n);
            foreach (var level in new[] { Simd.Best, SimdLevel.Avx2 }.Distinct())
            {
                float ours;
                fixed (byte* pw = w)
                fixed (byte* pa = act)
                    ours = codec.VecDot(level, pw, pa, n);
                Assert.True(BitConverter.SingleToInt32Bits(ggml) == BitConverter.SingleToInt32Bits(ours), $"{t} {level} seed {seed}: ggml {ggml:R} ours {ours:R}");
            }
        }
    }
}
