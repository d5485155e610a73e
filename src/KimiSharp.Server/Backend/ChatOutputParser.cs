using KimiSharp.Chat;
using ParserContent = KimiSharp.Chat.ContentDelta;
using ParserToolArguments = KimiSharp.Chat.ToolCallArgumentsDelta;
using ParserToolDiscarded = KimiSharp.Chat.ToolCallDiscarded;
using ParserToolStarted = KimiSharp.Chat.ToolCallStarted;

namespace KimiSharp.Server.Backend;

/// <summary>
/// Reads a chat answer as it is generated (one instance per request): a thinking model's reasoning first
/// (<see cref="ReasoningParser"/>), then the answer through Kimi's <see cref="ToolCallParser"/>, which turns the
/// tool-call markers into tool calls. A token's logprobs ride on the first content delta it produced.
/// </summary>
internal sealed class ChatOutputParser(bool reasons, bool startsInReasoning)
{
    private readonly ReasoningParser? _reasoning = reasons ? new ReasoningParser(startsInReasoning) : null;
    private readonly ToolCallParser _tools = new();

    public IEnumerable<GenerationUpdate> Push(string text, int generated, IReadOnlyList<TokenLogprob>? logprobs)
    {
        if (_reasoning is null)
            return Map(_tools.Push(text), generated, logprobs);
        var (reasoning, answer) = _reasoning.Push(text);
        return Split(reasoning, answer.Length == 0 ? [] : _tools.Push(answer), generated, logprobs);
    }

    public IEnumerable<GenerationUpdate> Finish(int generated)
    {
        if (_reasoning is null)
            return Map(_tools.Finish(), generated, null);
        var (reasoning, answer) = _reasoning.Finish();
        var events = new List<ToolCallParserEvent>();
        if (answer.Length > 0)
            events.AddRange(_tools.Push(answer));
        events.AddRange(_tools.Finish());
        return Split(reasoning, events, generated, null);
    }

    private static IEnumerable<GenerationUpdate> Split(string reasoning, IReadOnlyList<ToolCallParserEvent> answer, int generated, IReadOnlyList<TokenLogprob>? logprobs)
    {
        if (reasoning.Length > 0)
            yield return new ReasoningDelta(reasoning, generated);
        foreach (var update in Map(answer, generated, logprobs))
            yield return update;
    }

    private static IEnumerable<GenerationUpdate> Map(IReadOnlyList<ToolCallParserEvent> events, int generated, IReadOnlyList<TokenLogprob>? logprobs)
    {
        foreach (var e in events)
        {
            switch (e)
            {
                case ParserContent content:
                    yield return new TextDelta(content.Text, generated, logprobs);
                    logprobs = null;
                    break;
                case ParserToolStarted started:
                    yield return new ToolCallStarted(started.Index, started.Name, started.Id, generated);
                    break;
                case ParserToolArguments arguments:
                    yield return new ToolCallArgumentsDelta(arguments.Index, arguments.Fragment, generated);
                    break;
                case ParserToolDiscarded discarded:
                    yield return new ToolCallDiscarded(discarded.Index, generated);
                    break;
            }
        }
    }
}
