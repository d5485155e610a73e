using System.Text.Json;

namespace KimiSharp.Server.Anthropic;

// Request bodies as Anthropic documents them. Content (a string or typed blocks) and system stay
// JsonElement and are walked by AnthropicRequestMapper so each error names its field. Unknown fields
// (metadata, thinking, cache_control, context_management, …) are ignored.

public sealed record MessagesRequest
{
    public string? Model { get; init; }
    public List<AnthropicMessageDto?>? Messages { get; init; }
    public JsonElement? System { get; init; }
    public long? MaxTokens { get; init; }
    public List<string?>? StopSequences { get; init; }
    public bool? Stream { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public List<AnthropicToolDto?>? Tools { get; init; }
    public AnthropicToolChoiceDto? ToolChoice { get; init; }

    /// <summary>Structured outputs: <c>{"type":"json_schema","schema":{…}}</c> (also accepted as <c>output_config.format</c>).</summary>
    public JsonElement? OutputFormat { get; init; }
    public JsonElement? OutputConfig { get; init; }
}

public sealed record AnthropicMessageDto
{
    public string? Role { get; init; }
    public JsonElement? Content { get; init; }
}

public sealed record AnthropicToolDto
{
    /// <summary>Absent or "custom" for client tools; server tools (web_search_…, bash_…) are skipped.</summary>
    public string? Type { get; init; }
    public string? Name { get; init; }
    public string? Description { get; init; }
    public JsonElement? InputSchema { get; init; }
}

public sealed record AnthropicToolChoiceDto
{
    public string? Type { get; init; }
    public string? Name { get; init; }
    public bool? DisableParallelToolUse { get; init; }
}
