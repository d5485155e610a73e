using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using KimiSharp.Quants;
using KimiSharp.Quants.IQuants;

namespace KimiSharp.Tests.Quants.IQuants;

/// <summary>The portable Vector128 i-quant kernels, called by name, against the scalar reference kernels.</summary>
public unsafe class IQuantVector128Tests
{
    /// <summary>Types that have a Vector128 kernel.</summary>
    public static TheoryData<GgmlType> Types => new()
    {
        GgmlType.IQ4_XS, GgmlType.IQ4_NL, GgmlType.IQ2_XXS, GgmlType.IQ1_S, GgmlType.IQ3_XXS, GgmlType.IQ2_XS,
        GgmlType.IQ2_S, GgmlType.IQ3_S, GgmlType.IQ1_M, GgmlType.TQ1_0, GgmlType.TQ2_0,
    };

    private static readonly string[] LevelOrder = ["Scalar", "Vector128", "Avx2", "Avx512"];

    private static DotKernel Kernel(IQuantCodecBase codec, string name) => codec.Kernels.Single(k => k.Name == name);

    /// <summary>Row lengths: one block, a few odd block counts, and a long row (4096 + one block).</summary>
    private static int[] Lengths(GgmlType type)
    {
        int block = GgmlTypes.Get(type).BlockSize;
        return [block, 3 * block, 7 * block, 4096 + block];
    }

    /// <summary>Asserts |v − s| ≤ 1e-5·‖w‖·‖a‖ when the scalar result is finite, and a non-finite result when it is not.</summary>
    private static void AssertClose(float scalar, float vector, double normProduct, string what)
    {
        if (!float.IsFinite(scalar))
        {
            Assert.False(float.IsFinite(vector), $"{what}: scalar {scalar}, Vector128 {vector:R}");
            return;
        }
        double tolerance = 1e-5 * normProduct;
        Assert.True(Math.Abs(scalar - vector) <= tolerance,
            $"{what}: Vector128 {vector:R} vs scalar {scalar:R}, difference {Math.Abs(scalar - vector):G3} > {tolerance:G3}");
    }

    /// <summary>Runs both kernels on (w, a) and compares them; returns the Vector128 result.</summary>
    private static float Compare(IQuantCodecBase codec, byte[] w, byte[] a, int n, string what)
    {
        var wv = new float[n];
        codec.Dequantize(w, wv);
        var av = IQuantTestData.DecodeActivations(codec.VecDotType, a, n);
        double norms = IQuantTestData.Norm(wv) * IQuantTestData.Norm(av);
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        {
            float scalar = Kernel(codec, "Scalar").Invoke(pw, pa, n);
            float vector = Kernel(codec, "Vector128").Invoke(pw, pa, n);
            AssertClose(scalar, vector, norms, $"{codec.Type} {what}, n={n}");
            return vector;
        }
    }

    /// <summary>Activations straight from random bytes (every q in −128..127, including −128), with a valid scale and bsums.</summary>
    private static byte[] RawActivations(GgmlType actType, int n, Random rng)
    {
        var info = GgmlTypes.Get(actType);
        var a = new byte[info.RowBytes(n)];
        rng.NextBytes(a);
        for (int b = 0; b < n / info.BlockSize; b++)
        {
            var block = a.AsSpan(b * info.TypeSize, info.TypeSize);
            if (actType == GgmlType.Q8_K)
            {
                BinaryPrimitives.WriteSingleLittleEndian(block, (float)(rng.NextDouble() * 0.02 + 0.001));
                for (int g = 0; g < 16; g++)
                {
                    int s = 0;
                    for (int j = 0; j < 16; j++) s += (sbyte)block[4 + 16 * g + j];
                    BinaryPrimitives.WriteInt16LittleEndian(block[(260 + 2 * g)..], (short)s);
                }
            }
            else
            {
                Assert.Equal(GgmlType.Q8_0, actType);
                BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat((float)(rng.NextDouble() * 0.02 + 0.001)));
            }
        }
        return a;
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Vector128_kernel_sits_after_scalar_and_before_the_x86_kernels(GgmlType type)
    {
        var names = IQuantCodecs.Get(type).Kernels.Select(k => k.Name).ToArray();
        Assert.Equal("Scalar", names[0]);
        Assert.Equal(Vector128.IsHardwareAccelerated, names.Contains("Vector128"));
        if (Vector128.IsHardwareAccelerated) Assert.Equal("Vector128", names[1]);
        var ranks = names.Select(n => Array.IndexOf(LevelOrder, n)).ToArray();
        Assert.DoesNotContain(-1, ranks);
        Assert.Equal(ranks.Order(), ranks);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Vector128_matches_scalar_on_random_blocks_and_quantized_activations(GgmlType type)
    {
        if (!Vector128.IsHardwareAccelerated) return;
        var codec = IQuantCodecs.Get(type);
        foreach (int n in Lengths(type))
            for (int seed = 1; seed <= 6; seed++)
            {
                var (w, a, _, _) = IQuantTestData.DotOperands(type, n, seed);
                Compare(codec, w, a, n, $"seed {seed}");
            }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Vector128_matches_scalar_on_random_bytes_and_full_range_activations(GgmlType type)
    {
        // Every weight byte random (any grid point, sign and group scale) and activations that reach −128 and 127.
        if (!Vector128.IsHardwareAccelerated) return;
        var codec = IQuantCodecs.Get(type);
        var info = GgmlTypes.Get(type);
        foreach (int n in Lengths(type))
            for (int seed = 1; seed <= 6; seed++)
            {
                var rng = new Random(1000 * seed + n);
                var w = new byte[n / info.BlockSize * info.TypeSize];
                rng.NextBytes(w);
                for (int b = 0; b < n / info.BlockSize; b++)
                    IQuantTestData.SetScale(type, w.AsSpan(b * info.TypeSize, info.TypeSize), (ushort)(0x2000 + rng.Next(0x1800)));
                Compare(codec, w, RawActivations(codec.VecDotType, n, rng), n, $"raw seed {seed}");
            }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Vector128_matches_scalar_on_extreme_scales(GgmlType type)
    {
        // Each extreme f16 scale (±0, subnormals, ±max, ±Inf, NaN) in the middle block of a 3-block row of random bytes.
        if (!Vector128.IsHardwareAccelerated) return;
        var codec = IQuantCodecs.Get(type);
        var info = GgmlTypes.Get(type);
        int n = 3 * info.BlockSize;
        var rng = new Random(77);
        foreach (ushort scale in IQuantTestData.ExtremeScales)
        {
            var w = new byte[3 * info.TypeSize];
            rng.NextBytes(w);
            for (int b = 0; b < 3; b++)
                IQuantTestData.SetScale(type, w.AsSpan(b * info.TypeSize, info.TypeSize), b == 1 ? scale : (ushort)0x3C00);
            Compare(codec, w, RawActivations(codec.VecDotType, n, rng), n, $"scale 0x{scale:X4}");
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Vector128_gives_zero_for_zero_blocks_and_skips_none(GgmlType type)
    {
        if (!Vector128.IsHardwareAccelerated) return;
        var codec = IQuantCodecs.Get(type);
        var info = GgmlTypes.Get(type);
        int blocks = 5, n = blocks * info.BlockSize;
        var rng = new Random(5);
        var a = RawActivations(codec.VecDotType, n, rng);

        var zero = new byte[blocks * info.TypeSize];
        Assert.Equal(0f, Compare(codec, zero, a, n, "all-zero row"));

        // Random blocks with zero blocks between them: the row's dot is the sum of its blocks' dots, each block counted once.
        var w = new byte[blocks * info.TypeSize];
        rng.NextBytes(w);
        for (int b = 0; b < blocks; b++)
        {
            var block = w.AsSpan(b * info.TypeSize, info.TypeSize);
            if (b % 2 == 1) block.Clear();
            else IQuantTestData.SetScale(type, block, 0x3C00);
        }
        float row = Compare(codec, w, a, n, "zero blocks between random ones");
        var kernel = Kernel(codec, "Vector128");
        double sumOfBlocks = 0, scale = 0;
        int actBlockBytes = (int)GgmlTypes.Get(codec.VecDotType).RowBytes(info.BlockSize);
        fixed (byte* pw = w)
        fixed (byte* pa = a)
            for (int b = 0; b < blocks; b++)
            {
                float one = kernel.Invoke(pw + b * info.TypeSize, pa + b * actBlockBytes, info.BlockSize);
                if (b % 2 == 1) Assert.Equal(0f, one);
                sumOfBlocks += one;
                scale += Math.Abs(one);
            }
        Assert.True(scale > 0);
        Assert.True(Math.Abs(row - sumOfBlocks) <= 1e-5 * scale, $"{type}: row {row} vs Σ blocks {sumOfBlocks}");
    }
}
