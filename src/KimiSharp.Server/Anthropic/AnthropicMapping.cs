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
}
