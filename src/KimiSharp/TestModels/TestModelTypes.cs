using KimiSharp.Quants;

namespace KimiSharp.TestModels;

/// <summary>
/// Which ggml type each tensor of a test model gets. Norms, the router (ffn_gate_inp) and exp_probs_b always stay
/// F32 (the converter and llama-quantize never quantize them). A type whose block does not divide a tensor's row
/// length falls back as llama-quantize does (Q4_K→Q5_0, Q5_K→Q5_1, Q6_K→Q8_0, Q2_K/Q3_K→Q4_0, 256-wide IQ→IQ4_NL,
/// then F16): attn_k_b (row = qk_nope), and in the tiny shapes attn_q_b (row 96) and the expert down
/// projections (row 128), need 32-wide types.
/// </summary>
public static class TestModelTypes
{
    public static bool StaysF32(string tensorName) =>
        tensorName.EndsWith("_norm.weight", StringComparison.Ordinal) ||
        tensorName.EndsWith("ffn_gate_inp.weight", StringComparison.Ordinal) ||
        tensorName.EndsWith("exp_probs_b.bias", StringComparison.Ordinal);

    /// <summary>The type a tensor with rows of <paramref name="rowLength"/> gets in a <paramref name="spec"/> model.</summary>
    public static GgmlType Resolve(TestModelSpec spec, string tensorName, long rowLength)
    {
        if (StaysF32(tensorName))
            return GgmlType.F32;
        if (spec.TypeOverride is { } choose)
        {
            var chosen = choose(tensorName, rowLength, WithFallback(spec.Type, rowLength));
            if (rowLength % GgmlTypes.Get(chosen).BlockSize != 0)
                throw new ArgumentException($"type override chose {chosen} for {tensorName}, whose rows of {rowLength} are not a multiple of {chosen}'s block size {GgmlTypes.Get(chosen).BlockSize}");
            return chosen;
        }
        return WithFallback(spec.Type, rowLength);
    }

    /// <summary><paramref name="type"/> if its block divides the row length, else llama-quantize's fallback.</summary>
    public static GgmlType WithFallback(GgmlType type, long rowLength)
    {
        if (rowLength % GgmlTypes.Get(type).BlockSize == 0)
            return type;
        var fallback = type switch
        {
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.TQ1_0 or GgmlType.TQ2_0 => GgmlType.Q4_0,
            GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ3_XXS or GgmlType.IQ3_S
                or GgmlType.IQ1_S or GgmlType.IQ1_M or GgmlType.IQ4_XS => GgmlType.IQ4_NL,
            _ => GgmlType.F16,
        };
        return rowLength % GgmlTypes.Get(fallback).BlockSize == 0 ? fallback : GgmlType.F16;
    }

    /// <summary>
    /// A mixed file like Unsloth's UD quants: routed experts in <paramref name="expertType"/>, attention and shared
    /// experts Q6_K (Q8_0 where rows are not 256-wide), attn_k_b / attn_v_b Q8_0, dense FFN and token_embd Q4_K
    /// (Q5_0 fallback), output Q6_K; norms, router and exp_probs_b F32.
    /// </summary>
    public static TensorTypeOverride UdLike(GgmlType expertType = GgmlType.Q2_K) => (name, rowLength, _) =>
    {
        GgmlType chosen;
        if (name.Contains("_exps.", StringComparison.Ordinal))
            chosen = expertType;
        else if (name.Contains("attn_k_b", StringComparison.Ordinal) || name.Contains("attn_v_b", StringComparison.Ordinal))
            chosen = GgmlType.Q8_0;
        else if (name.Contains("attn_", StringComparison.Ordinal) || name.Contains("_shexp.", StringComparison.Ordinal) || name == "output.weight")
            chosen = GgmlType.Q6_K;
        else
            chosen = GgmlType.Q4_K;
        return WithFallback(chosen, rowLength);
    };
}
