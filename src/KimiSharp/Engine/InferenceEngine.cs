using System.Diagnostics;
using System.Threading.Channels;

namespace KimiSharp.Engine;

/// <summary>
/// Runs generations on one model. A single loop thread owns the model and every KV cache; callers submit
/// requests and read their events. Up to <see cref="EngineOptions.MaxActiveSequences"/> sequences advance
/// one step each in turn (prompt in chunks, then one token per step), the rest wait first come first
/// served. Cancelling a request's token ends it at its next step (or at once while it waits) and frees its
/// cache. The request/event API is the same one continuous batching will use.
/// </summary>
public sealed class InferenceEngine : IDisposable
{
    private readonly ILanguageModel _model;
    private readonly IEngineVocabulary _vocabulary;
    private readonly EngineOptions _options;
    private readonly int _contextLength;
    private readonly LinkedList<Sequence> _waiting = new();
    private readonly List<Sequence> _active = [];
    private readonly List<(IModelSession Session, List<int> Tokens)> _idle = []; // loop thread only
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _loop;
    private readonly float[] _logits;
    private volatile bool _disposed;
    private int _activeCount;
    private long _promptTokens, _generatedTokens, _completed;

    /// <summary>An engine over a model and its tokenizer (end-of-generation ids, streaming UTF-8 decoding).</summary>
    public InferenceEngine(ILanguageModel model, KimiSharp.Text.Tokenizer tokenizer, EngineOptions options)
        : this(model, new TokenizerVocabulary(tokenizer), options)
    {
    }

    public InferenceEngine(ILanguageModel model, IEngineVocabulary vocabulary, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        _vocabulary = vocabulary;
        _options = options;
        _contextLength = options.ContextLength > 0 ? options.ContextLength : model.TrainedContextLength;
        _logits = new float[model.VocabSize];
        _loop = new Thread(RunLoop) { IsBackground = true, Name = "KimiSharp engine loop" };
        _loop.Start();
    }

    public ILanguageModel Model => _model;

    /// <summary>Tokens one sequence may hold (prompt + generated).</summary>
    public int ContextLength => _contextLength;

    public EngineStats Stats
    {
        get
        {
            lock (_lock)
                return new EngineStats(_waiting.Count, Volatile.Read(ref _activeCount),
                    Interlocked.Read(ref _promptTokens), Interlocked.Read(ref _generatedTokens), Interlocked.Read(ref _completed));
        }
    }

    /// <summary>
    /// Validates and queues a request; its events arrive on the returned reader, ending with a
    /// <see cref="FinishEvent"/> (also when <paramref name="cancellationToken"/> fires). A model failure
    /// completes the reader with that exception.
    /// </summary>
    /// <exception cref="ContextOverflowException">The prompt does not leave room for one token.</exception>
    /// <exception cref="EngineQueueFullException">Too many requests are waiting.</exception>
    /// <exception cref="ArgumentException">Bad prompt ids, sampling parameters or limits.</exception>
    public ChannelReader<GenerationEvent> Submit(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Validate(request);
        var sequence = new Sequence(request, _contextLength, _vocabulary, _model.VocabSize);
        lock (_lock)
        {
            if (_waiting.Count >= _options.MaxQueuedRequests && _activeCount + _waiting.Count >= _options.MaxActiveSequences)
                throw new EngineQueueFullException(_options.MaxQueuedRequests);
            _waiting.AddLast(sequence);
        }
        if (cancellationToken.CanBeCanceled)
            sequence.Registration = cancellationToken.Register(() => Cancel(sequence));
        Wake();
        return sequence.Events.Reader;
    }

    /// <summary>
    /// Same as <see cref="Submit"/> (validation errors are thrown here, not while enumerating); leaving the
    /// enumeration early (break, dispose) cancels the generation as the token would.
    /// </summary>
    public IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            return ReadUntilDisposed(Submit(request, stop.Token), stop);
        }
        catch
        {
            stop.Dispose();
            throw;
        }
    }

    private static async IAsyncEnumerable<GenerationEvent> ReadUntilDisposed(ChannelReader<GenerationEvent> reader, CancellationTokenSource stop)
    {
        try
        {
            await foreach (var e in reader.ReadAllAsync(CancellationToken.None))
                yield return e;
        }
        finally
        {
            stop.Cancel();
            stop.Dispose();
        }
    }

    private void Validate(GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.PromptTokens, nameof(request.PromptTokens));
        ArgumentNullException.ThrowIfNull(request.Sampling, nameof(request.Sampling));
        var prompt = request.PromptTokens;
        if (prompt.Count == 0)
            throw new ArgumentException("the prompt has no tokens", nameof(request));
        int vocab = _model.VocabSize;
        for (int i = 0; i < prompt.Count; i++)
            if ((uint)prompt[i] >= (uint)vocab)
                throw new ArgumentException($"prompt token {i} has id {prompt[i]}, outside the vocabulary (0..{vocab - 1})", nameof(request));
        if (request.MaxTokens is < 0)
            throw new ArgumentException($"max tokens must be >= 0 (got {request.MaxTokens})", nameof(request));
        if (request.TopLogprobs is { } top && (top < 0 || top > vocab))
            throw new ArgumentException($"top logprobs must be in 0..{vocab} (got {top})", nameof(request));
        request.Sampling.Validate(vocab);
        if (prompt.Count >= _contextLength)
            throw new ContextOverflowException(prompt.Count, _contextLength);
    }

    private void Cancel(Sequence sequence)
    {
        if (sequence.RequestCancel())
        {
            // It was still waiting: finish it here, the loop will skip it.
            lock (_lock) _waiting.Remove(sequence);
            sequence.Events.Writer.TryWrite(new FinishEvent(FinishReason.Cancelled, null, null,
                new Usage(sequence.Request.PromptTokens.Count, 0), new Timings(ElapsedMs(sequence.Submitted), 0, 0, 0, 0)));
            sequence.Events.Writer.TryComplete();
            sequence.Registration.Dispose();
        }
        Wake();
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (ObjectDisposedException)
        {
            // The engine is gone; nothing to wake.
        }
    }

    private void RunLoop()
    {
        while (!_disposed)
        {
            Admit();
            if (_active.Count == 0)
            {
                _wake.Wait();
                continue;
            }
            // One step for each active sequence in turn (round robin).
            for (int i = 0; i < _active.Count && !_disposed; i++)
            {
                var sequence = _active[i];
                bool finished;
                try
                {
                    finished = Step(sequence);
                }
                catch (Exception e)
                {
                    Fail(sequence, e);
                    finished = true;
                }
                if (finished)
                {
                    ReleaseSession(sequence, reusable: false); // no-op when Finish already released it
                    sequence.Registration.Dispose();
                    _active.RemoveAt(i--);
                    Interlocked.Decrement(ref _activeCount);
                    Interlocked.Increment(ref _completed);
                }
            }
        }
        foreach (var (session, _) in _idle) session.Dispose();
        _idle.Clear();
        foreach (var sequence in _active)
        {
            sequence.Session?.Dispose();
            Fail(sequence, new ObjectDisposedException(nameof(InferenceEngine)));
        }
        lock (_lock)
        {
            foreach (var sequence in _waiting) Fail(sequence, new ObjectDisposedException(nameof(InferenceEngine)));
            _waiting.Clear();
        }
    }

    private void Admit()
    {
        while (_active.Count < _options.MaxActiveSequences)
        {
            Sequence? next;
            lock (_lock)
            {
                if (_waiting.First is null) return;
                next = _waiting.First.Value;
                _waiting.RemoveFirst();
                if (!next.TryStart()) continue;
                Interlocked.Increment(ref _activeCount);
            }
            next.Started = Stopwatch.GetTimestamp();
            _active.Add(next);
        }
    }

    /// <summary>Advances one sequence by one step; true when it has finished.</summary>
    private bool Step(Sequence s)
    {
        if (s.CancelRequested)
            return Finish(s, FinishReason.Cancelled, null);

        var request = s.Request;
        var prompt = request.PromptTokens;
        if (request.MaxTokens == 0)
            return Finish(s, FinishReason.Length, null);

        Span<float> logits = _logits;
        if (s.PrefillDone < prompt.Count)
        {
            if (s.Session is null) AcquireSession(s);
            int n = Math.Min(_options.PrefillChunkTokens, prompt.Count - s.PrefillDone);
            if (s.PrefillDone + n == prompt.Count) request.Constraint?.BeginMask(); // overlaps the last chunk's forward
            int[] chunk = new int[n];
            for (int i = 0; i < n; i++) chunk[i] = prompt[s.PrefillDone + i];
            s.Session!.Forward(chunk, logits);
            s.SessionTokens.AddRange(chunk);
            foreach (int t in chunk) s.Sampler.Accept(t);
            s.PrefillDone += n;
            Interlocked.Add(ref _promptTokens, n);
            if (s.PrefillDone < prompt.Count) return false;
            s.PrefillEnded = Stopwatch.GetTimestamp();
        }
        else
        {
            request.Constraint?.BeginMask(); // computed while the forward runs
            s.Session!.Forward([s.PendingToken], logits);
            s.SessionTokens.Add(s.PendingToken);
            s.DecodeSteps++;
        }

        request.Constraint?.ApplyMask(logits);
        int token = s.Sampler.Sample(logits);
        request.Constraint?.Accept(token);
        s.Sampler.Accept(token);
        s.Generated++;
        Interlocked.Increment(ref _generatedTokens);

        if (s.EndIds.Contains(token))
            return Finish(s, FinishReason.Stop, token);

        TokenLogprob? logprob = request.TopLogprobs is { } top ? LogprobCalculator.Compute(logits, token, top) : null;
        string released = s.Stops.Push(s.Decoder.Push(token));
        s.Events.Writer.TryWrite(new TokenEvent(token, released, logprob));
        if (s.Stops.Matched is not null)
            return Finish(s, FinishReason.StopString, null);

        s.PendingToken = token;
        if (s.Generated >= (request.MaxTokens ?? int.MaxValue) || prompt.Count + s.Generated >= _contextLength)
            return Finish(s, FinishReason.Length, null);
        return false;
    }

    private bool Finish(Sequence s, FinishReason reason, int? stopToken)
    {
        if (!s.TryComplete()) return true;
        ReleaseSession(s, reusable: true);
        if (reason != FinishReason.StopString && reason != FinishReason.Cancelled)
        {
            string tail = s.Stops.Flush(s.Decoder.Flush());
            if (tail.Length > 0) s.Events.Writer.TryWrite(new TextEvent(tail));
            if (s.Stops.Matched is not null) reason = FinishReason.StopString;
        }
        long now = Stopwatch.GetTimestamp();
        long prefillEnd = s.PrefillEnded != 0 ? s.PrefillEnded : now;
        var timings = new Timings(
            QueueMs: Stopwatch.GetElapsedTime(s.Submitted, s.Started).TotalMilliseconds,
            PromptMs: Stopwatch.GetElapsedTime(s.Started, prefillEnd).TotalMilliseconds,
            PromptTokens: s.PrefillDone,
            DecodeMs: s.PrefillEnded != 0 ? Stopwatch.GetElapsedTime(s.PrefillEnded, now).TotalMilliseconds : 0,
            DecodeTokens: s.DecodeSteps);
        s.Events.Writer.TryWrite(new FinishEvent(reason, reason == FinishReason.StopString ? s.Stops.Matched : null, stopToken,
            new Usage(s.Request.PromptTokens.Count, s.Generated, s.CachedPromptTokens), timings));
        s.Events.Writer.TryComplete();
        return true;
    }

    /// <summary>
    /// Gives the sequence a KV cache: the kept session sharing the longest prefix with its prompt (truncated
    /// to that prefix, always leaving at least one prompt token to evaluate for the logits), else a new one.
    /// </summary>
    private void AcquireSession(Sequence s)
    {
        var prompt = s.Request.PromptTokens;
        int best = -1, bestLength = -1;
        for (int i = 0; i < _idle.Count; i++)
        {
            var tokens = _idle[i].Tokens;
            int common = 0, limit = Math.Min(tokens.Count, prompt.Count - 1);
            while (common < limit && tokens[common] == prompt[common]) common++;
            if (common > bestLength)
            {
                best = i;
                bestLength = common;
            }
        }
        if (best >= 0)
        {
            var (session, tokens) = _idle[best];
            _idle.RemoveAt(best);
            session.Truncate(bestLength);
            s.Session = session;
            s.SessionTokens.AddRange(tokens.Take(bestLength));
            for (int i = 0; i < bestLength; i++) s.Sampler.Accept(prompt[i]);
            s.PrefillDone = bestLength;
            s.CachedPromptTokens = bestLength;
            return;
        }
        int size = _options.PromptCacheSessions > 0 ? _contextLength : Math.Min(_contextLength, prompt.Count + (s.Request.MaxTokens ?? _contextLength));
        s.Session = _model.CreateSession(size);
    }

    /// <summary>Keeps a finished sequence's cache for prefix reuse (most recent first), or frees it.</summary>
    private void ReleaseSession(Sequence s, bool reusable)
    {
        var session = s.Session;
        if (session is null) return;
        s.Session = null;
        if (!reusable || _options.PromptCacheSessions == 0 || session.Length != s.SessionTokens.Count)
        {
            session.Dispose();
            return;
        }
        _idle.Insert(0, (session, new List<int>(s.SessionTokens)));
        while (_idle.Count > _options.PromptCacheSessions)
        {
            _idle[^1].Session.Dispose();
            _idle.RemoveAt(_idle.Count - 1);
        }
    }

    private static void Fail(Sequence s, Exception e)
    {
        s.TryComplete();
        s.Events.Writer.TryComplete(e);
    }

    private static double ElapsedMs(long since) => Stopwatch.GetElapsedTime(since).TotalMilliseconds;

    /// <summary>Stops the loop; running and waiting generations end with <see cref="ObjectDisposedException"/>. The model is not disposed.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Wake();
        if (Thread.CurrentThread != _loop) _loop.Join();
        _wake.Dispose();
    }
}
