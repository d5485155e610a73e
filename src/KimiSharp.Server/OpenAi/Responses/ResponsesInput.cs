using System.Text;
using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.OpenAi.Responses;

/// <summary>
/// Turns <c>input</c> (a string, or an array of items) into chat messages, after the conversation of a
/// previous response when there is one. Items: <c>message</c> (roles system, developer → system, user,
/// assistant; parts input_text, output_text, text, refusal), <c>function_call</c> (joined to the assistant
/// turn before it; a namespaced call by its flat name), <c>function_call_output</c> (must answer an earlier
/// call), <c>reasoning</c> (its text — our <c>encrypted_content</c>, else its reasoning_text parts — goes with the
/// assistant turn that follows, where a thinking model's template renders it; another server's encrypted
/// reasoning, a summary or reasoning no assistant output follows is dropped). Items of hosted tools that
/// cannot run here (web_search_call, custom_tool_call, …) are dropped like their tools.
/// </summary>
public static class ResponsesInput
{
    private static readonly HashSet<string> HostedItemTypes = new(StringComparer.Ordinal)
    {
        "web_search_call", "file_search_call", "computer_call", "computer_call_output", "image_generation_call",
        "code_interpreter_call", "local_shell_call", "local_shell_call_output", "shell_call", "shell_call_output",
        "apply_patch_call", "apply_patch_call_output", "custom_tool_call", "custom_tool_call_output",
        "mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "mcp_call",
        "tool_search_call", "tool_search_output", "compaction", "compaction_summary",
    };

    private const string ImageOmitted = "[image omitted: this model reads text only]";

    /// <param name="previous">The conversation of <c>previous_response_id</c> (its input and output), or empty.</param>
    public static List<PromptMessage> Read(JsonElement? input, IReadOnlyList<PromptMessage> previous)
    {
        var messages = new List<PromptMessage>(previous);
        var calls = new Dictionary<string, string>(StringComparer.Ordinal); // call_id → flat function name
        foreach (var call in previous.SelectMany(m => m.ToolCalls ?? []))
            calls[call.Id] = call.Name;

        if (input is not { } value || value.ValueKind == JsonValueKind.Null)
            return messages;
        if (value.ValueKind == JsonValueKind.String)
        {
            messages.Add(new PromptMessage("user", JsonFields.String(value, "input")));
            return messages;
        }

        if (value.ValueKind != JsonValueKind.Array)
            throw ApiException.Invalid("input", $"must be a string or an array of input items, not {JsonFields.Describe(value)}");

        string? reasoning = null; // read from reasoning items, waiting for the assistant turn it belongs to
        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            var path = $"input[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
                throw ApiException.Invalid(path, $"must be an object, not {JsonFields.Describe(item)}");
            // An "easy" message has a role and no type.
            var type = item.TryGetProperty("type", out var t) && t.ValueKind != JsonValueKind.Null ? JsonFields.String(t, $"{path}.type") : "message";
            switch (type)
            {
                case "message":
                {
                    var message = Message(item, path);
                    if (message.Role == "assistant")
                        message = message with { Reasoning = reasoning };
                    if (message.Role is "assistant" or "user")
                        reasoning = null;
                    messages.Add(message);
                    break;
                }

                case "function_call":
                {
                    var id = ResponsesToolSet.RequiredString(item, "call_id", path);
                    var name = ResponsesToolSet.RequiredString(item, "name", path);
                    string? space = OptionalString(item, "namespace", path);
                    var call = new PromptToolCall(id, ResponsesToolSet.FlatName(space, name), Arguments(item, path));
                    calls[id] = call.Name;
                    if (messages.Count > 0 && messages[^1] is { Role: "assistant" } turn)
                        messages[^1] = turn with { ToolCalls = [.. turn.ToolCalls ?? [], call], Reasoning = Join(turn.Reasoning, reasoning) };
                    else
                        messages.Add(new PromptMessage("assistant", null, [call], Reasoning: reasoning));
                    reasoning = null;
                    break;
                }

                case "function_call_output":
                {
                    var id = ResponsesToolSet.RequiredString(item, "call_id", path);
                    if (!calls.TryGetValue(id, out var name))
                        throw ApiException.Invalid($"{path}.call_id", $"'{id}' does not answer any function_call earlier in the conversation");
                    if (!item.TryGetProperty("output", out var output) || output.ValueKind == JsonValueKind.Null)
                        throw ApiException.Invalid($"{path}.output", "is required");
                    messages.Add(new PromptMessage("tool", ToolOutput(output, $"{path}.output"), ToolCallId: id, Name: name));
                    reasoning = null;
                    break;
                }

                case "reasoning":
                    reasoning = Join(reasoning, Reasoning(item, path));
                    break;

                case "item_reference":
                    throw ApiException.Invalid($"{path}.type", "item_reference is not supported: send the item itself, or continue with previous_response_id");

                case var hosted when HostedItemTypes.Contains(hosted):
                    break;

                default:
                    throw ApiException.Invalid($"{path}.type",
                        $"'{type}' is not a known input item type (message, function_call, function_call_output, reasoning)");
            }
        }

        return messages;
    }

    /// <summary>
    /// The model's own words of a reasoning item: what our encrypted_content carries (Codex sends only that back),
    /// else its reasoning_text parts; null when it has neither (a summary is not what the model wrote).
    /// </summary>
    private static string? Reasoning(JsonElement item, string path)
    {
        if (item.TryGetProperty("summary", out var summary) && summary.ValueKind is not (JsonValueKind.Array or JsonValueKind.Null))
            throw ApiException.Invalid($"{path}.summary", $"must be an array, not {JsonFields.Describe(summary)}");
        var encrypted = OptionalString(item, "encrypted_content", path);
        if (CarriedReasoning.TryDecode(encrypted, out var carried))
            return carried.Length > 0 ? carried : null;
        if (!item.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            return null;
        if (content.ValueKind != JsonValueKind.Array)
            throw ApiException.Invalid($"{path}.content", $"must be an array of reasoning_text parts, not {JsonFields.Describe(content)}");
        var text = new StringBuilder();
        int j = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partPath = $"{path}.content[{j++}]";
            var kind = ResponsesToolSet.TypeOf(part, partPath);
            if (kind is not ("reasoning_text" or "text"))
                throw ApiException.Invalid($"{partPath}.type", $"'{kind}' is not a reasoning content part (reasoning_text)");
            text.Append(ResponsesToolSet.RequiredStringOrEmpty(part, "text", partPath));
        }

        return text.Length > 0 ? text.ToString() : null;
    }

    private static string? Join(string? before, string? after) =>
        before is null ? after : after is null ? before : before + "\n\n" + after;

    private static PromptMessage Message(JsonElement item, string path)
    {
        var role = ResponsesToolSet.RequiredString(item, "role", path);
        if (role is not ("system" or "developer" or "user" or "assistant"))
            throw ApiException.Invalid($"{path}.role", $"'{role}' is not one of system, developer, user, assistant");
        if (!item.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            throw ApiException.Invalid($"{path}.content", "is required");
        var text = content.ValueKind == JsonValueKind.String
            ? JsonFields.String(content, $"{path}.content")
            : Parts(content, $"{path}.content", imagesAllowed: false);
        return new PromptMessage(role == "developer" ? "system" : role, text);
    }

    /// <summary>A tool's output: a string, or content parts (an image becomes a note that it was left out).</summary>
    private static string ToolOutput(JsonElement output, string path) =>
        output.ValueKind == JsonValueKind.String ? JsonFields.String(output, path) : Parts(output, path, imagesAllowed: true);

    private static string Parts(JsonElement content, string path, bool imagesAllowed)
    {
        if (content.ValueKind != JsonValueKind.Array)
            throw ApiException.Invalid(path, $"must be a string or an array of content parts, not {JsonFields.Describe(content)}");
        var text = new StringBuilder();
        int j = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partPath = $"{path}[{j++}]";
            var kind = ResponsesToolSet.TypeOf(part, partPath);
            switch (kind)
            {
                case "input_text" or "output_text" or "text":
                    text.Append(ResponsesToolSet.RequiredStringOrEmpty(part, "text", partPath));
                    break;
                case "refusal":
                    text.Append(ResponsesToolSet.RequiredStringOrEmpty(part, "refusal", partPath));
                    break;
                case "input_image" or "input_file" or "input_audio" when imagesAllowed:
                    text.Append(ImageOmitted);
                    break;
                case "input_image" or "input_file" or "input_audio":
                    throw ApiException.Invalid($"{partPath}.type", $"'{kind}' parts are not supported: this model reads text only");
                default:
                    throw ApiException.Invalid($"{partPath}.type", $"'{kind}' is not a known content part type (input_text, output_text)");
            }
        }

        return text.ToString();
    }

    /// <summary>JSON text as a string (an object is accepted too); absent or empty means no arguments.</summary>
    private static string Arguments(JsonElement item, string path)
    {
        if (!item.TryGetProperty("arguments", out var arguments))
            return "{}";
        return arguments.ValueKind switch
        {
            JsonValueKind.Null => "{}",
            JsonValueKind.Object => arguments.GetRawText(),
            _ => JsonFields.String(arguments, $"{path}.arguments") is { Length: > 0 } text ? text : "{}",
        };
    }

    private static string? OptionalString(JsonElement item, string field, string path) =>
        item.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null ? JsonFields.String(value, $"{path}.{field}") : null;
}
