using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// The portable Vector128 kernels (the path of CPUs without AVX2, e.g. ARM64 NEON) against the scalar references:
/// several seeds and lengths, zero blocks, extreme scales. Each type's codec must also dispatch
/// <see cref="SimdLevel.Vector128"/> to its Vector128 kernel (not to the scalar one).
/// </summary>
public unsafe class Vector128DotTests
{
    public static TheoryData<GgmlType> Types => new()
    {
        GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q8_0, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q5_K,
        GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
        GgmlType.F32, GgmlType.F16, GgmlType.BF16,
    };

    /// <summary>The Vector128 kernel of each type, called directly.</summary>
    private static delegate*<byte*, byte*, int, float> Kernel(GgmlType t) => t switch
    {
        GgmlType.Q4_K => &KQuantsVector128.Q4_K,
        GgmlType.Q6_K => &KQuantsVector128.Q6_K,
        GgmlType.Q8_0 => &LegacyVector128.Q8_0,
        GgmlType.Q2_K => &KQuantsVector128.Q2_K,
        GgmlType.Q3_K => &KQuantsVector128.Q3_K,
        GgmlType.Q5_K => &KQuantsVector128.Q5_K,
        GgmlType.Q4_0 => &LegacyVector128.Q4_0,
        GgmlType.Q4_1 => &LegacyVector128.Q4_1,
        GgmlType.Q5_0 => &LegacyVector128.Q5_0,
        GgmlType.Q5_1 => &LegacyVector128.Q5_1,
        GgmlType.F32 => &F32,
        GgmlType.F16 => &F16,
        GgmlType.BF16 => &BF16,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    private static float F32(byte* w, byte* a, int n) => FloatVector128.F32((float*)w, (float*)a, n);
    private static float F16(byte* w, byte* a, int n) => FloatVector128.F16((ushort*)w, (ushort*)a, n);
    private static float BF16(byte* w, byte* a, int n) => FloatVector128.BF16((ushort*)w, (ushort*)a, n);

    private static int[] Lengths(GgmlType t)
    {
        int block = GgmlTypes.Get(t).BlockSize;
        return block == 1 ? [1, 7, 8, 15, 16, 63, 64, 65, 130, 1000, 4096 + 13] : [block, 2 * block, 3 * block, 7 * block, 4096, 7168 + 3 * block];
    }

    private static byte[] Activations(BlockCodec codec, float[] x)
    {
        var act = new byte[GgmlTypes.Get(codec.VecDotType).RowBytes(x.Length)];
        ActivationQuantizer.Quantize(codec.VecDotType, x, act);
        return act;
    }

    /// <summary>1e-5·‖w‖·‖a‖ of the dequantized rows (the bound every SIMD path keeps to the scalar reference).</summary>
    private static double Tolerance(GgmlType t, BlockCodec codec, byte[] w, byte[] act, int n)
    {
        var wf = new float[n];
        var af = new float[n];
        QuantCodecs.Dequantize(t, w, wf);
        QuantCodecs.Dequantize(codec.VecDotType, act, af);
        return 1e-5 * Math.Sqrt(wf.Sum(v => (double)v * v) * af.Sum(v => (double)v * v)) + 1e-30;
    }

    private static void AssertMatchesScalar(GgmlType t, byte[] w, float[] x, string what)
    {
        var codec = (BlockCodec)QuantCodecs.GetCodec(t);
        int n = x.Length;
        var act = Activations(codec, x);
        double tolerance = Tolerance(t, codec, w, act, n);
        fixed (byte* pw = w)
        fixed (byte* pa = act)
        {
            float scalar = codec.VecDot(SimdLevel.Scalar, pw, pa, n);
            float v128 = codec.VecDot(SimdLevel.Vector128, pw, pa, n);
            Assert.True(double.IsFinite(tolerance), $"{t} {what}: tolerance {tolerance}");
            Assert.True(Math.Abs(v128 - scalar) <= tolerance, $"{t} {what} n={n}: Vector128 {v128:R} vs scalar {scalar:R} (tolerance {tolerance})");
            Assert.Equal(BitConverter.SingleToInt32Bits(v128), BitConverter.SingleToInt32Bits(codec.VecDot(SimdLevel.Vector128, pw, pa, n)));
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Random_rows_of_several_lengths_match_scalar(GgmlType t)
    {
        foreach (int n in Lengths(t))
            for (int seed = 1; seed <= 4; seed++)
            {
                var w = BlockData.Random(t, n, seed * 31 + n, seed % 2 == 0 ? 2f : 0.01f);
                var x = TestData.Floats(n, seed + 500, seed == 3 ? 80f : 1f);
                AssertMatchesScalar(t, w, x, $"seed {seed}");
            }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Rows_with_a_zero_block_and_extreme_scales_match_scalar(GgmlType t)
    {
        var info = GgmlTypes.Get(t);
        int block = info.BlockSize == 1 ? 64 : info.BlockSize;
        int n = 5 * block;
        var w = BlockData.Random(t, n, 77, 1f);
        int blockBytes = info.BlockSize == 1 ? 64 * info.TypeSize : info.TypeSize;
        Array.Clear(w, 0, blockBytes); // block 0: all zero
        var offsets = BlockData.ScaleOffsets(t);
        foreach (int off in offsets)
        {
            BitConverter.TryWriteBytes(w.AsSpan(blockBytes + off), (ushort)0x7BFF);      // block 1: largest half scale
            BitConverter.TryWriteBytes(w.AsSpan(2 * blockBytes + off), (ushort)0x0001);  // block 2: smallest subnormal
        }
        var x = TestData.Floats(n, 9, 3f);
        AssertMatchesScalar(t, w, x, "zero/extreme blocks");
        // all-zero activations, and the extreme block alone
        AssertMatchesScalar(t, w, new float[n], "zero activations");
        AssertMatchesScalar(t, w.AsSpan(blockBytes, blockBytes).ToArray(), x.AsSpan(0, block).ToArray(), "extreme block alone");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Codec_dispatches_Vector128_to_the_Vector128_kernel(GgmlType t)
    {
        var codec = (BlockCodec)QuantCodecs.GetCodec(t);
        int n = Lengths(t)[^2];
        var w = BlockData.Random(t, n, 3, 0.5f);
        var act = Activations(codec, TestData.Floats(n, 4, 1f));
        fixed (byte* pw = w)
        fixed (byte* pa = act)
        {
            float direct = Kernel(t)(pw, pa, n);
            Assert.Equal(BitConverter.SingleToInt32Bits(direct), BitConverter.SingleToInt32Bits(codec.VecDot(SimdLevel.Vector128, pw, pa, n)));
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_block_counts(GgmlType t)
    {
        // changing any one block's weights must change the Vector128 result as it changes the scalar one
        var codec = (BlockCodec)QuantCodecs.GetCodec(t);
        var info = GgmlTypes.Get(t);
        int blocks = info.BlockSize == 1 ? 67 : 5;
        int n = blocks * info.BlockSize;
        var w = BlockData.Random(t, n, 8, 0.5f);
        var act = Activations(codec, TestData.Floats(n, 9, 1f));
        for (int b = 0; b < blocks; b++)
        {
            var zeroed = (byte[])w.Clone();
            Array.Clear(zeroed, b * info.TypeSize, info.TypeSize);
            fixed (byte* pw = w)
            fixed (byte* pz = zeroed)
            fixed (byte* pa = act)
            {
                double tolerance = Tolerance(t, codec, w, act, n);
                float full = codec.VecDot(SimdLevel.Vector128, pw, pa, n);
                float dropped = codec.VecDot(SimdLevel.Vector128, pz, pa, n);
                float scalarDelta = codec.VecDot(SimdLevel.Scalar, pw, pa, n) - codec.VecDot(SimdLevel.Scalar, pz, pa, n);
                Assert.True(Math.Abs((full - dropped) - scalarDelta) <= 2 * tolerance, $"{t} block {b}: Vector128 delta {full - dropped} vs scalar {scalarDelta}");
            }
        }
    }

    /// <summary>
    /// Every half value h (zero, subnormal, normal, ±Inf, NaN) as 16 copies dotted with 1.0 (fast widening path when h
    /// is normal, exact path otherwise): the sum 16·h is exact in any order, so Vector128 must equal scalar bit for bit.
    /// </summary>
    [Fact]
    public void F16_converts_every_half_like_the_scalar_path()
    {
        var codec = (BlockCodec)QuantCodecs.GetCodec(GgmlType.F16);
        var ones = Enumerable.Repeat(Fp16.FromFloat(1f), 16).ToArray();
        var row = new ushort[16];
        fixed (ushort* w = row)
        fixed (ushort* a = ones)
            for (int h = 0; h < 65536; h++)
            {
                Array.Fill(row, (ushort)h);
                float scalar = codec.VecDot(SimdLevel.Scalar, (byte*)w, (byte*)a, 16);
                float v128 = codec.VecDot(SimdLevel.Vector128, (byte*)w, (byte*)a, 16);
                if (float.IsNaN(scalar) && float.IsNaN(v128)) continue;
                if (BitConverter.SingleToInt32Bits(scalar) != BitConverter.SingleToInt32Bits(v128))
                    Assert.Fail($"half 0x{h:X4}: scalar {scalar:R}, Vector128 {v128:R}");
            }
    }

    /// <summary>F16 and BF16 sum in ggml's order on every path, so Vector128 equals the scalar path bit for bit.</summary>
    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    public void Half_formats_are_bit_identical_to_scalar(GgmlType t)
    {
        var codec = (BlockCodec)QuantCodecs.GetCodec(t);
        foreach (int n in Lengths(t).Concat([64, 128, 192, 7168]))
            for (int seed = 0; seed < 4; seed++)
            {
                var w = BlockData.Random(t, n, seed + 40, seed % 2 == 0 ? 1f : 0.001f);
                if (seed == 3 && n > 70)
                    Array.Clear(w, 2 * 64, 2 * 5); // a few zeros in the second step: the exact widening for that group
                var act = Activations(codec, TestData.Floats(n, seed + 60, seed == 1 ? 100f : 1f));
                fixed (byte* pw = w)
                fixed (byte* pa = act)
                {
                    float scalar = codec.VecDot(SimdLevel.Scalar, pw, pa, n), v128 = codec.VecDot(SimdLevel.Vector128, pw, pa, n);
                    Assert.True(BitConverter.SingleToInt32Bits(scalar) == BitConverter.SingleToInt32Bits(v128), $"{t} n={n} seed {seed}: scalar {scalar:R}, Vector128 {v128:R}");
                }
            }
    }

    /// <summary>Q8_0 with −128 in both rows: a pair of products −128·−128 (32768) overflows a 16-bit lane unless handled.</summary>
    [Fact]
    public void Q8_0_products_of_minus_128_are_exact()
    {
        var codec = (BlockCodec)QuantCodecs.GetCodec(GgmlType.Q8_0);
        const int blocks = 5, n = 32 * blocks;
        var w = new byte[34 * blocks];
        var a = new byte[34 * blocks];
        var rng = new Random(3);
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(34 * b), Fp16.FromFloat(1f));
            BitConverter.TryWriteBytes(a.AsSpan(34 * b), Fp16.FromFloat(b + 1f));
            for (int j = 0; j < 32; j++)
            {
                w[34 * b + 2 + j] = 0x80;
                // block 0: all −128; later blocks: −128 or 127 at random
                a[34 * b + 2 + j] = b == 0 || rng.Next(2) == 0 ? (byte)0x80 : (byte)127;
            }
        }
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        {
            float scalar = codec.VecDot(SimdLevel.Scalar, pw, pa, n);
            Assert.Equal(scalar, codec.VecDot(SimdLevel.Vector128, pw, pa, n));
            Assert.Equal(32 * 16384f, codec.VecDot(SimdLevel.Vector128, pw, pa, 32));
        }
    }
}
