using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

/// <summary>Our float/legacy/k-quant codecs against ggml itself (see <see cref="GgmlOracle"/>).</summary>
public class CodecOracleTests
{
    public static TheoryData<GgmlType> DequantTypes => new()
    {
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_K,
    };

    /// <summary>Types whose ggml reference quantizer is deterministic: ours must give the same bytes.</summary>
    public static TheoryData<GgmlType> QuantTypes => new()
    {
        GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_K,
    };

    public static TheoryData<GgmlType> DotTypes => new()
    {
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    };

    private static void AssertSameFloats(float[] expected, float[] actual, GgmlType t)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            uint e = BitConverter.SingleToUInt32Bits(expected[i]), a = BitConverter.SingleToUInt32Bits(actual[i]);
            if (e != a && !(float.IsNaN(expected[i]) && float.IsNaN(actual[i])))
                Assert.Fail($"{t}: element {i}: ggml {expected[i]:R} (0x{e:X8}), ours {actual[i]:R} (0x{a:X8})");
        }
    }

    [Theory]
    [MemberData(nameof(DequantTypes))]
    public void Dequantize_is_bit_exact_with_ggml_on_random_blocks(GgmlType t)
    {
        foreach (int seed in new[] { 1, 2 })
        {
            int n = 4096;
            var bytes = BlockData.Random(t, n, seed, seed == 1 ? 0.01f : 1000f);
            var ours = new float[n];
            QuantCodecs.Dequantize(t, bytes, ours);
            AssertSameFloats(GgmlOracle.Dequantize(t, bytes, n), ours, t);
        }
    }

    [Theory]
    [MemberData(nameof(DequantTypes))]
    public void Dequantize_is_bit_exact_with_ggml_on_extreme_scales(GgmlType t)
    {
        if (t is GgmlType.F32 or GgmlType.Q8_K) return; // no fp16 fields
        var bytes = BlockData.Extreme(t, 3);
        int n = bytes.Length / GgmlTypes.Get(t).TypeSize * GgmlTypes.Get(t).BlockSize;
        var ours = new float[n];
        QuantCodecs.Dequantize(t, bytes, ours);
        AssertSameFloats(GgmlOracle.Dequantize(t, bytes, n), ours, t);
    }

    [Theory]
    [MemberData(nameof(QuantTypes))]
    public void Quantize_is_bit_exact_with_ggml_reference(GgmlType t)
    {
        int block = GgmlTypes.Get(t).BlockSize;
        var rows = new[]
        {
            TestData.Floats(4096, 11, 1f),
            TestData.Floats(2048, 12, 300f),
            TestData.Awkward(Math.Max(block, 32), 13),
        };
        foreach (var x0 in rows)
        {
            var x = x0.Length % block == 0 ? x0 : x0.AsSpan(0, x0.Length / block * block).ToArray();
            var expected = GgmlOracle.QuantizeReference(t, x);
            var ours = new byte[expected.Length];
            QuantCodecs.Quantize(t, x, ours);
            int bs = GgmlTypes.Get(t).TypeSize;
            for (int b = 0; b < expected.Length / bs; b++)
                if (!expected.AsSpan(b * bs, bs).SequenceEqual(ours.AsSpan(b * bs, bs)))
                    Assert.Fail($"{t}: block {b} differs: ggml {Convert.ToHexString(expected, b * bs, bs)} ours {Convert.ToHexString(ours, b * bs, bs)}");
        }
    }

    [Theory]
    [MemberData(nameof(DotTypes))]
    public unsafe void VecDot_matches_scalar_reference_and_ggml_on_every_path(GgmlType t)
    {
        var codec = (BlockCodec)QuantCodecs.GetCodec(t);
        Assert.Equal(GgmlOracle.VecDotType(t), codec.VecDotType);
        const int n = 4096;
        foreach (int seed in new[] { 5, 6, 7 })
        {
            var w = BlockData.Random(t, n, seed, seed == 7 ? 2f : 0.01f);
            var x = TestData.Floats(n, seed + 100, seed == 6 ? 50f : 1f);
            var act = new byte[GgmlTypes.Get(codec.VecDotType).RowBytes(n)];
            ActivationQuantizer.Quantize(codec.VecDotType, x, act);

            var wf = new float[n];
            var af = new float[n];
            QuantCodecs.Dequantize(t, w, wf);
            QuantCodecs.Dequantize(codec.VecDotType, act, af);
            double norms = Math.Sqrt(wf.Sum(v => (double)v * v) * af.Sum(v => (double)v * v));
            double tolerance = 1e-5 * norms + 1e-30;

            float ggml = GgmlOracle.VecDot(t, w, act, n);
            fixed (byte* pw = w)
            fixed (byte* pa = act)
            {
                float scalar = codec.VecDot(SimdLevel.Scalar, pw, pa, n);
                Assert.True(Math.Abs(scalar - ggml) <= tolerance, $"{t} scalar {scalar} vs ggml {ggml} (tolerance {tolerance})");
                foreach (var level in Enum.GetValues<SimdLevel>())
                {
                    if (!Simd.IsAvailable(level)) continue;
                    float v = codec.VecDot(level, pw, pa, n);
                    Assert.True(Math.Abs(v - scalar) <= tolerance, $"{t} {level} {v} vs scalar {scalar} (tolerance {tolerance})");
                }
            }
        }
    }

    /// <summary>
    /// Where our kernel sums in ggml-cpu's own order, vec_dot is bit-identical to ggml's (what lets whole-model logits
    /// equal llama.cpp's bit for bit). The i-quants are pinned in IQuantOrderTests.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_1)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q2_K)]
    [InlineData(GgmlType.Q3_K)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public unsafe void VecDot_is_bit_identical_to_ggml_where_the_order_is_reproduced(GgmlType t)
    {
        if (!GgmlOracle.IsReproducedBuild)
            return; // the library here is not the ggml build whose order our kernels reproduce on this CPU
        var codec = (BlockCodec)QuantCodecs.GetCodec(t);
        foreach (int n in new[] { 256, 4096, 7168 })
            for (int seed = 0; seed < 10; seed++)
            {
                var w = BlockData.Random(t, n, seed, seed % 2 == 0 ? 0.5f : 0.01f);
                var x = TestData.Floats(n, seed + 100, seed % 3 == 0 ? 30f : 1f);
                var act = new byte[GgmlTypes.Get(codec.VecDotType).RowBytes(n)];
                ActivationQuantizer.Quantize(codec.VecDotType, x, act);
                float ggml = GgmlOracle.VecDot(t, w, act, n);
                foreach (var level in new[] { Simd.Best, SimdLevel.Avx2 })
                {
                    float ours;
                    fixed (byte* pw = w)
                    fixed (byte* pa = act)
                        ours = codec.VecDot(level, pw, pa, n);
                    Assert.True(BitConverter.SingleToInt32Bits(ggml) == BitConverter.SingleToInt32Bits(ours),
                        $"{t} {level} n={n} seed {seed}: ggml {ggml:R} ours {ours:R}");
                }
            }
    }

    [Theory]
    [MemberData(nameof(DotTypes))]
    public void Activation_type_matches_ggml_cpu(GgmlType t) =>
        Assert.Equal(GgmlOracle.VecDotType(t), QuantCodecs.VecDotType(t));

    [Fact]
    public void Dequantize_rejects_wrong_lengths_naming_the_type()
    {
        var e = Assert.Throws<ArgumentException>(() => QuantCodecs.Dequantize(GgmlType.Q4_K, new byte[143], new float[256]));
        Assert.Contains("Q4_K", e.Message);
        e = Assert.Throws<ArgumentException>(() => QuantCodecs.Quantize(GgmlType.Q6_K, new float[200], new byte[210]));
        Assert.Contains("Q6_K", e.Message);
    }

    [Fact]
    public void Unsupported_types_throw_NotSupported_naming_the_type()
    {
        var e = Assert.Throws<NotSupportedException>(() => QuantCodecs.Dequantize((GgmlType)31, new byte[4], new float[1]));
        Assert.Contains("31", e.Message);
    }
}

public class FloatDotTests
{
    [Fact]
    public unsafe void F16_dot_converts_every_finite_half_like_the_scalar_path()
    {
        var halves = Enumerable.Range(0, 65536).Select(h => (ushort)h).Where(h => (h & 0x7C00) != 0x7C00).ToArray();
        var ones = Enumerable.Repeat(Fp16.FromFloat(1f), halves.Length).ToArray();
        var codec = (BlockCodec)QuantCodecs.GetCodec(GgmlType.F16);
        fixed (ushort* w = halves)
        fixed (ushort* a = ones)
        {
            // pairs (h, -h) cancel exactly, so any conversion error shows up against zero; compare per 16-element slice too
            for (int i = 0; i + 16 <= halves.Length; i += 16)
            {
                float s = codec.VecDot(SimdLevel.Scalar, (byte*)(w + i), (byte*)(a + i), 16);
                foreach (var level in Enum.GetValues<SimdLevel>().Where(Simd.IsAvailable))
                    Assert.Equal(s, codec.VecDot(level, (byte*)(w + i), (byte*)(a + i), 16), 1e-3f * Math.Max(1f, Math.Abs(s)));
            }
        }
    }
}
