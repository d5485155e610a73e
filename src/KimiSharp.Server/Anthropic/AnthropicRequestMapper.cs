using System.Text;
using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.Anthropic;

/// <summary>A validated Anthropic Messages request, mapped to the API-neutral types.</summary>
public sealed record AnthropicPlan(ChatPromptRequest Prompt, GenerationOptions Options, IReadOnlyList<string> Stops, bool Stream, bool SingleToolCall = false);

/// <summary>
/// Validates Anthropic request bodies (errors name the field as <c>messages.0.content.1.type</c>) and maps
/// them: system blocks become one system message, tool_result blocks become tool messages in order,
/// tool_use blocks become assistant tool calls, and temperature is scaled by the server's factor.
/// </summary>
public static class AnthropicRequestMapper
{
    private const int MaxStops = 16;

    public static AnthropicPlan Map(MessagesRequest request, ServerOptions server, ModelDescription model, bool requireMaxTokens = true)
    {
        if (string.IsNullOrEmpty(request.Model))
            throw ApiException.Invalid("model", "is required");
        if (requireMaxTokens && request.MaxTokens is null)
            throw ApiException.Invalid("max_tokens", "is required");
        if (request.MaxTokens is long max && (max < 1 || max > model.ContextLength))
            throw ApiException.Invalid("max_tokens", $"must be between 1 and the context length {model.ContextLength}, got {max}");
        if (request.Messages is not { Count: > 0 } messages)
            throw ApiException.Invalid("messages", "is required and must hold at least one message");

        var tools = MapTools(request.Tools);
        var toolChoice = MapToolChoice(request.ToolChoice, tools);
        var prompt = new List<PromptMessage>();
        if (System(request.System) is string system)
            prompt.Add(new PromptMessage("system", system));
        MapMessages(messages, prompt);

        if (request.TopK is < 0)
            throw ApiException.Invalid("top_k", $"must be 0 or positive, got {request.TopK}");
        double temperature = JsonFields.InRange(request.Temperature, "temperature", 0, 1, server.AnthropicDefaultTemperature);
        var options = new GenerationOptions
        {
            Temperature = (float)(temperature * server.AnthropicTemperatureFactor),
            TopP = (float)JsonFields.InRange(request.TopP, "top_p", 0, 1, 1),
            TopK = request.TopK ?? 0,
            MinP = server.DefaultMinP,
            MaxTokens = (int)(request.MaxTokens ?? model.ContextLength),
            Format = OutputFormat(request),
        };

        var stops = new List<string>();
        if (request.StopSequences is { } sequences)
        {
            if (sequences.Count > MaxStops)
                throw ApiException.Invalid("stop_sequences", $"has {sequences.Count} entries; at most {MaxStops} are allowed");
            for (int i = 0; i < sequences.Count; i++)
            {
                if (string.IsNullOrEmpty(sequences[i]))
                    throw ApiException.Invalid($"stop_sequences.{i}", "must be a non-empty string");
                stops.Add(sequences[i]!);
            }
        }

        return new AnthropicPlan(new ChatPromptRequest(prompt, tools, toolChoice), options, stops, request.Stream == true,
            request.ToolChoice?.DisableParallelToolUse == true);
    }

    /// <summary>The system prompt: a string or text blocks (joined by newlines), with Claude Code's billing hash neutralised.</summary>
    private static string? System(JsonElement? system)
    {
        if (system is not { } value || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind == JsonValueKind.String)
            return ClaudeCodeBillingHeader.Neutralise(JsonFields.String(value, "system"));
        if (value.ValueKind != JsonValueKind.Array)
            throw ApiException.Invalid("system", $"must be a string or an array of text blocks, not {JsonFields.Describe(value)}");

        var parts = new List<string>();
        int i = 0;
        foreach (var block in value.EnumerateArray())
        {
            var path = $"system.{i++}";
            var type = BlockType(block, path);
            if (type != "text")
                throw ApiException.Invalid($"{path}.type", $"system blocks must be 'text', got '{type}'");
            var text = RequiredString(block, "text", path);
            parts.Add(parts.Count == 0 ? ClaudeCodeBillingHeader.Neutralise(text) : text);
        }

        return parts.Count == 0 ? null : string.Join("\n", parts);
    }

    private static void MapMessages(List<AnthropicMessageDto?> messages, List<PromptMessage> prompt)
    {
        var knownToolUseIds = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < messages.Count; i++)
        {
            var path = $"messages.{i}";
            var message = messages[i] ?? throw ApiException.Invalid(path, "must be an object");
            var role = message.Role ?? throw ApiException.Invalid($"{path}.role", "is required");
            if (role is not ("user" or "assistant"))
                throw ApiException.Invalid($"{path}.role", $"'{role}' is not one of user, assistant (use the top-level system field for system prompts)");
            if (message.Content is not { } content || content.ValueKind == JsonValueKind.Null)
                throw ApiException.Invalid($"{path}.content", "is required");

            if (content.ValueKind == JsonValueKind.String)
            {
                prompt.Add(new PromptMessage(role, JsonFields.String(content, $"{path}.content")));
                continue;
            }

            if (content.ValueKind != JsonValueKind.Array)
                throw ApiException.Invalid($"{path}.content", $"must be a string or an array of content blocks, not {JsonFields.Describe(content)}");
            if (role == "user")
                MapUserBlocks(content, $"{path}.content", prompt, knownToolUseIds);
            else
                MapAssistantBlocks(content, $"{path}.content", prompt, knownToolUseIds);
        }
    }

    private static void MapUserBlocks(JsonElement blocks, string path, List<PromptMessage> prompt, HashSet<string> knownToolUseIds)
    {
        var text = new StringBuilder();
        bool hasText = false;
        int j = 0;
        foreach (var block in blocks.EnumerateArray())
        {
            var blockPath = $"{path}.{j++}";
            var type = BlockType(block, blockPath);
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
                    var result = ToolResultContent(block, blockPath);
                    bool isError = block.TryGetProperty("is_error", out var flag) && flag.ValueKind == JsonValueKind.True;
                    if (block.TryGetProperty("is_error", out flag) && flag.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                        throw ApiException.Invalid($"{blockPath}.is_error", "must be a boolean");
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
        var calls = new List<PromptToolCall>();
        int j = 0;
        foreach (var block in blocks.EnumerateArray())
        {
            var blockPath = $"{path}.{j++}";
            var type = BlockType(block, blockPath);
            switch (type)
            {
                case "text":
                    text.Append(RequiredString(block, "text", blockPath));
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

        prompt.Add(new PromptMessage("assistant", text.ToString(), calls.Count == 0 ? null : calls));
    }

    /// <summary>A tool result's content: a string, or text blocks joined.</summary>
    private static string ToolResultContent(JsonElement block, string path)
    {
        if (!block.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            return "";
        if (content.ValueKind == JsonValueKind.String)
            return JsonFields.String(content, $"{path}.content");
        if (content.ValueKind != JsonValueKind.Array)
            throw ApiException.Invalid($"{path}.content", $"must be a string or an array of blocks, not {JsonFields.Describe(content)}");
        var text = new StringBuilder();
        int k = 0;
        foreach (var inner in content.EnumerateArray())
        {
            var innerPath = $"{path}.content.{k++}";
            var type = BlockType(inner, innerPath);
            if (type == "text")
                text.Append(RequiredString(inner, "text", innerPath));
            else
                RejectOrSkip(type, innerPath);
        }

        return text.ToString();
    }

    /// <summary>Thinking and server-tool blocks are dropped (Kimi-K2-Instruct does not think); media is refused; anything else is unknown.</summary>
    private static void RejectOrSkip(string type, string path)
    {
        switch (type)
        {
            case "thinking" or "redacted_thinking" or "server_tool_use" or "web_search_tool_result":
                return;
            case "image" or "document" or "search_result":
                throw ApiException.Invalid($"{path}.type", $"'{type}' blocks are not supported: this model reads text only");
            default:
                throw ApiException.Invalid($"{path}.type", $"'{type}' is not a known content block type");
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

    private static List<PromptTool>? MapTools(List<AnthropicToolDto?>? tools)
    {
        if (tools is null || tools.Count == 0)
            return null;
        var result = new List<PromptTool>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tools.Count; i++)
        {
            var path = $"tools.{i}";
            var tool = tools[i] ?? throw ApiException.Invalid(path, "must be an object");
            if (tool.Type is not (null or "custom"))
                continue; // server tools (web_search_…, text_editor_…) run on Anthropic's side; nothing to declare here
            var name = ToolNames.Validate(tool.Name, $"{path}.name");
            if (!names.Add(name))
                throw ApiException.Invalid($"{path}.name", $"'{name}' is declared twice");
            if (tool.InputSchema is not { } schema || schema.ValueKind == JsonValueKind.Null)
                throw ApiException.Invalid($"{path}.input_schema", "is required");
            result.Add(new PromptTool(name, tool.Description, JsonFields.RawObject(schema, $"{path}.input_schema")));
        }

        return result.Count == 0 ? null : result;
    }

    private static ToolChoice MapToolChoice(AnthropicToolChoiceDto? choice, List<PromptTool>? tools)
    {
        if (choice is null)
            return ToolChoice.Auto;
        var result = choice.Type switch
        {
            "auto" => ToolChoice.Auto,
            "none" => new ToolChoice(ToolChoiceMode.None),
            "any" => new ToolChoice(ToolChoiceMode.Required),
            "tool" => new ToolChoice(ToolChoiceMode.Named, string.IsNullOrEmpty(choice.Name) ? throw ApiException.Invalid("tool_choice.name", "is required for type 'tool'") : choice.Name),
            null => throw ApiException.Invalid("tool_choice.type", "is required"),
            var other => throw ApiException.Invalid("tool_choice.type", $"'{other}' is not one of auto, any, tool, none"),
        };
        if (result.Mode is ToolChoiceMode.Required or ToolChoiceMode.Named && tools is null)
            throw ApiException.Invalid("tool_choice", "needs tools to choose from");
        if (result.Mode == ToolChoiceMode.Named && !tools!.Any(t => t.Name == result.Name))
            throw ApiException.Invalid("tool_choice.name", $"'{result.Name}' is not among the declared tools");
        return result;
    }

    /// <summary>
    /// Structured outputs (<c>output_format</c>, or <c>output_config.format</c>): a JSON schema the text reply must
    /// match. Anthropic's structured outputs are strict, so an unsupported keyword is a 400.
    /// </summary>
    private static OutputFormat? OutputFormat(MessagesRequest request)
    {
        string param = "output_format";
        JsonElement? format = request.OutputFormat;
        if (format is not { ValueKind: JsonValueKind.Object } && request.OutputConfig is { ValueKind: JsonValueKind.Object } config
            && config.TryGetProperty("format", out var nested))
        {
            format = nested;
            param = "output_config.format";
        }
        if (format is not { } value || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Object)
            throw ApiException.Invalid(param, $"must be an object, not {JsonFields.Describe(value)}");
        if (!value.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "json_schema")
            throw ApiException.Invalid($"{param}.type", "must be 'json_schema'");
        if (!value.TryGetProperty("schema", out var schema))
            throw ApiException.Invalid($"{param}.schema", "is required");
        return Backend.OutputFormat.JsonSchema(JsonFields.RawObject(schema, $"{param}.schema"), strict: true, $"{param}.schema");
    }
}
