using System.Runtime.Intrinsics.X86;
using KimiSharp.Compute;
using KimiSharp.Tests.Quants;

namespace KimiSharp.Tests.Compute;

/// <summary>
/// <see cref="GgmlFloatOrder"/> against ggml-cpu's own exported ggml_vec_dot_f32 and ggml_vec_soft_max_f32, bit for
/// bit. The order being reproduced is the AVX-512 build's, so the comparison runs where the oracle loaded is that build.
/// </summary>
public unsafe class GgmlFloatOrderTests
{
    private static bool OracleIsAvx512 => GgmlOracle.LibraryDirectory.EndsWith("avx512", StringComparison.Ordinal);

    private static float[] RandomFloats(Random rng, int n, float scale) =>
        Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale * (rng.Next(8) == 0 ? 100f : 1f)).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(48)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(80)]
    [InlineData(129)]
    [InlineData(576)]
    [InlineData(1000)]
    public void Dot_is_bit_identical_to_ggml_vec_dot_f32(int n)
    {
        if (!OracleIsAvx512)
            return; // the order reproduced is the AVX-512 build's; other builds order differently
        var rng = new Random(n);
        for (int trial = 0; trial < 50; trial++)
        {
            var x = RandomFloats(rng, n, 3f);
            var y = RandomFloats(rng, n, 0.5f);
            float ours;
            fixed (float* px = x)
            fixed (float* py = y)
                ours = GgmlFloatOrder.Dot(px, py, n);
            Assert.Equal(BitConverter.SingleToInt32Bits(GgmlOracle.VecDotF32(x, y)), BitConverter.SingleToInt32Bits(ours));
        }
    }

    [Fact]
    public void Dot_differs_from_a_plain_sequential_sum_on_some_inputs()
    {
        // Guards the premise: if ordering did not matter these kernels would be pointless.
        var rng = new Random(3);
        int differing = 0;
        for (int trial = 0; trial < 100; trial++)
        {
            var x = RandomFloats(rng, 576, 3f);
            var y = RandomFloats(rng, 576, 0.5f);
            float sequential = 0;
            for (int i = 0; i < x.Length; i++)
                sequential += x[i] * y[i];
            fixed (float* px = x)
            fixed (float* py = y)
                if (GgmlFloatOrder.Dot(px, py, x.Length) != sequential)
                    differing++;
        }
        Assert.True(differing > 10, $"only {differing}/100 differ");
    }

    [Theory]
    [InlineData(16)]
    [InlineData(64)]
    [InlineData(320)]
    public void DotOneAccumulator_matches_a_lane_by_lane_emulation(int n)
    {
        var rng = new Random(n);
        var x = RandomFloats(rng, n, 2f);
        var y = RandomFloats(rng, n, 2f);
        var lanes = new float[16];
        for (int i = 0; i < n; i++)
            lanes[i % 16] = MathF.FusedMultiplyAdd(x[i], y[i], lanes[i % 16]);
        for (int width = 8; width >= 1; width /= 2)
            for (int i = 0; i < width; i++)
                lanes[i] += lanes[i + width];
        fixed (float* px = x)
        fixed (float* py = y)
            Assert.Equal(lanes[0], GgmlFloatOrder.DotOneAccumulator(px, py, n));
        Assert.Throws<ArgumentException>(() =>
        {
            fixed (float* px = x)
            fixed (float* py = y)
                GgmlFloatOrder.DotOneAccumulator(px, py, n - 1);
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(37)]
    [InlineData(64)]
    [InlineData(300)]
    public void SoftmaxExp_is_bit_identical_to_ggml_vec_soft_max_f32(int n)
    {
        if (!OracleIsAvx512 || !Avx512F.IsSupported)
            return;
        var rng = new Random(100 + n);
        for (int trial = 0; trial < 30; trial++)
        {
            // Scores spread from 0 down to −200 below the max (underflow, subnormals) plus masked −∞ entries.
            var x = Enumerable.Range(0, n).Select(_ => rng.Next(10) == 0 ? float.NegativeInfinity
                : (float)(-rng.NextDouble() * (trial % 3 == 0 ? 200 : 12))).ToArray();
            float max = x.Max();
            if (float.IsNegativeInfinity(max))
                continue;
            var expected = new float[n];
            double expectedSum = GgmlOracle.VecSoftMaxF32(x, expected, max);
            var ours = new float[n];
            double sum;
            fixed (float* px = x)
            fixed (float* py = ours)
                sum = GgmlFloatOrder.SoftmaxExp(py, px, max, n);
            Assert.Equal(expectedSum, sum);
            for (int i = 0; i < n; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(ours[i]),
                    $"trial {trial} i {i}: x−max {x[i] - max}: ggml {expected[i]:R} ours {ours[i]:R}");
        }
    }
}
