using KimiSharp.Engine;
using KimiSharp.Models.DeepSeek2;
using KimiSharp.Sampling;
using KimiSharp.TestModels;
using KimiSharp.Text;

namespace KimiSharp.Tests.Engine;

/// <summary>Prefix reuse on the real deepseek2 forward pass: the next turn's answer equals a fresh evaluation.</summary>
public sealed class PromptCacheModelTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kimisharp-cache-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Continuing_a_conversation_from_the_kept_cache_matches_a_fresh_evaluation()
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "kimi-tiny-2l.gguf");
        TestModelWriter.Write(TestModelSpec.KimiTiny2L with { Seed = 4 }, path);
        using var model = DeepSeek2Model.Load(path, new ModelOptions(Threads: 1));
        var tokenizer = Tokenizer.FromGguf(model.File.Metadata);
        int[] firstPrompt = tokenizer.Encode("Tell me about the sea.");
        var greedy = SamplingParams.Greedy;

        using var cached = new InferenceEngine(model, tokenizer, new EngineOptions { ContextLength = 128, KvBlockTokens = 4 });
        var first = await Tokens(cached, new GenerationRequest(firstPrompt) { Sampling = greedy, MaxTokens = 8, IgnoreEndOfGeneration = true });
        int[] secondPrompt = [.. firstPrompt, .. first.Tokens, .. tokenizer.Encode(" And the sky?")];
        var second = await Tokens(cached, new GenerationRequest(secondPrompt) { Sampling = greedy, MaxTokens = 8, IgnoreEndOfGeneration = true, TopLogprobs = 0 });
        Assert.Equal((firstPrompt.Length + 7) / 4 * 4, second.Finish.Usage.CachedPromptTokens);   // whole blocks of 4

        using var fresh = new InferenceEngine(model, tokenizer, new EngineOptions { ContextLength = 128, PrefixCaching = false });
        var expected = await Tokens(fresh, new GenerationRequest(secondPrompt) { Sampling = greedy, MaxTokens = 8, IgnoreEndOfGeneration = true, TopLogprobs = 0 });
        Assert.Equal(expected.Tokens, second.Tokens);
        for (int i = 0; i < expected.Logprobs.Count; i++)
            Assert.Equal(expected.Logprobs[i], second.Logprobs[i], 3);
    }

    private static async Task<(List<int> Tokens, List<float> Logprobs, FinishEvent Finish)> Tokens(InferenceEngine engine, GenerationRequest request)
    {
        var tokens = new List<int>();
        var logprobs = new List<float>();
        FinishEvent? finish = null;
        await foreach (var e in engine.GenerateAsync(request))
        {
            if (e is TokenEvent t)
            {
                tokens.Add(t.TokenId);
                if (t.Logprob is { } lp) logprobs.Add(lp.Logprob);
            }
            else if (e is FinishEvent f) finish = f;
        }
        return (tokens, logprobs, finish!);
    }
}
