using KimiSharp.Engine;
using KimiSharp.Sampling;

namespace KimiSharp.Tests.Engine;

/// <summary>
/// Continuous batching, paging, pausing and the prefix cache, on a scripted model whose next token is a hash of the whole
/// history it reads back from its paged cache: a block shared, copied, evicted, paused or reloaded wrongly changes the answer.
/// </summary>
public sealed class EngineBatchingTests : IDisposable
{
    private const int Vocab = 64, Eos = 0;
    private static readonly FakeVocabulary Vocabulary = FakeVocabulary.FromStrings(
        Enumerable.Range(0, Vocab).Select(i => i == Eos ? "<eos>" : ((char)('0' + i)).ToString()).ToArray(), Eos);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kimisharp-engine-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>1..Vocab−1 from a polynomial hash of every token so far (never end of generation).</summary>
    private static int Next(IReadOnlyList<int> history)
    {
        uint h = 2166136261;
        foreach (int t in history) h = (h ^ (uint)t) * 16777619;
        return 1 + (int)(h % (Vocab - 1));
    }

    private static ScriptedLanguageModel HashModel() => new(Vocab, Next);

    private static int[] Prompt(int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => rng.Next(1, Vocab)).ToArray();
    }

    private static GenerationRequest Request(int[] prompt, int maxTokens) =>
        new(prompt) { Sampling = SamplingParams.Greedy, MaxTokens = maxTokens };

    /// <summary>What the script answers: each token the hash of prompt + answer so far.</summary>
    private static int[] Expected(int[] prompt, int maxTokens)
    {
        var history = new List<int>(prompt);
        for (int i = 0; i < maxTokens; i++) history.Add(Next(history));
        return history.Skip(prompt.Length).ToArray();
    }

    private static async Task<(int[] Tokens, FinishEvent Finish)> Run(System.Threading.Channels.ChannelReader<GenerationEvent> reader)
    {
        var tokens = new List<int>();
        FinishEvent? finish = null;
        await foreach (var e in reader.ReadAllAsync())
        {
            if (e is TokenEvent t) tokens.Add(t.TokenId);
            if (e is FinishEvent f) finish = f;
        }
        return (tokens.ToArray(), finish!);
    }

    private static void AssertIdle(InferenceEngine engine)
    {
        var stats = engine.Stats;
        Assert.Equal(0, stats.QueueDepth);
        Assert.Equal(0, stats.ActiveSequences);
        Assert.Equal(0, stats.KvBlocksSequences);
    }

    [Fact]
    public async Task Sequences_running_together_answer_as_they_do_alone()
    {
        var model = HashModel();
        using var engine = new InferenceEngine(model, Vocabulary, new EngineOptions { MaxActiveSequences = 4, BatchTokens = 16, KvBlockTokens = 4 });
        var prompts = Enumerable.Range(0, 6).Select(i => Prompt(5 + 7 * i, i)).ToArray();
        var readers = prompts.Select((p, i) => engine.Submit(Request(p, 10 + i))).ToArray();
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(Expected(prompts[i], 10 + i), (await Run(readers[i])).Tokens);
        Assert.Contains(model.Steps, s => s.Segments.Count == 4);       // they did run together
        Assert.All(model.Steps, s => Assert.True(s.Segments.Sum(g => g.Tokens.Length) <= 16));
        AssertIdle(engine);
    }

    [Fact]
    public async Task When_kv_memory_runs_out_the_newest_sequence_pauses_and_resumes_with_the_same_answer()
    {
        var model = HashModel();
        // Room for 8 blocks of 4 tokens: one context of 28 tokens, not four sequences of 20.
        using var engine = new InferenceEngine(model, Vocabulary, new EngineOptions
        {
            ContextLength = 28, MaxActiveSequences = 4, BatchTokens = 32, KvBlockTokens = 4,
            KvCacheBytes = 8 * 4 * TokenKvRunner.BytesPerToken, PrefixCacheBytes = 0,
        });
        var prompts = Enumerable.Range(0, 4).Select(i => Prompt(6, 10 + i)).ToArray();
        var readers = prompts.Select(p => engine.Submit(Request(p, 14))).ToArray();
        for (int i = 0; i < prompts.Length; i++)
        {
            var (tokens, finish) = await Run(readers[i]);
            Assert.Equal(Expected(prompts[i], 14), tokens);
            Assert.Equal(FinishReason.Length, finish.Reason);
        }
        Assert.True(engine.Stats.Preemptions > 0, "the budget was meant to force a pause");
        AssertIdle(engine);
        Assert.True(engine.Stats.KvBlocksAllocated <= 8);
    }

    [Fact]
    public async Task A_new_request_left_waiting_for_kv_memory_runs_once_memory_frees()
    {
        var model = HashModel();
        model.Gate = new SemaphoreSlim(0);
        // 8 blocks of 4 tokens: the first request holds 5 of them for its prompt and grows to 7 while it decodes.
        using var engine = new InferenceEngine(model, Vocabulary, new EngineOptions
        {
            ContextLength = 28, MaxActiveSequences = 4, BatchTokens = 32, KvBlockTokens = 4,
            KvCacheBytes = 8 * 4 * TokenKvRunner.BytesPerToken, PrefixCacheBytes = 0,
        });
        int[] first = Prompt(20, 1), second = Prompt(10, 2);
        var a = engine.Submit(Request(first, 8));
        await model.Entered.WaitAsync();   // inside the first's prompt step
        // Needs 3 blocks + 1 of headroom while only 3 are free: it waits, and is looked at again before every step.
        var b = engine.Submit(Request(second, 4));
        model.Gate.Release(1000);

        Assert.Equal(Expected(first, 8), (await Run(a)).Tokens);
        var (tokens, finish) = await Run(b).WaitAsync(TimeSpan.FromSeconds(30));   // was lost: started, then read as cancelled
        Assert.Equal(Expected(second, 4), tokens);
        Assert.Equal(FinishReason.Length, finish.Reason);
        AssertIdle(engine);
    }

    [Fact]
    public void A_kv_budget_below_one_context_is_refused_with_what_fits()
    {
        var e = Assert.Throws<KvMemoryException>(() => new InferenceEngine(HashModel(), Vocabulary, new EngineOptions
        {
            ContextLength = 1000, KvBlockTokens = 4, KvCacheBytes = 100 * 4 * TokenKvRunner.BytesPerToken,
        }));
        Assert.Equal(400, e.FittingContext);
        Assert.Contains("400 tokens fits", e.Message);
    }

    [Fact]
    public async Task A_second_request_shares_the_prefix_a_running_one_has_computed()
    {
        var model = HashModel();
        model.Gate = new SemaphoreSlim(0);
        using var engine = new InferenceEngine(model, Vocabulary, new EngineOptions { KvBlockTokens = 4 });
        int[] shared = Prompt(18, 1);
        int[] first = [.. shared, 5, 6], second = [.. shared, 7];
        var a = engine.Submit(Request(first, 12));
        await model.Entered.WaitAsync();                  // inside the first's prompt step
        model.Gate.Release();
        await model.Entered.WaitAsync();                  // its blocks are offered: inside its first decode step
        var b = engine.Submit(Request(second, 6));
        model.Gate.Release(1000);
        for (int i = 0; i < 1000; i++) model.Entered.Release();

        Assert.Equal(Expected(first, 12), (await Run(a)).Tokens);
        var (tokens, finish) = await Run(b);
        Assert.Equal(Expected(second, 6), tokens);
        // 18 shared tokens: four whole blocks of 4, and two of the fifth block (copied before the second writes into it).
        Assert.Equal(18, finish.Usage.CachedPromptTokens);
        Assert.Equal(second.Length - 18, finish.Timings.PromptTokens);
        AssertIdle(engine);
    }

    [Fact]
    public async Task The_prefix_cache_keeps_to_its_budget_evicting_the_least_recently_used()
    {
        var model = HashModel();
        long blockBytes = 4 * TokenKvRunner.BytesPerToken;
        using var engine = new InferenceEngine(model, Vocabulary, new EngineOptions { KvBlockTokens = 4, PrefixCacheBytes = 6 * blockBytes });
        var prompts = Enumerable.Range(0, 5).Select(i => Prompt(12, 40 + i)).ToArray();   // 3 blocks each once run
        foreach (var p in prompts)
        {
            await Run(engine.Submit(Request(p, 1)));
            Assert.True(engine.Stats.KvBlocksCached <= 6, $"{engine.Stats.KvBlocksCached} cached blocks");
        }
        var newest = await Run(engine.Submit(Request(prompts[^1], 3)));
        var oldest = await Run(engine.Submit(Request(prompts[0], 3)));
        Assert.Equal(11, newest.Finish.Usage.CachedPromptTokens);   // all but the last prompt token, which runs for the logits
        Assert.Equal(0, oldest.Finish.Usage.CachedPromptTokens);
        Assert.Equal(Expected(prompts[0], 3), oldest.Tokens);
        Assert.Equal(Expected(prompts[^1], 3), newest.Tokens);
        AssertIdle(engine);
    }

    [Fact]
    public async Task Cancelled_and_finished_sequences_leave_no_blocks_behind()
    {
        var model = HashModel();
        using var engine = new InferenceEngine(model, Vocabulary, new EngineOptions { MaxActiveSequences = 3, KvBlockTokens = 4 });
        var sources = Enumerable.Range(0, 12).Select(_ => new CancellationTokenSource()).ToArray();
        var readers = sources.Select((cts, i) => engine.Submit(Request(Prompt(9, i), 40), cts.Token)).ToArray();
        for (int i = 0; i < sources.Length; i += 2) sources[i].Cancel();
        int cancelled = 0;
        for (int i = 0; i < readers.Length; i++)
        {
            var (tokens, finish) = await Run(readers[i]);
            if (finish.Reason == FinishReason.Cancelled) cancelled++;
            else Assert.Equal(Expected(Prompt(9, i), 40), tokens);
        }
        Assert.True(cancelled >= 1);
        AssertIdle(engine);
        Assert.Equal(12, engine.Stats.CompletedRequests);
        foreach (var cts in sources) cts.Dispose();
    }

    [Fact]
    public async Task The_disk_cache_serves_a_long_prefix_after_a_restart()
    {
        int[] prompt = Prompt(3000, 7);
        var options = new EngineOptions { ContextLength = 4096, CacheDirectory = _dir, BatchTokens = 512 };
        int[] cold;
        using (var engine = new InferenceEngine(HashModel(), Vocabulary, options))
        {
            var first = await Run(engine.Submit(Request(prompt, 4)));
            cold = first.Tokens;
            Assert.Equal(0, first.Finish.Usage.CachedPromptTokens);
            engine.FlushDiskCache();
        }
        Assert.NotEmpty(Directory.GetFiles(_dir, "*.kvblock"));

        var model = HashModel();
        using var restarted = new InferenceEngine(model, Vocabulary, options);
        var again = await Run(restarted.Submit(Request([.. prompt, 9, 9], 4)));
        Assert.Equal(Expected([.. prompt, 9, 9], 4), again.Tokens);
        Assert.Equal(Expected(prompt, 4), cold);
        Assert.True(again.Finish.Usage.CachedPromptTokens >= 0.9 * prompt.Length, $"{again.Finish.Usage.CachedPromptTokens} cached");
        Assert.Equal(again.Finish.Usage.CachedPromptTokens, (int)restarted.Stats.PrefixDiskHitTokens);
        AssertIdle(restarted);
    }

    [Fact]
    public async Task A_corrupt_or_truncated_cache_file_is_ignored_with_a_warning_and_recomputed()
    {
        int[] prompt = Prompt(100, 8);
        var options = new EngineOptions { CacheDirectory = _dir, KvBlockTokens = 8 };
        using (var engine = new InferenceEngine(HashModel(), Vocabulary, options))
        {
            await Run(engine.Submit(Request(prompt, 2)));
            engine.FlushDiskCache();
        }
        var files = Directory.GetFiles(_dir, "*.kvblock").OrderBy(f => f, StringComparer.Ordinal).ToArray();
        Assert.Equal(12, files.Length);   // 101 tokens in the cache: 12 whole blocks of 8
        // Damage every file: flip one byte of half of them, truncate the others.
        for (int i = 0; i < files.Length; i++)
        {
            var bytes = File.ReadAllBytes(files[i]);
            if (i % 2 == 0) bytes[bytes.Length / 2] ^= 0x40;
            else bytes = bytes[..(bytes.Length - 5)];
            File.WriteAllBytes(files[i], bytes);
        }

        var warnings = new List<string>();
        using var restarted = new InferenceEngine(HashModel(), Vocabulary, options with { Warn = w => { lock (warnings) warnings.Add(w); } });
        var (tokens, finish) = await Run(restarted.Submit(Request(prompt, 5)));
        Assert.Equal(Expected(prompt, 5), tokens);
        Assert.Equal(0, finish.Usage.CachedPromptTokens);   // the chain breaks at the first bad block
        Assert.NotEmpty(warnings);
        Assert.Contains(warnings, w => w.Contains("recomputed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cache_files_of_another_model_are_never_read()
    {
        int[] prompt = Prompt(64, 9);
        var options = new EngineOptions { CacheDirectory = _dir, KvBlockTokens = 8 };
        using (var engine = new InferenceEngine(HashModel(), Vocabulary, options))
        {
            await Run(engine.Submit(Request(prompt, 1)));
            engine.FlushDiskCache();
        }
        var other = HashModel();
        other.KvIdentity = "another model";
        using var restarted = new InferenceEngine(other, Vocabulary, options);
        var (_, finish) = await Run(restarted.Submit(Request(prompt, 1)));
        Assert.Equal(0, finish.Usage.CachedPromptTokens);
    }
}
