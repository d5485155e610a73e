using KimiSharp.Cli;
using KimiSharp.Gguf;
using KimiSharp.Quants;
using KimiSharp.Tests.Gguf;

namespace KimiSharp.Tests.TestModels;

// In-process CLI runs write to the process-wide Console: never in parallel with tests that capture it.
[Collection("Console")]
public class MakeTestModelCommandTests
{
    [Fact]
    public void Make_test_model_writes_a_split_set_of_the_requested_shape_and_type()
    {
        using var dir = new TempDir();
        var exit = Program.BuildRoot().Parse(["make-test-model", "--shape", "kimi-tiny-2l", "--out", dir.File("m.gguf"), "--type", "q8_0", "--seed", "9", "--split", "2"]).Invoke();
        Assert.Equal(0, exit);
        using var file = GgufFile.Open(dir.File("m-00002-of-00002.gguf"));
        Assert.Equal(2, file.PartPaths.Count);
        Assert.Equal(2u, file.Metadata.GetUInt32("deepseek2.block_count"));
        Assert.Equal(GgmlType.Q8_0, file.GetTensor("blk.1.ffn_up_exps.weight").Type);
        Assert.Equal(GgmlType.F32, file.GetTensor("blk.1.ffn_gate_inp.weight").Type);
    }

    [Fact]
    public void Make_test_model_writes_a_mixed_file_with_ud_experts()
    {
        using var dir = new TempDir();
        var path = dir.File("ud.gguf");
        Assert.Equal(0, Program.BuildRoot().Parse(["make-test-model", "--shape", "kimi-tiny-2l", "--out", path, "--ud-experts", "iq2_xxs"]).Invoke());
        using var file = GgufFile.Open(path);
        Assert.Equal(GgmlType.IQ2_XXS, file.GetTensor("blk.1.ffn_gate_exps.weight").Type);
        Assert.Equal(GgmlType.IQ4_NL, file.GetTensor("blk.1.ffn_down_exps.weight").Type); // rows of 128
        Assert.Equal(GgmlType.Q8_0, file.GetTensor("blk.1.attn_k_b.weight").Type);
        Assert.Equal(GgmlType.Q6_K, file.GetTensor("blk.1.attn_kv_a_mqa.weight").Type);
        Assert.Equal(GgmlType.F32, file.GetTensor("blk.1.attn_norm.weight").Type);
    }

    [Fact]
    public void Make_test_model_fails_with_exit_1_for_an_unknown_type()
    {
        using var dir = new TempDir();
        var exit = Program.BuildRoot().Parse(["make-test-model", "--shape", "kimi-tiny", "--out", dir.File("m.gguf"), "--type", "q9_z"]).Invoke();
        Assert.Equal(1, exit);
        Assert.False(File.Exists(dir.File("m.gguf")));
    }
}
