using System.Text.Json;

namespace KimiSharp.Server.Anthropic;

// Request bodies as Anthropic documents them. Content (a string or typed blocks) and system stay
// JsonElement and are walked by AnthropicMessageMapper so each error names its field. Fields that change
// nothing for a local model are accepted and ignored: metadata, output_config.effort (its format, like
// output_format, is enforced), context_management, container, mcp_servers, service_tier, cache_control anywhere, per-message extras
// (Claude Code's per-turn output_config), tool extras (strict, input_examples, eager_input_streaming), and
// whatever beta fields come next.

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
    public AnthropicThinkingDto? Thinking { get; init; }

    /// <summary>Structured outputs: <c>{"type":"json_schema","schema":{…}}</c> (also accepted as <c>output_config.format</c>).</summary>
    public JsonElement? OutputFormat { get; init; }
    public JsonElement? OutputConfig { get; init; }
}

/// <summary>Extended thinking: type enabled (with budget_tokens), adaptive or disabled; display summarized or omitted.</summary>
public sealed record AnthropicThinkingDto
{
    public string? Type { get; init; }
    public long? BudgetTokens { get; init; }
    public string? Display { get; init; }
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

    /// <summary>Tool search: a deferred tool is declared to the model only once a tool_reference block names it.</summary>
    public bool? DeferLoading { get; init; }
}

public sealed record AnthropicToolChoiceDto
{
    public string? Type { get; init; }
    public string? Name { get; init; }
    public bool? DisableParallelToolUse { get; init; }
}
