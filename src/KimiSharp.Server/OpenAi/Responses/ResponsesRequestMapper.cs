using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.OpenAi.Responses;

/// <summary>A validated <c>POST /v1/responses</c>, mapped to the API-neutral types plus what the reply echoes.</summary>
/// <param name="Prompt">The whole conversation as the model sees it (instructions first).</param>
/// <param name="Conversation">The conversation without the instructions: what a later <c>previous_response_id</c> continues.</param>
/// <param name="TextFormat">The validated <c>text.format</c> (text, json_object or json_schema), for constrained decoding.</param>
/// <param name="CarryReasoning"><c>include</c> asks for <c>reasoning.encrypted_content</c>: reasoning items carry their text back (<see cref="CarriedReasoning"/>).</param>
public sealed record ResponsesPlan(
    ChatPromptRequest Prompt,
    IReadOnlyList<PromptMessage> Conversation,
    GenerationOptions Options,
    IReadOnlyList<string> Stops,
    ResponsesToolSet Tools,
    ResponseTextFormat TextFormat,
    bool Stream,
    bool Store,
    bool SingleToolCall,
    ResponseEcho Echo,
    bool CarryReasoning = false);

/// <summary>The request settings a response object repeats back.</summary>
public sealed record ResponseEcho(
    string? Instructions,
    long? MaxOutputTokens,
    bool ParallelToolCalls,
    string? PreviousResponseId,
    ReasoningEcho Reasoning,
    bool Store,
    double Temperature,
    double TopP,
    JsonElement TextFormat,
    JsonElement ToolChoice,
    IReadOnlyList<JsonElement> Tools,
    string Truncation,
    string? User,
    JsonElement Metadata,
    string? PromptCacheKey)
{
    /// <summary>The response object as created: status in_progress, no output yet.</summary>
    public ResponseObject InProgress(string id, long createdAt, string model) => new(
        id, createdAt, "in_progress", null, null, Instructions, MaxOutputTokens, model, [], ParallelToolCalls, PreviousResponseId,
        Reasoning, Store, Temperature, new TextEcho(TextFormat), ToolChoice, Tools, TopP, Truncation, null, User, Metadata, PromptCacheKey);
}

/// <summary><c>text.format</c>: <paramref name="Type"/> is text, json_object or json_schema (then with a name and a schema).</summary>
public sealed record ResponseTextFormat(string Type, string? Name = null, string? SchemaJson = null, bool? Strict = null)
{
    public static ResponseTextFormat Text { get; } = new("text");
}

/// <summary>Validates a Responses request field by field (each error names its field) and maps it.</summary>
public static class ResponsesRequestMapper
{
    private const int MaxStops = 16;
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();
    private static readonly JsonElement TextFormatDefault = JsonDocument.Parse("""{"type":"text"}""").RootElement.Clone();
    private static readonly JsonElement AutoChoice = JsonDocument.Parse("\"auto\"").RootElement.Clone();

    /// <param name="previous">The conversation of <c>previous_response_id</c> (already looked up), or empty.</param>
    public static ResponsesPlan Map(ResponsesRequest request, ServerOptions server, ModelDescription model, IReadOnlyList<PromptMessage> previous)
    {
        if (request.Background == true)
            throw ApiException.Invalid("background", "background responses are not supported: the server answers while you wait (or streams)");
        if (request.Conversation is { ValueKind: not JsonValueKind.Null })
            throw ApiException.Invalid("conversation", "conversations are not supported; continue a response with previous_response_id");
        if (request.Truncation is not (null or "auto" or "disabled"))
            throw ApiException.Invalid("truncation", $"'{request.Truncation}' is not one of auto, disabled");
        if (request.TopLogprobs is < 0 or > 20)
            throw ApiException.Invalid("top_logprobs", $"must be between 0 and 20, got {request.TopLogprobs}");
        if (request.MaxToolCalls is < 1)
            throw ApiException.Invalid("max_tool_calls", $"must be at least 1, got {request.MaxToolCalls}");
        var reasoning = Reasoning(request.Reasoning);
        var include = Strings(request.Include, "include");
        CheckObject(request.Metadata, "metadata");
        CheckObject(request.ClientMetadata, "client_metadata");
        CheckObject(request.StreamOptions, "stream_options");
        var (format, formatJson) = TextFormat(request.Text);

        var conversation = ResponsesInput.Read(request.Input, previous);
        var prompt = new List<PromptMessage>(conversation.Count + 1);
        if (!string.IsNullOrEmpty(request.Instructions))
            prompt.Add(new PromptMessage("system", request.Instructions));
        prompt.AddRange(conversation);
        if (prompt.Count == 0)
            throw ApiException.Invalid("input", "is required: a string or at least one input item");

        var declared = ResponsesToolSet.Read(request.Tools);
        var (choice, tools) = declared.ReadChoice(request.ToolChoice);
        if (tools.Tools is null)
            choice = new ToolChoice(ToolChoiceMode.None); // no function to call: as at OpenAI, the reply never holds a call
        var options = OpenAiRequestMapper.SamplingOptions(server, model, request.Temperature, request.TopP, null, null, null, null, request.Seed, null) with
        {
            MaxTokens = MaxOutputTokens(request.MaxOutputTokens, model),
            Logprobs = include.Contains("message.output_text.logprobs") || request.TopLogprobs > 0,
            TopLogprobs = request.TopLogprobs ?? 0,
            Format = format.Type switch
            {
                "json_object" => OutputFormat.JsonObject("text.format"),
                "json_schema" => OutputFormat.JsonSchema(format.SchemaJson!, format.Strict == true, "text.format.schema"),
                _ => null,
            },
        };
        var stops = JsonFields.StringOrStrings(request.Stop, "stop", MaxStops);
        bool store = request.Store != false;

        var echo = new ResponseEcho(
            request.Instructions,
            request.MaxOutputTokens,
            request.ParallelToolCalls != false,
            request.PreviousResponseId,
            reasoning,
            store,
            request.Temperature ?? Math.Round(options.Temperature, 6),
            request.TopP ?? Math.Round(options.TopP, 6),
            formatJson,
            request.ToolChoice is { ValueKind: not JsonValueKind.Null } tc ? tc.Clone() : AutoChoice,
            request.Tools?.Select(t => t.Clone()).ToList() ?? [],
            request.Truncation ?? "disabled",
            request.User,
            request.Metadata is { ValueKind: JsonValueKind.Object } metadata ? metadata.Clone() : EmptyObject,
            request.PromptCacheKey);

        return new ResponsesPlan(
            new ChatPromptRequest(prompt, tools.Tools, choice, SkipReasoning: reasoning.Effort == "none"),
            conversation,
            options,
            stops,
            tools,
            format,
            request.Stream == true,
            store,
            request.ParallelToolCalls == false,
            echo,
            include.Contains("reasoning.encrypted_content"));
    }

    /// <summary>max_output_tokens: at least 1; more than the context holds is clamped (the run also stops where the context ends).</summary>
    private static int MaxOutputTokens(long? requested, ModelDescription model)
    {
        if (requested is not long value)
            return model.ContextLength;
        if (value < 1)
            throw ApiException.Invalid("max_output_tokens", $"must be at least 1, got {value}");
        return (int)Math.Min(value, model.ContextLength);
    }

    private static ReasoningEcho Reasoning(JsonElement? reasoning)
    {
        if (reasoning is not { } value || value.ValueKind == JsonValueKind.Null)
            return new ReasoningEcho(null, null);
        if (value.ValueKind != JsonValueKind.Object)
            throw ApiException.Invalid("reasoning", $"must be an object, not {JsonFields.Describe(value)}");
        string? effort = null, summary = null;
        if (value.TryGetProperty("effort", out var e) && e.ValueKind != JsonValueKind.Null)
            effort = JsonFields.String(e, "reasoning.effort");
        if (value.TryGetProperty("summary", out var s) && s.ValueKind != JsonValueKind.Null)
            summary = JsonFields.String(s, "reasoning.summary");
        return new ReasoningEcho(effort, summary);
    }

    /// <summary>text: {format, verbosity}. format is text, json_object, or json_schema with a name and a schema object.</summary>
    private static (ResponseTextFormat Format, JsonElement Json) TextFormat(JsonElement? text)
    {
        if (text is not { } value || value.ValueKind == JsonValueKind.Null)
            return (ResponseTextFormat.Text, TextFormatDefault);
        if (value.ValueKind != JsonValueKind.Object)
            throw ApiException.Invalid("text", $"must be an object, not {JsonFields.Describe(value)}");
        if (value.TryGetProperty("verbosity", out var verbosity) && verbosity.ValueKind != JsonValueKind.Null
            && JsonFields.String(verbosity, "text.verbosity") is not ("low" or "medium" or "high"))
            throw ApiException.Invalid("text.verbosity", "must be one of low, medium, high");
        if (!value.TryGetProperty("format", out var format) || format.ValueKind == JsonValueKind.Null)
            return (ResponseTextFormat.Text, TextFormatDefault);

        switch (ResponsesToolSet.TypeOf(format, "text.format"))
        {
            case "text":
                return (ResponseTextFormat.Text, format.Clone());
            case "json_object":
                return (new ResponseTextFormat("json_object"), format.Clone());
            case "json_schema":
            {
                var name = ResponsesToolSet.RequiredString(format, "name", "text.format");
                if (!format.TryGetProperty("schema", out var schema) || schema.ValueKind == JsonValueKind.Null)
                    throw ApiException.Invalid("text.format.schema", "is required for type json_schema");
                var schemaJson = JsonFields.RawObject(schema, "text.format.schema");
                bool? strict = null;
                if (format.TryGetProperty("strict", out var s) && s.ValueKind != JsonValueKind.Null)
                    strict = s.ValueKind switch
                    {
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        _ => throw ApiException.Invalid("text.format.strict", $"must be a boolean, not {JsonFields.Describe(s)}"),
                    };
                return (new ResponseTextFormat("json_schema", name, schemaJson, strict), format.Clone());
            }

            case var other:
                throw ApiException.Invalid("text.format.type", $"'{other}' is not one of text, json_object, json_schema");
        }
    }

    private static List<string> Strings(JsonElement? value, string param)
    {
        if (value is not { } v || v.ValueKind == JsonValueKind.Null)
            return [];
        if (v.ValueKind != JsonValueKind.Array)
            throw ApiException.Invalid(param, $"must be an array of strings, not {JsonFields.Describe(v)}");
        int i = 0;
        return v.EnumerateArray().Select(item => JsonFields.String(item, $"{param}[{i++}]")).ToList();
    }

    private static void CheckObject(JsonElement? value, string param)
    {
        if (value is { } v && v.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
            throw ApiException.Invalid(param, $"must be an object, not {JsonFields.Describe(v)}");
    }
}
