using KimiSharp.Quants;

namespace KimiSharp.TestModels;

/// <summary>
/// Chooses the ggml type of one tensor from its name, its row length (Dims[0]) and the type the writer would use;
/// the chosen type's block size must divide the row length (use <see cref="TestModelTypes.WithFallback"/>).
/// </summary>
public delegate GgmlType TensorTypeOverride(string tensorName, long rowLength, GgmlType defaultType);

/// <summary>
/// The shape of a random-weight deepseek2 (MLA) test model. Use the named shapes (<see cref="KimiTiny"/> …) and
/// change what you need with <c>with { … }</c>. Dims follow llama.cpp's names: E = EmbeddingLength, H = HeadCount,
/// Dn = QkNopeHeadDim, Dr = QkRopeHeadDim, Dv = VHeadDim, Rq = QLoraRank (0 = no q_lora, "lite"), Rkv = KvLoraRank.
/// </summary>
public sealed record TestModelSpec
{
    public required string Name { get; init; }
    public int EmbeddingLength { get; init; }
    public int LayerCount { get; init; }
    public int LeadingDenseCount { get; init; }
    public int HeadCount { get; init; }
    public int QLoraRank { get; init; }
    public int KvLoraRank { get; init; }
    public int QkNopeHeadDim { get; init; }
    public int QkRopeHeadDim { get; init; }
    public int VHeadDim { get; init; }
    public int DenseFfnLength { get; init; }
    public int ExpertFfnLength { get; init; }
    public int ExpertCount { get; init; }
    public int ExpertUsedCount { get; init; }
    public int SharedExpertCount { get; init; }

    /// <summary>deepseek2.expert_gating_func: 1 softmax, 2 sigmoid.</summary>
    public int ExpertGatingFunc { get; init; } = 2;

    /// <summary>Whether MoE layers have exp_probs_b.bias (noaux_tc selection bias).</summary>
    public bool HasExpertProbsBias { get; init; } = true;

    /// <summary>deepseek2.expert_weights_norm (written only when true, as the converter does).</summary>
    public bool ExpertWeightsNorm { get; init; } = true;

    public float ExpertWeightsScale { get; init; } = 1f;
    public float RopeFreqBase { get; init; } = 50000f;

    /// <summary>YaRN factor; 0 = no rope scaling keys.</summary>
    public float YarnFactor { get; init; }

    public int YarnOriginalContext { get; init; }

    /// <summary>rope.scaling.yarn_log_multiplier as the converter writes it (0.1 · mscale_all_dim).</summary>
    public float YarnLogMultiplier { get; init; } = 0.1f;

    public int ContextLength { get; init; } = 4096;
    public float RmsNormEpsilon { get; init; } = 1e-6f;

    /// <summary>Type of the weight matrices (norms, router and exp_probs_b always stay F32).</summary>
    public GgmlType Type { get; init; } = GgmlType.F32;

    /// <summary>Per-tensor type choice applied after <see cref="Type"/> (see <see cref="TestModelTypes.UdLike"/>).</summary>
    public TensorTypeOverride? TypeOverride { get; init; }

    public int Seed { get; init; } = 1;

    /// <summary>Write tokenizer.ggml.* keys (TestVocabulary) and tokenizer.chat_template (KimiChatTemplate).</summary>
    public bool IncludeTokenizer { get; init; } = true;

    /// <summary>Kimi-K2's vocabulary layout at its full size (<see cref="KimiVocabulary"/>, 163,840 tokens) instead of the small test vocabulary.</summary>
    public bool FullKimiVocabulary { get; init; }

    /// <summary>
    /// Quantized weights are drawn directly as valid random blocks (<see cref="RandomBlocks"/>) and streamed to disk,
    /// with no float values in between: fast enough for Kimi-K2's sizes. Otherwise random floats are quantized.
    /// </summary>
    public bool RandomBlockWeights { get; init; }

    public int KeyLength => KvLoraRank + QkRopeHeadDim;          // MQA head of the absorbed form (576 for Kimi)
    public int ValueLength => KvLoraRank;                          // 512 for Kimi
    public int KeyLengthMla => QkNopeHeadDim + QkRopeHeadDim;     // 192 for Kimi
    public int ValueLengthMla => VHeadDim;                         // 128 for Kimi
    public bool IsDense(int layer) => layer < LeadingDenseCount;

    /// <summary>Kimi-K2 scaled down: 4 layers (1 dense), 16 experts / 4 used / 1 shared, sigmoid + bias, YaRN ×32.</summary>
    public static TestModelSpec KimiTiny { get; } = new()
    {
        Name = "kimi-tiny",
        EmbeddingLength = 256,
        LayerCount = 4,
        LeadingDenseCount = 1,
        HeadCount = 8,
        QLoraRank = 96,
        KvLoraRank = 64,
        QkNopeHeadDim = 32,
        QkRopeHeadDim = 16,
        VHeadDim = 32,
        DenseFfnLength = 512,
        ExpertFfnLength = 128,
        ExpertCount = 16,
        ExpertUsedCount = 4,
        SharedExpertCount = 1,
        ExpertGatingFunc = 2,
        HasExpertProbsBias = true,
        ExpertWeightsNorm = true,
        ExpertWeightsScale = 2.827f,
        RopeFreqBase = 50000f,
        YarnFactor = 32f,
        YarnOriginalContext = 256,
        YarnLogMultiplier = 0.1f,
        ContextLength = 256 * 32,
    };

    /// <summary><see cref="KimiTiny"/> with 2 layers: one dense, one MoE.</summary>
    public static TestModelSpec KimiTiny2L { get; } = KimiTiny with { Name = "kimi-tiny-2l", LayerCount = 2 };

    /// <summary>
    /// DeepSeek-V2-Lite style: no q_lora (attn_q), softmax gating without bias or weight norm, 2 leading dense layers,
    /// 2 shared experts, no YaRN. 27 layers like V2-Lite, because llama.cpp decides "lite" (no q_lora) by the
    /// layer count (26 or 27); kept narrow so the file stays small.
    /// </summary>
    public static TestModelSpec V2LiteTiny { get; } = new()
    {
        Name = "v2lite-tiny",
        EmbeddingLength = 128,
        LayerCount = 27,
        LeadingDenseCount = 2,
        HeadCount = 4,
        QLoraRank = 0,
        KvLoraRank = 64,
        QkNopeHeadDim = 32,
        QkRopeHeadDim = 16,
        VHeadDim = 32,
        DenseFfnLength = 256,
        ExpertFfnLength = 64,
        ExpertCount = 8,
        ExpertUsedCount = 2,
        SharedExpertCount = 2,
        ExpertGatingFunc = 1,
        HasExpertProbsBias = false,
        ExpertWeightsNorm = false,
        ExpertWeightsScale = 1f,
        RopeFreqBase = 10000f,
        YarnFactor = 0f,
        ContextLength = 2048,
    };

    /// <summary>A Kimi-shaped model for speed work (≈1.6 B parameters; use --type f16 or a quant type).</summary>
    public static TestModelSpec KimiBench { get; } = KimiTiny with
    {
        Name = "kimi-bench",
        EmbeddingLength = 2048,
        LayerCount = 8,
        LeadingDenseCount = 1,
        HeadCount = 16,
        QLoraRank = 512,
        KvLoraRank = 512,
        QkNopeHeadDim = 128,
        QkRopeHeadDim = 64,
        VHeadDim = 128,
        DenseFfnLength = 5632,
        ExpertFfnLength = 512,
        ExpertCount = 64,
        ExpertUsedCount = 8,
        SharedExpertCount = 1,
        YarnOriginalContext = 4096,
        ContextLength = 4096 * 32,
    };

    /// <summary>
    /// Kimi-K2's exact tensor shapes (61 layers, the first dense with FFN 18,432; 384 experts of FFN 2048, 8 used,
    /// 1 shared; 64 heads, q_lora 1536, kv_lora 512, vocab 163,840; YaRN ×32 over 4096): about 1.03 T parameters.
    /// Use <see cref="Resized"/> for fewer layers or experts. Weights are random blocks (see <see cref="RandomBlockWeights"/>).
    /// </summary>
    public static TestModelSpec KimiK2 { get; } = KimiTiny with
    {
        Name = "kimi-k2",
        EmbeddingLength = 7168,
        LayerCount = 61,
        LeadingDenseCount = 1,
        HeadCount = 64,
        QLoraRank = 1536,
        KvLoraRank = 512,
        QkNopeHeadDim = 128,
        QkRopeHeadDim = 64,
        VHeadDim = 128,
        DenseFfnLength = 18432,
        ExpertFfnLength = 2048,
        ExpertCount = 384,
        ExpertUsedCount = 8,
        SharedExpertCount = 1,
        YarnOriginalContext = 4096,
        ContextLength = 4096 * 32,
        FullKimiVocabulary = true,
        RandomBlockWeights = true,
    };

    public static IReadOnlyList<TestModelSpec> Shapes { get; } = [KimiTiny, V2LiteTiny, KimiBench, KimiTiny2L, KimiK2];

    /// <summary>
    /// This shape with <paramref name="layers"/> layers (the leading dense ones kept, up to that many) and
    /// <paramref name="experts"/> routed experts (used: at most that many). Null keeps a value.
    /// </summary>
    public TestModelSpec Resized(int? layers, int? experts)
    {
        var spec = this;
        if (layers is { } n)
            spec = spec with { LayerCount = n, LeadingDenseCount = Math.Min(LeadingDenseCount, Math.Max(n, 0)) };
        if (experts is { } e)
            spec = spec with { ExpertCount = e, ExpertUsedCount = Math.Min(ExpertUsedCount, Math.Max(e, 1)) };
        return spec;
    }

    public static TestModelSpec ForShape(string name) =>
        Shapes.FirstOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"unknown test model shape '{name}'; known: {string.Join(", ", Shapes.Select(s => s.Name))}", nameof(name));
}
