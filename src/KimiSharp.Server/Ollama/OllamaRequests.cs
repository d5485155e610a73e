using System.Text.Json;
using KimiSharp.Server.OpenAi;

namespace KimiSharp.Server.Ollama;

// Request bodies as Ollama's API documents them (docs/api.md). Union-typed fields (format, think, keep_alive,
// arguments) stay JsonElement and are checked by OllamaRequestMapper, which names the field in its errors.
// Unknown fields and options Kimi has no use for (mirostat, repeat_penalty, num_gpu, …) are ignored, as Ollama does.

public sealed record OllamaChatRequest
{
    public string? Model { get; init; }
    public List<OllamaMessageDto?>? Messages { get; init; }

    /// <summary>Declared like OpenAI's function tools (type, function.name/description/parameters).</summary>
    public List<ToolDto?>? Tools { get; init; }
    public JsonElement? Format { get; init; }
    public OllamaOptionsDto? Options { get; init; }
    public bool? Stream { get; init; }
    public JsonElement? KeepAlive { get; init; }
    public JsonElement? Think { get; init; }
}

public sealed record OllamaGenerateRequest
{
    public string? Model { get; init; }
    public string? Prompt { get; init; }
    public string? Suffix { get; init; }
    public string? System { get; init; }
    public string? Template { get; init; }
    public bool? Raw { get; init; }
    public List<JsonElement>? Images { get; init; }

    /// <summary>Deprecated conversation memory from an earlier /api/generate reply (this server never returns one).</summary>
    public List<JsonElement>? Context { get; init; }
    public JsonElement? Format { get; init; }
    public OllamaOptionsDto? Options { get; init; }
    public bool? Stream { get; init; }
    public JsonElement? KeepAlive { get; init; }
    public JsonElement? Think { get; init; }
}

public sealed record OllamaMessageDto
{
    public string? Role { get; init; }
    public string? Content { get; init; }
    public List<JsonElement>? Images { get; init; }

    /// <summary>An earlier reply's reasoning, given back to a thinking model's template.</summary>
    public string? Thinking { get; init; }
    public List<OllamaToolCallDto?>? ToolCalls { get; init; }

    /// <summary>For role "tool": the function whose result this is.</summary>
    public string? ToolName { get; init; }

    /// <summary>For role "tool": the id of the call answered, when the client kept it.</summary>
    public string? ToolCallId { get; init; }
}

public sealed record OllamaToolCallDto
{
    public string? Id { get; init; }
    public OllamaFunctionCallDto? Function { get; init; }
}

public sealed record OllamaFunctionCallDto
{
    public int? Index { get; init; }
    public string? Name { get; init; }

    /// <summary>An object (Ollama's shape); JSON text in a string is accepted too.</summary>
    public JsonElement? Arguments { get; init; }
}

/// <summary>The model options Kimi honours (Modelfile parameter names).</summary>
public sealed record OllamaOptionsDto
{
    /// <summary>Most tokens to generate; 0 or less (-1, -2) = until the end of the context.</summary>
    public long? NumPredict { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public double? MinP { get; init; }
    public long? Seed { get; init; }

    /// <summary>An array of stop strings (a single string is accepted too).</summary>
    public JsonElement? Stop { get; init; }

    /// <summary>Context window; the server's own (--ctx) is the upper bound.</summary>
    public long? NumCtx { get; init; }
    public double? PresencePenalty { get; init; }
    public double? FrequencyPenalty { get; init; }
}

public sealed record OllamaShowRequest
{
    public string? Model { get; init; }

    /// <summary>The field's name before Ollama 0.4.</summary>
    public string? Name { get; init; }
    public bool? Verbose { get; init; }
}
