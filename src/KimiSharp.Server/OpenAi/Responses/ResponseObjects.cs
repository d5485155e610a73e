using System.Text.Json;
using System.Text.Json.Serialization;

namespace KimiSharp.Server.OpenAi.Responses;

// The response object and its output items exactly as OpenAI's Responses API shapes them. Fields OpenAI
// always sends (error, incomplete_details, usage, …) are written even when null.

public sealed record ResponseObject(
    string Id,
    long CreatedAt,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ResponseError? Error,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] IncompleteDetails? IncompleteDetails,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Instructions,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? MaxOutputTokens,
    string Model,
    IReadOnlyList<ResponseOutputItem> Output,
    bool ParallelToolCalls,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? PreviousResponseId,
    ReasoningEcho Reasoning,
    bool Store,
    double Temperature,
    TextEcho Text,
    JsonElement ToolChoice,
    IReadOnlyList<JsonElement> Tools,
    double TopP,
    string Truncation,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ResponseUsage? Usage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? User,
    JsonElement Metadata,
    string? PromptCacheKey)
{
    [JsonPropertyOrder(-1)]
    public string Object => "response";
}

/// <param name="Code">server_error, rate_limit_exceeded, … (what a failed stream reports).</param>
public sealed record ResponseError(string Code, string Message);

/// <param name="Reason">max_output_tokens (also when the context ran out).</param>
public sealed record IncompleteDetails(string Reason);

public sealed record ReasoningEcho(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Effort,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Summary);

public sealed record TextEcho(JsonElement Format);

public sealed record ResponseUsage(
    int InputTokens,
    InputTokensDetails InputTokensDetails,
    int OutputTokens,
    OutputTokensDetails OutputTokensDetails,
    int TotalTokens);

public sealed record InputTokensDetails(int CachedTokens);

public sealed record OutputTokensDetails(int ReasoningTokens);

/// <summary>An item of <c>output</c>: reasoning, an assistant message or a function call (no discriminator: each writes its own type).</summary>
[JsonDerivedType(typeof(ResponseReasoningItem))]
[JsonDerivedType(typeof(ResponseMessageItem))]
[JsonDerivedType(typeof(ResponseFunctionCallItem))]
public abstract record ResponseOutputItem(string Id, string Status);

public sealed record ResponseMessageItem(string Id, string Status, IReadOnlyList<OutputTextPart> Content) : ResponseOutputItem(Id, Status)
{
    [JsonPropertyOrder(-1)]
    public string Type => "message";

    public string Role => "assistant";
}

/// <summary>
/// A thinking model's reasoning, as open-weight models' reasoning items carry it: the text as one reasoning_text
/// part, no summary. <paramref name="EncryptedContent"/> (when <c>include</c> asks for
/// <c>reasoning.encrypted_content</c>) carries the text back to the model (<see cref="Backend.CarriedReasoning"/>).
/// </summary>
public sealed record ResponseReasoningItem(string Id, string Status, IReadOnlyList<ReasoningTextPart> Content, string? EncryptedContent)
    : ResponseOutputItem(Id, Status)
{
    [JsonPropertyOrder(-1)]
    public string Type => "reasoning";

    public IReadOnlyList<JsonElement> Summary => [];
}

public sealed record ReasoningTextPart(string Text)
{
    [JsonPropertyOrder(-1)]
    public string Type => "reasoning_text";
}

/// <param name="Logprobs">Each token's log-probability when <c>include</c> asks for <c>message.output_text.logprobs</c>; else empty.</param>
public sealed record OutputTextPart(string Text, IReadOnlyList<ResponseLogprob> Logprobs)
{
    [JsonPropertyOrder(-1)]
    public string Type => "output_text";

    public IReadOnlyList<JsonElement> Annotations => [];
}

/// <param name="Bytes">The token's UTF-8 bytes (a token may hold part of a character).</param>
public sealed record ResponseLogprob(string Token, float Logprob, int[] Bytes, IReadOnlyList<ResponseTopLogprob> TopLogprobs);

public sealed record ResponseTopLogprob(string Token, float Logprob, int[] Bytes);

/// <param name="Namespace">The namespace tool the function belongs to (Codex calls these by name plus namespace).</param>
/// <param name="Arguments">JSON text.</param>
public sealed record ResponseFunctionCallItem(string Id, string Status, string CallId, string Name, string? Namespace, string Arguments)
    : ResponseOutputItem(Id, Status)
{
    [JsonPropertyOrder(-1)]
    public string Type => "function_call";
}

/// <summary>The answer of <c>DELETE /v1/responses/{id}</c>.</summary>
public sealed record ResponseDeleted(string Id)
{
    public string Object => "response.deleted";

    public bool Deleted => true;
}
