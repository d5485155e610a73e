using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace KimiSharp.Server.Utility;

/// <summary>/health (public), /metrics (Prometheus text), /tokenize and /detokenize (llama-server shapes).</summary>
public static class UtilityEndpoints
{
    public static IEndpointRouteBuilder MapUtility(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/health", Health);
        routes.MapGet("/metrics", (ServerState state) =>
            TypedResults.Text(state.Metrics.Render(state.Backend, state.Gate.Admitted), "text/plain; version=0.0.4; charset=utf-8"));
        routes.MapPost("/tokenize", TokenizeAsync);
        routes.MapPost("/detokenize", DetokenizeAsync);
        return routes;
    }

    private static IResult Health(ServerState state) => state.Backend.State switch
    {
        BackendState.Ready => TypedResults.Json(new HealthResponse("ok"), UtilityJsonContext.Default.HealthResponse),
        BackendState.Loading => TypedResults.Json(new HealthResponse("loading"), UtilityJsonContext.Default.HealthResponse, statusCode: 503),
        _ => TypedResults.Json(new HealthResponse("error", (state.Backend as LoadingChatBackend)?.LoadError), UtilityJsonContext.Default.HealthResponse, statusCode: 503),
    };

    private static async Task<IResult> TokenizeAsync(HttpContext context, ServerState state)
    {
        var request = await RequestBody.ReadJsonAsync(context, UtilityJsonContext.Default.TokenizeRequest, state.Options.MaxBodyBytes);
        state.ReadyModel();
        var content = request.Content ?? throw ApiException.Invalid("content", "is required");
        var tokens = state.Backend.Tokenize(content, request.AddSpecial == true, request.ParseSpecial != false);
        if (request.WithPieces == true)
        {
            var pieces = tokens.Select(t => new TokenPiece(t, state.Backend.TokenPiece(t))).ToList();
            return TypedResults.Json(new TokenizeWithPiecesResponse(pieces), UtilityJsonContext.Default.TokenizeWithPiecesResponse);
        }

        return TypedResults.Json(new TokenizeResponse(tokens), UtilityJsonContext.Default.TokenizeResponse);
    }

    private static async Task<IResult> DetokenizeAsync(HttpContext context, ServerState state)
    {
        var request = await RequestBody.ReadJsonAsync(context, UtilityJsonContext.Default.DetokenizeRequest, state.Options.MaxBodyBytes);
        var model = state.ReadyModel();
        var raw = request.Tokens ?? throw ApiException.Invalid("tokens", "is required");
        var ids = new int[raw.Count];
        for (int i = 0; i < raw.Count; i++)
        {
            if (raw[i].ValueKind != JsonValueKind.Number || !raw[i].TryGetInt32(out ids[i]) || ids[i] < 0 || ids[i] >= model.VocabSize)
                throw ApiException.Invalid($"tokens[{i}]", $"must be a token id between 0 and {model.VocabSize - 1}");
        }

        return TypedResults.Json(new DetokenizeResponse(state.Backend.Detokenize(ids)), UtilityJsonContext.Default.DetokenizeResponse);
    }
}
