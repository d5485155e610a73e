using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.OpenAi.Responses;

/// <summary>
/// Streams a response as OpenAI does: <c>event: TYPE</c> plus <c>data: JSON</c> frames, from
/// response.created and response.in_progress through the output item, content part, text and argument
/// events to response.completed (or response.incomplete), each with its sequence number; no [DONE].
/// An error after the headers went out becomes a response.failed event.
/// </summary>
internal static class ResponsesStream
{
    public static async Task WriteAsync(HttpContext context, IAsyncEnumerable<RunEvent> run, ResponseAssembler assembler)
    {
        var sse = await ServerSentEvents.StartAsync(context);
        await WriteAllAsync(sse, assembler.Start());
        try
        {
            await foreach (var item in run)
                await WriteAllAsync(sse, assembler.Push(item));
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            await WriteAsync(sse, assembler.Fail(ApiMiddlewareErrors.From(e)));
        }
    }

    private static async Task WriteAllAsync(ServerSentEvents sse, IReadOnlyList<ResponseStreamEvent> events)
    {
        foreach (var e in events)
            await WriteAsync(sse, e);
    }

    private static Task WriteAsync(ServerSentEvents sse, ResponseStreamEvent e) =>
        sse.WriteAsync(e, ResponsesJsonContext.Default.ResponseStreamEvent, e.Type);
}
