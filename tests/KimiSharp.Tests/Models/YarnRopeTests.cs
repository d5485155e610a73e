using KimiSharp.Compute;

namespace KimiSharp.Tests.Models;

public class YarnRopeTests
{
    [Theory]
    // Reference figures (llamacpp-deepseek2.md §4.5), beta_fast 32 / beta_slow 1, n_ctx_orig 4096.
    [InlineData(50000f, 8f, 20f)]
    [InlineData(10000f, 10f, 23f)]
    public void CorrectionDims_match_llama_cpp_when_betas_are_defaults(float freqBase, float low, float high)
    {
        var (l, h) = YarnRope.CorrectionDims(64, 4096, freqBase, 32f, 1f);
        Assert.Equal(low, l);
        Assert.Equal(high, h);
    }

    [Fact]
    public void Table_blends_interpolated_and_extrapolated_frequencies_by_the_ramp()
    {
        const int dims = 64, pos = 1000;
        const float fBase = 50000f, factor = 64f;
        float attn = 1f / (1f + 0.1f * MathF.Log(factor));
        var rope = new YarnRope(dims, fBase, 1f / factor, 4096, 1f, attn, 32f, 1f);
        var cos = new float[dims / 2];
        var sin = new float[dims / 2];
        rope.Table(pos, cos, sin);
        for (int i = 0; i < dims / 2; i++)
        {
            // Independent double-precision evaluation of the YaRN formula.
            double extrap = pos * Math.Pow(fBase, -2.0 * i / dims);
            double interp = extrap / factor;
            double ramp = 1 - Math.Clamp((i - 8.0) / (20.0 - 8.0), 0, 1);
            double theta = interp * (1 - ramp) + extrap * ramp;
            Assert.Equal(Math.Cos(theta), cos[i], 2e-3);
            Assert.Equal(Math.Sin(theta), sin[i], 2e-3);
        }
    }

    [Fact]
    public void Rotate_turns_adjacent_pairs_and_keeps_their_length()
    {
        var rope = new YarnRope(4, 10000f, 1f, 4096, 0f, 1f, 32f, 1f);
        var cos = new float[2];
        var sin = new float[2];
        rope.Table(3, cos, sin);
        float[] x = [1f, 2f, 3f, 4f];
        rope.Rotate(x, cos, sin);
        // Pair 0 rotates by θ = 3 (base^0 = 1).
        Assert.Equal(MathF.Cos(3) - 2 * MathF.Sin(3), x[0], 5);
        Assert.Equal(MathF.Sin(3) + 2 * MathF.Cos(3), x[1], 5);
        Assert.Equal(25f, x[2] * x[2] + x[3] * x[3], 4);
    }
}
