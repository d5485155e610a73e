namespace KimiSharp.Chat;

/// <summary>What <see cref="ToolCallParser"/> reports.</summary>
public abstract record ToolCallParserEvent;

/// <summary>Ordinary text for the message content (never contains tool-call markers).</summary>
public sealed record ContentDelta(string Text) : ToolCallParserEvent;

/// <summary>A call's id is complete (<paramref name="Index"/> counts calls in this response from 0).</summary>
public sealed record ToolCallStarted(int Index, string Id, string Name) : ToolCallParserEvent;

/// <summary>More argument text; the fragments of one call concatenate to the completed call's Arguments.</summary>
public sealed record ToolCallArgumentsDelta(int Index, string Fragment) : ToolCallParserEvent;

/// <summary>A call is complete. <paramref name="Error"/> is set when the arguments are not valid JSON
/// (they are then passed through as the raw trimmed text).</summary>
public sealed record ToolCallCompleted(int Index, ToolCall Call, string? Error = null) : ToolCallParserEvent;

/// <summary>A started call ended before its arguments were complete (e.g. max tokens) and was dropped.</summary>
public sealed record ToolCallDiscarded(int Index, string Reason) : ToolCallParserEvent;
