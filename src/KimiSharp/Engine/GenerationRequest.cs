using KimiSharp.Sampling;

namespace KimiSharp.Engine;

/// <summary>One generation: the prompt as token ids, how to sample, and when to stop.</summary>
public sealed record GenerationRequest(IReadOnlyList<int> PromptTokens)
{
    public SamplingParams Sampling { get; init; } = SamplingParams.Default;

    /// <summary>Most tokens to generate; null = until the context is full.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Strings that end generation; the text is cut before the match and never half-emitted.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Token ids that end generation besides the tokenizer's end-of-generation ids.</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Keep going past end-of-generation tokens (for benchmarks).</summary>
    public bool IgnoreEndOfGeneration { get; init; }

    /// <summary>
    /// Null = no log-probabilities. Otherwise each <see cref="TokenEvent"/> carries the chosen token's
    /// log-probability and this many most likely alternatives (0 = none).
    /// </summary>
    public int? TopLogprobs { get; init; }

    /// <summary>
    /// Constrained decoding for this sequence (JSON schema, grammar, tool-call format), or null. A fresh,
    /// stateful object per request: the engine calls its BeginMask before each forward pass that yields logits,
    /// ApplyMask before sampling and Accept with the sampled token.
    /// </summary>
    public ITokenConstraint? Constraint { get; init; }
}
