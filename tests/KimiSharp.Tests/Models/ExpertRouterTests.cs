using KimiSharp.Gguf;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Tests.Models;

public unsafe class ExpertRouterTests
{
    private static DeepSeek2Config Config(int experts, int used, uint gating, bool norm, float scale, int groups = 0, int groupsUsed = 0)
    {
        var b = new MetadataBuilder()
            .Set("deepseek2.expert_count", GgufValue.From((uint)experts))
            .Set("deepseek2.expert_used_count", GgufValue.From((uint)used))
            .Set("deepseek2.expert_gating_func", GgufValue.From(gating))
            .Set("deepseek2.expert_weights_norm", GgufValue.From(norm))
            .Set("deepseek2.expert_weights_scale", GgufValue.From(scale))
            .Set("deepseek2.expert_group_count", GgufValue.From((uint)groups))
            .Set("deepseek2.expert_group_used_count", GgufValue.From((uint)groupsUsed));
        return DeepSeek2Config.FromMetadata(b.Build());
    }

    private static (int[] Chosen, float[] Weights) Route(DeepSeek2Config c, float[] logits, float[]? bias)
    {
        var chosen = new int[c.ExpertUsedCount];
        var weights = new float[c.ExpertUsedCount];
        fixed (float* pb = bias)
            new ExpertRouter(c).Route((float[])logits.Clone(), pb, new float[c.ExpertCount], chosen, weights);
        return (chosen, weights);
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    [Fact]
    public void Route_selects_with_bias_but_weighs_with_unbiased_sigmoid_scores()
    {
        var c = Config(4, 2, 2, norm: false, scale: 1f);
        float[] logits = [2f, 1f, 0f, -1f];
        float[] bias = [0f, 0f, 5f, 0f];   // pushes expert 2 to the top for selection only
        var (chosen, weights) = Route(c, logits, bias);
        Assert.Equal([2, 0], chosen);
        Assert.Equal(Sigmoid(0f), weights[0], 6);
        Assert.Equal(Sigmoid(2f), weights[1], 6);
    }

    [Fact]
    public void Route_normalises_then_scales_weights_when_asked()
    {
        var c = Config(4, 2, 2, norm: true, scale: 2.5f);
        float[] logits = [2f, 1f, 0f, -1f];
        var (chosen, weights) = Route(c, logits, null);
        Assert.Equal([0, 1], chosen);
        float s0 = Sigmoid(2f), s1 = Sigmoid(1f);
        Assert.Equal(2.5f * s0 / (s0 + s1), weights[0], 6);
        Assert.Equal(2.5f * s1 / (s0 + s1), weights[1], 6);
    }

    [Fact]
    public void Route_uses_softmax_probabilities_when_gating_is_softmax()
    {
        var c = Config(3, 1, 1, norm: false, scale: 1f);
        float[] logits = [0f, 1f, 0f];
        var (chosen, weights) = Route(c, logits, null);
        Assert.Equal(1, chosen[0]);
        Assert.Equal(MathF.E / (MathF.E + 2f), weights[0], 6);
    }

    [Fact]
    public void Route_only_picks_from_the_best_groups_when_groups_are_limited()
    {
        // 8 experts in 4 groups of 2; group score = sum of its two scores; keep 1 group.
        var c = Config(8, 2, 2, norm: false, scale: 1f, groups: 4, groupsUsed: 1);
        float[] logits = [3f, -5f, 1f, 1f, -5f, -5f, -5f, -5f];
        // Group 0: σ(3)+σ(-5) ≈ 0.959; group 1: 2σ(1) ≈ 1.462 → group 1 wins although expert 0 is the best single expert.
        var (chosen, _) = Route(c, logits, null);
        Assert.Equal([2, 3], chosen.Order().ToArray());
    }
}
