using System.Text.Json;

namespace KimiSharp.Server.OpenAi.Responses;

/// <summary>
/// The body of <c>POST /v1/responses</c> as OpenAI documents it (snake_case on the wire). Union-typed fields
/// (input, tools, tool_choice, text, …) stay <see cref="JsonElement"/> and are checked field by field by
/// <see cref="ResponsesRequestMapper"/>, which names the offending field. Unknown fields are ignored.
/// </summary>
public sealed record ResponsesRequest
{
    public string? Model { get; init; }

    /// <summary>A string (one user message) or an array of input items.</summary>
    public JsonElement? Input { get; init; }

    /// <summary>A system message placed before the input; not carried over by <c>previous_response_id</c>.</summary>
    public string? Instructions { get; init; }

    /// <summary>Function tools, namespace tools (groups of functions) and hosted tools (ignored here).</summary>
    public List<JsonElement>? Tools { get; init; }

    public JsonElement? ToolChoice { get; init; }
    public bool? ParallelToolCalls { get; init; }
    public long? MaxOutputTokens { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }

    /// <summary>Not in OpenAI's Responses API; accepted as in chat completions (a string or up to 16 strings).</summary>
    public JsonElement? Stop { get; init; }

    public bool? Stream { get; init; }

    /// <summary>Absent means true, as at OpenAI: the response is kept (in memory, bounded) for <c>previous_response_id</c>.</summary>
    public bool? Store { get; init; }

    public string? PreviousResponseId { get; init; }

    /// <summary>{effort, summary}: accepted; an instruct model has no reasoning to report.</summary>
    public JsonElement? Reasoning { get; init; }

    /// <summary>Extra output: <c>message.output_text.logprobs</c> adds token log-probabilities; the rest (e.g. <c>reasoning.encrypted_content</c>) is accepted.</summary>
    public JsonElement? Include { get; init; }

    /// <summary>{format, verbosity}: the format is validated here (constrained decoding hooks onto it).</summary>
    public JsonElement? Text { get; init; }

    public string? PromptCacheKey { get; init; }
    public JsonElement? ClientMetadata { get; init; }
    public JsonElement? Metadata { get; init; }
    public string? Truncation { get; init; }
    public string? User { get; init; }
    public string? SafetyIdentifier { get; init; }
    public string? ServiceTier { get; init; }
    public int? MaxToolCalls { get; init; }
    public int? TopLogprobs { get; init; }
    public bool? Background { get; init; }
    public JsonElement? Conversation { get; init; }
    public JsonElement? StreamOptions { get; init; }

    /// <summary>Extension (as on chat completions): a sampling seed.</summary>
    public long? Seed { get; init; }
}
