using KimiSharp.Server.Backend;

namespace KimiSharp.Server.Generation;

/// <summary>What a generation run tells an API adapter, after stop strings and tool-call ids are applied.</summary>
public abstract record RunEvent;

public sealed record ContentEvent(string Text, IReadOnlyList<TokenLogprob>? Logprobs) : RunEvent;

/// <summary>
/// Reasoning text of a thinking model (Anthropic thinking blocks, OpenAI <c>reasoning_content</c>, Responses reasoning
/// items); stop strings do not apply to it. <paramref name="CompletionTokens"/>: tokens generated so far.
/// </summary>
public sealed record ReasoningEvent(string Text, int CompletionTokens) : RunEvent;

/// <summary>A tool call begins; <paramref name="ClientId"/> is the id the client sees (call_… or toolu_…).</summary>
public sealed record ToolStartEvent(int Index, string ClientId, string Name) : RunEvent;

public sealed record ToolArgumentsEvent(int Index, string Fragment) : RunEvent;

/// <summary>Call <paramref name="Index"/> was cut off before its arguments were complete; non-streaming replies leave it out.</summary>
public sealed record ToolDiscardedEvent(int Index) : RunEvent;

public sealed record RunFinished(RunFinishReason Reason, string? StopSequence, int PromptTokens, int CompletionTokens, GenerationTimings Timings) : RunEvent;

public enum RunFinishReason
{
    EndOfTurn,
    Length,
    ToolCalls,
    StopSequence,
}
