using KimiSharp.Cli.Commands;
using KimiSharp.Conformance.LlamaCpp;
using KimiSharp.Quants;
using KimiSharp.Sampling;
using KimiSharp.TestModels;

namespace KimiSharp.Conformance;

/// <summary>
/// `kimi run --temp 0 --raw` continues a prompt exactly as llama.cpp's greedy decoding does: the same 64
/// token ids on the same generated kimi-tiny file, through our whole path (tokenizer, engine loop, sampler,
/// streaming decoder) against llama.cpp's.
/// </summary>
public class GreedyConformanceTests
{
    /// <summary>llama.cpp in its default configuration (Q4_K and Q2_K weights repacked for its gemm/gemv kernels, whose
    /// order our products follow).</summary>
    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q6_K)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q2_K)]
    public async Task Greedy_run_equals_llama_cpp_greedy_for_64_tokens_when_weights_are(GgmlType type)
    {
        var dir = Path.Combine(Path.GetTempPath(), "kimisharp-greedy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var path = Path.Combine(dir, $"kimi-tiny-{type}.gguf");
            TestModelWriter.Write(TestModelSpec.KimiTiny with { Type = type, Seed = 11 }, path);

            RunResult ours;
            using (var model = LocalModel.Open(path, threads: 2, TextWriter.Null, exact: true))
            {
                var settings = new RunSettings("The quick brown fox jumps over the lazy dog. Once upon a time", System: null, Raw: true,
                    SamplingParams.Greedy, MaxTokens: 64, ContextLength: 256, Verbose: false, IgnoreEndOfGeneration: true);
                ours = await RunCommand.RunAsync(model, settings, TextWriter.Null, TextWriter.Null, CancellationToken.None);
            }
            Assert.Equal(64, ours.Tokens.Length);

            using var llama = LlamaReference.Load(path, contextSize: 256);
            int[] reference = llama.GenerateGreedy(ours.PromptTokens, 64);
            Assert.Equal(reference, ours.Tokens);
            Assert.True(ours.Tokens.Distinct().Count() > 1, "a constant continuation would not test much");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
