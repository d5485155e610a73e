namespace KimiSharp.Engine;

/// <summary>
/// Token counts of one generation; completion tokens include a final end-of-generation token.
/// <paramref name="CachedPromptTokens"/> of the prompt were already in a reused KV cache and not evaluated again.
/// </summary>
public sealed record Usage(int PromptTokens, int CompletionTokens, int CachedPromptTokens = 0)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}
