using System.Text.Json;
using System.Text.Json.Serialization;

namespace KimiSharp.Server.Anthropic;

// Response bodies and stream events as Anthropic shapes them. Nullable fields the API always sends
// (stop_reason, stop_sequence, citations, cache counters) are written as null rather than omitted.

public sealed record MessageResponse(
    string Id,
    string Model,
    IReadOnlyList<ContentBlock> Content,
    string? StopReason,
    string? StopSequence,
    AnthropicUsage Usage)
{
    public string Type => "message";
    public string Role => "assistant";
    public string? Container => null;
}

[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(TextBlock), "text")]
[JsonDerivedType(typeof(ToolUseBlock), "tool_use")]
[JsonDerivedType(typeof(ThinkingBlock), "thinking")]
public abstract record ContentBlock;

/// <summary>A thinking model's reasoning; <paramref name="Signature"/> carries it back when the client returns the block (<see cref="Backend.CarriedReasoning"/>).</summary>
public sealed record ThinkingBlock(string Thinking, string Signature) : ContentBlock;

public sealed record TextBlock(string Text) : ContentBlock
{
    public string? Citations => null;
}

public sealed record ToolUseBlock(string Id, string Name, JsonElement Input) : ContentBlock
{
    /// <summary>The model called the tool itself (as opposed to a server tool); newer clients require it.</summary>
    public ToolCaller Caller { get; } = ToolCaller.Direct;
}

public sealed record ToolCaller(string Type)
{
    public static ToolCaller Direct { get; } = new("direct");
}

/// <summary>Anthropic counts cache reads apart: <paramref name="InputTokens"/> are the prompt tokens evaluated anew.</summary>
public sealed record AnthropicUsage(int InputTokens, int OutputTokens, int CacheReadInputTokens = 0)
{
    public int CacheCreationInputTokens => 0;
    public string? CacheCreation => null;
    public string? ServerToolUse => null;
    public string ServiceTier => "standard";
}

public sealed record MessageDeltaUsage(int OutputTokens, int InputTokens, int CacheReadInputTokens = 0)
{
    public int CacheCreationInputTokens => 0;
    public string? ServerToolUse => null;
}

[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(MessageStartEvent), "message_start")]
[JsonDerivedType(typeof(ContentBlockStartEvent), "content_block_start")]
[JsonDerivedType(typeof(ContentBlockDeltaEvent), "content_block_delta")]
[JsonDerivedType(typeof(ContentBlockStopEvent), "content_block_stop")]
[JsonDerivedType(typeof(MessageDeltaEvent), "message_delta")]
[JsonDerivedType(typeof(MessageStopEvent), "message_stop")]
[JsonDerivedType(typeof(PingEvent), "ping")]
public abstract record StreamEvent;

public sealed record MessageStartEvent(MessageResponse Message) : StreamEvent;

public sealed record ContentBlockStartEvent(int Index, ContentBlock ContentBlock) : StreamEvent;

public sealed record ContentBlockDeltaEvent(int Index, BlockDelta Delta) : StreamEvent;

public sealed record ContentBlockStopEvent(int Index) : StreamEvent;

public sealed record MessageDeltaEvent(MessageDelta Delta, MessageDeltaUsage Usage) : StreamEvent;

public sealed record MessageDelta(string? StopReason, string? StopSequence);

public sealed record MessageStopEvent : StreamEvent;

public sealed record PingEvent : StreamEvent;

[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(TextDeltaBody), "text_delta")]
[JsonDerivedType(typeof(InputJsonDeltaBody), "input_json_delta")]
[JsonDerivedType(typeof(ThinkingDeltaBody), "thinking_delta")]
[JsonDerivedType(typeof(SignatureDeltaBody), "signature_delta")]
public abstract record BlockDelta;

public sealed record ThinkingDeltaBody(string Thinking) : BlockDelta;

public sealed record SignatureDeltaBody(string Signature) : BlockDelta;

public sealed record TextDeltaBody(string Text) : BlockDelta;

public sealed record InputJsonDeltaBody(string PartialJson) : BlockDelta;

public sealed record CountTokensResponse(int InputTokens);

public sealed record AnthropicErrorBody(AnthropicError Error)
{
    public string Type => "error";
}

public sealed record AnthropicError(string Type, string Message);
