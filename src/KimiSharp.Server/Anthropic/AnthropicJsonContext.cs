using System.Text.Json.Serialization;

namespace KimiSharp.Server.Anthropic;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(MessagesRequest))]
[JsonSerializable(typeof(MessageResponse))]
[JsonSerializable(typeof(StreamEvent))]
[JsonSerializable(typeof(CountTokensResponse))]
[JsonSerializable(typeof(AnthropicErrorBody))]
[JsonSerializable(typeof(string))]
internal sealed partial class AnthropicJsonContext : JsonSerializerContext;
