using System.Diagnostics;
using System.Threading.Channels;

namespace KimiSharp.Engine;

/// <summary>
/// Runs generations on one model with continuous batching. A single loop thread owns the model, the paged KV memory and
/// the prefix cache; callers submit requests and read their events. Each step is one batched forward pass over every
/// running sequence (up to <see cref="EngineOptions.MaxActiveSequences"/>): one token for each decoding sequence plus
/// prompt chunks of the oldest ones still evaluating their prompt, within <see cref="EngineOptions.BatchTokens"/>.
/// Requests wait first come first served; a new prompt starts from the longest prefix the cache holds. When KV memory
/// runs out, unused cached blocks go first, then the newest sequence is paused (it resumes first, recomputing its
/// cache, with the same sampler state, so its answer does not change). Cancelling a request's token ends it before the
/// next step (or at once while it waits) and frees its blocks.
/// </summary>
public sealed class InferenceEngine : IDisposable
{
    private readonly ILanguageModel _model;
    private readonly IEngineVocabulary _vocabulary;
    private readonly EngineOptions _options;
    private readonly int _contextLength;
    private readonly KvBlockPool _pool;
    private readonly IBatchRunner _runner;
    private readonly PrefixCache? _prefix;
    private readonly DiskPrefixStore? _disk;
    private readonly LinkedList<Sequence> _waiting = new();   // guarded by _lock
    private readonly List<Sequence> _running = [];              // loop thread only, in admission order
    private readonly StepPlan _plan;
    private readonly List<Sequence> _order = [];                // snapshot of _running while a step is planned
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();   // Dispose: ends the step in flight between two layers
    private StepInFlight? _inFlight;                           // the step running now (loop writes, Cancel reads)
    private readonly Thread _loop;
    private readonly float[] _logits;
    private volatile bool _disposed;
    private int _activeCount;
    private long _admissions;
    private long _promptTokens, _generatedTokens, _completed, _prefixQueries, _prefixHits, _prefixDiskHits, _preemptions, _steps, _stepTokens;

    /// <summary>An engine over a model and its tokenizer (end-of-generation ids, streaming UTF-8 decoding).</summary>
    public InferenceEngine(ILanguageModel model, KimiSharp.Text.Tokenizer tokenizer, EngineOptions options)
        : this(model, new TokenizerVocabulary(tokenizer), options)
    {
    }

    /// <exception cref="KvMemoryException">The KV budget cannot hold one full context.</exception>
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

        long bytesPerToken = model.KvBytesPerToken, blockBytes = bytesPerToken * options.KvBlockTokens;
        long contextBlocks = (_contextLength + options.KvBlockTokens - 1) / options.KvBlockTokens + 1;   // +1: a copied shared block
        long cacheBlocks = options.PrefixCaching ? options.PrefixCacheBytes / blockBytes : 0;
        long capacity = options.KvCacheBytes > 0 ? options.KvCacheBytes / blockBytes : options.MaxActiveSequences * contextBlocks + cacheBlocks;
        if (capacity < contextBlocks)
            throw new KvMemoryException(_contextLength, bytesPerToken, options.KvCacheBytes);
        _pool = new KvBlockPool(bytesPerToken, (int)Math.Min(capacity, int.MaxValue / 2), options.KvBlockTokens);
        _runner = model.CreateBatchRunner(options.BatchTokens);
        _plan = new StepPlan(options.MaxActiveSequences);
        _logits = new float[options.MaxActiveSequences * model.VocabSize];
        if (options.PrefixCaching)
        {
            if (options.CacheDirectory is { } dir)
                _disk = new DiskPrefixStore(dir, options.CacheDiskBytes, model.KvIdentity, options.Warn);
            _prefix = new PrefixCache(_pool, cacheBlocks, _disk, _disk is null ? "" : model.KvIdentity);
        }
        _loop = new Thread(RunLoop) { IsBackground = true, Name = "KimiSharp engine loop" };
        _loop.Start();
    }

    public ILanguageModel Model => _model;

    /// <summary>Tokens one sequence may hold (prompt + generated).</summary>
    public int ContextLength => _contextLength;

    /// <summary>The engine's options as given.</summary>
    public EngineOptions Options => _options;

    /// <summary>Bytes one KV block takes, and how many may exist.</summary>
    public long KvBlockBytes => _pool.BlockBytes;

    public EngineStats Stats
    {
        get
        {
            int waiting;
            lock (_lock) waiting = _waiting.Count;
            return new EngineStats(waiting, Volatile.Read(ref _activeCount), Interlocked.Read(ref _promptTokens),
                Interlocked.Read(ref _generatedTokens), Interlocked.Read(ref _completed))
            {
                KvBlocksTotal = _pool.Capacity,
                KvBlockTokens = _pool.BlockTokens,
                KvBlocksSequences = _pool.SequenceBlocks,
                KvBlocksCached = _pool.CachedOnly,
                KvBlocksAllocated = _pool.Allocated,
                PrefixQueryTokens = Interlocked.Read(ref _prefixQueries),
                PrefixHitTokens = Interlocked.Read(ref _prefixHits),
                PrefixDiskHitTokens = Interlocked.Read(ref _prefixDiskHits),
                Preemptions = Interlocked.Read(ref _preemptions),
                Steps = Interlocked.Read(ref _steps),
                StepTokens = Interlocked.Read(ref _stepTokens),
            };
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
        var sequence = new Sequence(request, _vocabulary, _model.VocabSize);
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

    /// <summary>Waits until every block queued for the disk tier is written (no-op without <c>CacheDirectory</c>).</summary>
    public void FlushDiskCache() => _disk?.Flush();

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

    /// <summary>A step's sequences and the token that aborts it once every one of them is cancelled (nobody waits for it).</summary>
    private sealed record StepInFlight(Sequence[] Sequences, CancellationTokenSource Abort)
    {
        public void AbortIfAllCancelled()
        {
            foreach (var s in Sequences)
                if (!s.CancelRequested) return;
            try
            {
                Abort.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The step ended meanwhile.
            }
        }
    }

    private void Cancel(Sequence sequence)
    {
        bool waiting = sequence.RequestCancel();   // a full fence after the flag: see the step published before it
        if (!waiting && Volatile.Read(ref _inFlight) is { } step && Array.IndexOf(step.Sequences, sequence) >= 0)
            step.AbortIfAllCancelled();   // every sequence of the step in flight is cancelled: it ends within a layer
        if (waiting)
        {
            // It was still waiting: finish it here, the loop will skip it.
            lock (_lock) _waiting.Remove(sequence);
            Interlocked.Increment(ref _completed);
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
            EndCancelled();
            Admit();
            if (_running.Count == 0)
            {
                _wake.Wait();
                continue;
            }
            RunStep();
        }
        Shutdown();
    }

    /// <summary>Running sequences whose caller cancelled end before the next step.</summary>
    private void EndCancelled()
    {
        for (int i = 0; i < _running.Count; i++)
            if (_running[i].CancelRequested)
            {
                Finish(_running[i], FinishReason.Cancelled, null);
                Remove(i--);
            }
    }

    /// <summary>
    /// Starts waiting sequences in order while there is a free slot and KV memory for their next chunk (a paused sequence
    /// is first in line). Each attaches the longest cached prefix of its tokens first.
    /// </summary>
    private void Admit()
    {
        while (_running.Count < _options.MaxActiveSequences)
        {
            Sequence s;
            lock (_lock)
            {
                if (_waiting.First is null) return;
                s = _waiting.First.Value;
            }
            if (!s.Admitted && !s.TryStart())
            {
                lock (_lock) _waiting.Remove(s);   // cancelled while waiting: Cancel finished it
                continue;
            }
            if (s.CancelRequested || (!s.Admitted && s.Request.MaxTokens == 0))
            {
                lock (_lock) _waiting.Remove(s);
                if (!s.Admitted) s.Started = Stopwatch.GetTimestamp();
                Finish(s, s.CancelRequested ? FinishReason.Cancelled : FinishReason.Length, null);
                continue;
            }

            s.Kv ??= new KvBlockTable(_pool);
            int attached = 0;
            if (s.Kv.Length == 0 && _prefix is not null)
            {
                attached = _prefix.Attach(s.Tokens, s.Tokens.Count - 1, s.Kv, out var tail);   // the last token is run for its logits
                s.OfferedBlocks = attached / _pool.BlockTokens;
                s.CacheTail = tail;
            }
            // Room for its next chunk, plus one block of headroom per running sequence, or it waits (first in line).
            int chunk = Math.Min(s.Tokens.Count - s.Kv.Length, _options.BatchTokens);
            int needed = s.Kv.BlocksNeeded(chunk) + _running.Count;
            if (_running.Count > 0 && needed > _pool.Available + _pool.CachedOnly)
            {
                s.Kv.Clear();
                return;
            }

            lock (_lock) _waiting.Remove(s);
            if (!s.Admitted)
            {
                s.CachedPromptTokens = attached;
                Interlocked.Add(ref _prefixQueries, s.PromptCount);
                Interlocked.Add(ref _prefixHits, attached);
                Interlocked.Add(ref _prefixDiskHits, _prefix?.LastDiskTokens ?? 0);
                s.Admitted = true;
                s.Started = Stopwatch.GetTimestamp();
                for (int i = 0; i < s.PromptCount; i++) s.Sampler.Accept(s.Tokens[i]);
                Interlocked.Increment(ref _activeCount);
            }
            s.AdmitOrder = ++_admissions;
            s.IsRunning = true;
            _running.Add(s);
        }
    }

    /// <summary>Plans one step, runs the batched forward pass, then samples for every sequence that reached its end.</summary>
    private void RunStep()
    {
        var plan = _plan;
        plan.Clear(_options.BatchTokens);
        // Decoding sequences first (one token each), then prompt chunks, oldest first.
        _order.Clear();
        _order.AddRange(_running);
        for (int pass = 0; pass < 2; pass++)
            foreach (var s in _order)
            {
                if (!s.IsRunning || plan.Contains(s)) continue;
                int need = s.Tokens.Count - s.Kv!.Length;
                if ((need == 1) != (pass == 0)) continue;
                int n = Math.Min(need, plan.Budget);
                if (n == 0) break;
                if (Reserve(s, n)) plan.Add(s, n);
            }
        if (plan.Count == 0) return;

        var tokens = plan.Tokens();
        var segments = plan.Segments;
        int rows = 0;
        for (int i = 0; i < plan.Count; i++)
        {
            var s = plan.Sequence(i);
            bool samples = s.Kv!.Length + segments[i].TokenCount == s.Tokens.Count;
            segments[i] = segments[i] with { Outputs = samples ? SegmentOutputs.Last : SegmentOutputs.None };
            if (samples)
            {
                rows++;
                s.Request.Constraint?.BeginMask();   // computed while the forward pass runs
            }
        }

        var inStep = new Sequence[plan.Count];
        for (int i = 0; i < inStep.Length; i++) inStep[i] = plan.Sequence(i);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var inFlight = new StepInFlight(inStep, abort);
        Interlocked.Exchange(ref _inFlight, inFlight);   // a full fence: a cancel either sees this step or is seen below
        try
        {
            inFlight.AbortIfAllCancelled();
            _runner.Run(tokens, segments.AsSpan(0, plan.Count), _logits.AsSpan(0, rows * _model.VocabSize), abort.Token);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // The engine is stopping (Shutdown ends every sequence), or every sequence of the step was cancelled (the next
            // EndCancelled ends them): the step did not happen, so a long prompt chunk nobody waits for stops within a layer.
            return;
        }
        catch (Exception e)
        {
            // A model failure ends every sequence of this step with it; the others go on.
            for (int i = 0; i < plan.Count; i++)
            {
                var s = plan.Sequence(i);
                Remove(_running.IndexOf(s));
                if (!s.TryComplete()) continue;
                Release(s, reusable: false);
                Retire(s);
                s.Events.Writer.TryComplete(e);
            }
            return;
        }
        finally
        {
            Interlocked.Exchange(ref _inFlight, null);
        }
        Interlocked.Increment(ref _steps);
        Interlocked.Add(ref _stepTokens, tokens.Length);

        int row = 0;
        for (int i = 0; i < plan.Count; i++)
        {
            var s = plan.Sequence(i);
            int before = s.Kv!.Length - segments[i].TokenCount;
            Interlocked.Add(ref _promptTokens, Math.Max(0, Math.Min(s.PromptCount, s.Kv.Length) - before));
            bool finished = false;
            if (segments[i].Outputs == SegmentOutputs.Last)
                finished = Sample(s, _logits.AsSpan(row++ * _model.VocabSize, _model.VocabSize));
            if (finished)
                Remove(_running.IndexOf(s));
            else
                Offer(s);
        }
        _prefix?.Trim();
    }

    /// <summary>
    /// Makes room for <paramref name="n"/> more tokens of <paramref name="s"/>: evicts unused cached blocks, then pauses the
    /// newest running sequence until it fits; false if that was <paramref name="s"/> itself.
    /// </summary>
    private bool Reserve(Sequence s, int n)
    {
        while (!s.Kv!.TryReserve(n))
        {
            if (_prefix is not null && _prefix.EvictFor(s.Kv.BlocksNeeded(n))) continue;
            Sequence victim = s;
            foreach (var r in _running)
                if (r.AdmitOrder > victim.AdmitOrder) victim = r;
            _plan.Remove(victim);
            Preempt(victim);
            if (victim == s) return false;
        }
        return true;
    }

    /// <summary>Pauses a running sequence: its computed blocks go to the prefix cache, the rest is freed; it waits first in line.</summary>
    private void Preempt(Sequence s)
    {
        Offer(s);
        s.Kv!.Clear();
        s.OfferedBlocks = 0;
        s.CacheTail = null;
        s.Preemptions++;
        Interlocked.Increment(ref _preemptions);
        s.IsRunning = false;
        _running.Remove(s);
        lock (_lock) _waiting.AddFirst(s);
    }

    /// <summary>Samples the next token from the sequence's logits row; true when the sequence has finished.</summary>
    private bool Sample(Sequence s, Span<float> logits)
    {
        var request = s.Request;
        request.Constraint?.ApplyMask(logits);
        int token = s.Sampler.Sample(logits);
        request.Constraint?.Accept(token);
        s.Sampler.Accept(token);
        if (s.PrefillEnded == 0) s.PrefillEnded = Stopwatch.GetTimestamp();
        else s.DecodeSteps++;
        s.Generated++;
        Interlocked.Increment(ref _generatedTokens);

        if (s.EndIds.Contains(token))
            return Finish(s, FinishReason.Stop, token);

        TokenLogprob? logprob = request.TopLogprobs is { } top ? LogprobCalculator.Compute(logits, token, top) : null;
        string released = s.Stops.Push(s.Decoder.Push(token));
        s.Events.Writer.TryWrite(new TokenEvent(token, released, logprob));
        if (s.Stops.Matched is not null)
            return Finish(s, FinishReason.StopString, null);

        s.Tokens.Add(token);
        if (s.Generated >= (request.MaxTokens ?? int.MaxValue) || s.Tokens.Count >= _contextLength)
            return Finish(s, FinishReason.Length, null);
        return false;
    }

    /// <summary>Ends a sequence: flushes held-back text, writes the finish event, returns its blocks (computed ones to the cache).</summary>
    private bool Finish(Sequence s, FinishReason reason, int? stopToken)
    {
        if (!s.TryComplete()) return true;
        Release(s, reusable: true);
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
            PromptTokens: s.PromptCount - s.CachedPromptTokens,
            DecodeMs: s.PrefillEnded != 0 ? Stopwatch.GetElapsedTime(s.PrefillEnded, now).TotalMilliseconds : 0,
            DecodeTokens: s.DecodeSteps);
        Retire(s);   // counters first, so a reader that sees the end sees an engine without this sequence
        s.Events.Writer.TryWrite(new FinishEvent(reason, reason == FinishReason.StopString ? s.Stops.Matched : null, stopToken,
            new Usage(s.PromptCount, s.Generated, s.CachedPromptTokens), timings));
        s.Events.Writer.TryComplete();
        return true;
    }

    /// <summary>Offers the sequence's newly full blocks to the prefix cache.</summary>
    private void Offer(Sequence s)
    {
        if (_prefix is null || s.Kv is null) return;
        int offered = s.OfferedBlocks;
        object? tail = s.CacheTail;
        _prefix.Offer(s.Tokens, s.Kv, ref offered, ref tail);
        s.OfferedBlocks = offered;
        s.CacheTail = tail;
    }

    /// <summary>Returns the sequence's blocks to the pool; reusable ones (computed rows) go to the prefix cache first.</summary>
    private void Release(Sequence s, bool reusable)
    {
        if (s.Kv is null) return;
        if (reusable) Offer(s);
        s.Kv.Dispose();
        s.Kv = null;
        s.CacheTail = null;
        if (reusable) _prefix?.Trim();
    }

    /// <summary>Takes a sequence out of the running set (it has finished).</summary>
    private void Remove(int index)
    {
        _running[index].IsRunning = false;
        _running.RemoveAt(index);
    }

    /// <summary>The sequence has ended: its registration goes, the counters move.</summary>
    private void Retire(Sequence s)
    {
        s.Registration.Dispose();
        if (s.Admitted) Interlocked.Decrement(ref _activeCount);
        Interlocked.Increment(ref _completed);
    }

    private void Shutdown()
    {
        var gone = new ObjectDisposedException(nameof(InferenceEngine));
        foreach (var s in _running)
        {
            s.TryComplete();
            s.Events.Writer.TryComplete(gone);
            Release(s, reusable: false);
        }
        _running.Clear();
        lock (_lock)
        {
            foreach (var s in _waiting)
            {
                s.TryComplete();
                s.Events.Writer.TryComplete(gone);
                Release(s, reusable: false);
            }
            _waiting.Clear();
        }
        Volatile.Write(ref _activeCount, 0);
        _prefix?.Dispose();
        _disk?.Dispose();
        _runner.Dispose();
        _pool.Dispose();
    }

    private static double ElapsedMs(long since) => Stopwatch.GetElapsedTime(since).TotalMilliseconds;

    /// <summary>
    /// Stops the loop, without waiting for the step in flight (it stops between two layers, so a long prompt chunk does not
    /// hold a shutdown); running and waiting generations end with <see cref="ObjectDisposedException"/>. The model is not disposed.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        Wake();
        if (Thread.CurrentThread != _loop) _loop.Join();
        _wake.Dispose();
        _stop.Dispose();
    }
}
