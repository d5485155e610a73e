using KimiSharp.Engine;

namespace KimiSharp.Tests.Engine;

/// <summary>
/// A fake model: the next token is a function of the tokens so far, made certain by a large logit.
/// It records every forward call and can hold the engine loop inside Forward until released.
/// </summary>
internal sealed class ScriptedLanguageModel(int vocabSize, Func<IReadOnlyList<int>, int> next, int trainedContext = 1 << 16) : ILanguageModel
{
    private int _sessions;

    public int VocabSize => vocabSize;
    public int TrainedContextLength => trainedContext;
    /// <summary>Every session forward call (batched steps are in <see cref="Steps"/>), with the whole history after it.</summary>
    public List<(int Session, int[] Tokens, int[] History)> Calls { get; } = [];
    public int OpenSessions;
    public int ForwardCalls => Volatile.Read(ref _forwardCalls);
    private int _forwardCalls;

    /// <summary>When set, Forward signals <see cref="Entered"/> and waits for a release.</summary>
    public SemaphoreSlim? Gate { get; set; }
    public SemaphoreSlim Entered { get; } = new(0);

    /// <summary>Logits to hand out instead of the one-hot script (for logprob tests).</summary>
    public float[]? FixedLogits { get; set; }

    public Exception? ThrowOnForward { get; set; }

    /// <summary>Called inside every forward call with the number of calls so far.</summary>
    public Action<int>? OnForward { get; set; }

    public IModelSession CreateSession(int maxTokens)
    {
        Interlocked.Increment(ref OpenSessions);
        return new Session(this, Interlocked.Increment(ref _sessions), maxTokens);
    }

    public long KvBytesPerToken => TokenKvRunner.BytesPerToken;
    public string KvIdentity { get; set; } = "scripted";

    /// <summary>Batched steps: each output row gets the script's logits for that sequence's history (read from its cache).</summary>
    public IBatchRunner CreateBatchRunner(int maxTokens) => new TokenKvRunner(vocabSize, maxTokens, Logits, OnStep);

    private void OnStep(TokenKvRunner.Step step)
    {
        lock (Steps) Steps.Add(step);
        int calls = Interlocked.Increment(ref _forwardCalls);
        OnForward?.Invoke(calls);
        if (Gate is { } gate)
        {
            Entered.Release();
            gate.Wait(step.Cancellation);   // held mid-step: a stop still ends it, as between a real step's layers
        }
        if (ThrowOnForward is { } e) throw e;
    }

    private void Logits(IReadOnlyList<int> history, Span<float> logits)
    {
        if (FixedLogits is { } fixedLogits)
        {
            fixedLogits.CopyTo(logits);
            return;
        }
        logits.Clear();
        logits[_next(history)] = 20f;
    }

    /// <summary>Every batched step, in order.</summary>
    public List<TokenKvRunner.Step> Steps { get; } = [];

    public void Dispose() { }

    private sealed class Session(ScriptedLanguageModel model, int id, int maxTokens) : IModelSession
    {
        private readonly List<int> _tokens = [];
        private bool _disposed;

        public int Length => _tokens.Count;
        public int MaxTokens => maxTokens;

        public void Forward(ReadOnlySpan<int> tokens, Span<float> logits)
        {
            Assert.False(_disposed);
            Assert.True(_tokens.Count + tokens.Length <= maxTokens, "forward past the session's capacity");
            lock (model.Calls) model.Calls.Add((id, tokens.ToArray(), [.. _tokens, .. tokens.ToArray()]));
            int calls = Interlocked.Increment(ref model._forwardCalls);
            model.OnForward?.Invoke(calls);
            if (model.Gate is { } gate)
            {
                model.Entered.Release();
                gate.Wait();
            }
            if (model.ThrowOnForward is { } e) throw e;
            _tokens.AddRange(tokens.ToArray());
            if (model.FixedLogits is { } fixedLogits)
            {
                fixedLogits.CopyTo(logits);
                return;
            }
            logits.Clear();
            logits[model._next(_tokens)] = 20f;
        }

        public void Truncate(int length) => _tokens.RemoveRange(length, _tokens.Count - length);

        public void Dispose()
        {
            Assert.False(_disposed, "session disposed twice");
            _disposed = true;
            Interlocked.Decrement(ref model.OpenSessions);
        }
    }

    private readonly Func<IReadOnlyList<int>, int> _next = next;
}
