using KimiSharp.Gguf;

namespace KimiSharp.Tests.Models;

/// <summary>deepseek2 metadata for config tests: Kimi-K2-0905's real values, editable per test.</summary>
internal sealed class MetadataBuilder
{
    private readonly Dictionary<string, GgufValue> _values = new()
    {
        ["general.architecture"] = GgufValue.From("deepseek2"),
        ["deepseek2.block_count"] = GgufValue.From(61u),
        ["deepseek2.context_length"] = GgufValue.From(262144u),
        ["deepseek2.embedding_length"] = GgufValue.From(7168u),
        ["deepseek2.feed_forward_length"] = GgufValue.From(18432u),
        ["deepseek2.attention.head_count"] = GgufValue.From(64u),
        ["deepseek2.attention.head_count_kv"] = GgufValue.From(1u),
        ["deepseek2.attention.key_length"] = GgufValue.From(576u),
        ["deepseek2.attention.value_length"] = GgufValue.From(512u),
        ["deepseek2.attention.key_length_mla"] = GgufValue.From(192u),
        ["deepseek2.attention.value_length_mla"] = GgufValue.From(128u),
        ["deepseek2.attention.q_lora_rank"] = GgufValue.From(1536u),
        ["deepseek2.attention.kv_lora_rank"] = GgufValue.From(512u),
        ["deepseek2.attention.layer_norm_rms_epsilon"] = GgufValue.From(1e-6f),
        ["deepseek2.rope.dimension_count"] = GgufValue.From(64u),
        ["deepseek2.rope.freq_base"] = GgufValue.From(50000f),
        ["deepseek2.rope.scaling.type"] = GgufValue.From("yarn"),
        ["deepseek2.rope.scaling.factor"] = GgufValue.From(64f),
        ["deepseek2.rope.scaling.original_context_length"] = GgufValue.From(4096u),
        ["deepseek2.rope.scaling.yarn_log_multiplier"] = GgufValue.From(0.1f),
        ["deepseek2.expert_count"] = GgufValue.From(384u),
        ["deepseek2.expert_used_count"] = GgufValue.From(8u),
        ["deepseek2.expert_shared_count"] = GgufValue.From(1u),
        ["deepseek2.expert_group_count"] = GgufValue.From(1u),
        ["deepseek2.expert_group_used_count"] = GgufValue.From(1u),
        ["deepseek2.leading_dense_block_count"] = GgufValue.From(1u),
        ["deepseek2.expert_feed_forward_length"] = GgufValue.From(2048u),
        ["deepseek2.expert_weights_scale"] = GgufValue.From(2.827f),
        ["deepseek2.expert_weights_norm"] = GgufValue.From(true),
        ["deepseek2.expert_gating_func"] = GgufValue.From(2u),
        ["deepseek2.vocab_size"] = GgufValue.From(163840u),
    };

    public MetadataBuilder Set(string key, GgufValue value)
    {
        _values[key] = value;
        return this;
    }

    public MetadataBuilder Remove(string key)
    {
        _values.Remove(key);
        return this;
    }

    public GgufMetadata Build() => new("test.gguf", _values);
}
