using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace KimiSharp.Server.OpenAi.Responses;

/// <summary>OpenAI's Responses API: <c>POST /v1/responses</c>, <c>GET</c> and <c>DELETE /v1/responses/{id}</c>.</summary>
public static class ResponsesEndpoints
{
    public static IEndpointRouteBuilder MapResponses(this IEndpointRouteBuilder routes, ResponseStore? store = null)
    {
        store ??= new ResponseStore();
        var group = routes.MapGroup("/v1/responses");
        group.MapPost("", (HttpContext context, ServerState state) => CreateAsync(context, state, store));
        group.MapGet("/{id}", (string id) => TypedResults.Json(Stored(store, id).Response, ResponsesJsonContext.Default.ResponseObject));
        group.MapDelete("/{id}", (string id) => store.Remove(id)
            ? TypedResults.Json(new ResponseDeleted(id), ResponsesJsonContext.Default.ResponseDeleted)
            : throw NotFound(store, id, "id"));
        return routes;
    }

    private static async Task CreateAsync(HttpContext context, ServerState state, ResponseStore store)
    {
        var request = await RequestBody.ReadJsonAsync(context, ResponsesJsonContext.Default.ResponsesRequest, state.Options.MaxBodyBytes);
        var model = state.ReadyModel();
        var previous = request.PreviousResponseId is { } previousId
            ? (store.TryGet(previousId, out var stored) ? stored.Conversation : throw NotFound(store, previousId, "previous_response_id"))
            : [];
        var plan = ResponsesRequestMapper.Map(request, state.Options, model, previous);
        var prompt = state.Backend.PrepareChat(plan.Prompt);
        GenerationOptions options;
        try
        {
            options = state.FitToContext(prompt, plan.Options);
        }
        catch (ContextOverflowException overflow)
        {
            // The same refusal as the chat routes, naming this API's field; Codex reads the code as "context window exceeded".
            throw new ApiException(ApiErrorKind.InvalidRequest,
                $"input: the prompt has {overflow.PromptTokens} tokens but the context holds {overflow.ContextLength}; shorten the conversation or start kimi serve with a larger --ctx",
                "input", "context_length_exceeded");
        }

        var modelName = string.IsNullOrEmpty(request.Model) ? model.Id : request.Model;
        var assembler = new ResponseAssembler(plan.Echo.InProgress(ResponseAssembler.NewId("resp_"), ServerState.UnixNow(), modelName), plan.Tools, plan.CarryReasoning);

        using (state.Gate.Enter())
        {
            var run = state.Run(prompt, options, plan.Stops, "call_", context.RequestAborted, plan.SingleToolCall);
            if (plan.Stream)
            {
                await ResponsesStream.WriteAsync(context, run, assembler);
            }
            else
            {
                await foreach (var item in run)
                    assembler.Push(item);
                await context.Response.WriteAsJsonAsync(assembler.Final!, ResponsesJsonContext.Default.ResponseObject, contentType: "application/json", context.RequestAborted);
            }
        }

        if (plan.Store && assembler.Final is { Status: "completed" or "incomplete" } final)
            store.Add(final, [.. plan.Conversation, .. AssistantTurn(final)]);
    }

    /// <summary>The response's output as the assistant turn a follow-up request continues from.</summary>
    private static IEnumerable<PromptMessage> AssistantTurn(ResponseObject response)
    {
        var text = string.Concat(response.Output.OfType<ResponseMessageItem>().SelectMany(m => m.Content).Select(p => p.Text));
        var reasoning = string.Concat(response.Output.OfType<ResponseReasoningItem>().SelectMany(r => r.Content).Select(p => p.Text));
        var calls = response.Output.OfType<ResponseFunctionCallItem>()
            .Select(c => new PromptToolCall(c.CallId, ResponsesToolSet.FlatName(c.Namespace, c.Name), c.Arguments))
            .ToList();
        if (text.Length > 0 || calls.Count > 0)
            yield return new PromptMessage("assistant", text.Length > 0 ? text : null, calls.Count > 0 ? calls : null,
                Reasoning: reasoning.Length > 0 ? reasoning : null);
    }

    private static StoredResponse Stored(ResponseStore store, string id) =>
        store.TryGet(id, out var stored) ? stored : throw NotFound(store, id, "id");

    private static ApiException NotFound(ResponseStore store, string id, string param) => new(ApiErrorKind.NotFound,
        $"{param}: no stored response has the id '{id}' (the server keeps the most recent {store.Capacity} responses made with store: true, in memory)",
        param, "response_not_found");
}
