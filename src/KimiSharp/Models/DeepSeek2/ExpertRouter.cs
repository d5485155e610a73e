namespace KimiSharp.Models.DeepSeek2;

/// <summary>
/// llama.cpp's expert selection (build_moe_ffn) for one token: scores = sigmoid or softmax of the router
/// logits; the selection bias (<c>exp_probs_b</c>) is added for choosing only; with expert groups, only
/// the best groups (by the sum of their two best scores) stay eligible; the top-k chosen experts weigh
/// in with their unbiased scores, normalised to sum 1 when asked (sum clamped to 2⁻¹⁴) and scaled.
/// </summary>
internal sealed unsafe class ExpertRouter(DeepSeek2Config config)
{
    private const float MinNormalF16 = 6.103515625e-5f;

    /// <summary>
    /// Chooses <c>ExpertUsedCount</c> experts from <paramref name="logits"/> (overwritten with the scores).
    /// <paramref name="selection"/> is scratch of ExpertCount floats.
    /// </summary>
    public void Route(Span<float> logits, float* bias, Span<float> selection, Span<int> chosen, Span<float> weights)
    {
        int n = config.ExpertCount, k = config.ExpertUsedCount;
        var scores = logits[..n];
        if (config.GatingFunc == ExpertGatingFunc.Sigmoid)
        {
            for (int i = 0; i < n; i++)
                scores[i] = 1.0f / (1.0f + MathF.Exp(-scores[i]));
        }
        else
        {
            Compute.Softmax.Apply(scores);
        }

        var sel = selection[..n];
        for (int i = 0; i < n; i++)
            sel[i] = bias != null ? scores[i] + bias[i] : scores[i];

        if (config.ExpertGroupCount > 1)
            MaskWeakGroups(sel);

        // Top-k by selection score, descending; ties keep the lower expert id first. Taken experts are marked in a bit set
        // (Kimi-K2: 384 experts, 8 chosen per token, every token of every layer).
        Span<ulong> taken = stackalloc ulong[(n + 63) / 64];
        taken.Clear();
        for (int j = 0; j < k; j++)
        {
            int best = -1;
            for (int i = 0; i < n; i++)
            {
                if ((taken[i >> 6] & (1UL << (i & 63))) != 0)
                    continue;
                if (best < 0 || sel[i] > sel[best])
                    best = i;
            }
            chosen[j] = best;
            weights[j] = scores[best];
            taken[best >> 6] |= 1UL << (best & 63);
        }

        if (config.ExpertWeightsNorm)
        {
            double total = 0; // ggml_sum_rows sums in double
            for (int j = 0; j < k; j++)
                total += weights[j];
            float sum = MathF.Max((float)total, MinNormalF16);
            for (int j = 0; j < k; j++)
                weights[j] /= sum;
        }
        float scale = config.ExpertWeightsScale;
        if (scale != 0f && scale != 1f)
            for (int j = 0; j < k; j++)
                weights[j] *= scale;
    }

    /// <summary>Groups are contiguous runs of ExpertCount/GroupCount experts; the weak ones are set to −∞.</summary>
    private void MaskWeakGroups(Span<float> sel)
    {
        int groups = config.ExpertGroupCount, perGroup = config.ExpertCount / groups;
        Span<float> groupScore = stackalloc float[groups];
        for (int g = 0; g < groups; g++)
        {
            float first = float.NegativeInfinity, second = float.NegativeInfinity;
            foreach (float v in sel.Slice(g * perGroup, perGroup))
            {
                if (v > first) { second = first; first = v; }
                else if (v > second) second = v;
            }
            groupScore[g] = perGroup >= 2 ? first + second : first;
        }
        Span<bool> keep = stackalloc bool[groups];
        for (int j = 0; j < config.ExpertGroupUsedCount; j++)
        {
            int best = -1;
            for (int g = 0; g < groups; g++)
                if (!keep[g] && (best < 0 || groupScore[g] > groupScore[best]))
                    best = g;
            keep[best] = true;
        }
        for (int g = 0; g < groups; g++)
            if (!keep[g])
                sel.Slice(g * perGroup, perGroup).Fill(float.NegativeInfinity);
    }
}
