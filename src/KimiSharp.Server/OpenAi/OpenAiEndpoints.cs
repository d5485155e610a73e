using System.Text;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace KimiSharp.Server.OpenAi;

/// <summary>OpenAI-compatible routes: /v1/chat/completions, /v1/completions, /v1/models.</summary>
public static class OpenAiEndpoints
{
    public static IEndpointRouteBuilder MapOpenAi(this IEndpointRouteBuilder routes)
    {
        var v1 = routes.MapGroup("/v1");
        v1.MapPost("/chat/completions", ChatCompletionsAsync);
        v1.MapPost("/completions", CompletionsAsync);
        v1.MapGet("/models", Models);
        return routes;
    }

    private static IResult Models(ServerState state)
    {
        var model = state.Backend.Model;
        return TypedResults.Json(
            new ModelList([new ModelEntry(model.Id, model.CreatedUnixSeconds, model.OwnedBy, new ModelMeta(model.VocabSize, model.ContextLength))]),
            OpenAiJsonContext.Default.ModelList);
    }

    private static async Task ChatCompletionsAsync(HttpContext context, ServerState state)
    {
        var request = await RequestBody.ReadJsonAsync(context, OpenAiJsonContext.Default.ChatCompletionRequest, state.Options.MaxBodyBytes);
        var model = state.ReadyModel();
        var plan = OpenAiRequestMapper.MapChat(request, state.Options, model);
        var prompt = state.Backend.PrepareChat(plan.Prompt);
        var options = state.FitToContext(prompt, plan.Options);
        var modelName = string.IsNullOrEmpty(request.Model) ? model.Id : request.Model;

        using var lease = state.Gate.Enter();
        var run = state.Run(prompt, options, plan.Stops, "call_", context.RequestAborted, plan.SingleToolCall);
        if (plan.Stream)
            await OpenAiChatStream.WriteAsync(context, run, modelName, plan.IncludeUsage, options.Logprobs);
        else
            await context.Response.WriteAsJsonAsync(await AggregateAsync(run, modelName, options.Logprobs),
                OpenAiJsonContext.Default.ChatCompletionResponse, contentType: "application/json", context.RequestAborted);
    }

    private static async Task<ChatCompletionResponse> AggregateAsync(IAsyncEnumerable<RunEvent> run, string model, bool logprobs)
    {
        var reply = await RunReply.CollectAsync(run, logprobs);
        var done = reply.Finished;
        var toolCalls = reply.ToolCalls.Count == 0
            ? null
            : reply.ToolCalls.Select(c => new ToolCallOut(c.Id, new FunctionOut(c.Name, c.Arguments))).ToList();
        var message = new ChatResponseMessage("assistant", reply.Content.Length == 0 && toolCalls is not null ? null : reply.Content, toolCalls,
            reply.Reasoning.Length == 0 ? null : reply.Reasoning);
        var logprobContent = reply.Logprobs?.Select(OpenAiMapping.Logprob).ToList();
        return new ChatCompletionResponse(
            "chatcmpl-" + RandomIds.Alphanumeric(24),
            ServerState.UnixNow(),
            model,
            OpenAiMapping.Fingerprint,
            [new ChatChoice(0, message, logprobContent is null ? null : new ChoiceLogprobs(logprobContent), OpenAiMapping.FinishReason(done.Reason))],
            OpenAiMapping.Usage(done, reply.ReasoningTokens),
            OpenAiMapping.Timings(done));
    }

    private static async Task CompletionsAsync(HttpContext context, ServerState state)
    {
        var request = await RequestBody.ReadJsonAsync(context, OpenAiJsonContext.Default.CompletionRequest, state.Options.MaxBodyBytes);
        var model = state.ReadyModel();
        var (prompt, options, stops) = OpenAiCompletionMapper.Map(request, state, model);
        options = state.FitToContext(prompt, options);
        var modelName = string.IsNullOrEmpty(request.Model) ? model.Id : request.Model;

        using var lease = state.Gate.Enter();
        var run = state.Run(prompt, options, stops, "call_", context.RequestAborted);
        if (request.Stream == true)
        {
            await OpenAiCompletionStream.WriteAsync(context, run, modelName, request.StreamOptions?.IncludeUsage == true);
            return;
        }

        var text = new StringBuilder();
        RunFinished? finished = null;
        await foreach (var item in run)
        {
            if (item is ContentEvent content)
                text.Append(content.Text);
            else if (item is RunFinished end)
                finished = end;
        }

        var response = new TextCompletionResponse("cmpl-" + RandomIds.Alphanumeric(24), ServerState.UnixNow(), modelName,
            [new TextChoice(text.ToString(), 0, null, OpenAiMapping.FinishReason(finished!.Reason))], OpenAiMapping.Usage(finished), OpenAiMapping.Fingerprint);
        await context.Response.WriteAsJsonAsync(response, OpenAiJsonContext.Default.TextCompletionResponse, contentType: "application/json", context.RequestAborted);
    }
}
