using KimiSharp.Gguf;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Tests.Models;

public class DeepSeek2ConfigTests
{
    [Fact]
    public void FromMetadata_reads_Kimi_K2_shape_when_file_is_MLA()
    {
        var c = DeepSeek2Config.FromMetadata(new MetadataBuilder().Build());
        Assert.True(c.IsMla);
        Assert.Equal(61, c.LayerCount);
        Assert.Equal(128, c.QkNopeDim);
        Assert.Equal(64, c.RopeDim);
        Assert.Equal(128, c.ValueHeadDim);
        Assert.Equal(576, c.LatentRowLength);
        Assert.Equal(1536, c.QLoraRank);
        Assert.Equal(ExpertGatingFunc.Sigmoid, c.GatingFunc);
        Assert.True(c.IsDenseLayer(0));
        Assert.False(c.IsDenseLayer(1));
        Assert.Equal(32f, c.YarnBetaFast);
        Assert.Equal(1f, c.YarnBetaSlow);
    }

    [Fact]
    public void FromMetadata_computes_llama_cpp_kq_scale_and_rope_factor_when_yarn_factor_is_64()
    {
        // Reference figures (llamacpp-deepseek2.md §4.1): f = 64 → attn_factor 0.70627, kq_scale 0.144680.
        var c = DeepSeek2Config.FromMetadata(new MetadataBuilder().Build());
        Assert.Equal(0.70627f, c.RopeAttnFactor, 4);
        Assert.Equal(0.144680f, c.KqScale, 5);
        Assert.Equal(1.0f / 64, c.RopeFreqScale);
        Assert.Equal(1.0f, c.YarnLogMultiplier);
    }

    [Fact]
    public void FromMetadata_uses_plain_scale_when_file_has_no_rope_scaling()
    {
        var c = DeepSeek2Config.FromMetadata(new MetadataBuilder()
            .Remove("deepseek2.rope.scaling.type").Remove("deepseek2.rope.scaling.factor")
            .Remove("deepseek2.rope.scaling.yarn_log_multiplier").Build());
        Assert.Equal(0f, c.YarnExtFactor);
        Assert.Equal(1f / MathF.Sqrt(192), c.KqScale, 6);
    }

    [Fact]
    public void FromMetadata_reads_beta_keys_when_present_and_options_override_them()
    {
        var md = new MetadataBuilder()
            .Set("deepseek2.rope.scaling.yarn_beta_fast", GgufValue.From(1f))
            .Set("deepseek2.rope.scaling.yarn_beta_slow", GgufValue.From(1f)).Build();
        Assert.Equal(1f, DeepSeek2Config.FromMetadata(md).YarnBetaFast);
        Assert.Equal(32f, DeepSeek2Config.FromMetadata(md, betaFastOverride: 32f).YarnBetaFast);
    }

    [Fact]
    public void FromMetadata_accepts_per_layer_arrays_when_lengths_match()
    {
        var ff = Enumerable.Range(0, 61).Select(i => (uint)(i == 0 ? 18432 : 0)).ToArray();
        var c = DeepSeek2Config.FromMetadata(new MetadataBuilder()
            .Set("deepseek2.feed_forward_length", GgufValue.FromArray(ff))
            .Set("deepseek2.attention.head_count", GgufValue.FromArray(Enumerable.Repeat(64, 61).ToArray())).Build());
        Assert.Equal(18432, c.FeedForwardLength[0]);
        Assert.Equal(0, c.FeedForwardLength[1]);
        Assert.Equal(64, c.HeadCount);
    }

    [Fact]
    public void FromMetadata_reads_legacy_files_when_mla_keys_are_absent()
    {
        var c = DeepSeek2Config.FromMetadata(new MetadataBuilder()
            .Remove("deepseek2.attention.key_length_mla").Remove("deepseek2.attention.value_length_mla")
            .Set("deepseek2.attention.head_count_kv", GgufValue.From(64u))
            .Set("deepseek2.attention.key_length", GgufValue.From(192u))
            .Set("deepseek2.attention.value_length", GgufValue.From(128u)).Build());
        Assert.False(c.IsMla);
        Assert.Equal(128, c.QkNopeDim);
        Assert.Equal(128, c.ValueHeadDim);
    }

    [Theory]
    [InlineData("deepseek2.block_count")]
    [InlineData("deepseek2.attention.kv_lora_rank")]
    [InlineData("deepseek2.rope.dimension_count")]
    [InlineData("deepseek2.attention.layer_norm_rms_epsilon")]
    public void FromMetadata_names_the_key_when_a_required_key_is_missing(string key)
    {
        var e = Assert.Throws<ModelLoadException>(() => DeepSeek2Config.FromMetadata(new MetadataBuilder().Remove(key).Build()));
        Assert.Equal(key, e.Name);
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void FromMetadata_rejects_per_layer_array_of_wrong_length()
    {
        var e = Assert.Throws<ModelLoadException>(() => DeepSeek2Config.FromMetadata(new MetadataBuilder()
            .Set("deepseek2.feed_forward_length", GgufValue.FromArray(new uint[] { 1, 2, 3 })).Build()));
        Assert.Contains("expected 61", e.Message);
    }

    [Fact]
    public void FromMetadata_rejects_mla_file_whose_key_length_is_not_latent_plus_rope()
    {
        var e = Assert.Throws<ModelLoadException>(() => DeepSeek2Config.FromMetadata(new MetadataBuilder()
            .Set("deepseek2.attention.key_length", GgufValue.From(192u)).Build()));
        Assert.Equal("deepseek2.attention.key_length", e.Name);
    }

    [Fact]
    public void FromMetadata_rejects_other_architectures()
    {
        var e = Assert.Throws<ModelLoadException>(() => DeepSeek2Config.FromMetadata(new MetadataBuilder()
            .Set("general.architecture", GgufValue.From("llama")).Build()));
        Assert.Contains("llama", e.Message);
    }

    [Fact]
    public void FromMetadata_rejects_unknown_gating_function()
    {
        var e = Assert.Throws<ModelLoadException>(() => DeepSeek2Config.FromMetadata(new MetadataBuilder()
            .Set("deepseek2.expert_gating_func", GgufValue.From(4u)).Build()));
        Assert.Equal("deepseek2.expert_gating_func", e.Name);
    }
}
