namespace KimiSharp.Engine;

/// <summary>
/// Where one generation's time went. Prompt = evaluating the prompt (ends when the first token can be
/// sampled); decode = the single-token steps after it. With several active sequences the times include
/// the other sequences' turns.
/// </summary>
public sealed record Timings(double QueueMs, double PromptMs, int PromptTokens, double DecodeMs, int DecodeTokens)
{
    /// <summary>From leaving the queue until the first token was sampled.</summary>
    public double TimeToFirstTokenMs => PromptMs;

    public double PromptTokensPerSecond => PromptMs > 0 ? PromptTokens * 1000.0 / PromptMs : 0;

    public double DecodeTokensPerSecond => DecodeMs > 0 ? DecodeTokens * 1000.0 / DecodeMs : 0;
}
