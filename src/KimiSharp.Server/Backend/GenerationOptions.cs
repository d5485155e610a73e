namespace KimiSharp.Server.Backend;

/// <summary>Sampling and stopping settings for one request, already validated and API-neutral.</summary>
public sealed record GenerationOptions
{
    public float Temperature { get; init; } = 0.6f;
    public float TopP { get; init; } = 1f;
    public int TopK { get; init; }
    public float MinP { get; init; } = 0.01f;
    public float PresencePenalty { get; init; }
    public float FrequencyPenalty { get; init; }
    public long? Seed { get; init; }

    /// <summary>Token id → additive bias; −100 effectively bans a token.</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }

    /// <summary>Most tokens to generate (the backend also stops at the end of the context).</summary>
    public int MaxTokens { get; init; } = 4096;

    /// <summary>Report each token's log-probability, with this many alternatives (0–20).</summary>
    public bool Logprobs { get; init; }
    public int TopLogprobs { get; init; }

    /// <summary>Constrained output (response_format, text.format, output_format, grammar, json_schema), or null.</summary>
    public OutputFormat? Format { get; init; }

    /// <summary>At most one tool call (parallel_tool_calls: false).</summary>
    public bool SingleToolCall { get; init; }
}
