using System.Text.Json;
using KimiSharp.Server.Generation;

namespace KimiSharp.Server.Anthropic;

/// <summary>Small conversions from run events to Anthropic's vocabulary.</summary>
public static class AnthropicMapping
{
    public static string StopReason(RunFinishReason reason) => reason switch
    {
        RunFinishReason.Length => "max_tokens",
        RunFinishReason.ToolCalls => "tool_use",
        RunFinishReason.StopSequence => "stop_sequence",
        _ => "end_turn",
    };

    /// <summary>
    /// tool_use input must be an object. Arguments the model wrote that are not a JSON object are kept
    /// (as a string under "_unparsed_arguments") rather than silently dropped.
    /// </summary>
    public static JsonElement ToolInput(string arguments)
    {
        var text = arguments.Trim();
        if (text.Length == 0)
            return JsonDocument.Parse("{}").RootElement.Clone();
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
                return document.RootElement.Clone();
        }
        catch (JsonException)
        {
        }

        var wrapped = JsonSerializer.Serialize(text, AnthropicJsonContext.Default.String);
        return JsonDocument.Parse("{\"_unparsed_arguments\":" + wrapped + "}").RootElement.Clone();
    }
}
