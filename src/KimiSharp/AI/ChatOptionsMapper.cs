using System.Text.Json;
using KimiSharp.Chat;
using KimiSharp.Grammar;
using KimiSharp.Sampling;
using Microsoft.Extensions.AI;

namespace KimiSharp.AI;

/// <summary>
/// <see cref="ChatOptions"/> → what the template, the Enforcer and the sampler take: declared functions, the tool mode,
/// the response format's grammar and the sampling parameters. Settings the engine cannot honour fail with a clear error.
/// </summary>
internal static class ChatOptionsMapper
{
    /// <summary>The functions of <see cref="ChatOptions.Tools"/> (other tool kinds, e.g. hosted web search, are not offered to the model).</summary>
    public static List<ToolDefinition>? Tools(ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } tools) return null;
        var functions = new List<ToolDefinition>();
        foreach (var tool in tools)
        {
            if (tool is not AIFunctionDeclaration function) continue;
            if (string.IsNullOrEmpty(function.Name) || function.Name.Length > 128 ||
                !function.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                throw new ArgumentException($"tool name '{function.Name}' must be 1–128 characters of letters, digits, '_', '-' or '.'", nameof(options));
            functions.Add(new ToolDefinition(function.Name, string.IsNullOrEmpty(function.Description) ? null : function.Description,
                function.JsonSchema.ValueKind == JsonValueKind.Object ? function.JsonSchema.GetRawText() : null));
        }

        return functions.Count > 0 ? functions : null;
    }

    /// <summary>The tool-call mode and the only callable tool (RequireSpecific), checked against the declared tools.</summary>
    public static (ToolCallMode Mode, string? OnlyTool) ToolMode(ChatOptions? options, IReadOnlyList<ToolDefinition>? tools)
    {
        switch (options?.ToolMode)
        {
            case NoneChatToolMode:
                return (ToolCallMode.None, null);
            case RequiredChatToolMode required:
                if (tools is null)
                    throw new ArgumentException("ToolMode requires a tool call but ChatOptions.Tools declares no functions", nameof(options));
                if (required.RequiredFunctionName is { } name && tools.All(t => t.Name != name))
                    throw new ArgumentException($"ToolMode requires '{name}', which ChatOptions.Tools does not declare", nameof(options));
                return (ToolCallMode.Required, required.RequiredFunctionName);
            default:
                return (tools is null ? ToolCallMode.None : ToolCallMode.Auto, null);
        }
    }

    /// <summary>The grammar the reply's text must follow (JSON, or JSON valid against the schema), or null for free text.</summary>
    public static CompiledGrammar? Format(Enforcer enforcer, ChatOptions? options)
    {
        if (options?.ResponseFormat is not ChatResponseFormatJson json) return null;
        try
        {
            return json.Schema is { } schema ? enforcer.JsonSchema(schema.GetRawText(), strict: false) : enforcer.JsonObject();
        }
        catch (Exception e) when (e is GrammarException or JsonException)
        {
            throw new ArgumentException($"ResponseFormat: the JSON schema cannot be enforced: {e.Message}", nameof(options), e);
        }
    }

    public static SamplingParams Sampling(ChatOptions? options, KimiChatClientOptions defaults) => new()
    {
        Temperature = options?.Temperature ?? defaults.DefaultTemperature,
        TopP = options?.TopP is { } topP ? (topP <= 0 ? float.Epsilon : topP) : 1f,
        TopK = options?.TopK ?? 0,
        MinP = defaults.MinP,
        FrequencyPenalty = options?.FrequencyPenalty ?? 0f,
        PresencePenalty = options?.PresencePenalty ?? 0f,
        Seed = options?.Seed is long seed ? unchecked((ulong)seed) : null,
    };
}
