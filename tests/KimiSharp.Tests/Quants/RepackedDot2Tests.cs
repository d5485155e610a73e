using KimiSharp.Quants;
using KimiSharp.Quants.Repacked;

namespace KimiSharp.Tests.Quants;

/// <summary>The two-token Q4_K and Q2_K gemm/gemv kernels give exactly the bits of two single-token calls.</summary>
public unsafe class RepackedDot2Tests
{
    [Theory]
    [InlineData(GgmlType.Q4_K, 256)]
    [InlineData(GgmlType.Q4_K, 2048)]
    [InlineData(GgmlType.Q4_K, 7168)]
    [InlineData(GgmlType.Q2_K, 256)]
    [InlineData(GgmlType.Q2_K, 7168)]
    public void Dot2_equals_two_single_token_calls(GgmlType type, int n)
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var w = BlockData.Random(type, n, seed, seed % 2 == 0 ? 0.5f : 0.01f);
            var a0 = new byte[GgmlTypes.Get(GgmlType.Q8_K).RowBytes(n)];
            var a1 = new byte[a0.Length];
            ActivationQuantizer.Quantize(GgmlType.Q8_K, TestData.Floats(n, seed + 100, 1f), a0);
            ActivationQuantizer.Quantize(GgmlType.Q8_K, TestData.Floats(n, seed + 200, seed % 3 == 0 ? 30f : 0.5f), a1);
            fixed (byte* pw = w)
            fixed (byte* p0 = a0)
            fixed (byte* p1 = a1)
            {
                foreach (bool gemm in new[] { true, false })
                {
                    LlamaRepack.Dot2(type, pw, p0, p1, n, gemm, out float y0, out float y1);
                    Assert.Equal(BitConverter.SingleToInt32Bits(LlamaRepack.Dot(type, pw, p0, n, gemm)), BitConverter.SingleToInt32Bits(y0));
                    Assert.Equal(BitConverter.SingleToInt32Bits(LlamaRepack.Dot(type, pw, p1, n, gemm)), BitConverter.SingleToInt32Bits(y1));
                }
            }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_K, 256)]
    [InlineData(GgmlType.Q4_K, 7168)]
    [InlineData(GgmlType.Q2_K, 256)]
    [InlineData(GgmlType.Q2_K, 7168)]
    public void Gemv_over_8_rows_equals_8_single_row_gemvs(GgmlType type, int n)
    {
        long rowBytes = GgmlTypes.Get(type).RowBytes(n);
        for (int seed = 0; seed < 6; seed++)
        {
            var w = BlockData.Random(type, 8 * n, seed, seed % 2 == 0 ? 0.5f : 0.01f);
            var a = new byte[GgmlTypes.Get(GgmlType.Q8_K).RowBytes(n)];
            ActivationQuantizer.Quantize(GgmlType.Q8_K, TestData.Floats(n, seed + 300, seed % 3 == 0 ? 30f : 1f), a);
            var y = new float[8];
            fixed (byte* pw = w)
            fixed (byte* pa = a)
            fixed (float* py = y)
            {
                if (type == GgmlType.Q4_K)
                    Q4KRepackedOrder.Gemv8Rows(pw, rowBytes, pa, n, py);
                else
                    Q2KRepackedOrder.Gemv8Rows(pw, rowBytes, pa, n, py);
                for (int r = 0; r < 8; r++)
                {
                    float single = type == GgmlType.Q4_K ? Q4KRepackedOrder.Gemv(pw + r * rowBytes, pa, n) : Q2KRepackedOrder.Gemv(pw + r * rowBytes, pa, n);
                    Assert.Equal(BitConverter.SingleToInt32Bits(single), BitConverter.SingleToInt32Bits(y[r]));
                }
            }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_K, 256)]
    [InlineData(GgmlType.Q4_K, 7168)]
    [InlineData(GgmlType.Q2_K, 256)]
    [InlineData(GgmlType.Q2_K, 7168)]
    public void Gemv_over_8_rows_for_two_tokens_equals_single_token_calls(GgmlType type, int n)
    {
        long rowBytes = GgmlTypes.Get(type).RowBytes(n);
        long actBytes = GgmlTypes.Get(GgmlType.Q8_K).RowBytes(n);
        for (int seed = 0; seed < 4; seed++)
        {
            var w = BlockData.Random(type, 8 * n, seed, seed % 2 == 0 ? 0.5f : 0.01f);
            var a = new byte[2 * actBytes];
            ActivationQuantizer.Quantize(GgmlType.Q8_K, TestData.Floats(n, seed + 500, 1f), a.AsSpan(0, (int)actBytes));
            ActivationQuantizer.Quantize(GgmlType.Q8_K, TestData.Floats(n, seed + 600, seed % 3 == 0 ? 30f : 1f), a.AsSpan((int)actBytes));
            var y = new float[16];
            fixed (byte* pw = w)
            fixed (byte* pa = a)
            fixed (float* py = y)
            {
                if (type == GgmlType.Q4_K)
                    Q4KRepackedOrder.Gemv8RowsTwoTokens(pw, rowBytes, pa, pa + actBytes, n, py, py + 8);
                else
                    Q2KRepackedOrder.Gemv8RowsTwoTokens(pw, rowBytes, pa, pa + actBytes, n, py, py + 8);
                for (int tok = 0; tok < 2; tok++)
                    for (int r = 0; r < 8; r++)
                    {
                        byte* row = pw + r * rowBytes, act = pa + tok * actBytes;
                        float single = type == GgmlType.Q4_K ? Q4KRepackedOrder.Gemv(row, act, n) : Q2KRepackedOrder.Gemv(row, act, n);
                        Assert.Equal(BitConverter.SingleToInt32Bits(single), BitConverter.SingleToInt32Bits(y[8 * tok + r]));
                    }
            }
        }
    }
}
