using System.Text.Json;
using Microsoft.Extensions.AI;
using KimiChatMessage = KimiSharp.Chat.ChatMessage;
using KimiToolCall = KimiSharp.Chat.ToolCall;
using MeaiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace KimiSharp.AI;

/// <summary>
/// Microsoft.Extensions.AI messages → the chat template's messages: text parts joined, each
/// <see cref="FunctionCallContent"/> an assistant tool call (arguments as JSON), each <see cref="FunctionResultContent"/>
/// a tool message answering its call id, <see cref="TextReasoningContent"/> the turn's reasoning (for thinking models'
/// templates). Anything else (images, audio, files) is refused with a clear error.
/// </summary>
internal static class ChatHistoryMapper
{
    public static List<KimiChatMessage> Map(IEnumerable<MeaiChatMessage> messages, string? instructions, out int toolCallCount)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var mapped = new List<KimiChatMessage>();
        if (!string.IsNullOrEmpty(instructions))
            mapped.Add(new KimiChatMessage("system", instructions));
        var callNames = new Dictionary<string, string>(StringComparer.Ordinal);
        toolCallCount = 0;
        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            string role = message.Role.Value;
            var text = new System.Text.StringBuilder();
            var reasoning = new System.Text.StringBuilder();
            List<KimiToolCall>? calls = null;
            foreach (var content in message.Contents)
            {
                switch (content)
                {
                    case TextContent t:
                        text.Append(t.Text);
                        break;
                    case TextReasoningContent thought:
                        reasoning.Append(thought.Text);
                        break;
                    case UsageContent:
                        break;
                    case FunctionCallContent call:
                        calls ??= [];
                        calls.Add(new KimiToolCall(call.CallId, call.Name, SerializeArguments(call.Arguments)));
                        callNames[call.CallId] = call.Name;
                        toolCallCount++;
                        break;
                    case FunctionResultContent result:
                        mapped.Add(new KimiChatMessage("tool", ResultText(result), ToolCallId: result.CallId,
                            Name: callNames.GetValueOrDefault(result.CallId)));
                        break;
                    default:
                        throw new NotSupportedException(
                            $"KimiChatClient takes text, function calls and function results; a {role} message holds {content.GetType().Name}");
                }
            }

            if (text.Length > 0 || calls is not null || message.Contents.Count == 0)
            {
                if (role == "tool")
                    throw new ArgumentException("a tool message must carry FunctionResultContent (the call id it answers)", nameof(messages));
                mapped.Add(new KimiChatMessage(role, text.ToString(), calls, ReasoningContent: reasoning.Length > 0 ? reasoning.ToString() : null));
            }
        }

        return mapped;
    }

    private static string SerializeArguments(IDictionary<string, object?>? arguments) =>
        arguments is null ? "{}" : JsonSerializer.Serialize(arguments, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>)));

    /// <summary>A function result as the model reads it: strings as they are, anything else as JSON.</summary>
    private static string ResultText(FunctionResultContent result) => result.Result switch
    {
        null => result.Exception is { } e ? $"Error: {e.Message}" : "",
        string s => s,
        JsonElement element => element.ValueKind == JsonValueKind.String ? element.GetString()! : element.GetRawText(),
        var other => JsonSerializer.Serialize(other, AIJsonUtilities.DefaultOptions.GetTypeInfo(other.GetType())),
    };
}
