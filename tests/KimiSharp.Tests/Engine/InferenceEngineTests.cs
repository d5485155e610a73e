using KimiSharp.Engine;
using KimiSharp.Sampling;

namespace KimiSharp.Tests.Engine;

public class InferenceEngineTests
{
    // 0 = end of generation; 8 + 9 are the two halves of "€" (E2 82 | AC).
    private const int Eos = 0, A = 1, B = 2, S = 3, T = 4, O = 5, P = 6, X = 7, EuroHead = 8, EuroTail = 9;
    private static readonly FakeVocabulary Vocab = new(
    [
        "<eos>"u8.ToArray(), "a"u8.ToArray(), "b"u8.ToArray(), "S"u8.ToArray(), "T"u8.ToArray(), "O"u8.ToArray(),
        "P"u8.ToArray(), "x"u8.ToArray(), [0xE2, 0x82], [0xAC], "<pad>"u8.ToArray(),
    ], Eos);

    private static readonly int[] Prompt = [A, B, A];

    /// <summary>A model that answers the 3-token prompt with <paramref name="answer"/>, then repeats "a".</summary>
    private static ScriptedLanguageModel Answering(params int[] answer) =>
        new(11, tokens => tokens.Count - Prompt.Length is var i && i >= 0 && i < answer.Length ? answer[i] : A);

    private static GenerationRequest Greedy(int? maxTokens = null, params string[] stops) =>
        new(Prompt) { Sampling = SamplingParams.Greedy, MaxTokens = maxTokens, StopStrings = stops };

    private static async Task<(List<GenerationEvent> Events, string Text, FinishEvent Finish)> Collect(IAsyncEnumerable<GenerationEvent> stream)
    {
        var events = new List<GenerationEvent>();
        await foreach (var e in stream) events.Add(e);
        string text = string.Concat(events.Select(e => e switch { TokenEvent t => t.TextDelta, TextEvent t => t.TextDelta, _ => "" }));
        var finish = Assert.IsType<FinishEvent>(events[^1]);
        Assert.Single(events.OfType<FinishEvent>());
        return (events, text, finish);
    }

    [Fact]
    public async Task Generation_streams_text_and_stops_at_end_of_generation_token()
    {
        var model = Answering(B, X, B, Eos);
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { PrefixCaching = false });
        var (events, text, finish) = await Collect(engine.GenerateAsync(Greedy()));
        Assert.Equal("bxb", text);
        Assert.Equal([B, X, B], events.OfType<TokenEvent>().Select(t => t.TokenId));
        Assert.Equal(FinishReason.Stop, finish.Reason);
        Assert.Equal(Eos, finish.StopTokenId);
        Assert.Equal(new Usage(3, 4), finish.Usage);
        Assert.Equal(3, finish.Timings.PromptTokens);
        Assert.Equal(3, finish.Timings.DecodeTokens);
        Assert.Equal(0, engine.Stats.KvBlocksSequences);
    }

    [Fact]
    public async Task Generation_stops_with_length_when_max_tokens_is_reached()
    {
        var model = Answering();
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions());
        var (_, text, finish) = await Collect(engine.GenerateAsync(Greedy(maxTokens: 5)));
        Assert.Equal("aaaaa", text);
        Assert.Equal(FinishReason.Length, finish.Reason);
        Assert.Equal(5, finish.Usage.CompletionTokens);
        // The fifth token is never fed back: one prefill + four decode steps.
        Assert.Equal(5, model.ForwardCalls);
    }

    [Fact]
    public async Task Generation_stops_with_length_when_the_context_is_full()
    {
        var model = Answering();
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { ContextLength = 8 });
        var (_, text, finish) = await Collect(engine.GenerateAsync(Greedy()));
        Assert.Equal(FinishReason.Length, finish.Reason);
        Assert.Equal(5, text.Length); // 3 prompt + 5 generated = the 8 tokens of context
        Assert.Equal(8, finish.Usage.TotalTokens);
    }

    [Fact]
    public async Task Stop_string_spanning_tokens_is_held_back_and_never_emitted()
    {
        using var engine = new InferenceEngine(Answering(A, S, T, O, P, X), Vocab, new EngineOptions());
        var (events, text, finish) = await Collect(engine.GenerateAsync(Greedy(null, "STOP")));
        Assert.Equal("a", text);
        Assert.Equal(FinishReason.StopString, finish.Reason);
        Assert.Equal("STOP", finish.StopString);
        Assert.DoesNotContain(events.OfType<TokenEvent>(), t => t.TextDelta.Contains('S'));
        Assert.Equal(5, finish.Usage.CompletionTokens);
    }

    [Fact]
    public async Task Held_back_text_is_released_when_it_stops_matching()
    {
        using var engine = new InferenceEngine(Answering(S, T, X, S, Eos), Vocab, new EngineOptions());
        var (events, text, finish) = await Collect(engine.GenerateAsync(Greedy(null, "STOP")));
        Assert.Equal("STxS", text);
        Assert.Equal(FinishReason.Stop, finish.Reason);
        var deltas = events.Select(e => e switch { TokenEvent t => t.TextDelta, TextEvent t => "[" + t.TextDelta + "]", _ => "|" });
        Assert.Equal(["", "", "STx", "", "[S]", "|"], deltas);
    }

    [Fact]
    public async Task Multibyte_characters_split_over_tokens_are_emitted_whole()
    {
        using var engine = new InferenceEngine(Answering(EuroHead, EuroTail, A, Eos), Vocab, new EngineOptions());
        var (events, text, _) = await Collect(engine.GenerateAsync(Greedy()));
        Assert.Equal("€a", text);
        Assert.Equal(["", "€", "a"], events.OfType<TokenEvent>().Select(t => t.TextDelta));
    }

    [Fact]
    public async Task Ignore_end_of_generation_keeps_going()
    {
        using var engine = new InferenceEngine(Answering(Eos, Eos), Vocab, new EngineOptions());
        var (events, _, finish) = await Collect(engine.GenerateAsync(Greedy(maxTokens: 3) with { IgnoreEndOfGeneration = true }));
        Assert.Equal(FinishReason.Length, finish.Reason);
        Assert.Equal([Eos, Eos, A], events.OfType<TokenEvent>().Select(t => t.TokenId));
    }

    [Fact]
    public async Task Extra_stop_token_ids_end_generation()
    {
        using var engine = new InferenceEngine(Answering(A, X, B), Vocab, new EngineOptions());
        var (_, text, finish) = await Collect(engine.GenerateAsync(Greedy() with { StopTokenIds = [X] }));
        Assert.Equal("a", text);
        Assert.Equal((FinishReason.Stop, (int?)X), (finish.Reason, finish.StopTokenId));
    }

    [Fact]
    public void Context_overflow_is_reported_with_both_counts_before_any_work()
    {
        var model = Answering();
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { ContextLength = 3 });
        var e = Assert.Throws<ContextOverflowException>(() => engine.Submit(Greedy()));
        Assert.Equal((3, 3), (e.PromptTokens, e.ContextLength));
        Assert.Contains("3", e.Message);
        Assert.Equal(0, model.ForwardCalls);
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("id")]
    [InlineData("max")]
    [InlineData("sampling")]
    public void Bad_requests_are_rejected_up_front(string what)
    {
        using var engine = new InferenceEngine(Answering(), Vocab, new EngineOptions());
        var request = what switch
        {
            "empty" => new GenerationRequest([]),
            "id" => new GenerationRequest([1, 11]),
            "max" => Greedy(maxTokens: -1),
            _ => Greedy() with { Sampling = new SamplingParams { TopP = 2f } },
        };
        Assert.ThrowsAny<ArgumentException>(() => engine.Submit(request));
    }

    [Fact]
    public async Task Cancelling_a_running_generation_ends_its_step_in_flight_and_frees_the_cache()
    {
        var model = Answering();
        model.Gate = new SemaphoreSlim(0);
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { PrefixCaching = false });
        using var cts = new CancellationTokenSource();
        var reader = engine.Submit(Greedy(), cts.Token);
        for (int i = 0; i < 3; i++)
        {
            await model.Entered.WaitAsync();
            model.Gate.Release();
        }
        await model.Entered.WaitAsync(); // the loop is inside its 4th forward call, held there (as in a long prompt chunk)
        cts.Cancel();                    // its only sequence is cancelled: the step ends without being released
        var (_, _, finish) = await Collect(reader.ReadAllAsync());
        Assert.Equal(FinishReason.Cancelled, finish.Reason);
        Assert.Equal(4, model.ForwardCalls);
        Assert.Equal(3, finish.Usage.CompletionTokens);   // the aborted step sampled nothing
        Assert.Equal(0, engine.Stats.KvBlocksSequences);
        model.Gate.Release(1000);
    }

    [Fact]
    public async Task Cancelling_one_of_two_sequences_in_a_step_leaves_the_step_and_the_other_answer_alone()
    {
        var model = Answering(B, X, B, Eos);
        model.Gate = new SemaphoreSlim(0);
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { MaxActiveSequences = 2, PrefixCaching = false });
        using var cts = new CancellationTokenSource();
        var kept = engine.Submit(Greedy());
        var cancelled = engine.Submit(Greedy(), cts.Token);
        await model.Entered.WaitAsync();
        model.Gate.Release();
        await model.Entered.WaitAsync();
        while (model.Steps[^1].Segments.Count < 2)   // until a step holds both sequences (the second may start a step later)
        {
            model.Gate.Release();
            await model.Entered.WaitAsync();
        }
        cts.Cancel();   // held inside a step with both: the kept one still waits for it, so it runs to its end
        model.Gate.Release(1000);
        for (int i = 0; i < 1000; i++) model.Entered.Release();
        Assert.Equal(FinishReason.Cancelled, (await Collect(cancelled.ReadAllAsync())).Finish.Reason);
        var (_, text, finish) = await Collect(kept.ReadAllAsync());
        Assert.Equal(("bxb", FinishReason.Stop), (text, finish.Reason));
        Assert.Equal(0, engine.Stats.KvBlocksSequences);
    }

    [Fact]
    public async Task Disposing_stops_the_step_in_flight_without_waiting_for_it()
    {
        var model = Answering();
        model.Gate = new SemaphoreSlim(0);   // never released: the step only ends if the engine stops it (as kimi serve on SIGTERM)
        var engine = new InferenceEngine(model, Vocab, new EngineOptions { PrefixCaching = false });
        var running = engine.Submit(Greedy());
        var waiting = engine.Submit(Greedy());
        await model.Entered.WaitAsync();   // the loop is inside the step's forward pass

        await Task.Run(engine.Dispose).WaitAsync(TimeSpan.FromMinutes(1));   // a guard against a hang, not a timing

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Collect(running.ReadAllAsync()));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Collect(waiting.ReadAllAsync()));
        Assert.Equal(0, engine.Stats.ActiveSequences);
        Assert.Equal(1, model.ForwardCalls);
    }

    [Fact]
    public async Task Cancelling_a_waiting_request_finishes_it_at_once()
    {
        var model = Answering();
        model.Gate = new SemaphoreSlim(0);
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { MaxActiveSequences = 1 });
        var first = engine.Submit(Greedy(maxTokens: 2));
        await model.Entered.WaitAsync(); // the first request holds the only slot
        using var cts = new CancellationTokenSource();
        var second = engine.Submit(Greedy(maxTokens: 2), cts.Token);
        Assert.Equal(1, engine.Stats.QueueDepth);
        cts.Cancel();
        var (_, _, finish) = await Collect(second.ReadAllAsync());
        Assert.Equal(FinishReason.Cancelled, finish.Reason);
        Assert.Equal(0, finish.Usage.CompletionTokens);
        Assert.Equal(0, engine.Stats.QueueDepth);
        model.Gate.Release(1000);
        Assert.Equal(FinishReason.Length, (await Collect(first.ReadAllAsync())).Finish.Reason);
        Assert.All(model.Steps, step => Assert.Single(step.Segments));
    }

    [Fact]
    public async Task A_full_queue_refuses_new_requests()
    {
        var model = Answering();
        model.Gate = new SemaphoreSlim(0);
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { MaxActiveSequences = 1, MaxQueuedRequests = 1 });
        var first = engine.Submit(Greedy(maxTokens: 1));
        await model.Entered.WaitAsync();
        var second = engine.Submit(Greedy(maxTokens: 1));
        var stats = engine.Stats;
        Assert.Equal((1, 1, 0L, 0L), (stats.QueueDepth, stats.ActiveSequences, stats.GeneratedTokens, stats.CompletedRequests));
        Assert.Throws<EngineQueueFullException>(() => engine.Submit(Greedy(maxTokens: 1)));
        model.Gate.Release(1000);
        await Collect(first.ReadAllAsync());
        await Collect(second.ReadAllAsync());
        Assert.Equal(2, engine.Stats.CompletedRequests);
    }

    [Fact]
    public async Task Active_sequences_advance_together_in_one_batched_step()
    {
        var model = Answering();
        model.Gate = new SemaphoreSlim(0);
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { MaxActiveSequences = 2, PrefixCaching = false });
        var first = engine.Submit(Greedy(maxTokens: 4));
        await model.Entered.WaitAsync(); // hold the loop in the first step so the second arrives while the first runs
        var second = engine.Submit(Greedy(maxTokens: 4));
        model.Gate.Release(1000);
        for (int i = 0; i < 1000; i++) model.Entered.Release();
        Assert.Equal("aaaa", (await Collect(first.ReadAllAsync())).Text);
        Assert.Equal("aaaa", (await Collect(second.ReadAllAsync())).Text);
        // Tokens per sequence in each step: the first's prompt alone; then the first's decode token with the second's whole
        // prompt; then one decode token each, until the first has its four tokens and the second finishes alone.
        Assert.Equal([[3], [1, 3], [1, 1], [1, 1], [1]], model.Steps.Select(step => step.Segments.Select(g => g.Tokens.Length).ToArray()));
    }

    [Fact]
    public async Task With_one_slot_requests_run_first_come_first_served()
    {
        var model = Answering();
        model.Gate = new SemaphoreSlim(0);
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { MaxActiveSequences = 1, PrefixCaching = false });
        int[][] prompts = [[A, B, A], [B, B], [S, T, O, P]];
        var readers = new List<System.Threading.Channels.ChannelReader<GenerationEvent>> { engine.Submit(new GenerationRequest(prompts[0]) { Sampling = SamplingParams.Greedy, MaxTokens = 2 }) };
        await model.Entered.WaitAsync();
        readers.Add(engine.Submit(new GenerationRequest(prompts[1]) { Sampling = SamplingParams.Greedy, MaxTokens = 2 }));
        readers.Add(engine.Submit(new GenerationRequest(prompts[2]) { Sampling = SamplingParams.Greedy, MaxTokens = 2 }));
        model.Gate.Release(1000);
        foreach (var r in readers) await Collect(r.ReadAllAsync());
        // Each request's prompt step, then its one decode step, in arrival order.
        var prefills = model.Steps.Select(step => Assert.Single(step.Segments)).Where(g => g.Start == 0).Select(g => g.Tokens).ToArray();
        Assert.Equal(prompts, prefills);
        Assert.Equal([0, 3, 0, 2, 0, 4], model.Steps.Select(step => step.Segments[0].Start));
    }

    [Fact]
    public async Task Long_prompts_are_evaluated_in_chunks_of_the_step_budget()
    {
        var model = new ScriptedLanguageModel(11, _ => Eos);
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { BatchTokens = 4, MaxActiveSequences = 2 });
        var (_, _, finish) = await Collect(engine.GenerateAsync(new GenerationRequest(Enumerable.Repeat(A, 10).ToArray()) { Sampling = SamplingParams.Greedy }));
        Assert.Equal([4, 4, 2], model.Steps.Select(step => Assert.Single(step.Segments).Tokens.Length));
        Assert.Equal(FinishReason.Stop, finish.Reason);
    }

    [Fact]
    public async Task Logprobs_are_the_log_softmax_of_the_model_logits()
    {
        var model = Answering();
        model.FixedLogits = [0f, 2f, 1f, 0.5f, 0f, 0f, 0f, 0f, 0f, 0f, 0f];
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions());
        var (events, _, _) = await Collect(engine.GenerateAsync(Greedy(maxTokens: 1) with { TopLogprobs = 2 }));
        var lp = Assert.Single(events.OfType<TokenEvent>()).Logprob!;
        double logZ = Math.Log(model.FixedLogits.Sum(l => Math.Exp(l)));
        Assert.Equal(A, lp.TokenId);
        Assert.Equal(2 - logZ, lp.Logprob, 4);
        Assert.Equal([A, B], lp.Top.Select(t => t.TokenId));
        Assert.Equal(1 - logZ, lp.Top[1].Logprob, 4);
    }

    [Fact]
    public async Task A_model_failure_ends_that_stream_with_the_exception()
    {
        var model = Answering();
        model.ThrowOnForward = new InvalidOperationException("boom");
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions());
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Collect(engine.GenerateAsync(Greedy())));
        Assert.Equal("boom", e.Message);
        model.ThrowOnForward = null;
        var (_, text, _) = await Collect(engine.GenerateAsync(Greedy(maxTokens: 1)));
        Assert.Equal("a", text);
    }

    [Fact]
    public async Task Same_seed_gives_same_tokens_through_the_engine()
    {
        var model = Answering();
        model.FixedLogits = Enumerable.Range(0, 11).Select(i => i == Eos ? -100f : 0.1f * i).ToArray();
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions());
        var request = new GenerationRequest(Prompt) { Sampling = new SamplingParams { Temperature = 1f, Seed = 42 }, MaxTokens = 30 };
        var a = (await Collect(engine.GenerateAsync(request))).Events.OfType<TokenEvent>().Select(t => t.TokenId).ToArray();
        var b = (await Collect(engine.GenerateAsync(request))).Events.OfType<TokenEvent>().Select(t => t.TokenId).ToArray();
        Assert.Equal(a, b);
        Assert.True(a.Distinct().Count() > 3);
    }

    [Fact]
    public async Task A_prompt_extending_the_last_conversation_evaluates_only_the_new_tokens()
    {
        // The script depends on the whole history (read back from the paged cache), so a wrongly reused block would change the answer.
        var model = new ScriptedLanguageModel(11, tokens => tokens.Count % 3 == 0 ? B : tokens[^1] == X ? A : X);
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { KvBlockTokens = 2 });
        var first = await Collect(engine.GenerateAsync(Greedy(maxTokens: 4)));
        int[] firstAnswer = first.Events.OfType<TokenEvent>().Select(t => t.TokenId).ToArray();
        int[] nextPrompt = [.. Prompt, .. firstAnswer, B, B];
        int stepsBefore = model.Steps.Count;

        var second = await Collect(engine.GenerateAsync(new GenerationRequest(nextPrompt) { Sampling = SamplingParams.Greedy, MaxTokens = 3 }));

        // Cached: the prompt and the first three answer tokens (the fourth was sampled, never fed back), in blocks of 2.
        int cached = Prompt.Length + firstAnswer.Length - 1;
        Assert.Equal(cached, second.Finish.Usage.CachedPromptTokens);
        Assert.Equal(nextPrompt.Length - cached, second.Finish.Timings.PromptTokens);
        Assert.Equal(cached, model.Steps[stepsBefore].Segments[0].Start);

        var fresh = new ScriptedLanguageModel(11, tokens => tokens.Count % 3 == 0 ? B : tokens[^1] == X ? A : X);
        using var freshEngine = new InferenceEngine(fresh, Vocab, new EngineOptions { PrefixCaching = false });
        var expected = await Collect(freshEngine.GenerateAsync(new GenerationRequest(nextPrompt) { Sampling = SamplingParams.Greedy, MaxTokens = 3 }));
        Assert.Equal(expected.Text, second.Text);
        Assert.Equal(0, expected.Finish.Usage.CachedPromptTokens);
    }

    [Fact]
    public async Task A_repeated_prompt_still_evaluates_its_last_token_for_the_logits()
    {
        var model = Answering();
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { KvBlockTokens = 1 });
        await Collect(engine.GenerateAsync(Greedy(maxTokens: 2)));
        var again = await Collect(engine.GenerateAsync(Greedy(maxTokens: 2)));
        Assert.Equal("aa", again.Text);
        Assert.Equal(Prompt.Length - 1, again.Finish.Usage.CachedPromptTokens);
        Assert.Equal([A], model.Steps[2].Segments[0].Tokens);
    }

    [Fact]
    public async Task Leaving_the_enumeration_early_cancels_the_generation()
    {
        var model = Answering();
        model.Gate = new SemaphoreSlim(0);
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { PrefixCaching = false });
        var stream = engine.GenerateAsync(Greedy());
        var enumerator = stream.GetAsyncEnumerator();
        model.Gate.Release();
        Assert.True(await enumerator.MoveNextAsync());
        Assert.IsType<TokenEvent>(enumerator.Current);
        await model.Entered.WaitAsync(); // prefill
        await model.Entered.WaitAsync(); // the loop is inside the first decode step
        await enumerator.DisposeAsync();
        int callsAtDispose = model.ForwardCalls;
        model.Gate.Release(1000);
        var after = await Collect(engine.GenerateAsync(Greedy(maxTokens: 1)));
        Assert.Equal("a", after.Text);
        Assert.Equal(callsAtDispose + 1, model.ForwardCalls); // the abandoned sequence made no further step
        Assert.Equal(0, engine.Stats.KvBlocksSequences);
    }
}
