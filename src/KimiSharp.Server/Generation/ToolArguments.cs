using System.Text.Json;

namespace KimiSharp.Server.Generation;

/// <summary>Tool-call arguments as APIs that want a JSON object (Anthropic's tool_use input, Ollama's arguments) carry them.</summary>
public static class ToolArguments
{
    /// <summary>
    /// The arguments the model wrote, as an object. Text that is not a JSON object is kept (as a string under
    /// "_unparsed_arguments") rather than silently dropped; empty text is <c>{}</c>.
    /// </summary>
    public static JsonElement AsObject(string arguments)
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

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("_unparsed_arguments", text);
            writer.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.WrittenMemory).RootElement.Clone();
    }
}
