namespace KimiSharp.Engine;

/// <summary>The prompt does not fit the context (thrown before any work starts).</summary>
public sealed class ContextOverflowException(int promptTokens, int contextLength)
    : Exception($"the prompt has {promptTokens} tokens but the context holds {contextLength} (at least one must be left to generate)")
{
    public int PromptTokens { get; } = promptTokens;
    public int ContextLength { get; } = contextLength;
}
