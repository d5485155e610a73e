using System.Diagnostics;
using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace KimiSharp.Server.Ollama;

/// <summary>
/// Ollama-compatible routes, for clients that speak only Ollama's API (Open WebUI, VS Code's Ollama provider,
/// OllamaSharp, n8n …): /api/version, /api/tags, /api/show, /api/ps, /api/chat and /api/generate. Model
/// management (pull, push, create, copy, delete) and embeddings are not offered: the server serves one model.
/// </summary>
public static class OllamaEndpoints
{
    /// <summary>The Ollama version reported: new enough for clients that check (tools, structured outputs, think).</summary>
    public const string Version = "0.12.0";

    public static IEndpointRouteBuilder MapOllama(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api");
        api.MapGet("/version", () => TypedResults.Json(new OllamaVersion(Version), OllamaJsonContext.Default.OllamaVersion));
        api.MapGet("/tags", (ServerState state) =>
            TypedResults.Json(new OllamaModelList([OllamaModels.Entry(state.Backend.Model)]), OllamaJsonContext.Default.OllamaModelList));
        api.MapGet("/ps", (ServerState state) => TypedResults.Json(
            new OllamaModelList(state.Backend.State == BackendState.Ready ? [OllamaModels.Running(state.Backend.Model)] : []),
            OllamaJsonContext.Default.OllamaModelList));
        api.MapPost("/show", ShowAsync);
        api.MapPost("/chat", ChatAsync);
        api.MapPost("/generate", GenerateAsync);
        return routes;
    }

    private static async Task<IResult> ShowAsync(HttpContext context, ServerState state)
    {
        var request = await RequestBody.ReadJsonAsync(context, OllamaJsonContext.Default.OllamaShowRequest, state.Options.MaxBodyBytes);
        var model = state.ReadyModel();
        OllamaModels.Resolve(request.Model ?? request.Name, model);
        return TypedResults.Json(OllamaModels.Show(model), OllamaJsonContext.Default.OllamaShowResponse);
    }

    private static async Task ChatAsync(HttpContext context, ServerState state)
    {
        var clock = Stopwatch.StartNew();
        var request = await RequestBody.ReadJsonAsync(context, OllamaJsonContext.Default.OllamaChatRequest, state.Options.MaxBodyBytes);
        await ServeAsync(context, state, clock, request.Model, request.KeepAlive, chat: true, model => OllamaRequestMapper.MapChat(request, state.Options, model),
            isLoad: request.Messages is not { Count: > 0 });
    }

    private static async Task GenerateAsync(HttpContext context, ServerState state)
    {
        var clock = Stopwatch.StartNew();
        var request = await RequestBody.ReadJsonAsync(context, OllamaJsonContext.Default.OllamaGenerateRequest, state.Options.MaxBodyBytes);
        await ServeAsync(context, state, clock, request.Model, request.KeepAlive, chat: false, model => OllamaRequestMapper.MapGenerate(request, state.Options, model),
            isLoad: string.IsNullOrEmpty(request.Prompt));
    }

    /// <summary>Checks the model name and the request, then answers a load request at once or runs the generation.</summary>
    private static async Task ServeAsync(HttpContext context, ServerState state, Stopwatch clock, string? requestedModel, JsonElement? keepAlive, bool chat,
        Func<ModelDescription, OllamaPlan> map, bool isLoad)
    {
        var model = state.ReadyModel();
        var name = OllamaModels.Resolve(requestedModel, model);
        var plan = map(model);
        if (isLoad)
            await WriteLoadAsync(context, name, keepAlive, chat);
        else
            await RunAsync(context, state, plan, name, chat, clock);
    }

    private static async Task RunAsync(HttpContext context, ServerState state, OllamaPlan plan, string name, bool chat, Stopwatch clock)
    {
        var prompt = plan.Chat is { } conversation ? state.Backend.PrepareChat(conversation) : state.Backend.PrepareText(plan.RawPrompt!);
        var options = state.FitToContext(prompt, OllamaRequestMapper.FitToNumCtx(plan.Options, plan.NumCtx, prompt.TokenCount));

        using var lease = state.Gate.Enter();
        var run = state.Run(prompt, options, plan.Stops, "call_", context.RequestAborted);
        var reply = new OllamaReplyWriter(name, chat, clock);
        if (plan.Stream)
            await reply.StreamAsync(context, run);
        else
            await reply.WriteAsync(context, run);
    }

    /// <summary>
    /// An empty prompt (generate) or no messages (chat) loads the model: one object, done_reason "load", or
    /// "unload" with keep_alive 0 (the model stays loaded either way: the server serves only it).
    /// </summary>
    private static Task WriteLoadAsync(HttpContext context, string name, JsonElement? keepAlive, bool chat)
    {
        bool unload = keepAlive is { } k && (k.ValueKind == JsonValueKind.Number ? k.GetDouble() == 0 : k.ValueKind == JsonValueKind.String && k.GetString() is "0" or "0s");
        var reply = OllamaReplyWriter.Empty(name, chat) with { Done = true, DoneReason = unload ? "unload" : "load" };
        return context.Response.WriteAsJsonAsync(reply, OllamaJsonContext.Default.OllamaReply, contentType: "application/json", context.RequestAborted);
    }
}
