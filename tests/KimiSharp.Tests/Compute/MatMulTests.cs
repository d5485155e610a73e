using KimiSharp.Compute;
using KimiSharp.Quants;
using KimiSharp.Tests.Quants;

namespace KimiSharp.Tests.Compute;

public unsafe class MatMulTests
{
    public static TheoryData<GgmlType, int, int> Cases => new()
    {
        { GgmlType.Q4_K, 1, 1 }, { GgmlType.Q4_K, 3, 17 }, { GgmlType.Q8_0, 2, 5 }, { GgmlType.Q6_K, 3, 1 },
        { GgmlType.Q2_K, 2, 9 }, { GgmlType.Q4_1, 2, 3 }, { GgmlType.F32, 2, 2 }, { GgmlType.BF16, 1, 4 },
    };

    /// <summary>Exact reference: dequantized weights · dequantized (quantized) activations, in double.</summary>
    private static double[] Reference(GgmlType t, byte[] w, int rows, int cols, float[] x, int tokens, out double[] tolerance)
    {
        var wf = new float[rows * cols];
        QuantCodecs.Dequantize(t, w, wf);
        var actType = QuantCodecs.VecDotType(t);
        var rowBytes = (int)GgmlTypes.Get(actType).RowBytes(cols);
        var y = new double[tokens * rows];
        tolerance = new double[tokens * rows];
        for (int tk = 0; tk < tokens; tk++)
        {
            var q = new byte[rowBytes];
            ActivationQuantizer.Quantize(actType, x.AsSpan(tk * cols, cols), q);
            var af = new float[cols];
            QuantCodecs.Dequantize(actType, q, af);
            double an = Math.Sqrt(af.Sum(v => (double)v * v));
            for (int r = 0; r < rows; r++)
            {
                double s = 0, wn = 0;
                for (int k = 0; k < cols; k++)
                {
                    s += (double)wf[r * cols + k] * af[k];
                    wn += (double)wf[r * cols + k] * wf[r * cols + k];
                }
                y[tk * rows + r] = s;
                tolerance[tk * rows + r] = 1e-5 * Math.Sqrt(wn) * an + 1e-30;
            }
        }
        return y;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Multiply_matches_dequantized_reference(GgmlType t, int threads, int tokens)
    {
        const int rows = 67, cols = 512;
        var w = BlockData.Random(t, rows * cols, 42, 0.05f);
        var x = TestData.Floats(tokens * cols, 43);
        var expected = Reference(t, w, rows, cols, x, tokens, out var tol);
        var y = new float[tokens * rows];
        using var pool = new WorkerPool(threads);
        fixed (byte* pw = w)
            MatMul.Multiply(new QuantMatrix(pw, t, rows, cols), x, tokens, y, pool);
        for (int i = 0; i < y.Length; i++)
            Assert.True(Math.Abs(y[i] - expected[i]) <= tol[i], $"{t} y[{i}] = {y[i]}, expected {expected[i]} ± {tol[i]}");
    }

    public static TheoryData<GgmlType, int> FastCases => new()
    {
        { GgmlType.Q4_K, 1 }, { GgmlType.Q4_K, 9 }, { GgmlType.Q4_K, 70 }, { GgmlType.Q6_K, 2 }, { GgmlType.Q6_K, 17 },
        { GgmlType.IQ2_XXS, 1 }, { GgmlType.IQ2_XXS, 13 }, { GgmlType.Q8_0, 5 }, { GgmlType.Q5_0, 3 }, { GgmlType.F32, 4 },
    };

    private static byte[] ValidWeights(GgmlType t, int elements, int seed)
    {
        var w = new byte[GgmlTypes.Get(t).RowBytes(elements)];
        RandomBlocks.Fill(t, w, new Random(seed), 0.05f);
        return w;
    }

    [Theory]
    [MemberData(nameof(FastCases))]
    public void Fast_path_matches_dequantized_reference(GgmlType t, int tokens)
    {
        const int rows = 37, cols = 512;
        var w = ValidWeights(t, rows * cols, 21);
        var x = TestData.Floats(tokens * cols, 22);
        var expected = Reference(t, w, rows, cols, x, tokens, out var tol);
        var y = new float[tokens * rows];
        using var pool = new WorkerPool(2);
        fixed (byte* pw = w)
            MatMul.Multiply(new QuantMatrix(pw, t, rows, cols), x, tokens, y, pool, MatMulPath.Fast);
        for (int i = 0; i < y.Length; i++)
            Assert.True(Math.Abs(y[i] - expected[i]) <= tol[i], $"{t} fast y[{i}] = {y[i]}, expected {expected[i]} ± {tol[i]}");
    }

    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.IQ2_XXS)]
    [InlineData(GgmlType.Q8_0)]
    public void Fast_batch_invariant_batches_equal_tokens_run_alone(GgmlType t)
    {
        const int rows = 24, cols = 512, tokens = 11;
        var w = ValidWeights(t, rows * cols, 31);
        var x = TestData.Floats(tokens * cols, 32);
        using var pool = new WorkerPool(2);
        var batch = new float[tokens * rows];
        var one = new float[rows];
        const MatMulPath path = MatMulPath.Fast | MatMulPath.BatchInvariant;
        fixed (byte* pw = w)
        {
            var m = new QuantMatrix(pw, t, rows, cols);
            MatMul.Multiply(m, x, tokens, batch, pool, path);
            for (int k = 0; k < tokens; k++)
            {
                MatMul.Multiply(m, x.AsSpan(k * cols, cols), 1, one, pool, path);
                Assert.Equal(one, batch.AsSpan(k * rows, rows).ToArray());
            }
            // expert rows (a MoE selection of tokens) give the same bits as well
            var buffer = new byte[MatMul.ActivationBytes(t, cols, tokens)];
            fixed (byte* pb = buffer)
            {
                var a = MatMul.QuantizeActivations(QuantCodecs.VecDotType(t), x, tokens, cols, pb, buffer.Length, pool);
                int[] selected = [7, 2, 10];
                var ySel = new float[selected.Length * rows];
                MatMul.Multiply(m, a, selected, ySel, pool, path);
                for (int i = 0; i < selected.Length; i++)
                    Assert.Equal(batch.AsSpan(selected[i] * rows, rows).ToArray(), ySel.AsSpan(i * rows, rows).ToArray());
            }
        }
    }

    [Fact]
    public void Multiply_is_close_to_the_float_product()
    {
        const int rows = 40, cols = 1024;
        var wf = TestData.Floats(rows * cols, 5, 0.1f);
        var w = new byte[GgmlTypes.Get(GgmlType.Q8_0).RowBytes(rows * cols)];
        QuantCodecs.Quantize(GgmlType.Q8_0, wf, w);
        var x = TestData.Floats(cols, 6);
        var y = new float[rows];
        using var pool = new WorkerPool(2);
        fixed (byte* pw = w)
            MatMul.Multiply(new QuantMatrix(pw, GgmlType.Q8_0, rows, cols), x, 1, y, pool);
        for (int r = 0; r < rows; r++)
        {
            double s = 0, n = 0, xn = 0;
            for (int k = 0; k < cols; k++) { s += wf[r * cols + k] * x[k]; n += wf[r * cols + k] * wf[r * cols + k]; xn += x[k] * x[k]; }
            Assert.True(Math.Abs(y[r] - s) <= 0.02 * Math.Sqrt(n * xn), $"row {r}: {y[r]} vs float {s}");
        }
    }

    [Fact]
    public void Shared_activations_serve_several_matrices_and_selected_rows()
    {
        const int rows = 33, cols = 256, tokens = 5;
        var gate = BlockData.Random(GgmlType.Q4_K, rows * cols, 1);
        var up = BlockData.Random(GgmlType.Q5_K, rows * cols, 2);
        var x = TestData.Floats(tokens * cols, 3);
        using var pool = new WorkerPool(2);
        long bytes = MatMul.ActivationBytes(GgmlType.Q4_K, cols, tokens);
        var buffer = new byte[bytes];
        fixed (byte* pb = buffer)
        fixed (byte* pg = gate)
        fixed (byte* pu = up)
        {
            var a = MatMul.QuantizeActivations(GgmlType.Q8_K, x, tokens, cols, pb, bytes, pool);
            var g = new QuantMatrix(pg, GgmlType.Q4_K, rows, cols);
            var u = new QuantMatrix(pu, GgmlType.Q5_K, rows, cols);
            var yg = new float[tokens * rows];
            var yu = new float[tokens * rows];
            MatMul.Multiply(g, a, yg, pool);
            MatMul.Multiply(u, a, yu, pool);
            var yFull = new float[tokens * rows];
            MatMul.Multiply(g, x, tokens, yFull, pool);
            Assert.Equal(yFull, yg);

            int[] selected = [4, 1];
            var ySel = new float[2 * rows];
            MatMul.Multiply(u, a, selected, ySel, pool);
            Assert.Equal(yu.AsSpan(4 * rows, rows).ToArray(), ySel.AsSpan(0, rows).ToArray());
            Assert.Equal(yu.AsSpan(1 * rows, rows).ToArray(), ySel.AsSpan(rows, rows).ToArray());

            // a slice of rows gives the same numbers as the full matrix
            var ySlice = new float[tokens * 10];
            MatMul.Multiply(g.Slice(20, 10), a, ySlice, pool);
            for (int t = 0; t < tokens; t++)
                Assert.Equal(yg.AsSpan(t * rows + 20, 10).ToArray(), ySlice.AsSpan(t * 10, 10).ToArray());
        }
    }

    [Fact]
    public void Expert_view_addresses_one_expert_of_a_3d_tensor()
    {
        const int experts = 3, rows = 4, cols = 256;
        var all = BlockData.Random(GgmlType.Q6_K, experts * rows * cols, 9);
        fixed (byte* pinned = all)
        {
            nint p0 = (nint)pinned;
            byte* p = pinned;
            var e2 = QuantMatrix.Expert(p, GgmlType.Q6_K, experts, rows, cols, 2);
            Assert.Equal((long)(p + 2 * rows * 210), (long)e2.Data);
            Assert.Throws<ArgumentOutOfRangeException>(() => QuantMatrix.Expert((byte*)p0, GgmlType.Q6_K, experts, rows, cols, 3));
        }
    }

    [Fact]
    public void Bad_shapes_throw_naming_the_type()
    {
        var w = new byte[210 * 4];
        using var pool = new WorkerPool(1);
        fixed (byte* pinned = w)
        {
            nint p0 = (nint)pinned;
            byte* p = pinned;
            var e = Assert.Throws<ArgumentException>(() => new QuantMatrix((byte*)p0, GgmlType.Q6_K, 4, 100));
            Assert.Contains("Q6_K", e.Message);
            Assert.Throws<NotSupportedException>(() => new QuantMatrix((byte*)p0, (GgmlType)31, 4, 256));
            var m = new QuantMatrix(p, GgmlType.Q6_K, 4, 256);
            Assert.Throws<ArgumentException>(() => MatMul.Multiply(m, new float[256], 1, new float[3], pool));
            Assert.Throws<ArgumentException>(() => MatMul.Multiply(m, new float[255], 1, new float[4], pool));
        }
    }
}
