using KimiSharp.Cli.Commands;
using KimiSharp.Conformance.Models;
using KimiSharp.Models.DeepSeek2;
using KimiSharp.Text;
using Xunit.Abstractions;

namespace KimiSharp.Conformance.Accuracy;

/// <summary>
/// Our fast default path against llama.cpp's exact mode, held to the accuracy llama.cpp's own defaults have
/// (<see cref="AccuracyHarness"/>), and perplexity of the default path against our exact mode. These are the tests the
/// fast paths (attention, kernels) prove themselves by; the exact mode keeps its bit-identical tests elsewhere.
/// </summary>
public class DefaultPathAccuracyTests(ConformanceModels models, ITestOutputHelper output) : IClassFixture<ConformanceModels>
{
    private const int Threads = 2;

    [Theory]
    [InlineData("kimi-tiny", "F32")]
    [InlineData("kimi-tiny-2l", "Q4_K")]
    [InlineData("kimi-tiny-2l", "Q2_K")]
    [InlineData("kimi-tiny-2l", "IQ2_XXS")]
    public void Default_path_is_as_close_to_llama_cpp_exact_as_llama_cpp_defaults_are(string shape, string type)
    {
        var report = AccuracyHarness.Measure(models.Get(shape, type), $"{shape} {type}", Threads);
        output.WriteLine(report.ToString());
        Assert.True(report.WithinBound, report.ToString());
    }

    [Theory]
    [InlineData("kimi-tiny", "F32")]
    [InlineData("kimi-tiny-2l", "Q4_K")]
    public void Default_path_perplexity_is_within_half_a_percent_of_the_exact_mode(string shape, string type)
    {
        var path = models.Get(shape, type);
        double Perplexity(bool exact)
        {
            using var model = DeepSeek2Model.Load(path, new ModelOptions(Threads, Exact: exact));
            var tokenizer = Tokenizer.FromGguf(model.File.Metadata);
            var tokens = tokenizer.Encode(string.Concat(Enumerable.Repeat(TestVocabulary.TrainingText, 4)));
            const int ctx = 128;
            int chunks = Math.Min(4, tokens.Length / ctx);
            Assert.True(chunks >= 2, $"the text has only {tokens.Length} tokens");
            return PerplexityCommand.Run(model, tokenizer, tokens, ctx, chunks).Perplexity;
        }
        double fast = Perplexity(exact: false), exact = Perplexity(exact: true);
        output.WriteLine($"{shape} {type}: perplexity default {fast:F4}, exact {exact:F4}, ratio {fast / exact:F6}" +
            (fast == exact ? " (the default path is still identical to exact here)" : ""));
        Assert.InRange(fast / exact, 0.995, 1.005);
    }
}
