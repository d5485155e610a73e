using System.Text;
using KimiSharp.Server.Backend;

namespace KimiSharp.Server.Generation;

/// <summary>
/// A whole run collected for a non-streaming reply: a thinking model's reasoning ("" when none), the text, its token
/// log-probabilities, the complete tool calls and the finish.
/// </summary>
public sealed record RunReply(string Reasoning, string Content, IReadOnlyList<TokenLogprob>? Logprobs, IReadOnlyList<AssembledToolCall> ToolCalls, RunFinished Finished)
{
    /// <summary>Tokens generated up to the end of the reasoning (0 when none).</summary>
    public int ReasoningTokens { get; init; }

    /// <param name="logprobs">Keep the tokens' log-probabilities (null in the reply otherwise).</param>
    public static async Task<RunReply> CollectAsync(IAsyncEnumerable<RunEvent> run, bool logprobs = false)
    {
        var reasoning = new StringBuilder();
        int reasoningTokens = 0;
        var content = new StringBuilder();
        var tokens = logprobs ? new List<TokenLogprob>() : null;
        var assembler = new ToolCallAssembler();
        var calls = new List<AssembledToolCall>();
        RunFinished? finished = null;
        await foreach (var item in run)
        {
            if (item is ReasoningEvent thought)
            {
                reasoning.Append(thought.Text);
                reasoningTokens = thought.CompletionTokens;
            }
            else if (item is ContentEvent text)
            {
                content.Append(text.Text);
                if (text.Logprobs is not null)
                    tokens?.AddRange(text.Logprobs);
            }
            else if (item is RunFinished end)
            {
                finished = end;
            }

            calls.AddRange(assembler.Push(item));
        }

        return new RunReply(reasoning.ToString(), content.ToString(), tokens, calls, finished ?? throw new InvalidOperationException("the run ended without a finish event"))
        {
            ReasoningTokens = reasoningTokens,
        };
    }
}
