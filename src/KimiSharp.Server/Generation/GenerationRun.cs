using System.Diagnostics;
using System.Runtime.CompilerServices;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using KimiSharp.Text;

namespace KimiSharp.Server.Generation;

/// <summary>
/// One request's generation, shared by both APIs and by streaming and non-streaming replies: runs the
/// backend, applies stop strings to content, gives tool calls client-side ids, and records metrics.
/// Leaving the loop early (stop string, client gone) disposes the backend stream, which ends the
/// sequence at the engine's next step.
/// </summary>
public static class GenerationRun
{
    public static async IAsyncEnumerable<RunEvent> RunAsync(
        IChatBackend backend,
        PreparedPrompt prompt,
        GenerationOptions options,
        IReadOnlyList<string> stops,
        string toolIdPrefix,
        bool singleToolCall,
        ServerMetrics metrics,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = new StopSequenceFilter(stops);
        var clock = Stopwatch.StartNew();
        TimeSpan? firstToken = null;
        int completionTokens = 0;
        int liveToolCalls = 0; // started and not discarded: only these make the finish reason tool_use
        List<TokenLogprob>? heldLogprobs = null;
        RunFinished? finished = null;

        await using var updates = backend.GenerateAsync(prompt, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (finished is null && await updates.MoveNextAsync())
            {
                var update = updates.Current;
                completionTokens = Math.Max(completionTokens, update.CompletionTokens);
                if (completionTokens > 0)
                    firstToken ??= clock.Elapsed;
                switch (update)
                {
                    case TextDelta text:
                    {
                        var (released, stop) = filter.Push(text.Text);
                        if (text.Logprobs is { Count: > 0 })
                            (heldLogprobs ??= []).AddRange(text.Logprobs);
                        if (released.Length > 0 || (stop is not null && heldLogprobs is not null))
                        {
                            yield return new ContentEvent(released, heldLogprobs);
                            heldLogprobs = null;
                        }

                        if (stop is not null)
                            finished = Finish(RunFinishReason.StopSequence, stop);
                        break;
                    }

                    case ReasoningDelta reasoning:
                        if (reasoning.Text.Length > 0)
                            yield return new ReasoningEvent(reasoning.Text, reasoning.CompletionTokens);
                        break;

                    case ToolCallStarted started when singleToolCall && liveToolCalls > 0:
                        // parallel_tool_calls = false / disable_parallel_tool_use: the first call is the answer.
                        finished = Finish(RunFinishReason.ToolCalls, null);
                        break;

                    case ToolCallStarted started:
                    {
                        var rest = filter.Flush();
                        if (rest.Length > 0)
                            yield return new ContentEvent(rest, TakeHeld(ref heldLogprobs));
                        liveToolCalls++;
                        yield return new ToolStartEvent(started.Index, NewToolId(toolIdPrefix), started.Name);
                        break;
                    }

                    case ToolCallArgumentsDelta arguments when singleToolCall && arguments.Index > 0:
                        break;

                    case ToolCallArgumentsDelta arguments:
                        if (arguments.Fragment.Length > 0)
                            yield return new ToolArgumentsEvent(arguments.Index, arguments.Fragment);
                        break;

                    case ToolCallDiscarded discarded:
                        liveToolCalls--;
                        yield return new ToolDiscardedEvent(discarded.Index);
                        break;

                    case GenerationFinished end:
                    {
                        var rest = filter.Flush();
                        if (rest.Length > 0 || heldLogprobs is not null)
                            yield return new ContentEvent(rest, TakeHeld(ref heldLogprobs));
                        var reason = end.Reason switch
                        {
                            GenerationStopReason.Length => RunFinishReason.Length,
                            _ when liveToolCalls > 0 || end.Reason == GenerationStopReason.ToolCalls => RunFinishReason.ToolCalls,
                            _ => RunFinishReason.EndOfTurn,
                        };
                        finished = Finish(reason, null, end.Timings);
                        break;
                    }
                }
            }
        }
        finally
        {
            if (finished is null)
                metrics.RecordCancelled();
        }

        finished ??= Finish(RunFinishReason.EndOfTurn, null); // a backend that ends without saying why
        yield return finished;

        RunFinished Finish(RunFinishReason reason, string? stop, GenerationTimings? timings = null)
        {
            var elapsed = clock.Elapsed;
            var promptTime = firstToken ?? elapsed;
            timings ??= new GenerationTimings(prompt.TokenCount, 0, promptTime.TotalMilliseconds, (elapsed - promptTime).TotalMilliseconds);
            metrics.RecordGeneration(prompt.TokenCount, completionTokens,
                TimeSpan.FromMilliseconds(timings.PromptMilliseconds), TimeSpan.FromMilliseconds(timings.GenerationMilliseconds));
            return new RunFinished(reason, stop, prompt.TokenCount, completionTokens, timings);
        }
    }

    private static List<TokenLogprob>? TakeHeld(ref List<TokenLogprob>? held)
    {
        var taken = held;
        held = null;
        return taken;
    }

    /// <summary>A fresh client-side tool-call id: prefix + 24 random alphanumerics (e.g. call_…, toolu_…).</summary>
    public static string NewToolId(string prefix) => prefix + RandomIds.Alphanumeric(24);
}
