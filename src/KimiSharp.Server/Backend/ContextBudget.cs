namespace KimiSharp.Server.Backend;

/// <summary>
/// Fits a request into the context, the same way for every API: a prompt that leaves no room for one generated
/// token is refused (<see cref="ContextOverflowException"/>, a 400 naming both counts); any requested maximum
/// (agents ask for 128000 whatever the context) is clamped to what the prompt leaves, and running out of that
/// ends the answer with the length finish reason (<c>max_tokens</c> / <c>length</c>), never an error.
/// </summary>
public static class ContextBudget
{
    public static GenerationOptions Fit(PreparedPrompt prompt, GenerationOptions options, int contextLength)
    {
        if (prompt.TokenCount >= contextLength)
            throw new ContextOverflowException(prompt.TokenCount, contextLength);
        return options with { MaxTokens = Math.Min(options.MaxTokens, contextLength - prompt.TokenCount) };
    }

    /// <summary>A client's max_tokens as the int the backend takes (anything above int.MaxValue is clamped later anyway).</summary>
    public static int Requested(long maxTokens) => (int)Math.Min(maxTokens, int.MaxValue);
}
