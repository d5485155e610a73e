using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;
using KimiSharp.Server.OpenAi;

namespace KimiSharp.Server.Ollama;

/// <summary>
/// A validated Ollama request, mapped to the API-neutral types: a chat prompt (<see cref="Chat"/>) or, for
/// <c>/api/generate</c> with <c>raw: true</c>, text sent as it is (<see cref="RawPrompt"/>). <see cref="NumCtx"/>
/// is the client's context window (already clamped to the server's).
/// </summary>
public sealed record OllamaPlan(
    ChatPromptRequest? Chat,
    string? RawPrompt,
    GenerationOptions Options,
    IReadOnlyList<string> Stops,
    bool Stream,
    int? NumCtx);

/// <summary>
/// Validates Ollama request bodies (each error names its field) and maps them onto the same backend path as
/// the OpenAI and Anthropic adapters: messages, tools and tool results become a <see cref="ChatPromptRequest"/>,
/// <c>format</c> an <see cref="OutputFormat"/> for the Enforcer, <c>options</c> the sampling settings.
/// </summary>
public static class OllamaRequestMapper
{
    private const int MaxStops = 16;

    public static OllamaPlan MapChat(OllamaChatRequest request, ServerOptions server, ModelDescription model)
    {
        bool skipReasoning = SkipReasoning(request.Think);
        var tools = OpenAiRequestMapper.MapTools(request.Tools?.Select(t => t is { Type: null } ? t with { Type = "function" } : t).ToList());
        var messages = MapMessages(request.Messages ?? []);
        var (options, stops, numCtx) = Options(request.Options, request.Format, server, model);
        return new OllamaPlan(new ChatPromptRequest(messages, tools, ToolChoice.Auto, skipReasoning), null, options, stops, request.Stream != false, numCtx);
    }

    public static OllamaPlan MapGenerate(OllamaGenerateRequest request, ServerOptions server, ModelDescription model)
    {
        bool skipReasoning = SkipReasoning(request.Think);
        if (!string.IsNullOrEmpty(request.Suffix))
            throw ApiException.Invalid("suffix", "fill-in-the-middle is not supported by this model");
        if (request.Images is { Count: > 0 })
            throw ApiException.Invalid("images", "images are not supported: this model reads text only");
        if (request.Context is { Count: > 0 })
            throw ApiException.Invalid("context", "is not supported (it is deprecated in Ollama); send the conversation to /api/chat instead");
        if (!string.IsNullOrEmpty(request.Template))
            throw ApiException.Invalid("template", "custom prompt templates are not supported: the model's own chat template is used, or none with raw: true");

        var (options, stops, numCtx) = Options(request.Options, request.Format, server, model);
        var prompt = request.Prompt ?? "";
        if (request.Raw == true)
            return new OllamaPlan(null, prompt, options, stops, request.Stream != false, numCtx);

        var messages = new List<PromptMessage>();
        if (!string.IsNullOrEmpty(request.System))
            messages.Add(new PromptMessage("system", request.System));
        messages.Add(new PromptMessage("user", prompt));
        return new OllamaPlan(new ChatPromptRequest(messages, null, ToolChoice.Auto, skipReasoning), null, options, stops, request.Stream != false, numCtx);
    }

    /// <summary>
    /// The reply budget once the prompt's length is known: a client's num_ctx smaller than the server's context
    /// caps prompt plus reply, as Ollama's window would (a prompt already longer than num_ctx still gets the
    /// server's context rather than being cut, which Ollama would do).
    /// </summary>
    public static GenerationOptions FitToNumCtx(GenerationOptions options, int? numCtx, int promptTokens) =>
        numCtx is int window && window > promptTokens
            ? options with { MaxTokens = Math.Min(options.MaxTokens, window - promptTokens) }
            : options;

    private static (GenerationOptions Options, IReadOnlyList<string> Stops, int? NumCtx) Options(
        OllamaOptionsDto? o, JsonElement? format, ServerOptions server, ModelDescription model)
    {
        var options = OpenAiRequestMapper.SamplingOptions(server, model, o?.Temperature, o?.TopP, o?.TopK, o?.MinP,
            o?.PresencePenalty, o?.FrequencyPenalty, o?.Seed, null, "options.") with
        {
            // Ollama: num_predict 0, -1 (infinite) and -2 (fill the context) all run until the context ends.
            MaxTokens = o?.NumPredict is long n and > 0 ? (int)Math.Min(n, model.ContextLength) : model.ContextLength,
            Format = Format(format),
        };
        int? numCtx = o?.NumCtx is long ctx and > 0 ? (int)Math.Min(ctx, model.ContextLength) : null;
        return (options, JsonFields.StringOrStrings(o?.Stop, "options.stop", MaxStops), numCtx);
    }

    /// <summary><c>"json"</c> → any JSON object; an object → that JSON schema; absent, null or "" → free text.</summary>
    public static OutputFormat? Format(JsonElement? format)
    {
        if (format is not { } value || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind == JsonValueKind.Object)
            return OutputFormat.JsonSchema(value.GetRawText(), strict: false, "format");
        if (value.ValueKind != JsonValueKind.String)
            throw ApiException.Invalid("format", $"must be \"json\" or a JSON schema object, not {JsonFields.Describe(value)}");
        return JsonFields.String(value, "format") switch
        {
            "" => null,
            "json" => OutputFormat.JsonObject("format"),
            var other => throw ApiException.Invalid("format", $"'{other}' is not \"json\"; give \"json\" or a JSON schema object"),
        };
    }

    /// <summary>
    /// think: true/false or "high"/"medium"/"low"; false turns a thinking model's reasoning off (its answer starts
    /// after an empty reasoning block). Instruct models never reason, whatever it says.
    /// </summary>
    private static bool SkipReasoning(JsonElement? think)
    {
        if (think is not { } value || value.ValueKind is JsonValueKind.Null or JsonValueKind.True)
            return false;
        if (value.ValueKind == JsonValueKind.False)
            return true;
        if (value.ValueKind != JsonValueKind.String || JsonFields.String(value, "think") is not ("high" or "medium" or "low"))
            throw ApiException.Invalid("think", "must be true, false, \"high\", \"medium\" or \"low\"");
        return false;
    }

    /// <summary>
    /// Ollama's history: assistant tool calls carry no ids (ids are made up here, in order), and a tool result names
    /// its function (tool_name) or, from newer clients, the call's id: it answers that call, else the earliest
    /// unanswered call of that function, else the earliest unanswered call.
    /// </summary>
    private static List<PromptMessage> MapMessages(List<OllamaMessageDto?> messages)
    {
        var result = new List<PromptMessage>(messages.Count);
        var unanswered = new List<PromptToolCall>();
        int callCount = 0;
        for (int i = 0; i < messages.Count; i++)
        {
            var path = $"messages[{i}]";
            var message = messages[i] ?? throw ApiException.Invalid(path, "must be an object");
            var role = message.Role ?? throw ApiException.Invalid($"{path}.role", "is required");
            if (message.Images is { Count: > 0 })
                throw ApiException.Invalid($"{path}.images", "images are not supported: this model reads text only");
            if (message.ToolCalls is { Count: > 0 } && role != "assistant")
                throw ApiException.Invalid($"{path}.tool_calls", $"only assistant messages carry tool calls, not {role}");
            var content = message.Content ?? "";
            switch (role)
            {
                case "system" or "user":
                    result.Add(new PromptMessage(role, content));
                    break;

                case "assistant":
                    var calls = MapToolCalls(message.ToolCalls, $"{path}.tool_calls", ref callCount);
                    if (calls is not null)
                        unanswered.AddRange(calls);
                    result.Add(new PromptMessage("assistant", content, calls, Reasoning: string.IsNullOrEmpty(message.Thinking) ? null : message.Thinking));
                    break;

                case "tool":
                    var answered = Answered(message, unanswered)
                        ?? throw ApiException.Invalid($"{path}.role", "a tool result must follow an assistant message with tool_calls it answers");
                    unanswered.Remove(answered);
                    result.Add(new PromptMessage("tool", content, ToolCallId: answered.Id, Name: answered.Name));
                    break;

                default:
                    throw ApiException.Invalid($"{path}.role", $"'{role}' is not one of system, user, assistant, tool");
            }
        }

        return result;
    }

    private static PromptToolCall? Answered(OllamaMessageDto message, List<PromptToolCall> unanswered) =>
        (message.ToolCallId is { Length: > 0 } id ? unanswered.FirstOrDefault(c => c.Id == id) : null)
        ?? (message.ToolName is { Length: > 0 } name ? unanswered.FirstOrDefault(c => c.Name == name) : null)
        ?? unanswered.FirstOrDefault();

    private static List<PromptToolCall>? MapToolCalls(List<OllamaToolCallDto?>? calls, string path, ref int callCount)
    {
        if (calls is not { Count: > 0 })
            return null;
        var result = new List<PromptToolCall>(calls.Count);
        for (int k = 0; k < calls.Count; k++)
        {
            var callPath = $"{path}[{k}]";
            var call = calls[k] ?? throw ApiException.Invalid(callPath, "must be an object");
            var function = call.Function ?? throw ApiException.Invalid($"{callPath}.function", "is required");
            var name = ToolNames.Validate(function.Name, $"{callPath}.function.name");
            var arguments = function.Arguments switch
            {
                null or { ValueKind: JsonValueKind.Null } => "{}",
                { ValueKind: JsonValueKind.Object } obj => obj.GetRawText(),
                { ValueKind: JsonValueKind.String } text => JsonFields.String(text, $"{callPath}.function.arguments"),
                { } other => throw ApiException.Invalid($"{callPath}.function.arguments", $"must be an object, not {JsonFields.Describe(other)}"),
            };
            var id = string.IsNullOrEmpty(call.Id) ? $"ollama_call_{callCount}" : call.Id;
            callCount++;
            result.Add(new PromptToolCall(id, name, arguments));
        }

        return result;
    }
}
