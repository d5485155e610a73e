namespace KimiSharp.Engine;

/// <summary>
/// What the engine needs from a model: a vocabulary size, a trained context, the size of one token's KV cache, and a
/// batched step that runs tokens of several sequences at once, each against its own paged KV cache. The DeepSeek2
/// model implements it; tests may script one.
/// </summary>
public interface ILanguageModel : IDisposable
{
    int VocabSize { get; }

    /// <summary>Context length the model was trained for (GGUF <c>*.context_length</c>).</summary>
    int TrainedContextLength { get; }

    /// <summary>Bytes one token's KV cache takes over all layers; a <see cref="KvBlockPool"/> block holds BlockTokens of them.</summary>
    long KvBytesPerToken { get; }

    /// <summary>
    /// What the KV bytes depend on besides the tokens: the model file's identity, the cache type and anything else that
    /// changes them. Keys of the persistent prefix cache include it, so a cache written by another model or cache type is
    /// never read back.
    /// </summary>
    string KvIdentity { get; }

    /// <summary>A new sequence with its own KV cache holding at most <paramref name="maxTokens"/> tokens.</summary>
    IModelSession CreateSession(int maxTokens);

    /// <summary>Scratch for batched steps of up to <paramref name="maxTokens"/> tokens in all.</summary>
    IBatchRunner CreateBatchRunner(int maxTokens);
}

/// <summary>Which logits one segment of a batched step produces.</summary>
public enum SegmentOutputs
{
    /// <summary>None (a prompt chunk that is not the last).</summary>
    None,

    /// <summary>The last token's (the next-token distribution).</summary>
    Last,

    /// <summary>Every token's (perplexity, logits dumps).</summary>
    All,
}

/// <summary>
/// One sequence's part of a batched step: <paramref name="TokenCount"/> consecutive tokens of the step, at positions
/// <paramref name="Start"/>.. of the sequence, whose KV rows go into <paramref name="Kv"/> (which must already hold
/// blocks for them: <see cref="KvBlockTable.TryReserve"/>; the runner advances its length).
/// </summary>
public readonly record struct BatchSegment(KvBlockTable Kv, int Start, int TokenCount, SegmentOutputs Outputs = SegmentOutputs.Last);

/// <summary>Runs batched steps; holds the scratch for them. Not thread-safe: the engine loop owns it.</summary>
public interface IBatchRunner : IDisposable
{
    /// <summary>Most tokens one step may hold.</summary>
    int MaxTokens { get; }

    /// <summary>
    /// One forward pass over all segments: <paramref name="tokens"/> holds each segment's tokens in segment order. Every
    /// segment attends to its own cache only. Logits rows are written in segment order: one for
    /// <see cref="SegmentOutputs.Last"/>, TokenCount for <see cref="SegmentOutputs.All"/>, none for None
    /// (<paramref name="logits"/>.Length = rows × vocab). <paramref name="cancellationToken"/> is checked between layers, so a
    /// long prompt chunk stops within a layer: the step then throws <see cref="OperationCanceledException"/> and did not
    /// happen (no cache length moves; rows it wrote past them are overwritten by the next step).
    /// </summary>
    void Run(ReadOnlySpan<int> tokens, ReadOnlySpan<BatchSegment> segments, Span<float> logits, CancellationToken cancellationToken = default);
}

/// <summary>One sequence's state (its KV cache). Not thread-safe: the caller owns it.</summary>
public interface IModelSession : IDisposable
{
    /// <summary>Tokens already in the cache (the position of the next token).</summary>
    int Length { get; }

    int MaxTokens { get; }

    /// <summary>
    /// Appends <paramref name="tokens"/> at positions Length..Length+n-1 and writes the logits of the last of them into
    /// <paramref name="logits"/> (length = VocabSize).
    /// </summary>
    void Forward(ReadOnlySpan<int> tokens, Span<float> logits);

    /// <summary>Drops cached tokens from <paramref name="length"/> on.</summary>
    void Truncate(int length);
}
