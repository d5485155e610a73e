using KimiSharp.Chat;
using KimiSharp.Sampling;

namespace KimiSharp.Grammar;

/// <summary>
/// How a chat request's tools, tool choice and response format become the reply's constraint — the one
/// mapping the server's backend and <see cref="KimiChatClient"/> share. Each tool's arguments grammar comes
/// from its schema (cached by the Enforcer; a schema never fails a request).
/// </summary>
public static class ChatConstraints
{
    /// <summary>"&lt;/think&gt;" when a chat template writes reasoning blocks (Kimi-K2-Thinking), else null.</summary>
    public static string? ReasoningEndOf(string? chatTemplate) =>
        chatTemplate is not null && chatTemplate.Contains("</think>", StringComparison.Ordinal) ? "</think>" : null;

    /// <summary>
    /// The tool-call part of a reply's constraint: with no tools, <see cref="ToolCallMode.None"/> or a vocabulary without
    /// Kimi's markers, no call can open; otherwise calls as <paramref name="mode"/> allows, to any declared tool or only
    /// <paramref name="onlyTool"/>, numbered from <paramref name="firstCallIndex"/> (the calls earlier in the conversation).
    /// </summary>
    public static ChatConstraintOptions ForTools(Enforcer enforcer, IReadOnlyList<ToolDefinition>? tools, ToolCallMode mode, string? onlyTool,
        int firstCallIndex, string? reasoningEnd)
    {
        ArgumentNullException.ThrowIfNull(enforcer);
        var options = new ChatConstraintOptions { FirstCallIndex = firstCallIndex, ReasoningEnd = reasoningEnd };
        if (tools is not { Count: > 0 } || enforcer.ToolFormat is null || mode == ToolCallMode.None)
            return options;
        return options with
        {
            ToolCalls = mode,
            OnlyTool = onlyTool,
            Tools = tools.Select(t => new ToolGrammar(t.Name, enforcer.ToolArguments(t.Name, t.ParametersJson))).ToList(),
        };
    }

    /// <summary>
    /// One generation's constraint: the chat reply (<paramref name="chat"/>, from <see cref="ForTools"/>) with its content
    /// held to <paramref name="content"/>, or the content grammar alone for raw prompts; null when nothing is constrained.
    /// </summary>
    public static ITokenConstraint? Create(Enforcer enforcer, ChatConstraintOptions? chat, CompiledGrammar? content, bool singleCall)
    {
        ArgumentNullException.ThrowIfNull(enforcer);
        if (chat is not null && enforcer.ToolFormat is not null)
            return enforcer.Create(chat with { Content = content, SingleCall = singleCall });
        return content is null ? null : enforcer.Create(content);
    }
}
