using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants.IQuants;

public class IQuantDequantizeTests
{
    public static TheoryData<GgmlType> Types => IQuantTestData.TypeData();

    [Theory]
    [MemberData(nameof(Types))]
    public void Dequantize_is_bit_exact_with_ggml_on_random_extreme_and_zero_blocks(GgmlType type)
    {
        for (int seed = 1; seed <= 3; seed++)
        {
            var row = IQuantTestData.MixedRow(type, seed, out int n);
            var expected = GgmlOracle.Dequantize(type, row, n);
            var actual = new float[n];
            QuantCodecs.Dequantize(type, row, actual);
            for (int i = 0; i < n; i++)
            {
                if (float.IsNaN(expected[i]) && float.IsNaN(actual[i]))
                    continue;
                if (BitConverter.SingleToUInt32Bits(expected[i]) != BitConverter.SingleToUInt32Bits(actual[i]))
                    Assert.Fail($"{type} seed {seed}: element {i} (block {i / GgmlTypes.Get(type).BlockSize}) is {actual[i]:R}, ggml gives {expected[i]:R}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Dequantize_of_zero_blocks_is_zero(GgmlType type)
    {
        var info = GgmlTypes.Get(type);
        var y = new float[info.BlockSize * 3];
        Array.Fill(y, float.NaN);
        QuantCodecs.Dequantize(type, new byte[info.TypeSize * 3], y);
        Assert.All(y, v => Assert.Equal(0f, MathF.Abs(v)));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Dequantize_rejects_mismatched_lengths_naming_the_type(GgmlType type)
    {
        var info = GgmlTypes.Get(type);
        var e = Assert.Throws<ArgumentException>(() => QuantCodecs.Dequantize(type, new byte[info.TypeSize], new float[info.BlockSize * 2]));
        Assert.Contains(type.ToString(), e.Message);
        e = Assert.Throws<ArgumentException>(() => QuantCodecs.Dequantize(type, new byte[info.TypeSize], new float[info.BlockSize + 1]));
        Assert.Contains(type.ToString(), e.Message);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Vec_dot_type_is_the_one_ggml_pairs_with_the_type(GgmlType type) =>
        Assert.Equal(GgmlOracle.VecDotType(type), QuantCodecs.VecDotType(type));
}
