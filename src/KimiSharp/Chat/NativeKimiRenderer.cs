using KimiSharp.Chat.Jinja;

namespace KimiSharp.Chat;

/// <summary>
/// Renders Kimi's chat format directly (used when a GGUF has no chat template). Produces exactly what
/// <see cref="KimiChatTemplate.Source"/> renders, with message content (and names, tool arguments) marked as
/// non-template segments.
/// </summary>
internal static class NativeKimiRenderer
{
    public static void Render(PromptBuilder b, IReadOnlyList<ChatMessage> messages, object? toolsValue, bool addGenerationPrompt)
    {
        if (toolsValue is List<object?> { Count: > 0 } tools)
        {
            b.Template("<|im_system|>tool_declare<|im_middle|>");
            b.Template(JinjaJson.Dumps(tools, ensureAscii: false, indent: null, ", ", ": ", sortKeys: false));
            b.Template("<|im_end|>");
        }
        if (messages.Count == 0 || messages[0].Role != "system")
            b.Template($"<|im_system|>system<|im_middle|>{KimiChatTemplate.DefaultSystemPrompt}<|im_end|>");
        foreach (var m in messages)
        {
            b.Template(m.Role switch { "user" => "<|im_user|>", "assistant" => "<|im_assistant|>", _ => "<|im_system|>" });
            if (!string.IsNullOrEmpty(m.Name)) b.Content(m.Name);
            else b.Template(m.Role);
            b.Template("<|im_middle|>");
            if (m.Role == "tool") b.Template("## Return of " + (m.ToolCallId ?? "") + "\n");
            b.Content(m.Content);
            if (m.Role == "assistant" && m.ToolCalls is { Count: > 0 } calls)
            {
                b.Template("<|tool_calls_section_begin|>");
                foreach (var call in calls)
                {
                    b.Template("<|tool_call_begin|>" + call.Id + "<|tool_call_argument_begin|>");
                    b.Content(call.Arguments);
                    b.Template("<|tool_call_end|>");
                }
                b.Template("<|tool_calls_section_end|>");
            }
            b.Template("<|im_end|>");
        }
        if (addGenerationPrompt) b.Template("<|im_assistant|>assistant<|im_middle|>");
    }
}
