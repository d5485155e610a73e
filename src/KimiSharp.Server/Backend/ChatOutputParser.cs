using KimiSharp.Chat;
using ParserContent = KimiSharp.Chat.ContentDelta;
using ParserToolArguments = KimiSharp.Chat.ToolCallArgumentsDelta;
using ParserToolDiscarded = KimiSharp.Chat.ToolCallDiscarded;
using ParserToolStarted = KimiSharp.Chat.ToolCallStarted;

namespace KimiSharp.Server.Backend;

/// <summary>
/// Reads a chat answer as it is generated (one instance per request) through the library's <see cref="ChatReplyParser"/>
/// (reasoning, then the answer with Kimi's tool calls) and turns its events into backend updates. A token's logprobs ride
/// on the first content delta it produced.
/// </summary>
internal sealed class ChatOutputParser(bool reasons, bool startsInReasoning)
{
    private readonly ChatReplyParser _parser = new(reasons, startsInReasoning);

    public IEnumerable<GenerationUpdate> Push(string text, int generated, IReadOnlyList<TokenLogprob>? logprobs) =>
        Map(_parser.Push(text), generated, logprobs);

    public IEnumerable<GenerationUpdate> Finish(int generated) => Map(_parser.Finish(), generated, null);

    private static IEnumerable<GenerationUpdate> Map(IReadOnlyList<ToolCallParserEvent> events, int generated, IReadOnlyList<TokenLogprob>? logprobs)
    {
        foreach (var e in events)
        {
            switch (e)
            {
                case ReasoningText reasoning:
                    yield return new ReasoningDelta(reasoning.Text, generated);
                    break;
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
