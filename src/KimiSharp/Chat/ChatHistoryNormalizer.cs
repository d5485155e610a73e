using System.Text.Json;

namespace KimiSharp.Chat;

/// <summary>
/// Normalises a conversation the way Moonshot's API does before inference: every assistant tool-call id and the
/// matching tool message <c>tool_call_id</c> become <c>functions.NAME:IDX</c> (IDX counts calls across the whole
/// conversation, starting at 0, so ids stay unique), double-encoded JSON arguments are unwrapped, and missing
/// content becomes the empty string (rendered as nothing).
/// </summary>
public static class ChatHistoryNormalizer
{
    public static IReadOnlyList<ChatMessage> Normalize(IReadOnlyList<ChatMessage> messages, out IReadOnlyDictionary<string, string> kimiIdToClientId)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var clientToKimi = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = new List<ChatMessage>(messages.Count);
        int counter = 0;
        foreach (var m in messages)
        {
            ArgumentNullException.ThrowIfNull(m);
            if (string.IsNullOrEmpty(m.Role)) throw new ArgumentException("every message needs a role");
            var msg = m with { Content = m.Content ?? "" };
            if (m.ToolCalls is { Count: > 0 } calls)
            {
                var normalized = new List<ToolCall>(calls.Count);
                foreach (var call in calls)
                {
                    string kimiId = $"functions.{call.Name}:{counter++}";
                    if (!string.IsNullOrEmpty(call.Id)) clientToKimi[call.Id] = kimiId;
                    map[kimiId] = call.Id ?? kimiId;
                    normalized.Add(new ToolCall(kimiId, call.Name, UnwrapArguments(call.Arguments)));
                }
                msg = msg with { ToolCalls = normalized };
            }
            else if (m.ToolCalls is { Count: 0 })
            {
                msg = msg with { ToolCalls = null };
            }
            if (m.ToolCallId != null && clientToKimi.TryGetValue(m.ToolCallId, out var mapped)) msg = msg with { ToolCallId = mapped };
            result.Add(msg);
        }
        kimiIdToClientId = map;
        return result;
    }

    /// <summary>Arguments that are a JSON string holding a JSON object or array (double-encoded) are unwrapped;
    /// anything else is returned unchanged.</summary>
    public static string UnwrapArguments(string? arguments)
    {
        if (string.IsNullOrWhiteSpace(arguments)) return arguments ?? "";
        string current = arguments;
        for (int depth = 0; depth < 4; depth++)
        {
            if (Kind(current, out string? inner) != JsonValueKind.String || inner == null) break;
            var innerKind = Kind(inner, out _);
            if (innerKind is JsonValueKind.Object or JsonValueKind.Array) return inner;
            if (innerKind != JsonValueKind.String) break;
            current = inner;
        }
        return arguments;
    }

    private static JsonValueKind Kind(string text, out string? stringValue)
    {
        stringValue = null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind == JsonValueKind.String) stringValue = doc.RootElement.GetString();
            return doc.RootElement.ValueKind;
        }
        catch (JsonException)
        {
            return JsonValueKind.Undefined;
        }
    }
}
