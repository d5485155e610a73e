using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// F16 and BF16 dot products bit-identical to ggml-cpu's own ggml_vec_dot_f16 / ggml_vec_dot_bf16 of the build loaded
/// here (AVX-512 or AVX2), on every SIMD path that follows that build, and the integer-SIMD half → float widening they
/// rest on, checked on all 65536 halves.
/// </summary>
public class FloatOrderTests
{
    public static readonly int[] Lengths = [1, 15, 16, 31, 32, 33, 63, 64, 65, 100, 127, 128, 200, 4096, 4111, 7168];

    private static void AssertSameBits(float expected, float actual, string what)
    {
        if (float.IsNaN(expected) && float.IsNaN(actual)) return;
        Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual),
            $"{what}: ggml {expected:R} (0x{BitConverter.SingleToUInt32Bits(expected):X8}), ours {actual:R} (0x{BitConverter.SingleToUInt32Bits(actual):X8})");
    }

    /// <summary>What vcvtph2ps gives: (float)Half, except that a signalling NaN comes out quiet (payload kept).</summary>
    private static uint ExpectedBits(ushort h)
    {
        uint bits = BitConverter.SingleToUInt32Bits((float)BitConverter.UInt16BitsToHalf(h));
        return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0 ? bits | 0x00400000 : bits;
    }

    [Fact]
    public void Every_half_converts_exactly_as_Half_does()
    {
        for (int h = 0; h < 65536; h++)
        {
            var half = BitConverter.UInt16BitsToHalf((ushort)h);
            uint expected = ExpectedBits((ushort)h);
            if (!Half.IsNaN(half))
                Assert.Equal(BitConverter.SingleToUInt32Bits((float)half), expected);
            Assert.True(expected == BitConverter.SingleToUInt32Bits(Fp16.ToFloat((ushort)h)), $"table 0x{h:X4}");
        }
    }

    [Fact]
    public unsafe void Vector_widening_converts_all_65536_halves_exactly()
    {
        // lane k of the row holds halves 2k (low) and 2k+1 (high)
        var all = new ushort[65536];
        for (int h = 0; h < all.Length; h++) all[h] = (ushort)h;
        fixed (ushort* p = all)
        {
            for (int i = 0; i < all.Length; i += 32)
            {
                if (Vector512.IsHardwareAccelerated)
                {
                    var pairs = Vector512.Load((uint*)(p + i));
                    CheckLanes(HalfWidening.ExactLow(pairs), HalfWidening.ExactHigh(pairs), i, 16);
                }
                if (Vector256.IsHardwareAccelerated)
                    for (int half = 0; half < 2; half++)
                    {
                        var pairs = Vector256.Load((uint*)(p + i + 16 * half));
                        CheckLanes(HalfWidening.ExactLow(pairs).ToVector512Unsafe(), HalfWidening.ExactHigh(pairs).ToVector512Unsafe(), i + 16 * half, 8);
                    }
            }
        }

        static void CheckLanes(Vector512<float> low, Vector512<float> high, int first, int lanes)
        {
            for (int k = 0; k < lanes; k++)
            {
                Assert.True(ExpectedBits((ushort)(first + 2 * k)) == BitConverter.SingleToUInt32Bits(low.GetElement(k)), $"half 0x{first + 2 * k:X4}");
                Assert.True(ExpectedBits((ushort)(first + 2 * k + 1)) == BitConverter.SingleToUInt32Bits(high.GetElement(k)), $"half 0x{first + 2 * k + 1:X4}");
            }
        }
    }

    [Fact]
    public unsafe void Exponent_class_checks_find_exactly_the_zero_subnormal_Inf_and_NaN_halves()
    {
        var all = new ushort[65536];
        for (int h = 0; h < all.Length; h++) all[h] = (ushort)h;
        fixed (ushort* p = all)
            for (int i = 0; i < all.Length; i += 32)
            {
                var pairs = Vector512.Load((uint*)(p + i));
                var sum = HalfWidening.ExponentClass(pairs, Vector512.Create((ushort)0x0400), Vector512.Create((ushort)0x7800));
                var sum256 = Vector512.Create(
                    HalfWidening.ExponentClass(pairs.GetLower(), Vector256.Create((ushort)0x0400), Vector256.Create((ushort)0x7800)),
                    HalfWidening.ExponentClass(pairs.GetUpper(), Vector256.Create((ushort)0x0400), Vector256.Create((ushort)0x7800)));
                Vector512<ushort> gfni = default, gfni256 = default;
                if (System.Runtime.Intrinsics.X86.Gfni.V512.IsSupported)
                    gfni = HalfWidening.ExponentClassGfni(pairs, HalfWidening.ExponentXorMatrix);
                if (System.Runtime.Intrinsics.X86.Gfni.V256.IsSupported)
                    gfni256 = Vector512.Create(
                        HalfWidening.ExponentClassGfni(pairs.GetLower(), HalfWidening.ExponentXorMatrix.GetLower()),
                        HalfWidening.ExponentClassGfni(pairs.GetUpper(), HalfWidening.ExponentXorMatrix.GetLower()));
                for (int j = 0; j < 32; j++)
                {
                    int h = i + j;
                    bool normal = (h & 0x7C00) != 0 && (h & 0x7C00) != 0x7C00;
                    Assert.True(normal == (sum.GetElement(j) != 0), $"class of 0x{h:X4}");
                    Assert.True(normal == (sum256.GetElement(j) != 0), $"256-bit class of 0x{h:X4}");
                    if (System.Runtime.Intrinsics.X86.Gfni.V512.IsSupported)
                        Assert.True(normal == (gfni.GetElement(j) >= 0x100), $"GFNI class of 0x{h:X4}");
                    if (System.Runtime.Intrinsics.X86.Gfni.V256.IsSupported)
                        Assert.True(normal == (gfni256.GetElement(j) >= 0x100), $"256-bit GFNI class of 0x{h:X4}");
                }
            }
    }

    [Fact]
    public unsafe void Scaled_pairs_multiply_to_the_exact_product_of_every_normal_weight_half()
    {
        if (!Simd.IsAvailable(SimdLevel.Avx2))
            return; // the scaled-pair widening is an AVX2/AVX-512 kernel
        // activation halves of both signs across the exponent range
        var activations = new List<ushort> { 0x0400, 0x8400, 0x7BFF, 0xFBFF, 0x3C00, 0xBC00, 0x0401, 0x87FF, 0x3555, 0xC000 };
        var rng = new Random(3);
        while (activations.Count < 48)
        {
            ushort h = (ushort)rng.Next(65536);
            if ((h & 0x7C00) != 0 && (h & 0x7C00) != 0x7C00) activations.Add(h);
        }
        var weights = new ushort[65536];
        for (int h = 0; h < weights.Length; h++) weights[h] = (ushort)h;
        var act = new ushort[32];
        fixed (ushort* w = weights)
        fixed (ushort* a = act)
            foreach (ushort ah in activations)
            {
                Array.Fill(act, ah);
                float av = (float)BitConverter.UInt16BitsToHalf(ah);
                for (int i = 0; i < weights.Length; i += 32)
                {
                    var wp = Vector512.Load((uint*)(w + i));
                    var ap = Vector512.Load((uint*)a);
                    bool wide = Avx512BW.IsSupported; // the 512-bit widening needs AVX-512; the 256-bit one runs everywhere
                    var (wl, al) = wide ? HalfWidening.ScaledPair(wp, ap, HalfWidening.PickLow, Vector512.Create(HalfWidening.BiasBits)) : default;
                    var (wh, ahi) = wide ? HalfWidening.ScaledPair(wp, ap, HalfWidening.PickHigh, Vector512.Create(HalfWidening.BiasBits)) : default;
                    var bias256 = Vector256.Create(HalfWidening.BiasBits);
                    for (int j = 0; j < 32; j++)
                    {
                        int h = i + j;
                        if ((h & 0x7C00) == 0 || (h & 0x7C00) == 0x7C00) continue;
                        float expected = (float)BitConverter.UInt16BitsToHalf((ushort)h) * av; // exact in float
                        if (wide)
                        {
                            float ours = (j & 1) == 0 ? wl.GetElement(j / 2) * al.GetElement(j / 2) : wh.GetElement(j / 2) * ahi.GetElement(j / 2);
                            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(ours), $"0x{h:X4} × 0x{ah:X4}: {ours} vs {expected}");
                        }
                        var half = j < 16 ? wp.GetLower() : wp.GetUpper();
                        var pick = (j & 1) == 0 ? HalfWidening.PickLow.GetLower() : HalfWidening.PickHigh.GetLower();
                        var (w256, a256) = HalfWidening.ScaledPair(half, ap.GetLower(), pick, bias256);
                        float ours256 = w256.GetElement((j % 16) / 2) * a256.GetElement((j % 16) / 2);
                        Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(ours256), $"256-bit 0x{h:X4} × 0x{ah:X4}");
                    }
                }
            }
    }

    public static TheoryData<GgmlType, string> Cases()
    {
        var d = new TheoryData<GgmlType, string>();
        foreach (var t in new[] { GgmlType.F16, GgmlType.BF16 })
            foreach (var data in new[] { "uniform", "gaussian", "large", "special" })
                d.Add(t, data);
        return d;
    }

    /// <summary>A weight row and an activation row of <paramref name="n"/> elements in the codec's bytes.</summary>
    private static (byte[] W, byte[] A) Rows(GgmlType t, string data, int n, int seed)
    {
        var rng = new Random(seed * 7919 + n);
        float Gaussian(double sd) => (float)(sd * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        float[] w = new float[n], a = new float[n];
        for (int i = 0; i < n; i++)
            switch (data)
            {
                case "uniform":
                    w[i] = (float)(rng.NextDouble() * 2 - 1) * 0.05f;
                    a[i] = (float)(rng.NextDouble() * 2 - 1);
                    break;
                case "gaussian": // trained-weight scale: zeros and subnormal halves turn up
                    w[i] = rng.Next(50) == 0 ? 0f : Gaussian(0.02);
                    a[i] = rng.Next(40) == 0 ? -0f : Gaussian(rng.Next(30) == 0 ? 1e-4 : 1.0);
                    break;
                case "large":
                    w[i] = Gaussian(300);
                    a[i] = Gaussian(50);
                    break;
                case "special":
                    w[i] = Gaussian(1);
                    a[i] = Gaussian(1);
                    break;
            }
        if (data == "special" && n > 2)
        {
            w[rng.Next(n)] = rng.Next(2) == 0 ? float.PositiveInfinity : float.NegativeInfinity;
            if (seed % 2 == 0) a[rng.Next(n)] = float.NaN;
        }
        var wb = new byte[2 * n];
        var ab = new byte[2 * n];
        QuantCodecs.Quantize(t, w, wb);
        ActivationQuantizer.Quantize(t, a, ab);
        return (wb, ab);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public unsafe void VecDot_is_bit_identical_to_ggml_on_every_path(GgmlType t, string data)
    {
        if (!GgmlOracle.IsReproducedBuild) return; // not the ggml build whose order our kernels reproduce on this CPU
        var codec = (BlockCodec)QuantCodecs.GetCodec(t);
        // Every level follows the AVX-512 build where that is the reference; where the AVX2 build is, the AVX2 kernel does
        // (the portable levels keep the AVX-512 order) and the scalar AVX2-build reference is checked with it.
        var levels = Enum.GetValues<SimdLevel>().Where(Simd.IsAvailable).Where(l => !GgmlCpuVariant.Avx2 || l >= SimdLevel.Avx2).ToArray();
        Assert.Equal(t, codec.VecDotType);
        foreach (int n in Lengths)
            for (int seed = 0; seed < (n > 1000 ? 6 : 3); seed++)
            {
                var (w, a) = Rows(t, data, n, seed);
                float ggml = GgmlOracle.VecDot(t, w, a, n);
                fixed (byte* pw = w)
                fixed (byte* pa = a)
                {
                    AssertSameBits(ggml, codec.VecDot(pw, pa, n), $"{t} {data} n={n} seed {seed} best path");
                    foreach (var level in levels)
                        AssertSameBits(ggml, codec.VecDot(level, pw, pa, n), $"{t} {data} n={n} seed {seed} {level}");
                    if (GgmlCpuVariant.Avx2)
                        AssertSameBits(ggml, t == GgmlType.F16 ? HalfDot.ScalarAvx2Build((ushort*)pw, (ushort*)pa, n) : BFloat16Dot.ScalarAvx2Build((ushort*)pw, (ushort*)pa, n),
                            $"{t} {data} n={n} seed {seed} scalar AVX2-build reference");
                }
            }
    }
}
