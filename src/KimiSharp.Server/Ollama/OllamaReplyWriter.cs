using System.Diagnostics;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.Ollama;

/// <summary>
/// Writes a run as Ollama replies: NDJSON lines (text as it comes, each tool call whole once its arguments are
/// complete, then a <c>done: true</c> line with done_reason, counts and nanosecond durations), or one object
/// with everything when streaming is off. Chat replies carry <c>message</c>, generate replies <c>response</c>.
/// </summary>
public sealed class OllamaReplyWriter(string model, bool chat, Stopwatch clock)
{
    private const long NanosPerMillisecond = 1_000_000;

    public static OllamaReply Empty(string model, bool chat) => Text(model, chat, "");

    public async Task StreamAsync(HttpContext context, IAsyncEnumerable<RunEvent> run)
    {
        var lines = await NdjsonStream.StartAsync(context);
        var info = OllamaJsonContext.Default.OllamaReply;
        var calls = new ToolCallAssembler();
        try
        {
            await foreach (var item in run)
            {
                if (item is ReasoningEvent { Text.Length: > 0 } thought)
                    await lines.WriteAsync(WithThinking(Empty(model, chat), thought.Text), info);
                if (item is ContentEvent { Text.Length: > 0 } text)
                    await lines.WriteAsync(Text(model, chat, text.Text), info);
                if (chat && calls.Push(item) is { Count: > 0 } completed)
                    await lines.WriteAsync(Calls(completed), info);
                if (item is RunFinished done)
                    await lines.WriteAsync(Final(Empty(model, chat), done), info);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            // The status line is gone: Ollama reports a failure mid-stream as an {"error": …} line.
            await lines.WriteAsync(ErrorResponses.ToOllama(ApiMiddlewareErrors.From(e)), OllamaJsonContext.Default.OllamaErrorBody);
        }
    }

    public async Task WriteAsync(HttpContext context, IAsyncEnumerable<RunEvent> run)
    {
        var reply = await RunReply.CollectAsync(run);
        var whole = chat && reply.ToolCalls.Count > 0 ? Calls(reply.ToolCalls, reply.Content) : Text(model, chat, reply.Content);
        if (reply.Reasoning.Length > 0)
            whole = WithThinking(whole, reply.Reasoning);
        await context.Response.WriteAsJsonAsync(Final(whole, reply.Finished), OllamaJsonContext.Default.OllamaReply, contentType: "application/json", context.RequestAborted);
    }

    private static OllamaReply WithThinking(OllamaReply reply, string thinking) => reply.Message is { } message
        ? reply with { Message = message with { Thinking = thinking } }
        : reply with { Thinking = thinking };

    private static OllamaReply Text(string model, bool chat, string text) => chat
        ? new OllamaReply(model, Now(), Done: false) { Message = new OllamaMessageOut("assistant", text) }
        : new OllamaReply(model, Now(), Done: false) { Response = text };

    private OllamaReply Calls(IReadOnlyList<AssembledToolCall> calls, string content = "") => new(model, Now(), Done: false)
    {
        Message = new OllamaMessageOut("assistant", content,
            calls.Select(c => new OllamaToolCallOut(c.Id, new OllamaFunctionOut(c.Index, c.Name, ToolArguments.AsObject(c.Arguments)))).ToList()),
    };

    /// <summary>The last object: why it ended ("length" at the token limit, else "stop"), counts and durations in nanoseconds.</summary>
    private OllamaReply Final(OllamaReply reply, RunFinished done) => reply with
    {
        Done = true,
        DoneReason = done.Reason == RunFinishReason.Length ? "length" : "stop",
        TotalDuration = clock.Elapsed.Ticks * 100,
        LoadDuration = 0,
        PromptEvalCount = done.PromptTokens,
        PromptEvalDuration = (long)(done.Timings.PromptMilliseconds * NanosPerMillisecond),
        EvalCount = done.CompletionTokens,
        EvalDuration = (long)(done.Timings.GenerationMilliseconds * NanosPerMillisecond),
    };

    private static string Now() => DateTimeOffset.UtcNow.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
