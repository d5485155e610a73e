using KimiSharp.Quants;
using KimiSharp.Quants.Repacked;

namespace KimiSharp.Tests.Quants;

/// <summary>The two-token Q4_K gemm/gemv gives exactly the bits of two single-token calls.</summary>
public unsafe class Q4KRepackedDot2Tests
{
    [Theory]
    [InlineData(256)]
    [InlineData(2048)]
    [InlineData(7168)]
    public void Dot2_equals_two_single_token_calls(int n)
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var w = BlockData.Random(GgmlType.Q4_K, n, seed, seed % 2 == 0 ? 0.5f : 0.01f);
            var a0 = new byte[GgmlTypes.Get(GgmlType.Q8_K).RowBytes(n)];
            var a1 = new byte[a0.Length];
            ActivationQuantizer.Quantize(GgmlType.Q8_K, TestData.Floats(n, seed + 100, 1f), a0);
            ActivationQuantizer.Quantize(GgmlType.Q8_K, TestData.Floats(n, seed + 200, seed % 3 == 0 ? 30f : 0.5f), a1);
            fixed (byte* pw = w)
            fixed (byte* p0 = a0)
            fixed (byte* p1 = a1)
            {
                Q4KRepackedOrder.Dot2(pw, p0, p1, n, gemm: true, out float g0, out float g1);
                Assert.Equal(BitConverter.SingleToInt32Bits(Q4KRepackedOrder.Gemm(pw, p0, n)), BitConverter.SingleToInt32Bits(g0));
                Assert.Equal(BitConverter.SingleToInt32Bits(Q4KRepackedOrder.Gemm(pw, p1, n)), BitConverter.SingleToInt32Bits(g1));
                Q4KRepackedOrder.Dot2(pw, p0, p1, n, gemm: false, out float v0, out float v1);
                Assert.Equal(BitConverter.SingleToInt32Bits(Q4KRepackedOrder.Gemv(pw, p0, n)), BitConverter.SingleToInt32Bits(v0));
                Assert.Equal(BitConverter.SingleToInt32Bits(Q4KRepackedOrder.Gemv(pw, p1, n)), BitConverter.SingleToInt32Bits(v1));
            }
        }
    }
}
