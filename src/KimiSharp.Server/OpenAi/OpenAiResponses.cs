using System.Text.Json.Serialization;

namespace KimiSharp.Server.OpenAi;

// Response bodies and stream chunks exactly as OpenAI shapes them. Nulls are omitted unless the field
// is always present in OpenAI's output (finish_reason, logprobs, message content).

public sealed record ChatCompletionResponse(
    string Id,
    long Created,
    string Model,
    string SystemFingerprint,
    IReadOnlyList<ChatChoice> Choices,
    Usage Usage,
    Timings? Timings)
{
    public string Object => "chat.completion";
}

public sealed record ChatChoice(
    int Index,
    ChatResponseMessage Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ChoiceLogprobs? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

/// <param name="ReasoningContent">A thinking model's reasoning (omitted for instruct models), as llama.cpp, vLLM and Moonshot name it.</param>
public sealed record ChatResponseMessage(
    string Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Content,
    IReadOnlyList<ToolCallOut>? ToolCalls,
    string? ReasoningContent = null)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Refusal => null;
}

public sealed record ToolCallOut(string Id, FunctionOut Function)
{
    public string Type => "function";
}

public sealed record FunctionOut(string Name, string Arguments);

/// <param name="CompletionTokensDetails">A thinking model's reasoning tokens (omitted when nothing was reasoned).</param>
public sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens, PromptTokensDetails? PromptTokensDetails = null,
    CompletionTokensDetails? CompletionTokensDetails = null);

public sealed record PromptTokensDetails(int CachedTokens);

public sealed record CompletionTokensDetails(int ReasoningTokens);

/// <summary>llama-server style timings (milliseconds and tokens per second).</summary>
public sealed record Timings(int PromptN, double PromptMs, double PromptPerSecond, int PredictedN, double PredictedMs, double PredictedPerSecond, int CacheN);

public sealed record ChatCompletionChunk(
    string Id,
    long Created,
    string Model,
    string SystemFingerprint,
    IReadOnlyList<ChunkChoice> Choices,
    Usage? Usage = null,
    Timings? Timings = null)
{
    public string Object => "chat.completion.chunk";
}

public sealed record ChunkChoice(
    int Index,
    ChunkDelta Delta,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ChoiceLogprobs? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

public sealed record ChunkDelta(string? Role = null, string? Content = null, IReadOnlyList<ToolCallChunk>? ToolCalls = null, string? ReasoningContent = null);

/// <summary>A tool call in a stream: id, type and name come once, in the first chunk of the call; arguments arrive in fragments.</summary>
public sealed record ToolCallChunk(int Index, string? Id, string? Type, FunctionChunk Function);

public sealed record FunctionChunk(string? Name, string? Arguments);

public sealed record ChoiceLogprobs(IReadOnlyList<LogprobContent> Content)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public IReadOnlyList<LogprobContent>? Refusal => null;
}

public sealed record LogprobContent(string Token, float Logprob, int[] Bytes, IReadOnlyList<TopLogprobContent> TopLogprobs);

public sealed record TopLogprobContent(string Token, float Logprob, int[] Bytes);

public sealed record TextCompletionResponse(
    string Id,
    long Created,
    string Model,
    IReadOnlyList<TextChoice> Choices,
    Usage? Usage,
    string SystemFingerprint)
{
    public string Object => "text_completion";
}

public sealed record TextChoice(
    string Text,
    int Index,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

public sealed record ModelList(IReadOnlyList<ModelEntry> Data)
{
    public string Object => "list";
}

public sealed record ModelEntry(string Id, long Created, string OwnedBy, ModelMeta Meta)
{
    public string Object => "model";
}

public sealed record ModelMeta(int NVocab, int NCtx);

public sealed record OpenAiErrorBody(OpenAiError Error);

public sealed record OpenAiError(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code);
