using System.Runtime.InteropServices;
using KimiSharp.Compute;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Compute;

public unsafe class HeadProductsTests
{
    /// <summary>
    /// Every head's product, read and written through interleaved strides ([T, H, cols] in, [T, H, rows] out), against
    /// a double-precision product over the dequantized weights and the activations as the codec quantizes them.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.F32, 8, 64, 32, 5)]      // kimi-tiny attn_k_b: 64×32, odd token count
    [InlineData(GgmlType.F32, 3, 37, 20, 2)]      // rows and columns that are no multiple of 4 or 8
    [InlineData(GgmlType.Q8_0, 4, 130, 128, 3)]   // Kimi-K2-like attn_k_b rows in Q8_0, a partial row chunk
    [InlineData(GgmlType.Q4_K, 2, 16, 256, 4)]
    public void Products_match_a_double_reference_through_strides(GgmlType type, int heads, int rows, int cols, int tokens)
    {
        var rng = new Random(rows + cols);
        long rowBytes = GgmlTypes.Get(type).RowBytes(cols), headBytes = rowBytes * rows;
        var weights = new byte[headBytes * heads];
        var w = new float[(long)heads * rows * cols];
        var row = new float[cols];
        for (int i = 0; i < heads * rows; i++)
        {
            for (int k = 0; k < cols; k++)
                row[k] = (float)(rng.NextDouble() * 2 - 1);
            var dst = weights.AsSpan((int)(i * rowBytes), (int)rowBytes);
            QuantCodecs.Quantize(type, row, dst);
            QuantCodecs.Dequantize(type, dst, w.AsSpan(i * cols, cols));
        }
        var x = Enumerable.Range(0, tokens * heads * cols).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var y = new float[tokens * heads * rows];
        using var pool = new WorkerPool(2);
        fixed (byte* wp = weights)
        fixed (float* xp = x, yp = y)
        {
            var m = new QuantMatrix(wp, type, rows, cols);
            HeadProducts.Multiply(m, headBytes, heads, new HeadProducts.Operands
            {
                X = xp, XHead = cols, XToken = (long)heads * cols, Y = yp, YHead = rows, YToken = (long)heads * rows, Tokens = tokens,
            }, pool);
        }
        var actType = QuantCodecs.VecDotType(type);
        var act = new byte[GgmlTypes.Get(actType).RowBytes(cols)];
        var xq = new float[cols];
        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < heads; h++)
            {
                var xs = x.AsSpan((t * heads + h) * cols, cols);
                ActivationQuantizer.Quantize(actType, xs, act);
                QuantCodecs.Dequantize(actType, act, xq);
                for (int r = 0; r < rows; r++)
                {
                    double expected = 0;
                    for (int k = 0; k < cols; k++)
                        expected += (double)w[((long)h * rows + r) * cols + k] * xq[k];
                    float actual = y[(t * heads + h) * rows + r];
                    Assert.True(Math.Abs(actual - expected) <= 1e-4 * Math.Sqrt(cols), $"t {t} h {h} r {r}: {actual} vs {expected}");
                }
            }
    }
}
