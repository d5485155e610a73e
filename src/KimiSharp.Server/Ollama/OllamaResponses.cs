using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace KimiSharp.Server.Ollama;

/// <summary>
/// One line of an /api/chat (<see cref="Message"/>) or /api/generate (<see cref="Response"/>) reply; the last
/// (<c>done: true</c>) carries why it ended and the counts and durations (nanoseconds).
/// </summary>
public sealed record OllamaReply(string Model, string CreatedAt, [property: JsonPropertyOrder(1)] bool Done)
{
    public OllamaMessageOut? Message { get; init; }
    public string? Response { get; init; }

    /// <summary>/api/generate: a thinking model's reasoning (chat replies carry it in <see cref="OllamaMessageOut.Thinking"/>).</summary>
    public string? Thinking { get; init; }

    // Ollama's order: model, created_at, message/response, done, then the final statistics.
    [JsonPropertyOrder(2)]
    public string? DoneReason { get; init; }
    [JsonPropertyOrder(2)]
    public long? TotalDuration { get; init; }
    [JsonPropertyOrder(2)]
    public long? LoadDuration { get; init; }
    [JsonPropertyOrder(2)]
    public int? PromptEvalCount { get; init; }
    [JsonPropertyOrder(2)]
    public long? PromptEvalDuration { get; init; }
    [JsonPropertyOrder(2)]
    public int? EvalCount { get; init; }
    [JsonPropertyOrder(2)]
    public long? EvalDuration { get; init; }
}

public sealed record OllamaMessageOut(string Role, string Content, IReadOnlyList<OllamaToolCallOut>? ToolCalls = null)
{
    /// <summary>A thinking model's reasoning, apart from the answer.</summary>
    public string? Thinking { get; init; }
}

public sealed record OllamaToolCallOut(string Id, OllamaFunctionOut Function);

public sealed record OllamaFunctionOut(int Index, string Name, JsonElement Arguments);

public sealed record OllamaErrorBody(string Error);

public sealed record OllamaVersion(string Version);

public sealed record OllamaModelList(IReadOnlyList<OllamaModelEntry> Models);

/// <summary>An /api/tags entry; /api/ps adds <see cref="ExpiresAt"/>, <see cref="SizeVram"/> and <see cref="ContextLength"/>.</summary>
public sealed record OllamaModelEntry(string Name, string Model, string ModifiedAt, long Size, string Digest, OllamaModelDetails Details)
{
    public string? ExpiresAt { get; init; }
    public long? SizeVram { get; init; }
    public int? ContextLength { get; init; }
}

public sealed record OllamaModelDetails(string ParentModel, string Format, string Family, IReadOnlyList<string> Families, string ParameterSize, string QuantizationLevel);

public sealed record OllamaShowResponse(
    string Modelfile,
    string Parameters,
    string Template,
    OllamaModelDetails Details,
    JsonObject ModelInfo,
    IReadOnlyList<string> Capabilities,
    string ModifiedAt)
{
    public string? License { get; init; }
}
