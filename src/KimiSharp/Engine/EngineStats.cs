namespace KimiSharp.Engine;

/// <summary>
/// A snapshot of the engine for metrics. The gauges (queue, running, sequence KV blocks) return to zero when the engine is
/// idle; cached blocks stay until evicted.
/// </summary>
public readonly record struct EngineStats(int QueueDepth, int ActiveSequences, long PromptTokens, long GeneratedTokens, long CompletedRequests)
{
    /// <summary>KV blocks the pool may hold (its memory budget) and tokens per block.</summary>
    public int KvBlocksTotal { get; init; }
    public int KvBlockTokens { get; init; }

    /// <summary>KV blocks in use by running sequences (shared ones counted once).</summary>
    public int KvBlocksSequences { get; init; }

    /// <summary>KV blocks held only by the prefix cache (reusable, evicted first when memory runs short).</summary>
    public int KvBlocksCached { get; init; }

    /// <summary>KV blocks whose memory is allocated (the resident high-water mark).</summary>
    public int KvBlocksAllocated { get; init; }

    /// <summary>Fraction of the KV budget in use by running sequences (vLLM's kv_cache_usage_perc, 0..1).</summary>
    public double KvCacheUsage => KvBlocksTotal > 0 ? (double)KvBlocksSequences / KvBlocksTotal : 0;

    /// <summary>Prompt tokens looked up in the prefix cache, and how many of them were found.</summary>
    public long PrefixQueryTokens { get; init; }
    public long PrefixHitTokens { get; init; }

    /// <summary>Of the hits, tokens read back from the disk tier.</summary>
    public long PrefixDiskHitTokens { get; init; }

    /// <summary>Sequences paused because KV memory ran out (they resume and recompute their cache).</summary>
    public long Preemptions { get; init; }

    /// <summary>Batched forward passes run, and the tokens they held.</summary>
    public long Steps { get; init; }
    public long StepTokens { get; init; }
}
