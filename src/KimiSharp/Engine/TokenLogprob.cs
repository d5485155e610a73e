namespace KimiSharp.Engine;

/// <summary>
/// Natural-log probability of the chosen token under the model's distribution (softmax of the raw logits,
/// before bias, penalties, temperature and filters), with the most likely alternatives, best first.
/// </summary>
public sealed record TokenLogprob(int TokenId, float Logprob, IReadOnlyList<TopLogprob> Top);

public readonly record struct TopLogprob(int TokenId, float Logprob);
