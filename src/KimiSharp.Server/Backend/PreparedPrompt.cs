namespace KimiSharp.Server.Backend;

/// <summary>
/// A tokenized prompt ready for generation. <paramref name="ParseToolCalls"/> is true for chat prompts
/// (the backend turns Kimi's tool-call markers into tool-call updates) and false for raw completions.
/// </summary>
public sealed record PreparedPrompt(
    int[] Tokens,
    bool ParseToolCalls,
    IReadOnlyList<PromptTool>? Tools = null,
    ToolChoice? ToolChoice = null)
{
    public int TokenCount => Tokens.Length;

    /// <summary>Whatever the backend wants to carry from preparation to generation (e.g. the id mapping).</summary>
    public object? BackendData { get; init; }
}
