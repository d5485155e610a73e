namespace KimiSharp.Server.Backend;

/// <summary>The prompt alone does not fit in the context.</summary>
public sealed class ContextOverflowException(int promptTokens, int contextLength)
    : Exception($"the prompt has {promptTokens} tokens but the context holds {contextLength}")
{
    public int PromptTokens { get; } = promptTokens;
    public int ContextLength { get; } = contextLength;
}

/// <summary>The engine's queue is full; the client should retry later.</summary>
public sealed class QueueFullException(string message) : Exception(message);

/// <summary>The model is still loading, or failed to load.</summary>
public sealed class BackendUnavailableException(string message) : Exception(message);
