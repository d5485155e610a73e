namespace KimiSharp.Sampling;

/// <summary>
/// How to pick the next token. Defaults follow Moonshot's guidance for Kimi-K2 (temperature 0.6, every
/// other sampler neutral). The chain runs in this order: logit bias → repetition / presence / frequency
/// penalties → temperature (0 = greedy argmax) → top-k → top-p → min-p → draw with the seeded generator.
/// </summary>
public sealed record SamplingParams
{
    /// <summary>Moonshot's recommended defaults: temperature 0.6, everything else off.</summary>
    public static SamplingParams Default { get; } = new();

    /// <summary>Argmax decoding (temperature 0).</summary>
    public static SamplingParams Greedy { get; } = new() { Temperature = 0f };

    /// <summary>Softmax temperature; 0 means greedy (argmax, first index on ties).</summary>
    public float Temperature { get; init; } = 0.6f;

    /// <summary>Keep only the K most likely tokens; 0 = off.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus: keep the smallest most-likely set whose probability reaches P; 1 = off.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Drop tokens whose probability is below MinP × the top token's probability; 0 = off.</summary>
    public float MinP { get; init; }

    /// <summary>CTRL-style penalty: logits of tokens in the window are divided (if &gt; 0) or multiplied (if &lt; 0) by it; 1 = off.</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>OpenAI presence penalty: subtracted once from the logit of every token in the window; 0 = off.</summary>
    public float PresencePenalty { get; init; }

    /// <summary>OpenAI frequency penalty: subtracted per occurrence in the window; 0 = off.</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>How many of the most recent tokens (prompt tail and generated) the penalties look at; 0 = none, -1 = all.</summary>
    public int PenaltyWindow { get; init; } = 64;

    /// <summary>Added to the logits of the given token ids (OpenAI logit_bias); -inf bans a token.</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }

    /// <summary>Seed of the generator; the same seed and inputs give the same tokens. Null = random.</summary>
    public ulong? Seed { get; init; }

    public bool IsGreedy => Temperature <= 0f;

    internal bool HasPenalties =>
        PenaltyWindow != 0 && (RepetitionPenalty != 1f || PresencePenalty != 0f || FrequencyPenalty != 0f);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first out-of-range field.</summary>
    public void Validate(int vocabSize)
    {
        if (!float.IsFinite(Temperature) || Temperature < 0f)
            throw new ArgumentException($"temperature must be a finite number >= 0 (got {Temperature})", nameof(Temperature));
        if (TopK < 0)
            throw new ArgumentException($"top_k must be >= 0 (got {TopK})", nameof(TopK));
        if (!(TopP > 0f && TopP <= 1f))
            throw new ArgumentException($"top_p must be in (0, 1] (got {TopP})", nameof(TopP));
        if (!(MinP >= 0f && MinP <= 1f))
            throw new ArgumentException($"min_p must be in [0, 1] (got {MinP})", nameof(MinP));
        if (!float.IsFinite(RepetitionPenalty) || RepetitionPenalty <= 0f)
            throw new ArgumentException($"repetition_penalty must be > 0 (got {RepetitionPenalty})", nameof(RepetitionPenalty));
        if (!float.IsFinite(PresencePenalty))
            throw new ArgumentException($"presence_penalty must be finite (got {PresencePenalty})", nameof(PresencePenalty));
        if (!float.IsFinite(FrequencyPenalty))
            throw new ArgumentException($"frequency_penalty must be finite (got {FrequencyPenalty})", nameof(FrequencyPenalty));
        if (PenaltyWindow < -1)
            throw new ArgumentException($"penalty window must be >= -1 (got {PenaltyWindow})", nameof(PenaltyWindow));
        if (LogitBias is not null)
        {
            foreach (var (id, bias) in LogitBias)
            {
                if ((uint)id >= (uint)vocabSize)
                    throw new ArgumentException($"logit_bias token id {id} is outside the vocabulary (0..{vocabSize - 1})", nameof(LogitBias));
                if (float.IsNaN(bias) || float.IsPositiveInfinity(bias))
                    throw new ArgumentException($"logit_bias for token {id} must be a number or -infinity (got {bias})", nameof(LogitBias));
            }
        }
    }
}
