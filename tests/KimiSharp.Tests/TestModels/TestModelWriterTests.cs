using System.Buffers.Binary;
using KimiSharp.Gguf;
using KimiSharp.Quants;
using KimiSharp.TestModels;
using KimiSharp.Tests.Gguf;

namespace KimiSharp.Tests.TestModels;

public class TestModelWriterTests
{
    [Fact]
    public void Kimi_tiny_has_the_deepseek2_MLA_layout_llama_cpp_expects()
    {
        using var dir = new TempDir();
        var path = dir.File("k.gguf");
        var spec = TestModelSpec.KimiTiny;
        TestModelWriter.Write(spec, path);
        using var f = GgufFile.Open(path);
        var md = f.Metadata;
        Assert.Equal("deepseek2", md.GetString("general.architecture"));
        // 3 global + 13 per dense layer + 18 per MoE layer (fact sheet §3.2).
        Assert.Equal(3 + 13 + 3 * 18, f.Tensors.Count);
        var vocab = (int)md["tokenizer.ggml.tokens"].Length;

        long[] Dims(string name) => f.GetTensor(name).Dims;
        Assert.Equal(new long[] { 256, vocab }, Dims("token_embd.weight"));
        Assert.Equal(new long[] { 256, 96 }, Dims("blk.0.attn_q_a.weight"));
        Assert.Equal(new long[] { 96, 8 * 48 }, Dims("blk.0.attn_q_b.weight"));
        Assert.Equal(new long[] { 256, 64 + 16 }, Dims("blk.1.attn_kv_a_mqa.weight"));
        Assert.Equal(new long[] { 32, 64, 8 }, Dims("blk.1.attn_k_b.weight"));
        Assert.Equal(new long[] { 64, 32, 8 }, Dims("blk.1.attn_v_b.weight"));
        Assert.Equal(new long[] { 8 * 32, 256 }, Dims("blk.1.attn_output.weight"));
        Assert.Equal(new long[] { 256, 512 }, Dims("blk.0.ffn_gate.weight"));
        Assert.Equal(new long[] { 512, 256 }, Dims("blk.0.ffn_down.weight"));
        Assert.Equal(new long[] { 256, 16 }, Dims("blk.3.ffn_gate_inp.weight"));
        Assert.Equal(new long[] { 16 }, Dims("blk.3.exp_probs_b.bias"));
        Assert.Equal(new long[] { 256, 128, 16 }, Dims("blk.3.ffn_up_exps.weight"));
        Assert.Equal(new long[] { 128, 256, 16 }, Dims("blk.3.ffn_down_exps.weight"));
        Assert.Equal(new long[] { 256, 128 }, Dims("blk.3.ffn_gate_shexp.weight"));
        Assert.False(f.TryGetTensor("blk.0.ffn_gate_inp.weight", out _));
        Assert.False(f.TryGetTensor("blk.1.ffn_gate.weight", out _));

        // llama.cpp reads hparams with exact types: u32 integers, f32 floats, bool flags.
        Assert.Equal(GgufValueType.UInt32, md["deepseek2.attention.key_length"].Type);
        Assert.Equal(80u, md.GetUInt32("deepseek2.attention.key_length"));
        Assert.Equal(64u, md.GetUInt32("deepseek2.attention.value_length"));
        Assert.Equal(48u, md.GetUInt32("deepseek2.attention.key_length_mla"));
        Assert.Equal(32u, md.GetUInt32("deepseek2.attention.value_length_mla"));
        Assert.Equal(1u, md.GetUInt32("deepseek2.attention.head_count_kv"));
        Assert.Equal(GgufValueType.Float32, md["deepseek2.expert_weights_scale"].Type);
        Assert.Equal(2.827f, md.GetFloat32("deepseek2.expert_weights_scale"));
        Assert.Equal(GgufValueType.Bool, md["deepseek2.expert_weights_norm"].Type);
        Assert.Equal(2u, md.GetUInt32("deepseek2.expert_gating_func"));
        Assert.Equal("yarn", md.GetString("deepseek2.rope.scaling.type"));
        Assert.Equal(32f, md.GetFloat32("deepseek2.rope.scaling.factor"));
        Assert.Equal(256u, md.GetUInt32("deepseek2.rope.scaling.original_context_length"));
        Assert.Equal(0.1f, md.GetFloat32("deepseek2.rope.scaling.yarn_log_multiplier"));
        Assert.Equal(1u, md.GetUInt32("deepseek2.leading_dense_block_count"));
        Assert.Equal("gpt2", md.GetString("tokenizer.ggml.model"));
        Assert.Equal("kimi-k2", md.GetString("tokenizer.ggml.pre"));
        Assert.Equal(vocab, md.GetArray<int>("tokenizer.ggml.token_type").Length);
        Assert.Equal(KimiSharp.Chat.KimiChatTemplate.Source, md.GetString("tokenizer.chat_template"));
        Assert.Contains("<|im_end|>", md.GetStringArray("tokenizer.ggml.tokens"));
    }

    [Fact]
    public void V2lite_tiny_has_no_q_lora_softmax_gating_and_no_bias_or_yarn()
    {
        using var dir = new TempDir();
        var path = dir.File("v.gguf");
        TestModelWriter.Write(TestModelSpec.V2LiteTiny with { LayerCount = 4 }, path);
        using var f = GgufFile.Open(path);
        Assert.False(f.Metadata.ContainsKey("deepseek2.attention.q_lora_rank"));
        Assert.False(f.Metadata.ContainsKey("deepseek2.rope.scaling.type"));
        Assert.False(f.Metadata.ContainsKey("deepseek2.expert_weights_norm"));
        Assert.Equal(1u, f.Metadata.GetUInt32("deepseek2.expert_gating_func"));
        Assert.Equal(new long[] { 128, 4 * 48 }, f.GetTensor("blk.0.attn_q.weight").Dims);
        Assert.False(f.TryGetTensor("blk.0.attn_q_a.weight", out _));
        Assert.False(f.TryGetTensor("blk.2.exp_probs_b.bias", out _));
        Assert.True(f.TryGetTensor("blk.1.ffn_gate.weight", out _));
        Assert.Equal(new long[] { 128, 64 * 2 }, f.GetTensor("blk.2.ffn_up_shexp.weight").Dims);
    }

    [Fact]
    public void Weights_are_deterministic_in_the_seed_and_well_conditioned()
    {
        using var dir = new TempDir();
        var spec = TestModelSpec.KimiTiny2L;
        TestModelWriter.Write(spec, dir.File("a.gguf"));
        TestModelWriter.Write(spec, dir.File("b.gguf"));
        TestModelWriter.Write(spec with { Seed = 2 }, dir.File("c.gguf"));
        Assert.Equal(File.ReadAllBytes(dir.File("a.gguf")), File.ReadAllBytes(dir.File("b.gguf")));
        using var a = GgufFile.Open(dir.File("a.gguf"));
        using var c = GgufFile.Open(dir.File("c.gguf"));
        var name = "blk.1.ffn_up_exps.weight";
        Assert.NotEqual(a.GetTensorBytes(a.GetTensor(name)).ToArray(), c.GetTensorBytes(c.GetTensor(name)).ToArray());

        static float[] Floats(GgufFile f, string n) =>
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.GetTensorBytes(f.GetTensor(n))).ToArray();
        var up = Floats(a, name);
        var std = Math.Sqrt(up.Select(x => (double)x * x).Average());
        Assert.InRange(std, 0.95 / Math.Sqrt(256), 1.05 / Math.Sqrt(256)); // std 1/sqrt(fan_in)
        Assert.InRange(up.Average(), -0.01, 0.01);
        Assert.All(Floats(a, "blk.0.attn_norm.weight"), x => Assert.InRange(x, 0.9f, 1.1f));
        Assert.All(Floats(a, "blk.1.exp_probs_b.bias"), x => Assert.InRange(x, -0.02f, 0.02f));
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    public void Float_types_encode_the_same_values_as_F32_rounded(GgmlType type)
    {
        using var dir = new TempDir();
        TestModelWriter.Write(TestModelSpec.KimiTiny2L, dir.File("f32.gguf"));
        TestModelWriter.Write(TestModelSpec.KimiTiny2L with { Type = type }, dir.File("x.gguf"));
        using var f32 = GgufFile.Open(dir.File("f32.gguf"));
        using var x = GgufFile.Open(dir.File("x.gguf"));
        var t = x.GetTensor("blk.0.attn_q_b.weight");
        Assert.Equal(type, t.Type);
        Assert.Equal(GgmlType.F32, x.GetTensor("blk.0.attn_norm.weight").Type);
        Assert.Equal(GgmlType.F32, x.GetTensor("blk.1.ffn_gate_inp.weight").Type);
        var exact = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f32.GetTensorBytes(f32.GetTensor(t.Name)));
        var bytes = x.GetTensorBytes(t);
        for (var i = 0; i < exact.Length; i++)
        {
            var raw = BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]);
            var decoded = type == GgmlType.F16 ? (float)BitConverter.UInt16BitsToHalf(raw) : BitConverter.UInt32BitsToSingle((uint)raw << 16);
            var tolerance = MathF.Abs(exact[i]) * (type == GgmlType.F16 ? 1f / 2048 : 1f / 256) + 1e-7f;
            Assert.True(MathF.Abs(decoded - exact[i]) <= tolerance, $"{i}: {exact[i]} -> {decoded}");
        }
    }

    [Theory]
    [InlineData(0x3F800000u, 0x3F80)] // 1.0 exact
    [InlineData(0x3F808000u, 0x3F80)] // halfway, even stays
    [InlineData(0x3F818000u, 0x3F82)] // halfway, odd rounds up
    [InlineData(0x3F80C000u, 0x3F81)] // above halfway
    [InlineData(0x7FC00001u, 0x7FC0)] // NaN stays NaN
    public void Bf16_rounds_to_nearest_even(uint bits, int expected) =>
        Assert.Equal((ushort)expected, TestModelWriter.ToBf16(BitConverter.UInt32BitsToSingle(bits)));

    [Fact]
    public void Types_fall_back_like_llama_quantize_when_rows_are_not_256_wide()
    {
        var spec = TestModelSpec.KimiTiny with { Type = GgmlType.Q4_K };
        Assert.Equal(GgmlType.Q4_K, TestModelTypes.Resolve(spec, "blk.1.ffn_up_exps.weight", 256));
        Assert.Equal(GgmlType.Q5_0, TestModelTypes.Resolve(spec, "blk.1.attn_k_b.weight", 32));
        Assert.Equal(GgmlType.Q5_0, TestModelTypes.Resolve(spec, "blk.1.ffn_down_exps.weight", 128));
        Assert.Equal(GgmlType.F32, TestModelTypes.Resolve(spec, "blk.1.ffn_gate_inp.weight", 256));
        Assert.Equal(GgmlType.F32, TestModelTypes.Resolve(spec, "blk.1.exp_probs_b.bias", 16));
        Assert.Equal(GgmlType.F32, TestModelTypes.Resolve(spec, "output_norm.weight", 256));
        Assert.Equal(GgmlType.Q8_0, TestModelTypes.WithFallback(GgmlType.Q6_K, 96));
        Assert.Equal(GgmlType.IQ4_NL, TestModelTypes.WithFallback(GgmlType.IQ2_XXS, 128));
        Assert.Equal(GgmlType.F16, TestModelTypes.WithFallback(GgmlType.Q8_0, 16));

        var ud = spec with { TypeOverride = TestModelTypes.UdLike(GgmlType.IQ2_XXS) };
        Assert.Equal(GgmlType.IQ2_XXS, TestModelTypes.Resolve(ud, "blk.1.ffn_gate_exps.weight", 256));
        Assert.Equal(GgmlType.IQ4_NL, TestModelTypes.Resolve(ud, "blk.1.ffn_down_exps.weight", 128));
        Assert.Equal(GgmlType.Q8_0, TestModelTypes.Resolve(ud, "blk.1.attn_k_b.weight", 32));
        Assert.Equal(GgmlType.Q6_K, TestModelTypes.Resolve(ud, "blk.1.attn_kv_a_mqa.weight", 256));
        Assert.Equal(GgmlType.Q8_0, TestModelTypes.Resolve(ud, "blk.1.attn_q_b.weight", 96));
        Assert.Equal(GgmlType.F32, TestModelTypes.Resolve(ud, "blk.1.attn_norm.weight", 256));

        var bad = spec with { TypeOverride = (_, _, _) => GgmlType.Q4_K };
        Assert.Throws<ArgumentException>(() => TestModelTypes.Resolve(bad, "blk.1.attn_k_b.weight", 32));
    }

    [Fact]
    public void Shapes_are_found_by_name()
    {
        Assert.Equal(["kimi-tiny", "v2lite-tiny", "kimi-bench", "kimi-tiny-2l", "kimi-k2"], TestModelSpec.Shapes.Select(s => s.Name));
        Assert.Equal(2, TestModelSpec.ForShape("kimi-tiny-2l").LayerCount);
        Assert.Throws<ArgumentException>(() => TestModelSpec.ForShape("nope"));
    }
}
