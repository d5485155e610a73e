namespace KimiSharp.Engine;

/// <summary>How the engine schedules sequences and how much context each may use.</summary>
public sealed record EngineOptions
{
    /// <summary>Tokens (prompt + generated) one sequence may hold; 0 = the model's trained context.</summary>
    public int ContextLength { get; init; } = 4096;

    /// <summary>
    /// Sequences that hold a KV cache and advance at the same time (one step each, round robin). The rest
    /// wait in first-come order. Each active sequence owns a cache of <see cref="ContextLength"/> tokens.
    /// </summary>
    public int MaxActiveSequences { get; init; } = 4;

    /// <summary>Requests allowed to wait for a free slot; one more is refused with <see cref="EngineQueueFullException"/>.</summary>
    public int MaxQueuedRequests { get; init; } = 256;

    /// <summary>Prompt tokens evaluated per step, so a long prompt does not starve the other sequences.</summary>
    public int PrefillChunkTokens { get; init; } = 512;

    /// <summary>
    /// Finished sequences whose KV cache is kept for the next request: a prompt that starts with the same
    /// tokens (the next turn of a conversation) evaluates only what is new. 0 = no reuse, and each
    /// sequence's cache is sized to its request instead of the whole context.
    /// </summary>
    public int PromptCacheSessions { get; init; } = 1;

    internal void Validate()
    {
        if (PromptCacheSessions < 0) throw new ArgumentException($"prompt cache sessions must be >= 0 (got {PromptCacheSessions})", nameof(PromptCacheSessions));
        if (ContextLength < 0) throw new ArgumentException($"context length must be >= 0 (got {ContextLength})", nameof(ContextLength));
        if (MaxActiveSequences < 1) throw new ArgumentException($"max active sequences must be >= 1 (got {MaxActiveSequences})", nameof(MaxActiveSequences));
        if (MaxQueuedRequests < 0) throw new ArgumentException($"max queued requests must be >= 0 (got {MaxQueuedRequests})", nameof(MaxQueuedRequests));
        if (PrefillChunkTokens < 1) throw new ArgumentException($"prefill chunk must be >= 1 (got {PrefillChunkTokens})", nameof(PrefillChunkTokens));
    }
}
