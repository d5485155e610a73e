using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.Anthropic;

/// <summary>
/// Maps Anthropic <c>tools</c> and <c>tool_choice</c>. Client tools (no type, or "custom") are declared to the model;
/// a tool with <c>defer_loading</c> only once a tool_reference block has loaded it (tool search), as Anthropic does;
/// server tools (<c>web_search_*</c>, <c>code_execution_*</c>, <c>mcp_toolset</c> …) run on Anthropic's side and are
/// left out. Tool extras (<c>strict</c>, <c>input_examples</c>, <c>eager_input_streaming</c>, <c>cache_control</c>) are accepted.
/// </summary>
public static class AnthropicToolMapper
{
    public static List<PromptTool>? MapTools(List<AnthropicToolDto?>? tools, IReadOnlySet<string> referenced)
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
                continue;
            var name = ToolNames.Validate(tool.Name, $"{path}.name");
            if (!names.Add(name))
                throw ApiException.Invalid($"{path}.name", $"'{name}' is declared twice");
            if (tool.InputSchema is not { } schema || schema.ValueKind == JsonValueKind.Null)
                throw ApiException.Invalid($"{path}.input_schema", "is required");
            var parameters = JsonFields.RawObject(schema, $"{path}.input_schema");
            if (tool.DeferLoading == true && !referenced.Contains(name))
                continue;
            result.Add(new PromptTool(name, tool.Description, parameters));
        }

        return result.Count == 0 ? null : result;
    }

    public static ToolChoice MapToolChoice(AnthropicToolChoiceDto? choice, List<PromptTool>? tools)
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
}
