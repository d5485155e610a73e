using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace KimiSharp.Server.Anthropic;

/// <summary>
/// Anthropic-compatible routes: POST /v1/messages (streaming and not) and /v1/messages/count_tokens.
/// Query strings such as Claude Code's <c>?beta=true</c> and the anthropic-version / anthropic-beta headers are accepted and ignored.
/// </summary>
public static class AnthropicEndpoints
{
    public static IEndpointRouteBuilder MapAnthropic(this IEndpointRouteBuilder routes)
    {
        var messages = routes.MapGroup("/v1/messages");
        messages.MapPost("", MessagesAsync);
        messages.MapPost("/count_tokens", CountTokensAsync);
        return routes;
    }

    private static async Task<IResult> CountTokensAsync(HttpContext context, ServerState state)
    {
        var request = await RequestBody.ReadJsonAsync(context, AnthropicJsonContext.Default.MessagesRequest, state.Options.MaxBodyBytes);
        var model = state.ReadyModel();
        var plan = AnthropicRequestMapper.Map(request, state.Options, model, requireMaxTokens: false);
        var prompt = state.Backend.PrepareChat(plan.Prompt);
        return TypedResults.Json(new CountTokensResponse(prompt.TokenCount), AnthropicJsonContext.Default.CountTokensResponse);
    }

    private static async Task MessagesAsync(HttpContext context, ServerState state)
    {
        var request = await RequestBody.ReadJsonAsync(context, AnthropicJsonContext.Default.MessagesRequest, state.Options.MaxBodyBytes);
        var model = state.ReadyModel();
        var plan = AnthropicRequestMapper.Map(request, state.Options, model);
        var prompt = state.Backend.PrepareChat(plan.Prompt);
        var options = state.FitToContext(prompt, plan.Options);

        using var lease = state.Gate.Enter();
        var run = state.Run(prompt, options, plan.Stops, "toolu_", context.RequestAborted, plan.SingleToolCall);
        if (plan.Stream)
        {
            await AnthropicStream.WriteAsync(context, run, request.Model!, prompt.TokenCount, plan.OmitThinking, state.Options.StreamHeartbeat);
            return;
        }

        var reply = await RunReply.CollectAsync(run);
        var blocks = new List<ContentBlock>();
        if (reply.Reasoning.Length > 0)
            blocks.Add(new ThinkingBlock(plan.OmitThinking ? "" : reply.Reasoning, CarriedReasoning.Encode(reply.Reasoning)));
        if (reply.Content.Length > 0)
            blocks.Add(new TextBlock(reply.Content));
        foreach (var call in reply.ToolCalls)
            blocks.Add(new ToolUseBlock(call.Id, call.Name, ToolArguments.AsObject(call.Arguments)));
        var finished = reply.Finished;
        var response = new MessageResponse("msg_" + RandomIds.Alphanumeric(24), request.Model!, blocks,
            AnthropicMapping.StopReason(finished.Reason), finished.StopSequence, new AnthropicUsage(finished.PromptTokens - finished.Timings.CachedTokens, finished.CompletionTokens, finished.Timings.CachedTokens));
        await context.Response.WriteAsJsonAsync(response, AnthropicJsonContext.Default.MessageResponse, contentType: "application/json", context.RequestAborted);
    }
}
