namespace KimiSharp.Engine;

/// <summary>
/// What a generation reports, in order: <see cref="TokenEvent"/>s (and possibly <see cref="TextEvent"/>s),
/// then exactly one <see cref="FinishEvent"/>. The concatenated text deltas are the answer.
/// </summary>
public abstract record GenerationEvent;

/// <summary>
/// A generated token. <paramref name="TextDelta"/> is the text released at this step: it may be empty
/// (an incomplete UTF-8 character, or text held back because it may start a stop string) or include
/// text held back earlier. End-of-generation tokens produce no event.
/// </summary>
public sealed record TokenEvent(int TokenId, string TextDelta, TokenLogprob? Logprob) : GenerationEvent;

/// <summary>Text released without a new token (held-back text when generation ends).</summary>
public sealed record TextEvent(string TextDelta) : GenerationEvent;

/// <summary>The last event of a generation.</summary>
/// <param name="Reason">Why generation ended.</param>
/// <param name="StopString">The stop string that matched when <paramref name="Reason"/> is <see cref="FinishReason.StopString"/>.</param>
/// <param name="StopTokenId">The end-of-generation / stop token when <paramref name="Reason"/> is <see cref="FinishReason.Stop"/>.</param>
public sealed record FinishEvent(FinishReason Reason, string? StopString, int? StopTokenId, Usage Usage, Timings Timings) : GenerationEvent;
