namespace KimiSharp.Server.Backend;

/// <summary>One step of a generation as the API adapters see it. <see cref="CompletionTokens"/> counts every token generated so far.</summary>
public abstract record GenerationUpdate(int CompletionTokens);

/// <summary>Visible text; <paramref name="Logprobs"/> lists the tokens it came from when requested.</summary>
public sealed record TextDelta(string Text, int CompletionTokens, IReadOnlyList<TokenLogprob>? Logprobs = null)
    : GenerationUpdate(CompletionTokens);

/// <summary>Reasoning text of a thinking model (what it wrote between <c>&lt;think&gt;</c> and <c>&lt;/think&gt;</c>); never part of the answer.</summary>
public sealed record ReasoningDelta(string Text, int CompletionTokens) : GenerationUpdate(CompletionTokens);

/// <summary>A tool call begins: its position in this reply and the function name (Kimi id <paramref name="KimiId"/>).</summary>
public sealed record ToolCallStarted(int Index, string Name, string KimiId, int CompletionTokens)
    : GenerationUpdate(CompletionTokens);

/// <summary>A fragment of the JSON arguments of call <paramref name="Index"/>.</summary>
public sealed record ToolCallArgumentsDelta(int Index, string Fragment, int CompletionTokens)
    : GenerationUpdate(CompletionTokens);

/// <summary>A started call ended before its arguments were complete (e.g. max tokens) and is dropped.</summary>
public sealed record ToolCallDiscarded(int Index, int CompletionTokens) : GenerationUpdate(CompletionTokens);

/// <summary>The last update: why generation ended, plus timings.</summary>
public sealed record GenerationFinished(GenerationStopReason Reason, int CompletionTokens, GenerationTimings Timings)
    : GenerationUpdate(CompletionTokens);

public enum GenerationStopReason
{
    /// <summary>The model ended its turn (im_end / EOS / EOT).</summary>
    EndOfTurn,

    /// <summary>max_tokens or the end of the context was reached.</summary>
    Length,

    /// <summary>The turn ended after one or more tool calls.</summary>
    ToolCalls,
}

public sealed record GenerationTimings(int PromptTokens, int CachedTokens, double PromptMilliseconds, double GenerationMilliseconds);

/// <param name="Top">The most likely alternatives at this position (most likely first).</param>
public sealed record TokenLogprob(string Token, float Logprob, byte[] Bytes, IReadOnlyList<TopLogprob> Top);

public sealed record TopLogprob(string Token, float Logprob, byte[] Bytes);
