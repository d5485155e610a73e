using KimiSharp.Gguf;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>
/// The hyperparameters of a deepseek2-architecture model (Kimi-K2, DeepSeek-V2/V3/R1) as llama.cpp derives
/// them from GGUF metadata, plus the constants the forward pass needs (YaRN, kq_scale).
/// </summary>
public sealed record DeepSeek2Config
{
    public required int LayerCount { get; init; }
    public required int EmbeddingLength { get; init; }
    public required int VocabSize { get; init; }
    public required int ContextLength { get; init; }

    /// <summary>Dense SwiGLU width per layer (used by the leading dense layers).</summary>
    public required int[] FeedForwardLength { get; init; }

    public required int HeadCount { get; init; }

    /// <summary>True for MLA GGUFs (<c>key_length_mla</c>/<c>value_length_mla</c> present: <c>attn_k_b</c>/<c>attn_v_b</c>).</summary>
    public required bool IsMla { get; init; }

    /// <summary>0 when the file has no q LoRA (V2-Lite style <c>attn_q</c>).</summary>
    public required int QLoraRank { get; init; }

    public required int KvLoraRank { get; init; }

    /// <summary>Rotary part of each q/k head (<c>rope.dimension_count</c>).</summary>
    public required int RopeDim { get; init; }

    /// <summary>Non-rotary part of each q/k head.</summary>
    public required int QkNopeDim { get; init; }

    public required int ValueHeadDim { get; init; }

    public int QkHeadDim => QkNopeDim + RopeDim;

    /// <summary>One latent cache row: kv_lora latent then the roped k_pe.</summary>
    public int LatentRowLength => KvLoraRank + RopeDim;

    public required float RmsEps { get; init; }

    public required float RopeFreqBase { get; init; }
    /// <summary>1/factor for YaRN (1 without scaling).</summary>
    public required float RopeFreqScale { get; init; }
    public required int YarnOriginalContext { get; init; }
    /// <summary>1 for YaRN, 0 without scaling.</summary>
    public required float YarnExtFactor { get; init; }
    /// <summary><c>yarn_log_multiplier / 0.1</c> (mscale_all_dim).</summary>
    public required float YarnLogMultiplier { get; init; }
    public required float YarnBetaFast { get; init; }
    public required float YarnBetaSlow { get; init; }
    /// <summary>The attn_factor llama.cpp passes to every rope op.</summary>
    public required float RopeAttnFactor { get; init; }
    /// <summary>Softmax scale of q·k: mscale² / sqrt(qk head dim).</summary>
    public required float KqScale { get; init; }

    public required int ExpertCount { get; init; }
    public required int ExpertUsedCount { get; init; }
    public required int ExpertSharedCount { get; init; }
    public required int ExpertGroupCount { get; init; }
    public required int ExpertGroupUsedCount { get; init; }
    public required int LeadingDenseBlockCount { get; init; }
    public required int ExpertFeedForwardLength { get; init; }
    public required float ExpertWeightsScale { get; init; }
    public required bool ExpertWeightsNorm { get; init; }
    public required ExpertGatingFunc GatingFunc { get; init; }

    public bool IsDenseLayer(int layer) => layer < LeadingDenseBlockCount;

    /// <summary>Reads and checks the <c>deepseek2.*</c> keys; throws <see cref="ModelLoadException"/> naming the key.</summary>
    public static DeepSeek2Config FromMetadata(GgufMetadata metadata, float? betaFastOverride = null, float? betaSlowOverride = null)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!metadata.TryGetValue("general.architecture", out var archValue) || archValue.Value is not string arch)
            throw new ModelLoadException("metadata key 'general.architecture' is missing (expected \"deepseek2\")", "general.architecture");
        if (arch != "deepseek2")
            throw new ModelLoadException($"general.architecture is \"{arch}\"; expected \"deepseek2\"", "general.architecture");

        var m = new MetadataReader(metadata, "deepseek2");
        int layers = m.Int("block_count");
        int embd = m.Int("embedding_length");
        Require(layers > 0, m.Key("block_count"), $"is {layers}; expected at least 1");
        Require(embd > 0, m.Key("embedding_length"), $"is {embd}; expected at least 1");

        int heads = Uniform(m, "attention.head_count", layers);
        int headsKv = Uniform(m, "attention.head_count_kv", layers, heads);
        int keyLength = m.Int("attention.key_length");
        int valueLength = m.Int("attention.value_length");
        int? keyMla = m.TryInt("attention.key_length_mla");
        int? valueMla = m.TryInt("attention.value_length_mla");
        if (keyMla.HasValue != valueMla.HasValue)
            throw new ModelLoadException(
                $"'{m.Key("attention.key_length_mla")}' and '{m.Key("attention.value_length_mla")}' must both be present or both absent",
                m.Key(keyMla.HasValue ? "attention.value_length_mla" : "attention.key_length_mla"));
        bool isMla = keyMla is > 0 && valueMla is > 0;

        int kvLora = m.Int("attention.kv_lora_rank");
        int qLora = m.IntOr("attention.q_lora_rank", 0);
        int ropeDim = m.Int("rope.dimension_count");
        int qkHead = isMla ? keyMla!.Value : keyLength;
        int vHead = isMla ? valueMla!.Value : valueLength;
        Require(ropeDim > 0 && ropeDim % 2 == 0, m.Key("rope.dimension_count"), $"is {ropeDim}; expected a positive even number");
        Require(qkHead > ropeDim, m.Key(isMla ? "attention.key_length_mla" : "attention.key_length"),
            $"is {qkHead}; expected more than rope.dimension_count {ropeDim}");
        Require(heads > 0, m.Key("attention.head_count"), $"is {heads}; expected at least 1");
        Require(kvLora > 0, m.Key("attention.kv_lora_rank"), $"is {kvLora}; expected at least 1");
        if (isMla)
        {
            Require(headsKv == 1, m.Key("attention.head_count_kv"), $"is {headsKv}; expected 1 in an MLA file");
            Require(keyLength == kvLora + ropeDim, m.Key("attention.key_length"),
                $"is {keyLength}; expected kv_lora_rank + rope.dimension_count = {kvLora + ropeDim} in an MLA file");
            Require(valueLength == kvLora, m.Key("attention.value_length"), $"is {valueLength}; expected kv_lora_rank = {kvLora} in an MLA file");
        }

        int experts = m.IntOr("expert_count", 0);
        int used = m.IntOr("expert_used_count", 0);
        int dense = m.IntOr("leading_dense_block_count", experts > 0 ? 0 : layers);
        int groups = m.IntOr("expert_group_count", 0);
        int groupsUsed = m.IntOr("expert_group_used_count", 0);
        if (dense < layers)
        {
            Require(experts > 0, m.Key("expert_count"), "is missing or 0; expected the number of routed experts");
            Require(used > 0 && used <= experts, m.Key("expert_used_count"), $"is {used}; expected 1..{experts}");
            if (groups > 1)
            {
                Require(experts % groups == 0, m.Key("expert_group_count"), $"is {groups}; expected a divisor of expert_count {experts}");
                Require(groupsUsed > 0 && groupsUsed < groups, m.Key("expert_group_used_count"), $"is {groupsUsed}; expected 1..{groups - 1}");
            }
        }

        var gating = (ExpertGatingFunc)m.IntOr("expert_gating_func", (int)ExpertGatingFunc.Softmax);
        if (gating is not (ExpertGatingFunc.Softmax or ExpertGatingFunc.Sigmoid))
            throw new ModelLoadException($"'{m.Key("expert_gating_func")}' is {(int)gating}; supported: 1 (softmax), 2 (sigmoid)", m.Key("expert_gating_func"));

        // RoPE / YaRN, following llama.cpp's hparams + cparams + deepseek2 graph (all in float).
        float freqBase = m.FloatOr("rope.freq_base", 10000f);
        string? scalingType = m.TryString("rope.scaling.type");
        float factor = m.FloatOr("rope.scaling.factor", 0f);
        float freqScale = factor != 0f ? 1.0f / factor : 1.0f;
        bool yarn = scalingType == "yarn";
        float extFactor = yarn ? 1.0f : 0.0f;
        float logMul = m.FloatOr("rope.scaling.yarn_log_multiplier", 0f) / 0.1f;
        int ctxTrain = m.Int("context_length");
        int nCtxOrig = m.IntOr("rope.scaling.original_context_length", ctxTrain);
        float attnFactor = RopeAttentionFactor(extFactor, freqScale, logMul) * m.FloatOr("rope.scaling.attn_factor", 1.0f);
        float attnFactorOrg = attnFactor * (1.0f + 0.1f * MathF.Log(1.0f / freqScale));
        float mscale = attnFactorOrg * (1.0f + 0.1f * logMul * MathF.Log(1.0f / freqScale));
        float kqScale = 1.0f * mscale * mscale / MathF.Sqrt(qkHead);

        int vocab = m.TryInt("vocab_size") ?? VocabFromTokens(metadata);

        return new DeepSeek2Config
        {
            LayerCount = layers,
            EmbeddingLength = embd,
            VocabSize = vocab,
            ContextLength = ctxTrain,
            FeedForwardLength = m.PerLayer("feed_forward_length", layers, dense == 0 ? 0 : null),
            HeadCount = heads,
            IsMla = isMla,
            QLoraRank = qLora,
            KvLoraRank = kvLora,
            RopeDim = ropeDim,
            QkNopeDim = qkHead - ropeDim,
            ValueHeadDim = vHead,
            RmsEps = m.Float("attention.layer_norm_rms_epsilon"),
            RopeFreqBase = freqBase,
            RopeFreqScale = freqScale,
            YarnOriginalContext = nCtxOrig,
            YarnExtFactor = extFactor,
            YarnLogMultiplier = logMul,
            YarnBetaFast = betaFastOverride ?? m.FloatOr("rope.scaling.yarn_beta_fast", 32f),
            YarnBetaSlow = betaSlowOverride ?? m.FloatOr("rope.scaling.yarn_beta_slow", 1f),
            RopeAttnFactor = attnFactor,
            KqScale = kqScale,
            ExpertCount = experts,
            ExpertUsedCount = used,
            ExpertSharedCount = m.IntOr("expert_shared_count", 0),
            ExpertGroupCount = groups,
            ExpertGroupUsedCount = groupsUsed,
            LeadingDenseBlockCount = Math.Min(dense, layers),
            ExpertFeedForwardLength = m.IntOr("expert_feed_forward_length", 0),
            ExpertWeightsScale = m.FloatOr("expert_weights_scale", 1.0f),
            ExpertWeightsNorm = m.BoolOr("expert_weights_norm", false),
            GatingFunc = gating,
        };
    }

    /// <summary>
    /// llama.cpp's cparams.yarn_attn_factor: the HF mscale ratio, divided by the (1 + 0.1 ln f) that ggml's
    /// rope multiplies back in whenever ext_factor ≠ 0.
    /// </summary>
    private static float RopeAttentionFactor(float extFactor, float freqScale, float logMul)
    {
        if (extFactor == 0f)
            return 1.0f;
        static float GetMscale(float scale, float mscale) => scale <= 1.0f ? 1.0f : 0.1f * mscale * MathF.Log(scale) + 1.0f;
        float factor = 1.0f / freqScale;
        float attnFactor;
        if (logMul != 0.0f)
        {
            float mscale = logMul != 1.0f ? logMul : 1.0f; // deepseek2 special case
            attnFactor = GetMscale(factor, mscale) / GetMscale(factor, logMul);
        }
        else
        {
            attnFactor = GetMscale(factor, 1.0f);
        }
        return attnFactor * (1.0f / (1.0f + 0.1f * MathF.Log(factor)));
    }

    private static int VocabFromTokens(GgufMetadata metadata)
    {
        if (metadata.TryGetValue("tokenizer.ggml.tokens", out var tokens) && tokens.Value is Array a && a.Length > 0)
            return a.Length;
        throw new ModelLoadException("neither 'deepseek2.vocab_size' nor 'tokenizer.ggml.tokens' is present (expected the vocabulary size)", "deepseek2.vocab_size");
    }

    private static int Uniform(MetadataReader m, string name, int layers, int? fallback = null)
    {
        var values = m.PerLayer(name, layers, fallback);
        if (values.Any(v => v != values[0]))
            throw new ModelLoadException($"'{m.Key(name)}' differs between layers; expected the same value in every layer", m.Key(name));
        return values[0];
    }

    private static void Require(bool condition, string key, string problem)
    {
        if (!condition)
            throw new ModelLoadException($"'{key}' {problem}", key);
    }
}
