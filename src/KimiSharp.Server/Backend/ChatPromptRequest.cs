namespace KimiSharp.Server.Backend;

/// <summary>An API-neutral chat request, after each API adapter has validated and mapped its JSON.</summary>
/// <param name="SkipReasoning">
/// The client turned reasoning off (Anthropic <c>thinking: disabled</c>): a thinking model's answer starts with an
/// empty <c>&lt;think&gt;&lt;/think&gt;</c>, as its template renders earlier turns. Instruct models never reason.
/// </param>
public sealed record ChatPromptRequest(
    IReadOnlyList<PromptMessage> Messages,
    IReadOnlyList<PromptTool>? Tools,
    ToolChoice ToolChoice,
    bool SkipReasoning = false);

/// <param name="Role">system, user, assistant or tool.</param>
/// <param name="ToolCallId">For tool results: the client id of the call being answered.</param>
/// <param name="Name">Optional participant name; for tool results the function name.</param>
/// <param name="Reasoning">An assistant turn's reasoning (thinking blocks, <c>reasoning_content</c>), for thinking models' templates.</param>
public sealed record PromptMessage(
    string Role,
    string? Content,
    IReadOnlyList<PromptToolCall>? ToolCalls = null,
    string? ToolCallId = null,
    string? Name = null,
    string? Reasoning = null);

/// <param name="Id">The client's id for the call (call_…, toolu_… or a Kimi id).</param>
/// <param name="Arguments">JSON text.</param>
public sealed record PromptToolCall(string Id, string Name, string Arguments);

/// <param name="ParametersJson">JSON schema of the arguments, or null.</param>
public sealed record PromptTool(string Name, string? Description, string? ParametersJson);

public enum ToolChoiceMode
{
    Auto,
    None,
    Required,
    Named,
}

public sealed record ToolChoice(ToolChoiceMode Mode, string? Name = null)
{
    public static ToolChoice Auto { get; } = new(ToolChoiceMode.Auto);
}
