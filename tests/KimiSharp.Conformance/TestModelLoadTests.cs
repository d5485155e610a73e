using KimiSharp.Conformance.LlamaCpp;
using KimiSharp.Gguf;
using KimiSharp.Quants;
using KimiSharp.TestModels;

namespace KimiSharp.Conformance;

/// <summary>Our generated files are real deepseek2 GGUFs: llama.cpp loads every shape and evaluates tokens.</summary>
public class TestModelLoadTests
{
    public static TheoryData<string, GgmlType> TinyShapes => new()
    {
        { "kimi-tiny", GgmlType.F32 },
        { "kimi-tiny-2l", GgmlType.F16 },
        { "v2lite-tiny", GgmlType.BF16 },
    };

    [Theory]
    [MemberData(nameof(TinyShapes))]
    public void LlamaCpp_loads_and_evaluates_a_generated_model_when_shape_is(string shape, GgmlType type) =>
        LoadsAndEvaluates(TestModelSpec.ForShape(shape) with { Type = type, Seed = 3 });

    [Fact]
    public void LlamaCpp_loads_and_evaluates_a_k_quant_model() =>
        LoadsAndEvaluates(TestModelSpec.KimiTiny2L with { Type = GgmlType.Q4_K });

    [Fact]
    public void LlamaCpp_loads_and_evaluates_a_mixed_UD_like_model() =>
        LoadsAndEvaluates(TestModelSpec.KimiTiny with { TypeOverride = TestModelTypes.UdLike(GgmlType.IQ2_XXS) });

    private static void LoadsAndEvaluates(TestModelSpec spec)
    {
        var dir = Path.Combine(Path.GetTempPath(), "kimisharp-load-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var path = Path.Combine(dir, spec.Name + ".gguf");
            TestModelWriter.Write(spec, path);
            using (var file = GgufFile.Open(path))
                Assert.Equal(spec.LayerCount, (int)file.Metadata.GetUInt32("deepseek2.block_count"));

            using var llama = LlamaReference.Load(path, contextSize: 64);
            int[] tokens = [1, 17, 300, 42, 5, 99];
            var logits = llama.EvaluateAll(tokens);
            Assert.Equal(tokens.Length, logits.Length);
            Assert.All(logits, row =>
            {
                Assert.Equal(llama.VocabSize, row.Length);
                Assert.All(row, v => Assert.True(float.IsFinite(v)));
            });
            // Different positions see different contexts: the rows must differ; and logits are not degenerate.
            Assert.NotEqual(logits[0], logits[^1]);
            Assert.True(logits[^1].Max() - logits[^1].Min() > 1e-3f);

            var generated = llama.GenerateGreedy(tokens, 4);
            Assert.Equal(4, generated.Length);
            Assert.Equal(LlamaReference.ArgMax(logits[^1]), generated[0]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void LlamaCpp_loads_a_split_set_written_by_the_test_model_writer()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kimisharp-load-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var spec = TestModelSpec.KimiTiny2L with { Type = GgmlType.F16 };
            var single = Path.Combine(dir, "single.gguf");
            TestModelWriter.Write(spec, single);
            var parts = TestModelWriter.WriteSplit(spec, Path.Combine(dir, "split"), 3);
            int[] tokens = [3, 4, 5];
            using var whole = LlamaReference.Load(single, contextSize: 16);
            using var split = LlamaReference.Load(parts[0], contextSize: 16);
            Assert.Equal(whole.EvaluateAll(tokens), split.EvaluateAll(tokens));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
