namespace KimiSharp.Chat;

/// <summary>A thinking model's reasoning (the text before <c>&lt;/think&gt;</c>), as <see cref="ChatReplyParser"/> reports it.</summary>
public sealed record ReasoningText(string Text) : ToolCallParserEvent;

/// <summary>
/// Reads a chat reply as it is generated (one instance per reply), for the server's backend and <see cref="KimiChatClient"/>
/// alike: a thinking model's reasoning first (<see cref="ReasoningParser"/>, reported as <see cref="ReasoningText"/>), then
/// the answer through Kimi's <see cref="ToolCallParser"/>, which turns the tool-call markers into tool calls.
/// </summary>
/// <param name="reasons">The chat template writes reasoning blocks (<see cref="ChatFormatter.Reasons"/>).</param>
/// <param name="startsInReasoning">The prompt already opened the reasoning block (the generation prompt ends with <c>&lt;think&gt;</c>).</param>
public sealed class ChatReplyParser(bool reasons, bool startsInReasoning = false)
{
    private readonly ReasoningParser? _reasoning = reasons ? new ReasoningParser(startsInReasoning) : null;
    private readonly ToolCallParser _tools = new();

    /// <summary>Parses the next piece of generated text.</summary>
    public IReadOnlyList<ToolCallParserEvent> Push(string text)
    {
        if (_reasoning is null)
            return _tools.Push(text);
        var (reasoning, answer) = _reasoning.Push(text);
        return Join(reasoning, answer.Length == 0 ? [] : _tools.Push(answer));
    }

    /// <summary>Releases what was held back when generation ends (an unfinished call is discarded).</summary>
    public IReadOnlyList<ToolCallParserEvent> Finish()
    {
        if (_reasoning is null)
            return _tools.Finish();
        var (reasoning, answer) = _reasoning.Finish();
        var events = new List<ToolCallParserEvent>();
        if (answer.Length > 0)
            events.AddRange(_tools.Push(answer));
        events.AddRange(_tools.Finish());
        return Join(reasoning, events);
    }

    private static IReadOnlyList<ToolCallParserEvent> Join(string reasoning, IReadOnlyList<ToolCallParserEvent> answer) =>
        reasoning.Length == 0 ? answer : [new ReasoningText(reasoning), .. answer];

    /// <summary>True when <paramref name="promptText"/> (a rendered prompt) leaves the model inside an open reasoning block.</summary>
    public static bool OpensReasoning(string promptText) =>
        promptText.AsSpan().TrimEnd().EndsWith(ReasoningParser.Open, StringComparison.Ordinal);
}
