using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.Anthropic;

/// <summary>A validated Anthropic Messages request, mapped to the API-neutral types.</summary>
/// <param name="OmitThinking"><c>thinking.display: "omitted"</c>: thinking blocks carry only their signature.</param>
public sealed record AnthropicPlan(ChatPromptRequest Prompt, GenerationOptions Options, IReadOnlyList<string> Stops, bool Stream,
    bool SingleToolCall = false, bool OmitThinking = false);

/// <summary>
/// Validates an Anthropic Messages request and maps it (messages: <see cref="AnthropicMessageMapper"/>, tools:
/// <see cref="AnthropicToolMapper"/>). <c>max_tokens</c> may exceed the context (agents send 128000): it is clamped
/// to what the prompt leaves. Temperature is scaled by the server's factor. <c>thinking</c>: <c>disabled</c> makes a
/// thinking model answer without reasoning; <c>enabled</c> (its <c>budget_tokens</c> is not enforced) and
/// <c>adaptive</c> let it reason as trained; <c>display: "omitted"</c> returns thinking blocks without their text.
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
        if (request.MaxTokens is < 1)
            throw ApiException.Invalid("max_tokens", $"must be at least 1, got {request.MaxTokens}");
        if (request.Messages is not { Count: > 0 } messages)
            throw ApiException.Invalid("messages", "is required and must hold at least one message");

        var (prompt, referenced) = AnthropicMessageMapper.Map(request.System, messages);
        var tools = AnthropicToolMapper.MapTools(request.Tools, referenced);
        var toolChoice = AnthropicToolMapper.MapToolChoice(request.ToolChoice, tools);

        if (request.TopK is < 0)
            throw ApiException.Invalid("top_k", $"must be 0 or positive, got {request.TopK}");
        double temperature = JsonFields.InRange(request.Temperature, "temperature", 0, 1, server.AnthropicDefaultTemperature);
        var options = new GenerationOptions
        {
            Temperature = (float)(temperature * server.AnthropicTemperatureFactor),
            TopP = (float)JsonFields.InRange(request.TopP, "top_p", 0, 1, 1),
            TopK = request.TopK ?? 0,
            MinP = server.DefaultMinP,
            MaxTokens = request.MaxTokens is long max ? ContextBudget.Requested(max) : model.ContextLength,
            Format = OutputFormat(request),
        };

        var thinking = request.Thinking;
        if (thinking?.BudgetTokens is < 1)
            throw ApiException.Invalid("thinking.budget_tokens", $"must be at least 1, got {thinking.BudgetTokens}");
        return new AnthropicPlan(
            new ChatPromptRequest(prompt, tools, toolChoice, SkipReasoning: thinking?.Type == "disabled"),
            options,
            StopSequences(request.StopSequences),
            request.Stream == true,
            request.ToolChoice?.DisableParallelToolUse == true,
            OmitThinking: thinking?.Display == "omitted");
    }

    private static List<string> StopSequences(List<string?>? sequences)
    {
        var stops = new List<string>();
        if (sequences is null)
            return stops;
        if (sequences.Count > MaxStops)
            throw ApiException.Invalid("stop_sequences", $"has {sequences.Count} entries; at most {MaxStops} are allowed");
        for (int i = 0; i < sequences.Count; i++)
        {
            if (string.IsNullOrEmpty(sequences[i]))
                throw ApiException.Invalid($"stop_sequences.{i}", "must be a non-empty string");
            stops.Add(sequences[i]!);
        }

        return stops;
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
