using KimiSharp.Engine;
using KimiSharp.Models.DeepSeek2;
using KimiSharp.Sampling;
using KimiSharp.Tests.Models;
using KimiSharp.Text;

namespace KimiSharp.Tests.Engine;

/// <summary>
/// Continuous batching on the real deepseek2 forward pass: sequences generated together (one batched step for all of
/// them, prompt chunks mixed with decode tokens, pauses when KV memory runs out) answer exactly as each does alone.
/// </summary>
public sealed class BatchedEngineModelTests(TinyModelFiles files) : IClassFixture<TinyModelFiles>
{
    private static async Task<(int[] Tokens, float[] Logprobs, FinishEvent Finish)> Collect(System.Threading.Channels.ChannelReader<GenerationEvent> reader)
    {
        var tokens = new List<int>();
        var logprobs = new List<float>();
        FinishEvent? finish = null;
        await foreach (var e in reader.ReadAllAsync())
        {
            if (e is TokenEvent t)
            {
                tokens.Add(t.TokenId);
                logprobs.Add(t.Logprob!.Logprob);
            }
            else if (e is FinishEvent f) finish = f;
        }
        return (tokens.ToArray(), logprobs.ToArray(), finish!);
    }

    /// <summary>
    /// Four prompts of 5 to 40 tokens, greedy (temperature 0), 16 tokens each. Compared: every generated token id and its
    /// log-probability (from the raw logits), bit for bit, between the four run together (one step holds all four: decode
    /// tokens and prompt chunks of a 24-token budget) and each run alone. The model runs in batch-invariant mode, where a
    /// token's sums do not depend on what else is in the step (the default fast path may differ by rounding only). The
    /// second case gives the engine KV memory for barely more than one context, so sequences are paused and recomputed
    /// while the others go on.
    /// </summary>
    [Theory]
    [InlineData(0L)]
    [InlineData(6L * 8)]   // blocks of 8 tokens: 48 tokens for 4 sequences of up to 56
    public async Task Sequences_generated_together_equal_each_generated_alone(long kvTokens)
    {
        using var model = DeepSeek2Model.Load(files.Get("kimi-tiny"), new ModelOptions(2, BatchInvariant: true));
        var tokenizer = Tokenizer.FromGguf(model.File.Metadata);
        var rng = new Random(5);
        var prompts = new[] { 5, 40, 12, 23 }.Select(n => Enumerable.Range(0, n).Select(_ => rng.Next(3, model.VocabSize)).ToArray()).ToArray();
        GenerationRequest Request(int[] p) => new(p) { Sampling = SamplingParams.Greedy, MaxTokens = 16, IgnoreEndOfGeneration = true, TopLogprobs = 0 };

        var alone = new List<(int[] Tokens, float[] Logprobs, FinishEvent Finish)>();
        using (var single = new InferenceEngine(model, tokenizer, new EngineOptions { ContextLength = 64, MaxActiveSequences = 1, PrefixCaching = false }))
            foreach (var p in prompts)
                alone.Add(await Collect(single.Submit(Request(p))));

        var options = new EngineOptions
        {
            ContextLength = 64, MaxActiveSequences = 4, BatchTokens = 24, KvBlockTokens = 8, PrefixCaching = false,
            KvCacheBytes = kvTokens * model.KvCacheBytesPerToken + (kvTokens > 0 ? 3 * 8 * model.KvCacheBytesPerToken : 0),
        };
        using var batched = new InferenceEngine(model, tokenizer, options);
        var readers = prompts.Select(p => batched.Submit(Request(p))).ToArray();
        for (int i = 0; i < prompts.Length; i++)
        {
            var together = await Collect(readers[i]);
            Assert.Equal(alone[i].Tokens, together.Tokens);
            Assert.Equal(alone[i].Logprobs, together.Logprobs);
        }
        var stats = batched.Stats;
        Assert.True(stats.StepTokens > stats.Steps, "steps held several sequences' tokens");
        Assert.Equal(kvTokens > 0, stats.Preemptions > 0);
        Assert.Equal(0, stats.KvBlocksSequences);
    }
}
