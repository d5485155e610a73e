using KimiSharp.Compute;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// The mat-vec entry point (<see cref="IQuantCodec.VecDotRows"/>): for every type, each output is bit-identical to that
/// row's <see cref="IQuantCodec.VecDot"/>, for any row count (the multi-row kernels' groups and the leftover rows) and a
/// row stride larger than a row; and MatMul's vec_dot-order path gives the same bits.
/// </summary>
public unsafe class VecDotRowsTests
{
    public static TheoryData<GgmlType> AllTypes()
    {
        var data = new TheoryData<GgmlType>();
        foreach (var t in Enum.GetValues<GgmlType>().Where(QuantCodecs.IsSupported).Where(t => t != GgmlType.Q8_K && t != GgmlType.Q8_1))
            data.Add(t);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Every_row_equals_its_vec_dot_bit_for_bit(GgmlType t)
    {
        var codec = QuantCodecs.GetCodec(t);
        int block = GgmlTypes.Get(t).BlockSize;
        foreach (var (cols, rows) in new[] { (block * 3, 1), (Math.Max(256, block) * 2, 4), (block * 9, 7), (Math.Max(256, block) * 4, 13) })
        {
            long rowBytes = GgmlTypes.Get(t).RowBytes(cols);
            long stride = rowBytes + 64; // rows need not be packed back to back
            var w = BlockData.Random(t, rows * cols, cols + rows, 0.05f);
            var strided = new byte[stride * rows];
            for (int r = 0; r < rows; r++)
                w.AsSpan((int)(r * rowBytes), (int)rowBytes).CopyTo(strided.AsSpan((int)(r * stride)));
            var act = new byte[GgmlTypes.Get(codec.VecDotType).RowBytes(cols)];
            ActivationQuantizer.Quantize(codec.VecDotType, TestData.Floats(cols, rows, 3f), act);
            var y = new float[rows + 1];
            y[rows] = 12345f;
            fixed (byte* pw = strided)
            fixed (byte* pa = act)
            fixed (float* py = y)
            {
                codec.VecDotRows(pw, stride, pa, cols, py, rows);
                for (int r = 0; r < rows; r++)
                {
                    float single = codec.VecDot(pw + r * stride, pa, cols);
                    Assert.True(BitConverter.SingleToUInt32Bits(single) == BitConverter.SingleToUInt32Bits(y[r]),
                        $"{t} {cols} cols: row {r} of {rows}: VecDotRows {y[r]:R}, VecDot {single:R}");
                }
            }
            Assert.Equal(12345f, y[rows]); // nothing written past the rows asked for
        }
    }

    /// <summary>The multi-row kernels of the 32-wide types against ggml's own vec_dot, row by row.</summary>
    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_1)]
    public void Multi_row_kernels_equal_ggml_vec_dot(GgmlType t)
    {
        if (!GgmlOracle.IsReproducedBuild)
            return; // not the ggml build reproduced on this CPU; elsewhere VecDot's own tests cover the kernels
        var codec = QuantCodecs.GetCodec(t);
        const int rows = 10, cols = 32 * 37;
        long rowBytes = GgmlTypes.Get(t).RowBytes(cols);
        var w = BlockData.Random(t, rows * cols, 77, 0.05f);
        var act = new byte[GgmlTypes.Get(codec.VecDotType).RowBytes(cols)];
        ActivationQuantizer.Quantize(codec.VecDotType, TestData.Floats(cols, 78, 2f), act);
        var y = new float[rows];
        fixed (byte* pw = w)
        fixed (byte* pa = act)
        fixed (float* py = y)
            codec.VecDotRows(pw, rowBytes, pa, cols, py, rows);
        for (int r = 0; r < rows; r++)
        {
            float ggml = GgmlOracle.VecDot(t, w.AsSpan((int)(r * rowBytes), (int)rowBytes).ToArray(), act, cols);
            Assert.True(BitConverter.SingleToUInt32Bits(ggml) == BitConverter.SingleToUInt32Bits(y[r]), $"{t} row {r}: ours {y[r]:R}, ggml {ggml:R}");
        }
    }

    /// <summary>MatMul's vec_dot-order path (row groups × token tiles over the pool) gives each row's VecDot bits.</summary>
    [Theory]
    [InlineData(GgmlType.Q8_0, 2, 3)]
    [InlineData(GgmlType.Q5_1, 1, 1)]
    [InlineData(GgmlType.Q6_K, 2, 11)]
    public void MatMul_in_vec_dot_order_equals_vec_dot(GgmlType t, int threads, int tokens)
    {
        const int rows = 45, cols = 512;
        var codec = QuantCodecs.GetCodec(t);
        var w = BlockData.Random(t, rows * cols, 5, 0.05f);
        var x = TestData.Floats(tokens * cols, 6);
        long rowBytes = GgmlTypes.Get(t).RowBytes(cols);
        var y = new float[tokens * rows];
        using var pool = new WorkerPool(threads);
        fixed (byte* pw = w)
        {
            var matrix = new QuantMatrix(pw, t, rows, cols);
            MatMul.Multiply(matrix, x, tokens, y, pool, MatMulPath.NoRepack | MatMulPath.BatchInvariant);
            long actBytes = GgmlTypes.Get(codec.VecDotType).RowBytes(cols);
            var act = new byte[actBytes];
            for (int tk = 0; tk < tokens; tk++)
            {
                ActivationQuantizer.Quantize(codec.VecDotType, x.AsSpan(tk * cols, cols), act);
                fixed (byte* pa = act)
                    for (int r = 0; r < rows; r++)
                    {
                        float single = codec.VecDot(pw + r * rowBytes, pa, cols);
                        Assert.True(BitConverter.SingleToUInt32Bits(single) == BitConverter.SingleToUInt32Bits(y[tk * rows + r]),
                            $"{t} token {tk} row {r}: MatMul {y[tk * rows + r]:R}, VecDot {single:R}");
                    }
            }
        }
    }

    /// <summary>The checked span entry point: same bits as VecDot per row; wrong lengths throw naming the type.</summary>
    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.IQ2_XXS)]
    public void MatVec_checks_lengths_and_equals_vec_dot(GgmlType t)
    {
        var codec = QuantCodecs.GetCodec(t);
        const int rows = 5, cols = 512;
        long rowBytes = GgmlTypes.Get(t).RowBytes(cols);
        var w = new byte[rowBytes * rows];
        RandomBlocks.Fill(t, w, new Random(9), 0.05f);
        var act = new byte[GgmlTypes.Get(codec.VecDotType).RowBytes(cols)];
        ActivationQuantizer.Quantize(codec.VecDotType, TestData.Floats(cols, 10), act);
        var y = new float[rows];
        QuantCodecs.MatVec(t, w, act, cols, y);
        fixed (byte* pw = w)
        fixed (byte* pa = act)
            for (int r = 0; r < rows; r++)
                Assert.Equal(BitConverter.SingleToUInt32Bits(codec.VecDot(pw + r * rowBytes, pa, cols)), BitConverter.SingleToUInt32Bits(y[r]));

        var e1 = Assert.Throws<ArgumentException>(() => QuantCodecs.MatVec(t, w.AsSpan(1), act, cols, y));
        Assert.Contains(t.ToString(), e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => QuantCodecs.MatVec(t, w, act.AsSpan(1), cols, y));
        Assert.Contains(codec.VecDotType.ToString(), e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => QuantCodecs.MatVec(t, w, act, cols + 1, y));
        Assert.Contains(t.ToString(), e3.Message);
        Assert.Throws<ArgumentException>(() => QuantCodecs.MatVec(t, w, act, cols, new float[rows + 1]));
        Assert.Throws<NotSupportedException>(() => QuantCodecs.MatVec((GgmlType)63, w, act, cols, y));
    }

    /// <summary>The two-token mat-vec gives each token's VecDotRows bits, for every type (shared-decode kernels included).</summary>
    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Two_token_rows_equal_single_token_rows_bit_for_bit(GgmlType t)
    {
        var codec = QuantCodecs.GetCodec(t);
        int cols = Math.Max(256, GgmlTypes.Get(t).BlockSize) * 3;
        const int rows = 5;
        long rowBytes = GgmlTypes.Get(t).RowBytes(cols);
        var w = new byte[rowBytes * rows];
        RandomBlocks.Fill(t, w, new Random(cols), 0.05f);
        long actBytes = GgmlTypes.Get(codec.VecDotType).RowBytes(cols);
        var act = new byte[2 * actBytes];
        ActivationQuantizer.Quantize(codec.VecDotType, TestData.Floats(cols, 21, 2f), act.AsSpan(0, (int)actBytes));
        ActivationQuantizer.Quantize(codec.VecDotType, TestData.Floats(cols, 22, 40f), act.AsSpan((int)actBytes));
        var two = new float[2 * rows];
        var one = new float[2 * rows];
        fixed (byte* pw = w)
        fixed (byte* pa = act)
        fixed (float* p2 = two)
        fixed (float* p1 = one)
        {
            codec.VecDotRowsTwoTokens(pw, rowBytes, pa, pa + actBytes, cols, p2, p2 + rows, rows);
            codec.VecDotRows(pw, rowBytes, pa, cols, p1, rows);
            codec.VecDotRows(pw, rowBytes, pa + actBytes, cols, p1 + rows, rows);
        }
        for (int i = 0; i < 2 * rows; i++)
            Assert.True(BitConverter.SingleToUInt32Bits(one[i]) == BitConverter.SingleToUInt32Bits(two[i]),
                $"{t} token {i / rows} row {i % rows}: two-token {two[i]:R}, single {one[i]:R}");
    }
}
