using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.Anthropic;

/// <summary>
/// Streams a message as Anthropic does: message_start, ping, then per content block content_block_start,
/// content_block_delta (text_delta or input_json_delta) and content_block_stop, then message_delta with
/// the stop reason and usage, then message_stop. A failure after the headers becomes an <c>error</c> event.
/// </summary>
public static class AnthropicStream
{
    public static async Task WriteAsync(HttpContext context, IAsyncEnumerable<RunEvent> run, string model, int promptTokens)
    {
        var sse = await ServerSentEvents.StartAsync(context);
        var info = AnthropicJsonContext.Default.StreamEvent;
        Task Send(StreamEvent e, string name) => sse.WriteAsync(e, info, name);

        var start = new MessageResponse("msg_" + RandomIds.Alphanumeric(24), model, [], null, null, new AnthropicUsage(promptTokens, 1));
        await Send(new MessageStartEvent(start), "message_start");
        await Send(new PingEvent(), "ping");

        int blockIndex = -1;
        bool textOpen = false, toolOpen = false;
        try
        {
            await foreach (var item in run)
            {
                switch (item)
                {
                    case ContentEvent { Text.Length: > 0 } text:
                        if (!textOpen)
                        {
                            await CloseBlockAsync();
                            blockIndex++;
                            textOpen = true;
                            await Send(new ContentBlockStartEvent(blockIndex, new TextBlock("")), "content_block_start");
                        }

                        await Send(new ContentBlockDeltaEvent(blockIndex, new TextDeltaBody(text.Text)), "content_block_delta");
                        break;
                    case ToolStartEvent tool:
                        await CloseBlockAsync();
                        blockIndex++;
                        toolOpen = true;
                        await Send(new ContentBlockStartEvent(blockIndex, new ToolUseBlock(tool.ClientId, tool.Name, AnthropicMapping.ToolInput(""))), "content_block_start");
                        break;
                    case ToolArgumentsEvent arguments when toolOpen:
                        await Send(new ContentBlockDeltaEvent(blockIndex, new InputJsonDeltaBody(arguments.Fragment)), "content_block_delta");
                        break;
                    case RunFinished done:
                        await CloseBlockAsync();
                        await Send(new MessageDeltaEvent(
                            new MessageDelta(AnthropicMapping.StopReason(done.Reason), done.StopSequence),
                            new MessageDeltaUsage(done.CompletionTokens, done.PromptTokens - done.Timings.CachedTokens, done.Timings.CachedTokens)), "message_delta");
                        await Send(new MessageStopEvent(), "message_stop");
                        break;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            await sse.WriteAsync(ErrorResponses.ToAnthropic(ApiMiddlewareErrors.From(e)), AnthropicJsonContext.Default.AnthropicErrorBody, "error");
        }

        async Task CloseBlockAsync()
        {
            if (!textOpen && !toolOpen)
                return;
            await Send(new ContentBlockStopEvent(blockIndex), "content_block_stop");
            textOpen = toolOpen = false;
        }
    }
}
