using System.Text;
using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.Anthropic;

/// <summary>
/// Maps Anthropic's <c>system</c> and <c>messages</c> to prompt messages, in order (errors name the field as
/// <c>messages.0.content.1.type</c>):
/// <list type="bullet">
/// <item>the top-level system (a string or text blocks) is the first system turn; <c>role: "system"</c> messages
/// (Claude Code sends them mid-conversation) are system turns where they stand;</item>
/// <item>user text blocks become user turns, each <c>tool_result</c> a tool turn (tool_reference blocks in it, from
/// tool search, name the tools they load);</item>
/// <item>an assistant turn's thinking blocks become its reasoning (the text, or what our signature carries), its
/// text blocks its content, its tool_use blocks its tool calls;</item>
/// <item>redacted thinking and server-tool blocks (web search, code execution, MCP) are left out of the prompt.</item>
/// </list>
/// </summary>
public static class AnthropicMessageMapper
{
    /// <summary>The prompt messages, and the tools that tool_reference blocks loaded (deferred tools to declare).</summary>
    public static (List<PromptMessage> Messages, HashSet<string> ReferencedTools) Map(JsonElement? system, List<AnthropicMessageDto?> messages)
    {
        var prompt = new List<PromptMessage>();
        if (TopLevelSystem(system) is string text)
            prompt.Add(new PromptMessage("system", text));
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        var knownToolUseIds = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < messages.Count; i++)
        {
            var path = $"messages.{i}";
            var message = messages[i] ?? throw ApiException.Invalid(path, "must be an object");
            var role = message.Role ?? throw ApiException.Invalid($"{path}.role", "is required");
            if (message.Content is not { } content || content.ValueKind == JsonValueKind.Null)
                throw ApiException.Invalid($"{path}.content", "is required");
            switch (role)
            {
                case "system":
                    prompt.Add(new PromptMessage("system", SystemText(content, $"{path}.content")));
                    break;
                case "user" when content.ValueKind == JsonValueKind.String:
                case "assistant" when content.ValueKind == JsonValueKind.String:
                    prompt.Add(new PromptMessage(role, JsonFields.String(content, $"{path}.content")));
                    break;
                case "user" or "assistant" when content.ValueKind != JsonValueKind.Array:
                    throw ApiException.Invalid($"{path}.content", $"must be a string or an array of content blocks, not {JsonFields.Describe(content)}");
                case "user":
                    MapUserBlocks(content, $"{path}.content", prompt, knownToolUseIds, referenced);
                    break;
                case "assistant":
                    MapAssistantBlocks(content, $"{path}.content", prompt, knownToolUseIds);
                    break;
                default:
                    throw ApiException.Invalid($"{path}.role", $"'{role}' is not one of user, assistant, system");
            }
        }

        return (prompt, referenced);
    }

    /// <summary>The top-level system prompt, with Claude Code's billing hash neutralised in its first block.</summary>
    private static string? TopLevelSystem(JsonElement? system)
    {
        if (system is not { } value || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind == JsonValueKind.String)
            return ClaudeCodeBillingHeader.Neutralise(JsonFields.String(value, "system"));
        var parts = TextBlocks(value, "system");
        if (parts.Count == 0)
            return null;
        parts[0] = ClaudeCodeBillingHeader.Neutralise(parts[0]);
        return string.Join("\n", parts);
    }

    /// <summary>A system message's content: a string, or text blocks joined by newlines (as the top-level system).</summary>
    private static string SystemText(JsonElement content, string path) =>
        content.ValueKind == JsonValueKind.String ? JsonFields.String(content, path) : string.Join("\n", TextBlocks(content, path));

    private static List<string> TextBlocks(JsonElement blocks, string path)
    {
        if (blocks.ValueKind != JsonValueKind.Array)
            throw ApiException.Invalid(path, $"must be a string or an array of text blocks, not {JsonFields.Describe(blocks)}");
        var parts = new List<string>();
        foreach (var (block, blockPath, type) in Blocks(blocks, path))
        {
            if (type != "text")
                throw ApiException.Invalid($"{blockPath}.type", $"system blocks must be 'text', got '{type}'");
            parts.Add(RequiredString(block, "text", blockPath));
        }

        return parts;
    }

    private static void MapUserBlocks(JsonElement blocks, string path, List<PromptMessage> prompt, HashSet<string> knownToolUseIds, HashSet<string> referenced)
    {
        var text = new StringBuilder();
        bool hasText = false;
        foreach (var (block, blockPath, type) in Blocks(blocks, path))
        {
            switch (type)
            {
                case "text":
                    text.Append(RequiredString(block, "text", blockPath));
                    hasText = true;
                    break;
                case "tool_result":
                {
                    FlushUserText();
                    var id = RequiredString(block, "tool_use_id", blockPath);
                    if (!knownToolUseIds.Contains(id))
                        throw ApiException.Invalid($"{blockPath}.tool_use_id", $"'{id}' does not answer any tool_use block of an earlier assistant message");
                    var result = ToolResultContent(block, blockPath, referenced);
                    if (block.TryGetProperty("is_error", out var flag) && flag.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                        throw ApiException.Invalid($"{blockPath}.is_error", "must be a boolean");
                    bool isError = flag.ValueKind == JsonValueKind.True;
                    prompt.Add(new PromptMessage("tool", isError ? "Error: " + result : result, ToolCallId: id));
                    break;
                }

                case "tool_use":
                    throw ApiException.Invalid($"{blockPath}.type", "tool_use blocks belong in assistant messages");
                default:
                    RejectOrSkip(type, blockPath);
                    break;
            }
        }

        FlushUserText();

        void FlushUserText()
        {
            if (!hasText)
                return;
            prompt.Add(new PromptMessage("user", text.ToString()));
            text.Clear();
            hasText = false;
        }
    }

    private static void MapAssistantBlocks(JsonElement blocks, string path, List<PromptMessage> prompt, HashSet<string> knownToolUseIds)
    {
        var text = new StringBuilder();
        var reasoning = new List<string>();
        var calls = new List<PromptToolCall>();
        foreach (var (block, blockPath, type) in Blocks(blocks, path))
        {
            switch (type)
            {
                case "text":
                    text.Append(RequiredString(block, "text", blockPath));
                    break;
                case "thinking":
                    if (Reasoning(block, blockPath) is { Length: > 0 } thought)
                        reasoning.Add(thought);
                    break;
                case "tool_use":
                {
                    var id = RequiredString(block, "id", blockPath);
                    var name = ToolNames.Validate(RequiredString(block, "name", blockPath), $"{blockPath}.name");
                    var input = block.TryGetProperty("input", out var inputValue) && inputValue.ValueKind != JsonValueKind.Null
                        ? JsonFields.RawObject(inputValue, $"{blockPath}.input")
                        : "{}";
                    calls.Add(new PromptToolCall(id, name, input));
                    knownToolUseIds.Add(id);
                    break;
                }

                case "tool_result":
                    throw ApiException.Invalid($"{blockPath}.type", "tool_result blocks belong in user messages");
                default:
                    RejectOrSkip(type, blockPath);
                    break;
            }
        }

        prompt.Add(new PromptMessage("assistant", text.ToString(), calls.Count == 0 ? null : calls,
            Reasoning: reasoning.Count == 0 ? null : string.Join("\n\n", reasoning)));
    }

    /// <summary>A thinking block's reasoning: its text, or (display: omitted) what our signature carries.</summary>
    private static string Reasoning(JsonElement block, string path)
    {
        var thinking = block.TryGetProperty("thinking", out var value) && value.ValueKind != JsonValueKind.Null
            ? JsonFields.String(value, $"{path}.thinking")
            : "";
        if (thinking.Length > 0)
            return thinking;
        var signature = block.TryGetProperty("signature", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        return CarriedReasoning.TryDecode(signature, out var carried) ? carried : "";
    }

    /// <summary>A tool result's content: a string, or text blocks joined; tool_reference blocks name the tools they load.</summary>
    private static string ToolResultContent(JsonElement block, string path, HashSet<string> referenced)
    {
        if (!block.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            return "";
        if (content.ValueKind == JsonValueKind.String)
            return JsonFields.String(content, $"{path}.content");
        if (content.ValueKind != JsonValueKind.Array)
            throw ApiException.Invalid($"{path}.content", $"must be a string or an array of blocks, not {JsonFields.Describe(content)}");
        var text = new StringBuilder();
        foreach (var (inner, innerPath, type) in Blocks(content, $"{path}.content"))
        {
            switch (type)
            {
                case "text":
                    text.Append(RequiredString(inner, "text", innerPath));
                    break;
                case "tool_reference":
                {
                    var name = RequiredString(inner, "tool_name", innerPath);
                    referenced.Add(name);
                    if (text.Length > 0)
                        text.Append('\n');
                    text.Append("Tool loaded: ").Append(name);
                    break;
                }

                default:
                    RejectOrSkip(type, innerPath);
                    break;
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Blocks that carry nothing this model can read are dropped: redacted thinking, and the calls and results of
    /// server tools that ran on Anthropic's side. Media is refused; anything else is unknown.
    /// </summary>
    private static void RejectOrSkip(string type, string path)
    {
        if (type is "redacted_thinking" or "server_tool_use" or "mcp_tool_use" or "mcp_tool_result" or "container_upload"
            || type.EndsWith("_tool_result", StringComparison.Ordinal))
            return;
        if (type is "image" or "document" or "search_result")
            throw ApiException.Invalid($"{path}.type", $"'{type}' blocks are not supported: this model reads text only");
        throw ApiException.Invalid($"{path}.type", $"'{type}' is not a known content block type");
    }

    /// <summary>The blocks of a content array, each with its path (<c>messages.0.content.1</c>) and its type.</summary>
    private static IEnumerable<(JsonElement Block, string Path, string Type)> Blocks(JsonElement array, string path)
    {
        int i = 0;
        foreach (var block in array.EnumerateArray())
        {
            var blockPath = $"{path}.{i++}";
            yield return (block, blockPath, BlockType(block, blockPath));
        }
    }

    private static string BlockType(JsonElement block, string path)
    {
        if (block.ValueKind != JsonValueKind.Object)
            throw ApiException.Invalid(path, $"must be a content block object, not {JsonFields.Describe(block)}");
        if (!block.TryGetProperty("type", out var type))
            throw ApiException.Invalid($"{path}.type", "is required");
        return JsonFields.String(type, $"{path}.type");
    }

    private static string RequiredString(JsonElement block, string property, string path)
    {
        if (!block.TryGetProperty(property, out var value))
            throw ApiException.Invalid($"{path}.{property}", "is required");
        return JsonFields.String(value, $"{path}.{property}");
    }
}
