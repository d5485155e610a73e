using System.Text.Json;

namespace KimiSharp.Server.OpenAi;

// Request bodies as OpenAI documents them (snake_case on the wire). Union-typed fields stay JsonElement
// and are checked by OpenAiRequestMapper, which reports the offending field. Unknown fields are ignored.

public sealed record ChatCompletionRequest
{
    public string? Model { get; init; }
    public List<ChatMessageDto?>? Messages { get; init; }
    public List<ToolDto?>? Tools { get; init; }
    public JsonElement? ToolChoice { get; init; }
    public bool? ParallelToolCalls { get; init; }
    public bool? Stream { get; init; }
    public StreamOptionsDto? StreamOptions { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public double? MinP { get; init; }
    public long? MaxTokens { get; init; }
    public long? MaxCompletionTokens { get; init; }
    public JsonElement? Stop { get; init; }
    public long? Seed { get; init; }
    public double? PresencePenalty { get; init; }
    public double? FrequencyPenalty { get; init; }
    public Dictionary<string, double>? LogitBias { get; init; }
    public bool? Logprobs { get; init; }
    public int? TopLogprobs { get; init; }
    public ResponseFormatDto? ResponseFormat { get; init; }
    public int? N { get; init; }

    /// <summary>llama.cpp extension: a GBNF grammar the reply must match.</summary>
    public string? Grammar { get; init; }

    /// <summary>llama.cpp extension: a JSON schema the reply must match.</summary>
    public JsonElement? JsonSchema { get; init; }
}

public sealed record ChatMessageDto
{
    public string? Role { get; init; }
    public JsonElement? Content { get; init; }
    public List<ToolCallDto?>? ToolCalls { get; init; }
    public string? ToolCallId { get; init; }
    public string? Name { get; init; }

    /// <summary>An assistant message's reasoning from a thinking model, sent back in the history.</summary>
    public string? ReasoningContent { get; init; }
}

public sealed record ToolCallDto
{
    public string? Id { get; init; }
    public string? Type { get; init; }
    public FunctionCallDto? Function { get; init; }
}

public sealed record FunctionCallDto
{
    public string? Name { get; init; }

    /// <summary>JSON text as a string (an object is accepted too).</summary>
    public JsonElement? Arguments { get; init; }
}

public sealed record ToolDto
{
    public string? Type { get; init; }
    public FunctionDefinitionDto? Function { get; init; }
}

public sealed record FunctionDefinitionDto
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public JsonElement? Parameters { get; init; }
    public bool? Strict { get; init; }
}

public sealed record StreamOptionsDto
{
    public bool? IncludeUsage { get; init; }
}

public sealed record ResponseFormatDto
{
    public string? Type { get; init; }
    public JsonSchemaFormatDto? JsonSchema { get; init; }
}

public sealed record JsonSchemaFormatDto
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public JsonElement? Schema { get; init; }
    public bool? Strict { get; init; }
}

/// <summary>Legacy text completion (<c>/v1/completions</c>): a raw prompt, no chat template.</summary>
public sealed record CompletionRequest
{
    public string? Model { get; init; }

    /// <summary>A string, or an array of token ids.</summary>
    public JsonElement? Prompt { get; init; }
    public bool? Stream { get; init; }
    public StreamOptionsDto? StreamOptions { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public double? MinP { get; init; }
    public long? MaxTokens { get; init; }
    public JsonElement? Stop { get; init; }
    public long? Seed { get; init; }
    public double? PresencePenalty { get; init; }
    public double? FrequencyPenalty { get; init; }
    public Dictionary<string, double>? LogitBias { get; init; }
    public int? N { get; init; }
    public bool? Echo { get; init; }
    public string? Suffix { get; init; }
    public int? BestOf { get; init; }

    /// <summary>llama.cpp extension: a GBNF grammar the completion must match.</summary>
    public string? Grammar { get; init; }

    /// <summary>llama.cpp extension: a JSON schema the completion must match.</summary>
    public JsonElement? JsonSchema { get; init; }

    public ResponseFormatDto? ResponseFormat { get; init; }
}
