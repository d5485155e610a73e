namespace KimiSharp.Chat;

/// <summary>One chat message in OpenAI shape. <paramref name="Role"/> is system, user, assistant or tool;
/// <paramref name="ToolCallId"/> links a tool result to the call; <paramref name="Name"/> replaces the role
/// name in the Kimi header when set; <paramref name="ReasoningContent"/> is an assistant's reasoning, passed to
/// templates that render it (as <c>reasoning_content</c>, e.g. Kimi-K2-Thinking) and ignored by the others.</summary>
public sealed record ChatMessage(string Role, string? Content, IReadOnlyList<ToolCall>? ToolCalls = null, string? ToolCallId = null, string? Name = null,
    string? ReasoningContent = null);

/// <summary>A tool call: <paramref name="Arguments"/> is JSON text.</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);

/// <summary>A declared tool; <paramref name="ParametersJson"/> is a JSON schema (object) or null.</summary>
public sealed record ToolDefinition(string Name, string? Description, string? ParametersJson);

/// <summary>A piece of the rendered prompt. Template text is tokenized with special-token parsing; message
/// content (<see cref="IsTemplateText"/> false) without it, so user text never becomes a control token.</summary>
public sealed record PromptSegment(string Text, bool IsTemplateText);

/// <summary>The rendered prompt: <see cref="Segments"/> concatenate to <see cref="Text"/>;
/// <see cref="KimiIdToClientId"/> maps each normalised history id (functions.NAME:IDX) to the client's id.</summary>
public sealed record FormattedPrompt(string Text, IReadOnlyList<PromptSegment> Segments, IReadOnlyDictionary<string, string> KimiIdToClientId);
