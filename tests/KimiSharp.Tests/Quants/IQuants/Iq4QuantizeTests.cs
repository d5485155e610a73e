using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants.IQuants;

/// <summary>IQ4_NL and IQ4_XS quantization: bit-exact with ggml's reference quantizers (deterministic, no imatrix).</summary>
public class Iq4QuantizeTests
{
    public static TheoryData<GgmlType, int> Cases => new()
    {
        { GgmlType.IQ4_NL, 1 }, { GgmlType.IQ4_NL, 2 }, { GgmlType.IQ4_NL, 3 },
        { GgmlType.IQ4_XS, 1 }, { GgmlType.IQ4_XS, 2 }, { GgmlType.IQ4_XS, 3 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Quantize_is_bit_exact_with_ggml_reference(GgmlType type, int seed)
    {
        Assert.True(QuantCodecs.CanQuantize(type));
        foreach (var x in new[] { TestData.Floats(4096, seed, 1.5f), TestData.Floats(512, seed + 50, 1e-3f), TestData.Awkward(256, seed) })
        {
            var expected = GgmlOracle.QuantizeReference(type, x);
            var actual = new byte[expected.Length];
            QuantCodecs.Quantize(type, x, actual);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void Iq4_xs_quantize_is_bit_exact_with_zero_groups_and_zero_blocks()
    {
        var x = TestData.Floats(768, 9, 1f);
        Array.Clear(x, 32, 32);     // one zero group inside a block
        Array.Clear(x, 512, 256);   // one all-zero block
        var expected = GgmlOracle.QuantizeReference(GgmlType.IQ4_XS, x);
        var actual = new byte[expected.Length];
        QuantCodecs.Quantize(GgmlType.IQ4_XS, x, actual);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(GgmlType.IQ4_NL)]
    [InlineData(GgmlType.IQ4_XS)]
    public void Quantize_then_dequantize_reconstructs_within_four_bit_error(GgmlType type)
    {
        var x = TestData.Floats(2048, 5, 1f);
        var q = new byte[GgmlTypes.Get(type).RowBytes(x.Length)];
        QuantCodecs.Quantize(type, x, q);
        var y = new float[x.Length];
        QuantCodecs.Dequantize(type, q, y);
        double err = 0, sig = 0;
        for (int i = 0; i < x.Length; i++) { err += (x[i] - y[i]) * (double)(x[i] - y[i]); sig += x[i] * (double)x[i]; }
        Assert.InRange(Math.Sqrt(err / sig), 0, 0.12);
    }

    [Fact]
    public void Below_four_bit_iquants_do_not_claim_a_quantizer()
    {
        foreach (var t in new[] { GgmlType.IQ1_S, GgmlType.IQ1_M, GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ2_S, GgmlType.IQ3_XXS, GgmlType.IQ3_S })
        {
            Assert.False(QuantCodecs.CanQuantize(t));
            Assert.Throws<NotSupportedException>(() => QuantCodecs.Quantize(t, new float[256], new byte[GgmlTypes.Get(t).TypeSize]));
        }
    }
}
