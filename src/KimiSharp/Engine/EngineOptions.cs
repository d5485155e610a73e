namespace KimiSharp.Engine;

/// <summary>How the engine schedules sequences, how much context each may use and how KV memory is shared and cached.</summary>
public sealed record EngineOptions
{
    /// <summary>Tokens (prompt + generated) one sequence may hold; 0 = the model's trained context.</summary>
    public int ContextLength { get; init; } = 4096;

    /// <summary>
    /// Sequences that run at the same time (<c>--parallel</c>): each step advances all of them in one batched forward pass.
    /// The rest wait in first-come order.
    /// </summary>
    public int MaxActiveSequences { get; init; } = 4;

    /// <summary>Requests allowed to wait for a free slot; one more is refused with <see cref="EngineQueueFullException"/>.</summary>
    public int MaxQueuedRequests { get; init; } = 256;

    /// <summary>
    /// Tokens one step may hold (<c>--batch</c>): one per decoding sequence, the rest go to prompt chunks of the oldest
    /// sequences still evaluating theirs, so a long prompt never stalls the others' decoding.
    /// </summary>
    public int BatchTokens { get; init; } = 512;

    /// <summary>
    /// Bytes of KV memory the engine may use for running sequences and the prefix cache together; 0 = enough for
    /// <see cref="MaxActiveSequences"/> full contexts plus <see cref="PrefixCacheBytes"/>. Blocks are allocated as they are
    /// needed. When running sequences need more, cached blocks are evicted and then the newest sequence is paused (it
    /// resumes when memory frees up, recomputing its cache). Must hold at least one full context.
    /// </summary>
    public long KvCacheBytes { get; init; }

    /// <summary>
    /// Reuse KV blocks across requests: a radix tree over token blocks indexes what running and finished sequences
    /// computed; a new prompt attaches the longest cached prefix (shared, copy-on-write) and evaluates only the rest.
    /// </summary>
    public bool PrefixCaching { get; init; } = true;

    /// <summary>Most bytes the prefix cache keeps in blocks no running sequence uses (<c>--cache-ram</c>); least recently used go first.</summary>
    public long PrefixCacheBytes { get; init; } = 2L << 30;

    /// <summary>Tokens per KV block (the unit of paging and of sharing).</summary>
    public int KvBlockTokens { get; init; } = KvBlockPool.DefaultBlockTokens;

    /// <summary>
    /// A folder for the persistent prefix cache (<c>--cache-dir</c>), or null: full blocks are also written there (atomically,
    /// in the background) and read back after a restart. Keys bind the model's <see cref="ILanguageModel.KvIdentity"/> and the
    /// exact tokens; a file that fails verification is ignored with a warning and recomputed.
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Most bytes the persistent cache keeps on disk (<c>--cache-disk</c>); least recently used files go first.</summary>
    public long CacheDiskBytes { get; init; } = 10L << 30;

    /// <summary>Receives warnings (a corrupt cache file, a failed write); null = ignored.</summary>
    public Action<string>? Warn { get; init; }

    internal void Validate()
    {
        if (ContextLength < 0) throw new ArgumentException($"context length must be >= 0 (got {ContextLength})", nameof(ContextLength));
        if (MaxActiveSequences < 1) throw new ArgumentException($"max active sequences must be >= 1 (got {MaxActiveSequences})", nameof(MaxActiveSequences));
        if (MaxQueuedRequests < 0) throw new ArgumentException($"max queued requests must be >= 0 (got {MaxQueuedRequests})", nameof(MaxQueuedRequests));
        if (BatchTokens < MaxActiveSequences) throw new ArgumentException($"batch tokens ({BatchTokens}) must be >= the parallel sequences ({MaxActiveSequences}): each takes one token a step", nameof(BatchTokens));
        if (KvCacheBytes < 0) throw new ArgumentException($"KV cache bytes must be >= 0 (got {KvCacheBytes})", nameof(KvCacheBytes));
        if (PrefixCacheBytes < 0) throw new ArgumentException($"prefix cache bytes must be >= 0 (got {PrefixCacheBytes})", nameof(PrefixCacheBytes));
        if (KvBlockTokens < 1) throw new ArgumentException($"KV block tokens must be >= 1 (got {KvBlockTokens})", nameof(KvBlockTokens));
        if (CacheDiskBytes < 0) throw new ArgumentException($"cache disk bytes must be >= 0 (got {CacheDiskBytes})", nameof(CacheDiskBytes));
    }
}
