using System.Text;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.Anthropic;

/// <summary>
/// Streams a message as Anthropic does: message_start (with usage), ping, then one content block at a time —
/// content_block_start, its deltas, content_block_stop — then message_delta with the stop reason and the final
/// usage, then message_stop. Blocks: thinking (thinking_delta, or none when the client asked for
/// <c>display: "omitted"</c>, then one signature_delta), text (text_delta), tool_use (input_json_delta). While the
/// model is silent (a long prompt evaluation) a ping goes out every <see cref="ServerOptions.StreamHeartbeat"/>.
/// A failure after the headers becomes an <c>error</c> event.
/// </summary>
public static class AnthropicStream
{
    private enum Block { None, Thinking, Text, Tool }

    public static async Task WriteAsync(HttpContext context, IAsyncEnumerable<RunEvent> run, string model, int promptTokens, bool omitThinking, TimeSpan heartbeat)
    {
        var sse = await ServerSentEvents.StartAsync(context);
        var info = AnthropicJsonContext.Default.StreamEvent;
        Task Send(StreamEvent e, string name) => sse.WriteAsync(e, info, name);

        var start = new MessageResponse("msg_" + RandomIds.Alphanumeric(24), model, [], null, null, new AnthropicUsage(promptTokens, 1));
        await Send(new MessageStartEvent(start), "message_start");
        await Send(new PingEvent(), "ping");

        int index = -1;
        var open = Block.None;
        var reasoning = new StringBuilder();
        try
        {
            await foreach (var item in Heartbeats.WithHeartbeats(run, heartbeat, context.RequestAborted))
            {
                switch (item)
                {
                    case null:
                        await Send(new PingEvent(), "ping");
                        break;
                    case ReasoningEvent thought:
                        if (open != Block.Thinking)
                        {
                            await OpenAsync(Block.Thinking, new ThinkingBlock("", ""));
                            reasoning.Clear();
                        }

                        reasoning.Append(thought.Text);
                        if (!omitThinking)
                            await Send(new ContentBlockDeltaEvent(index, new ThinkingDeltaBody(thought.Text)), "content_block_delta");
                        break;
                    case ContentEvent { Text.Length: > 0 } text:
                        if (open != Block.Text)
                            await OpenAsync(Block.Text, new TextBlock(""));
                        await Send(new ContentBlockDeltaEvent(index, new TextDeltaBody(text.Text)), "content_block_delta");
                        break;
                    case ToolStartEvent tool:
                        await OpenAsync(Block.Tool, new ToolUseBlock(tool.ClientId, tool.Name, ToolArguments.AsObject("")));
                        break;
                    case ToolArgumentsEvent arguments when open == Block.Tool:
                        await Send(new ContentBlockDeltaEvent(index, new InputJsonDeltaBody(arguments.Fragment)), "content_block_delta");
                        break;
                    case RunFinished done:
                        await CloseAsync();
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

        async Task OpenAsync(Block kind, ContentBlock block)
        {
            await CloseAsync();
            index++;
            open = kind;
            await Send(new ContentBlockStartEvent(index, block), "content_block_start");
        }

        async Task CloseAsync()
        {
            if (open == Block.None)
                return;
            if (open == Block.Thinking)
                await Send(new ContentBlockDeltaEvent(index, new SignatureDeltaBody(CarriedReasoning.Encode(reasoning.ToString()))), "content_block_delta");
            await Send(new ContentBlockStopEvent(index), "content_block_stop");
            open = Block.None;
        }
    }
}
