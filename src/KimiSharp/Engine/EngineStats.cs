namespace KimiSharp.Engine;

/// <summary>A snapshot of the engine for metrics.</summary>
public readonly record struct EngineStats(int QueueDepth, int ActiveSequences, long PromptTokens, long GeneratedTokens, long CompletedRequests);
