using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

public class GgmlOracleTests
{
    [Theory]
    [InlineData(GgmlType.Q4_K, GgmlType.Q8_K)]
    [InlineData(GgmlType.Q2_K, GgmlType.Q8_K)]
    [InlineData(GgmlType.Q4_0, GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_1, GgmlType.Q8_1)]
    [InlineData(GgmlType.IQ2_XXS, GgmlType.Q8_K)]
    public void Oracle_reports_ggml_vec_dot_types(GgmlType weight, GgmlType activation) =>
        Assert.Equal(activation, GgmlOracle.VecDotType(weight));

    [Fact]
    public void Oracle_dequantizes_a_hand_built_Q8_0_block()
    {
        var block = new byte[34];
        BitConverter.TryWriteBytes(block, BitConverter.HalfToUInt16Bits((Half)0.5f));
        for (int i = 0; i < 32; i++) block[2 + i] = (byte)(sbyte)(i - 16);
        var y = GgmlOracle.Dequantize(GgmlType.Q8_0, block, 32);
        for (int i = 0; i < 32; i++) Assert.Equal((i - 16) * 0.5f, y[i]);
    }

    [Fact]
    public void Fp16_conversions_match_ggml_for_every_half()
    {
        var all = new byte[65536 * 2];
        for (int h = 0; h < 65536; h++) BitConverter.TryWriteBytes(all.AsSpan(2 * h), (ushort)h);
        var expected = GgmlOracle.Dequantize(GgmlType.F16, all, 65536);
        for (int h = 0; h < 65536; h++)
            Assert.Equal(BitConverter.SingleToUInt32Bits(expected[h]), BitConverter.SingleToUInt32Bits(Fp16.ToFloat((ushort)h)));
    }

    [Fact]
    public void Fp32_to_fp16_and_bf16_match_ggml_reference()
    {
        var x = new List<float>(TestData.Floats(4096, 7, 70000f)) { float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 1e-8f, 6.1e-5f, 65520f, 65504f, 3e38f, 1e-40f };
        x.AddRange(TestData.Floats(1000, 8, 1e-6f));
        while (x.Count % 32 != 0) x.Add(0.333f);
        var arr = x.ToArray();
        var f16 = GgmlOracle.QuantizeReference(GgmlType.F16, arr);
        var bf16 = GgmlOracle.QuantizeReference(GgmlType.BF16, arr);
        for (int i = 0; i < arr.Length; i++)
        {
            Assert.Equal(BitConverter.ToUInt16(f16, 2 * i), Fp16.FromFloat(arr[i]));
            Assert.Equal(BitConverter.ToUInt16(bf16, 2 * i), Fp16.FloatToBF16(arr[i]));
        }
    }
}
