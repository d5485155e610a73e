using System.Globalization;
using System.Text;
using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.OpenAi;

/// <summary>A validated OpenAI chat request, mapped to the API-neutral types.</summary>
public sealed record OpenAiChatPlan(
    ChatPromptRequest Prompt,
    GenerationOptions Options,
    IReadOnlyList<string> Stops,
    bool Stream,
    bool IncludeUsage,
    bool SingleToolCall = false);

/// <summary>Validates OpenAI request bodies field by field (each error names its field) and maps them.</summary>
public static class OpenAiRequestMapper
{
    private const int MaxStops = 16;

    public static OpenAiChatPlan MapChat(ChatCompletionRequest request, ServerOptions server, ModelDescription model)
    {
        if (request.N is int n && n != 1)
            throw ApiException.Invalid("n", $"only n = 1 is supported, got {n}");
        if (request.Messages is not { Count: > 0 } messages)
            throw ApiException.Invalid("messages", "is required and must hold at least one message");

        var tools = MapTools(request.Tools);
        var toolChoice = MapToolChoice(request.ToolChoice, tools);
        var mapped = MapMessages(messages);
        var format = OutputFormat(request.ResponseFormat, request.Grammar, request.JsonSchema);

        var options = SamplingOptions(server, model, request.Temperature, request.TopP, request.TopK, request.MinP,
            request.PresencePenalty, request.FrequencyPenalty, request.Seed, request.LogitBias) with
        {
            MaxTokens = MaxTokens(request.MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens",
                request.MaxCompletionTokens ?? request.MaxTokens, model),
        };
        if (request.TopLogprobs is int top)
        {
            if (top is < 0 or > 20)
                throw ApiException.Invalid("top_logprobs", $"must be between 0 and 20, got {top}");
            if (request.Logprobs != true)
                throw ApiException.Invalid("top_logprobs", "needs logprobs set to true");
        }

        options = options with { Logprobs = request.Logprobs == true, TopLogprobs = request.TopLogprobs ?? 0, Format = format };
        var stops = JsonFields.StringOrStrings(request.Stop, "stop", MaxStops);
        return new OpenAiChatPlan(
            new ChatPromptRequest(mapped, tools, toolChoice),
            options,
            stops,
            request.Stream == true,
            request.StreamOptions?.IncludeUsage == true,
            request.ParallelToolCalls == false);
    }

    /// <summary>Sampling settings shared by chat and text completions.</summary>
    /// <param name="paramPrefix">Put before each field name in errors ("options." for Ollama's options object).</param>
    public static GenerationOptions SamplingOptions(ServerOptions server, ModelDescription model, double? temperature, double? topP, int? topK,
        double? minP, double? presencePenalty, double? frequencyPenalty, long? seed, Dictionary<string, double>? logitBias, string paramPrefix = "")
    {
        if (topK is < 0)
            throw ApiException.Invalid(paramPrefix + "top_k", $"must be 0 (off) or positive, got {topK}");
        return new GenerationOptions
        {
            Temperature = (float)JsonFields.InRange(temperature, paramPrefix + "temperature", 0, 2, server.DefaultTemperature),
            TopP = (float)JsonFields.InRange(topP, paramPrefix + "top_p", 0, 1, 1),
            TopK = topK ?? 0,
            MinP = (float)JsonFields.InRange(minP, paramPrefix + "min_p", 0, 1, server.DefaultMinP),
            PresencePenalty = (float)JsonFields.InRange(presencePenalty, paramPrefix + "presence_penalty", -2, 2, 0),
            FrequencyPenalty = (float)JsonFields.InRange(frequencyPenalty, paramPrefix + "frequency_penalty", -2, 2, 0),
            Seed = seed,
            LogitBias = MapLogitBias(logitBias, model.VocabSize),
        };
    }

    /// <summary>A requested maximum (at least 1; larger than the context is fine: it is clamped to what the prompt leaves).</summary>
    public static int MaxTokens(string param, long? requested, ModelDescription model)
    {
        if (requested is not long value)
            return model.ContextLength;
        if (value < 1)
            throw ApiException.Invalid(param, $"must be at least 1, got {value}");
        return ContextBudget.Requested(value);
    }

    private static Dictionary<int, float>? MapLogitBias(Dictionary<string, double>? bias, int vocabSize)
    {
        if (bias is null || bias.Count == 0)
            return null;
        var mapped = new Dictionary<int, float>();
        foreach (var (key, value) in bias)
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int token) || token >= vocabSize)
                throw ApiException.Invalid($"logit_bias.{key}", $"keys must be token ids below the vocabulary size {vocabSize}");
            if (!double.IsFinite(value) || value < -100 || value > 100)
                throw ApiException.Invalid($"logit_bias.{key}", $"bias must be between -100 and 100, got {value}");
            mapped[token] = (float)value;
        }

        return mapped;
    }

    private static List<PromptMessage> MapMessages(List<ChatMessageDto?> messages)
    {
        var result = new List<PromptMessage>(messages.Count);
        var knownCallIds = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < messages.Count; i++)
        {
            var path = $"messages[{i}]";
            var message = messages[i] ?? throw ApiException.Invalid(path, "must be an object");
            var role = message.Role ?? throw ApiException.Invalid($"{path}.role", "is required");
            switch (role)
            {
                case "system" or "developer" or "user":
                {
                    var content = Content(message.Content, $"{path}.content")
                        ?? throw ApiException.Invalid($"{path}.content", $"is required for a {role} message");
                    if (message.ToolCalls is not null)
                        throw ApiException.Invalid($"{path}.tool_calls", $"only assistant messages carry tool calls, not {role}");
                    result.Add(new PromptMessage(role == "developer" ? "system" : role, content, Name: message.Name));
                    break;
                }

                case "assistant":
                {
                    var content = Content(message.Content, $"{path}.content");
                    var calls = MapToolCalls(message.ToolCalls, $"{path}.tool_calls");
                    if (content is null && calls is null)
                        throw ApiException.Invalid($"{path}.content", "an assistant message needs content or tool_calls");
                    if (calls is not null)
                        foreach (var call in calls)
                            knownCallIds.Add(call.Id);
                    result.Add(new PromptMessage("assistant", content, calls, Name: message.Name, Reasoning: message.ReasoningContent));
                    break;
                }

                case "tool":
                {
                    var id = message.ToolCallId ?? throw ApiException.Invalid($"{path}.tool_call_id", "is required for a tool message");
                    if (!knownCallIds.Contains(id))
                        throw ApiException.Invalid($"{path}.tool_call_id", $"'{id}' does not answer any tool call of an earlier assistant message");
                    var content = Content(message.Content, $"{path}.content")
                        ?? throw ApiException.Invalid($"{path}.content", "is required for a tool message");
                    result.Add(new PromptMessage("tool", content, ToolCallId: id, Name: message.Name));
                    break;
                }

                default:
                    throw ApiException.Invalid($"{path}.role", $"'{role}' is not one of system, developer, user, assistant, tool");
            }
        }

        return result;
    }

    /// <summary>Content as a string, or an array of text parts joined; null when absent.</summary>
    private static string? Content(JsonElement? content, string path)
    {
        if (content is not { } value || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind == JsonValueKind.String)
            return JsonFields.String(value, path);
        if (value.ValueKind != JsonValueKind.Array)
            throw ApiException.Invalid(path, $"must be a string or an array of content parts, not {JsonFields.Describe(value)}");

        var text = new StringBuilder();
        int j = 0;
        foreach (var part in value.EnumerateArray())
        {
            var partPath = $"{path}[{j++}]";
            if (part.ValueKind != JsonValueKind.Object)
                throw ApiException.Invalid(partPath, "must be a content part object");
            if (!part.TryGetProperty("type", out var type))
                throw ApiException.Invalid($"{partPath}.type", "is required");
            var kind = JsonFields.String(type, $"{partPath}.type");
            switch (kind)
            {
                case "text":
                    if (!part.TryGetProperty("text", out var partText))
                        throw ApiException.Invalid($"{partPath}.text", "is required");
                    text.Append(JsonFields.String(partText, $"{partPath}.text"));
                    break;
                case "image_url" or "input_audio" or "file":
                    throw ApiException.Invalid($"{partPath}.type", $"'{kind}' parts are not supported: this model reads text only");
                default:
                    throw ApiException.Invalid($"{partPath}.type", $"'{kind}' is not a known content part type");
            }
        }

        return text.ToString();
    }

    private static List<PromptToolCall>? MapToolCalls(List<ToolCallDto?>? calls, string path)
    {
        if (calls is null || calls.Count == 0)
            return null;
        var result = new List<PromptToolCall>(calls.Count);
        for (int k = 0; k < calls.Count; k++)
        {
            var callPath = $"{path}[{k}]";
            var call = calls[k] ?? throw ApiException.Invalid(callPath, "must be an object");
            if (string.IsNullOrEmpty(call.Id))
                throw ApiException.Invalid($"{callPath}.id", "is required");
            if (call.Type is not null and not "function")
                throw ApiException.Invalid($"{callPath}.type", $"must be 'function', got '{call.Type}'");
            var function = call.Function ?? throw ApiException.Invalid($"{callPath}.function", "is required");
            if (string.IsNullOrEmpty(function.Name))
                throw ApiException.Invalid($"{callPath}.function.name", "is required");
            var arguments = function.Arguments switch
            {
                null => "{}",
                { ValueKind: JsonValueKind.Null } => "{}",
                { ValueKind: JsonValueKind.Object } obj => obj.GetRawText(),
                { } other => JsonFields.String(other, $"{callPath}.function.arguments"),
            };
            result.Add(new PromptToolCall(call.Id, function.Name, arguments));
        }

        return result;
    }

    /// <summary>Function tools as OpenAI (and Ollama) declare them; errors name <c>tools[i].…</c>.</summary>
    public static List<PromptTool>? MapTools(List<ToolDto?>? tools)
    {
        if (tools is null || tools.Count == 0)
            return null;
        var result = new List<PromptTool>(tools.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tools.Count; i++)
        {
            var path = $"tools[{i}]";
            var tool = tools[i] ?? throw ApiException.Invalid(path, "must be an object");
            if (tool.Type != "function")
                throw ApiException.Invalid($"{path}.type", $"must be 'function', got '{tool.Type}'");
            var function = tool.Function ?? throw ApiException.Invalid($"{path}.function", "is required");
            var name = ToolNames.Validate(function.Name, $"{path}.function.name");
            if (!names.Add(name))
                throw ApiException.Invalid($"{path}.function.name", $"'{name}' is declared twice");
            string? parameters = function.Parameters is { ValueKind: not JsonValueKind.Null } schema
                ? JsonFields.RawObject(schema, $"{path}.function.parameters")
                : null;
            result.Add(new PromptTool(name, function.Description, parameters));
        }

        return result;
    }

    private static ToolChoice MapToolChoice(JsonElement? choice, List<PromptTool>? tools)
    {
        if (choice is not { } value || value.ValueKind == JsonValueKind.Null)
            return ToolChoice.Auto;
        ToolChoice result;
        if (value.ValueKind == JsonValueKind.String)
        {
            result = JsonFields.String(value, "tool_choice") switch
            {
                "auto" => ToolChoice.Auto,
                "none" => new ToolChoice(ToolChoiceMode.None),
                "required" => new ToolChoice(ToolChoiceMode.Required),
                var other => throw ApiException.Invalid("tool_choice", $"'{other}' is not one of auto, none, required"),
            };
        }
        else if (value.ValueKind == JsonValueKind.Object)
        {
            if (!value.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function")
                throw ApiException.Invalid("tool_choice.type", "must be 'function'");
            if (!value.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                || !function.TryGetProperty("name", out var name))
                throw ApiException.Invalid("tool_choice.function.name", "is required");
            result = new ToolChoice(ToolChoiceMode.Named, JsonFields.String(name, "tool_choice.function.name"));
        }
        else
        {
            throw ApiException.Invalid("tool_choice", $"must be a string or an object, not {JsonFields.Describe(value)}");
        }

        if (result.Mode is ToolChoiceMode.Required or ToolChoiceMode.Named && tools is null)
            throw ApiException.Invalid("tool_choice", "needs tools to choose from");
        if (result.Mode == ToolChoiceMode.Named && !tools!.Any(t => t.Name == result.Name))
            throw ApiException.Invalid("tool_choice.function.name", $"'{result.Name}' is not among the declared tools");
        return result;
    }

    /// <summary>
    /// The constrained output a request asks for: OpenAI's <c>response_format</c> (json_object, or json_schema with
    /// its strict flag) or llama.cpp's <c>grammar</c> (GBNF) / <c>json_schema</c> fields; at most one of them.
    /// </summary>
    public static OutputFormat? OutputFormat(ResponseFormatDto? responseFormat, string? grammar, JsonElement? jsonSchema)
    {
        var given = new List<string>();
        if (responseFormat is not null && responseFormat.Type != "text") given.Add("response_format");
        if (grammar is not null) given.Add("grammar");
        if (jsonSchema is { ValueKind: not JsonValueKind.Null }) given.Add("json_schema");
        if (given.Count > 1)
            throw ApiException.Invalid(given[1], $"only one of response_format, grammar and json_schema may be given (got {string.Join(" and ", given)})");
        if (grammar is not null)
            return string.IsNullOrWhiteSpace(grammar) ? throw ApiException.Invalid("grammar", "must not be empty") : Backend.OutputFormat.Gbnf(grammar, "grammar");
        if (jsonSchema is { ValueKind: not JsonValueKind.Null } schema)
            return Backend.OutputFormat.JsonSchema(JsonFields.RawObject(schema, "json_schema"), strict: false, "json_schema");
        if (responseFormat is null)
            return null;
        switch (responseFormat.Type)
        {
            case "text":
                return null;
            case "json_object":
                return Backend.OutputFormat.JsonObject("response_format");
            case "json_schema":
                var format = responseFormat.JsonSchema ?? throw ApiException.Invalid("response_format.json_schema", "is required for type json_schema");
                if (string.IsNullOrEmpty(format.Name))
                    throw ApiException.Invalid("response_format.json_schema.name", "is required");
                if (format.Schema is not { ValueKind: not JsonValueKind.Null } s)
                    return Backend.OutputFormat.JsonObject("response_format.json_schema");
                if (s.ValueKind != JsonValueKind.Object)
                    throw ApiException.Invalid("response_format.json_schema.schema", "must be a JSON schema object");
                return Backend.OutputFormat.JsonSchema(s.GetRawText(), format.Strict == true, "response_format.json_schema.schema");
            default:
                throw ApiException.Invalid("response_format.type", $"'{responseFormat.Type}' is not one of text, json_object, json_schema");
        }
    }
}
