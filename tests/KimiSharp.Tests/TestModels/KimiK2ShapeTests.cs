using KimiSharp.Cli;
using KimiSharp.Gguf;
using KimiSharp.Models.DeepSeek2;
using KimiSharp.Quants;
using KimiSharp.TestModels;
using KimiSharp.Tests.Gguf;
using KimiSharp.Text;

namespace KimiSharp.Tests.TestModels;

// In-process CLI runs write to the process-wide Console: never in parallel with tests that capture it.
[Collection("Console")]
public class KimiK2ShapeTests
{
    private static Dictionary<string, long[]> Tensors(TestModelSpec spec) =>
        TestModelWriter.Layout(spec, KimiVocabulary.Size).ToDictionary(t => t.Name, t => t.Dims);

    [Fact]
    public void Kimi_k2_shape_has_the_real_model_tensor_shapes()
    {
        var t = Tensors(TestModelSpec.KimiK2);
        Assert.Equal([7168L, 163840], t["token_embd.weight"]);
        Assert.Equal([7168L, 163840], t["output.weight"]);
        Assert.Equal([7168L, 1536], t["blk.0.attn_q_a.weight"]);
        Assert.Equal([1536L, 64 * 192], t["blk.0.attn_q_b.weight"]);
        Assert.Equal([7168L, 512 + 64], t["blk.0.attn_kv_a_mqa.weight"]);
        Assert.Equal([128L, 512, 64], t["blk.0.attn_k_b.weight"]);
        Assert.Equal([512L, 128, 64], t["blk.0.attn_v_b.weight"]);
        Assert.Equal([64L * 128, 7168], t["blk.0.attn_output.weight"]);
        Assert.Equal([7168L, 18432], t["blk.0.ffn_gate.weight"]);
        Assert.Equal([18432L, 7168], t["blk.0.ffn_down.weight"]);
        Assert.Equal([7168L, 2048, 384], t["blk.60.ffn_up_exps.weight"]);
        Assert.Equal([2048L, 7168, 384], t["blk.60.ffn_down_exps.weight"]);
        Assert.Equal([7168L, 2048], t["blk.60.ffn_gate_shexp.weight"]);
        Assert.Equal([384L], t["blk.60.exp_probs_b.bias"]);
        Assert.False(t.ContainsKey("blk.61.attn_norm.weight"));
        Assert.False(t.ContainsKey("blk.0.ffn_gate_exps.weight"));
    }

    [Fact]
    public void Kimi_k2_full_size_is_about_a_trillion_parameters_and_resizes_to_fewer_layers_and_experts()
    {
        var (parameters, _) = TestModelWriter.Size(TestModelSpec.KimiK2);
        Assert.InRange(parameters, 1.02e12, 1.03e12);

        var small = TestModelSpec.KimiK2.Resized(layers: 3, experts: 6);
        Assert.Equal((3, 1, 6, 6), (small.LayerCount, small.LeadingDenseCount, small.ExpertCount, small.ExpertUsedCount));
        Assert.Equal([7168L, 2048, 6], Tensors(small)["blk.2.ffn_gate_exps.weight"]);
        var (smallParameters, smallBytes) = TestModelWriter.Size(small with { Type = GgmlType.Q8_0 });
        long f32 = Tensors(small).Where(t => TestModelTypes.StaysF32(t.Key)).Sum(t => t.Value.Aggregate(1L, (a, d) => a * d));
        Assert.Equal((smallParameters - f32) / 32 * 34 + 4 * f32, smallBytes); // Q8_0: 34-byte blocks of 32; norms, router F32
    }

    [Fact]
    public void Kimi_vocabulary_has_kimis_size_and_special_token_ids_and_tokenizes_like_the_test_vocabulary()
    {
        var data = KimiVocabulary.Build();
        Assert.Equal(163_840, data.Tokens.Length);
        Assert.Equal(data.Tokens.Length, data.Tokens.Distinct().Count());
        var tokenizer = Tokenizer.Create(data);
        var small = Tokenizer.Create(TestVocabulary.Build());
        Assert.Equal([163_586], tokenizer.Encode("<|im_end|>", parseSpecial: true));
        Assert.Equal([163_601], tokenizer.Encode("<|im_middle|>", parseSpecial: true));
        Assert.Equal(163_584, data.BosId);
        Assert.Equal(163_839, data.PadId);
        Assert.Equal((int)TokenType.UserDefined, data.TokenTypes[163_597]); // <|tool_call_begin|> is not "special"
        const string text = "def add(a, b):\n    return a + b  # 加法";
        Assert.Equal(small.Encode(text), tokenizer.Encode(text));
    }

    [Fact]
    public void Random_block_weights_make_a_model_that_runs_with_finite_logits()
    {
        using var dir = new TempDir();
        var path = dir.File("rb.gguf");
        TestModelWriter.Write(TestModelSpec.KimiTiny2L with { Type = GgmlType.Q4_K, RandomBlockWeights = true }, path);
        using var model = DeepSeek2Model.Load(path, new ModelOptions(1));
        var logits = new float[4 * model.VocabSize];
        using (var session = model.CreateSession(4))
            session.ForwardAll([5, 17, 300, 42], logits);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        Assert.True(logits.Max() - logits.Min() > 1e-2f);
    }

    [Fact]
    public void Make_test_model_resizes_a_shape_with_layers_and_experts()
    {
        using var dir = new TempDir();
        var path = dir.File("m.gguf");
        Assert.Equal(0, Program.BuildRoot().Parse(["make-test-model", "--shape", "kimi-tiny", "--layers", "3", "--experts", "6", "--out", path]).Invoke());
        using var file = GgufFile.Open(path);
        Assert.Equal(3u, file.Metadata.GetUInt32("deepseek2.block_count"));
        Assert.Equal(6u, file.Metadata.GetUInt32("deepseek2.expert_count"));
        Assert.Equal(4u, file.Metadata.GetUInt32("deepseek2.expert_used_count"));
        Assert.Equal([256L, 128, 6], file.GetTensor("blk.2.ffn_up_exps.weight").Dims);
    }

    [Theory]
    [InlineData("26", "as DeepSeek-V2-Lite")]
    [InlineData("0", "non-positive")]
    public void Make_test_model_refuses_a_layer_count_llama_cpp_cannot_load(string layers, string message)
    {
        using var dir = new TempDir();
        var err = new StringWriter();
        var old = Console.Error;
        Console.SetError(err);
        try
        {
            Assert.Equal(1, Program.BuildRoot().Parse(["make-test-model", "--shape", "kimi-k2", "--layers", layers, "--type", "iq1_s", "--out", dir.File("m.gguf")]).Invoke());
        }
        finally
        {
            Console.SetError(old);
        }
        Assert.Contains(message, err.ToString());
        Assert.False(File.Exists(dir.File("m.gguf")));
    }
}
