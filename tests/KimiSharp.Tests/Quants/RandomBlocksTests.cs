using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

public class RandomBlocksTests
{
    /// <summary>Every quantized or float type in the GgmlType table that ggml can dequantize (not the integer types).</summary>
    public static TheoryData<GgmlType> AllTypes()
    {
        var data = new TheoryData<GgmlType>();
        foreach (var info in GgmlTypes.All)
            if (info.IsQuantized || info.Type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16)
                data.Add(info.Type);
        return data;
    }

    private static (float Max, double Rms) Stats(float[] v)
    {
        float max = 0;
        double sq = 0;
        foreach (var f in v)
        {
            Assert.True(float.IsFinite(f), "non-finite value");
            max = MathF.Max(max, MathF.Abs(f));
            sq += (double)f * f;
        }
        return (max, Math.Sqrt(sq / v.Length));
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Random_blocks_decode_to_finite_values_of_magnitude_scale(GgmlType type)
    {
        var info = GgmlTypes.Get(type);
        foreach (float scale in new[] { 0.02f, 1f, 30f })
        {
            int blocks = Math.Max(1, 4096 / info.BlockSize);
            var bytes = new byte[blocks * info.TypeSize];
            RandomBlocks.Fill(type, bytes, new Random(42), scale);
            var (max, rms) = Stats(IQuants.IQuantTestData.DecodeActivations(type, bytes, blocks * info.BlockSize));
            Assert.True(max <= 1.05f * scale, $"{type} scale {scale}: max |v| = {max}");
            Assert.True(rms >= scale / 40, $"{type} scale {scale}: rms {rms} is far below the scale");
        }
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Random_blocks_decode_the_same_through_our_codecs_when_supported(GgmlType type)
    {
        if (!QuantCodecs.IsSupported(type))
            return; // the codec is not registered in this build; ggml's decoding is checked above
        var info = GgmlTypes.Get(type);
        int blocks = Math.Max(1, 1024 / info.BlockSize);
        var bytes = new byte[blocks * info.TypeSize];
        RandomBlocks.Fill(type, bytes, new Random(3), 2f);
        var ours = new float[blocks * info.BlockSize];
        QuantCodecs.Dequantize(type, bytes, ours);
        Assert.Equal(IQuants.IQuantTestData.DecodeActivations(type, bytes, ours.Length), ours);
    }

    [Fact]
    public void Fill_is_deterministic_for_a_seed_and_differs_between_seeds()
    {
        var a = new byte[66 * 4];
        var b = new byte[66 * 4];
        var c = new byte[66 * 4];
        RandomBlocks.Fill(GgmlType.IQ2_XXS, a, new Random(5), 1f);
        RandomBlocks.Fill(GgmlType.IQ2_XXS, b, new Random(5), 1f);
        RandomBlocks.Fill(GgmlType.IQ2_XXS, c, new Random(6), 1f);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Fill_rejects_partial_blocks_bad_scales_and_integer_types()
    {
        Assert.Throws<ArgumentException>(() => RandomBlocks.Fill(GgmlType.Q4_K, new byte[145], new Random(1), 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomBlocks.Fill(GgmlType.Q4_K, new byte[144], new Random(1), 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomBlocks.Fill(GgmlType.Q4_K, new byte[144], new Random(1), float.NaN));
        var e = Assert.Throws<NotSupportedException>(() => RandomBlocks.Fill(GgmlType.I32, new byte[4], new Random(1), 1f));
        Assert.Contains("I32", e.Message);
    }
}
