using KimiSharp.Compute;
using KimiSharp.Quants;
using KimiSharp.Tests.Quants;

namespace KimiSharp.Tests.Compute;

/// <summary>
/// <see cref="GgmlFloatOrder"/> against ggml-cpu's own exported ggml_vec_dot_f32, ggml_vec_soft_max_f32,
/// ggml_vec_swiglu_f32 and tinyBLAS, bit for bit. The order reproduced is that of the build LLamaSharp loads on this CPU
/// (AVX-512 or AVX2), so the comparisons run where the oracle loaded is that build.
/// </summary>
public unsafe class GgmlFloatOrderTests
{
    private static bool OracleIsReproducedBuild => GgmlOracle.IsReproducedBuild;

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
        if (!OracleIsReproducedBuild)
            return; // not the build whose order is reproduced on this CPU
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
        int width0 = GgmlFloatOrder.TinyBlasLanes; // 16 (AVX-512 build: halving), 8 (AVX2 build: hsum)
        var lanes = new float[width0];
        for (int i = 0; i < n; i++)
            lanes[i % width0] = MathF.FusedMultiplyAdd(x[i], y[i], lanes[i % width0]);
        if (width0 == 16)
            for (int width = 8; width >= 1; width /= 2)
                for (int i = 0; i < width; i++)
                    lanes[i] += lanes[i + width];
        else
        {
            for (int i = 0; i < 4; i++)
                lanes[i] += lanes[i + 4];
            lanes[0] = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
        }
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
        if (!OracleIsReproducedBuild)
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

    /// <summary>
    /// ggml's own mul_mat of F32/F16/BF16 weights and a 3-token batch (tinyBLAS where n is a multiple of the build's 16 or
    /// 8 lanes, else vec_dot): every output equals ours, through <see cref="MatMul.Multiply(in QuantMatrix, ReadOnlySpan{float}, int, Span{float}, WorkerPool, MatMulPath)"/>
    /// and through the one-accumulator dot where <see cref="MatMul.UsesTinyBlasOrder"/> says tinyBLAS runs.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    public void Batched_float_mul_mat_is_bit_identical_to_ggml(GgmlType type)
    {
        if (!OracleIsReproducedBuild)
            return;
        const int rows = 8, tokens = 3;
        using var pool = new WorkerPool(2);
        int size = type == GgmlType.F32 ? 4 : 2;
        foreach (int n in new[] { 16, 64, 200, 576, 4096 })
        {
            var rng = new Random(n + (int)type);
            var wf = RandomFloats(rng, rows * n, 1f);
            var af = RandomFloats(rng, tokens * n, 1f);
            var w = new byte[rows * n * size];
            var a = new byte[tokens * n * size];
            QuantCodecs.Quantize(type, wf, w);
            QuantCodecs.Quantize(type, af, a); // the activations as ggml converts them to the vec_dot type
            var expected = GgmlOracle.MulMat(type, w, rows, n, af, tokens);
            var viaMatMul = new float[tokens * rows];
            fixed (byte* pw = w)
                MatMul.Multiply(new QuantMatrix(pw, type, rows, n), af, tokens, viaMatMul, pool);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(viaMatMul[i]),
                    $"{type} n={n} output {i}: ggml {expected[i]:R} MatMul {viaMatMul[i]:R}");
            if (!MatMul.UsesTinyBlasOrder(type, rows, n, tokens, indexed: false))
                continue;
            fixed (byte* pw = w)
            fixed (byte* pa = a)
                for (int t = 0; t < tokens; t++)
                    for (int r = 0; r < rows; r++)
                    {
                        byte* wr = pw + r * n * size, ar = pa + t * n * size;
                        float ours = type switch
                        {
                            GgmlType.F32 => GgmlFloatOrder.DotOneAccumulator((float*)wr, (float*)ar, n),
                            GgmlType.F16 => TinyBlasHalfDot.F16((ushort*)wr, (ushort*)ar, n),
                            _ => TinyBlasHalfDot.BF16((ushort*)wr, (ushort*)ar, n),
                        };
                        float e = expected[t * rows + r];
                        Assert.True(BitConverter.SingleToInt32Bits(e) == BitConverter.SingleToInt32Bits(ours),
                            $"{type} n={n} row {r} token {t}: ggml {e:R} one-accumulator dot {ours:R}");
                    }
        }
    }

    /// <summary>SwiGLU against ggml_vec_swiglu_f32: the vector exp of the build (large |x| included: its rescaled and
    /// overflow branches) and the libm tail.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(37)]
    [InlineData(300)]
    public void SwiGlu_is_bit_identical_to_ggml_vec_swiglu_f32(int n)
    {
        if (!OracleIsReproducedBuild)
            return;
        var rng = new Random(200 + n);
        for (int trial = 0; trial < 20; trial++)
        {
            float spread = trial % 4 == 0 ? 120f : trial % 4 == 1 ? 95f : 6f;
            var gate = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * spread).ToArray();
            var up = RandomFloats(rng, n, 2f);
            var expected = new float[n];
            GgmlOracle.VecSwiGluF32(gate, up, expected);
            var ours = (float[])gate.Clone();
            SwiGlu.Apply(ours, up, n);
            for (int i = 0; i < n; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(ours[i]),
                    $"trial {trial} i {i}: x {gate[i]:R}: ggml {expected[i]:R} ours {ours[i]:R}");
        }
    }
}
