namespace KimiSharp.Engine;

/// <summary>Token counts of one generation; completion tokens include a final end-of-generation token.</summary>
public sealed record Usage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}
