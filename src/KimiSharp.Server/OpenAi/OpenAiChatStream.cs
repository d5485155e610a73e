using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.OpenAi;

/// <summary>
/// Streams a chat completion as OpenAI does: a role chunk, content deltas, each tool call's id/type/name
/// in its first chunk and then argument fragments, a finish chunk with an empty delta, a usage chunk with
/// empty choices when stream_options.include_usage is set, then <c>data: [DONE]</c>.
/// </summary>
public static class OpenAiChatStream
{
    private static readonly byte[] Done = "[DONE]"u8.ToArray();

    public static async Task WriteAsync(HttpContext context, IAsyncEnumerable<RunEvent> run, string model, bool includeUsage, bool logprobs)
    {
        var id = "chatcmpl-" + RandomIds.Alphanumeric(24);
        long created = ServerState.UnixNow();
        var sse = await ServerSentEvents.StartAsync(context);
        var chunkInfo = OpenAiJsonContext.Default.ChatCompletionChunk;

        Task Send(ChunkDelta delta, ChoiceLogprobs? lp = null, string? finish = null, Timings? timings = null) =>
            sse.WriteAsync(new ChatCompletionChunk(id, created, model, OpenAiMapping.Fingerprint, [new ChunkChoice(0, delta, lp, finish)], Timings: timings), chunkInfo);

        await Send(new ChunkDelta(Role: "assistant", Content: ""));
        int reasoningTokens = 0;
        try
        {
            await foreach (var item in run)
            {
                switch (item)
                {
                    case ReasoningEvent thought:
                        reasoningTokens = thought.CompletionTokens;
                        await Send(new ChunkDelta(ReasoningContent: thought.Text));
                        break;
                    case ContentEvent text:
                        var lp = logprobs && text.Logprobs is not null ? new ChoiceLogprobs(text.Logprobs.Select(OpenAiMapping.Logprob).ToList()) : null;
                        if (text.Text.Length > 0 || lp is not null)
                            await Send(new ChunkDelta(Content: text.Text), lp);
                        break;
                    case ToolStartEvent start:
                        await Send(new ChunkDelta(ToolCalls: [new ToolCallChunk(start.Index, start.ClientId, "function", new FunctionChunk(start.Name, ""))]));
                        break;
                    case ToolArgumentsEvent arguments:
                        await Send(new ChunkDelta(ToolCalls: [new ToolCallChunk(arguments.Index, null, null, new FunctionChunk(null, arguments.Fragment))]));
                        break;
                    case RunFinished done:
                        await Send(new ChunkDelta(), finish: OpenAiMapping.FinishReason(done.Reason), timings: OpenAiMapping.Timings(done));
                        if (includeUsage)
                            await sse.WriteAsync(new ChatCompletionChunk(id, created, model, OpenAiMapping.Fingerprint, [], OpenAiMapping.Usage(done, reasoningTokens)), chunkInfo);
                        break;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            // Headers are gone: report the failure in the stream the way OpenAI does, then end it.
            await sse.WriteAsync(ErrorResponses.ToOpenAi(Hosting.ApiMiddlewareErrors.From(e)), OpenAiJsonContext.Default.OpenAiErrorBody);
        }

        await sse.WriteRawAsync(Done);
    }
}
