using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.OpenAi;

/// <summary>Streams a text completion: text chunks, a finish chunk, an optional usage chunk, <c>data: [DONE]</c>.</summary>
public static class OpenAiCompletionStream
{
    private static readonly byte[] Done = "[DONE]"u8.ToArray();

    public static async Task WriteAsync(HttpContext context, IAsyncEnumerable<RunEvent> run, string model, bool includeUsage)
    {
        var id = "cmpl-" + RandomIds.Alphanumeric(24);
        long created = ServerState.UnixNow();
        var sse = await ServerSentEvents.StartAsync(context);
        var info = OpenAiJsonContext.Default.TextCompletionResponse;
        try
        {
            await foreach (var item in run)
            {
                if (item is ContentEvent { Text.Length: > 0 } text)
                {
                    await sse.WriteAsync(new TextCompletionResponse(id, created, model, [new TextChoice(text.Text, 0, null, null)], null, OpenAiMapping.Fingerprint), info);
                }
                else if (item is RunFinished done)
                {
                    await sse.WriteAsync(new TextCompletionResponse(id, created, model, [new TextChoice("", 0, null, OpenAiMapping.FinishReason(done.Reason))], null, OpenAiMapping.Fingerprint), info);
                    if (includeUsage)
                        await sse.WriteAsync(new TextCompletionResponse(id, created, model, [], OpenAiMapping.Usage(done), OpenAiMapping.Fingerprint), info);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            await sse.WriteAsync(ErrorResponses.ToOpenAi(ApiMiddlewareErrors.From(e)), OpenAiJsonContext.Default.OpenAiErrorBody);
        }

        await sse.WriteRawAsync(Done);
    }
}
