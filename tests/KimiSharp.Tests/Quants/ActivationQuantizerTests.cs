using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

public class ActivationQuantizerTests
{
    public static TheoryData<int> Seeds => new() { 1, 2, 3 };

    private delegate void Quantizer(ReadOnlySpan<float> x, Span<byte> dst);

    private static void AssertSame(GgmlType type, Quantizer ours, byte[] expected, float[] x)
    {
        var actual = new byte[expected.Length];
        ours(x, actual);
        Assert.Equal(expected, actual);
        _ = type;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Q8_0_matches_ggml_cpu_activation_quantizer(int seed)
    {
        foreach (var x in new[] { TestData.Floats(1024, seed, 3f), TestData.Awkward(32, seed) })
            AssertSame(GgmlType.Q8_0, ActivationQuantizer.Q8_0, GgmlOracle.QuantizeCpu(GgmlType.Q8_0, x), x);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Q8_0Reference_matches_ggml_reference_quantizer(int seed)
    {
        foreach (var x in new[] { TestData.Floats(1024, seed, 3f), TestData.Awkward(32, seed) })
            AssertSame(GgmlType.Q8_0, ActivationQuantizer.Q8_0Reference, GgmlOracle.QuantizeReference(GgmlType.Q8_0, x), x);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Q8_1_matches_ggml_cpu_activation_quantizer(int seed)
    {
        foreach (var x in new[] { TestData.Floats(1024, seed, 3f), TestData.Awkward(32, seed) })
            AssertSame(GgmlType.Q8_1, ActivationQuantizer.Q8_1, GgmlOracle.QuantizeCpu(GgmlType.Q8_1, x), x);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Q8_1Reference_matches_ggml_reference_quantizer(int seed)
    {
        foreach (var x in new[] { TestData.Floats(1024, seed, 3f), TestData.Awkward(32, seed) })
            AssertSame(GgmlType.Q8_1, ActivationQuantizer.Q8_1Reference, GgmlOracle.QuantizeReference(GgmlType.Q8_1, x), x);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Q8_K_matches_ggml_reference_and_cpu_quantizers(int seed)
    {
        foreach (var x in new[] { TestData.Floats(2048, seed, 3f), TestData.Awkward(256, seed) })
        {
            AssertSame(GgmlType.Q8_K, ActivationQuantizer.Q8_K, GgmlOracle.QuantizeReference(GgmlType.Q8_K, x), x);
            AssertSame(GgmlType.Q8_K, ActivationQuantizer.Q8_K, GgmlOracle.QuantizeCpu(GgmlType.Q8_K, x), x);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Portable_Q8_0_and_Q8_K_paths_match_ggml_too(int seed)
    {
        foreach (var x in new[] { TestData.Floats(1024, seed, 3f), TestData.Awkward(256, seed) })
        {
            var q80 = new byte[x.Length / 32 * 34];
            ActivationQuantizer.Q8_0(x, q80, simd: false);
            Assert.Equal(GgmlOracle.QuantizeCpu(GgmlType.Q8_0, x), q80);
            var q8k = new byte[x.Length / 256 * 292];
            ActivationQuantizer.Q8_K(x, q8k, simd: false);
            Assert.Equal(GgmlOracle.QuantizeReference(GgmlType.Q8_K, x), q8k);
        }
    }

    [Fact]
    public void Quantize_rejects_partial_blocks_naming_the_type()
    {
        var e = Assert.Throws<ArgumentException>(() => ActivationQuantizer.Quantize(GgmlType.Q8_K, new float[100], new byte[292]));
        Assert.Contains("Q8_K", e.Message);
    }

    [Fact]
    public void Quantize_rejects_short_destination()
    {
        var e = Assert.Throws<ArgumentException>(() => ActivationQuantizer.Q8_0(new float[64], new byte[34]));
        Assert.Contains("Q8_0", e.Message);
    }
}
