using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.OpenAi;

/// <summary>Validates /v1/completions requests: the prompt is sent to the model exactly as given (special-token text parsed).</summary>
public static class OpenAiCompletionMapper
{
    public static (PreparedPrompt Prompt, GenerationOptions Options, IReadOnlyList<string> Stops) Map(CompletionRequest request, ServerState state, ModelDescription model)
    {
        if (request.N is int n && n != 1)
            throw ApiException.Invalid("n", $"only n = 1 is supported, got {n}");
        if (request.BestOf is int bestOf && bestOf != 1)
            throw ApiException.Invalid("best_of", $"only best_of = 1 is supported, got {bestOf}");
        if (request.Echo == true)
            throw ApiException.Invalid("echo", "echo is not supported");
        if (!string.IsNullOrEmpty(request.Suffix))
            throw ApiException.Invalid("suffix", "suffix (fill-in-the-middle) is not supported");

        var prompt = request.Prompt switch
        {
            null or { ValueKind: JsonValueKind.Null } => throw ApiException.Invalid("prompt", "is required"),
            { ValueKind: JsonValueKind.String } text => state.Backend.PrepareText(JsonFields.String(text, "prompt")),
            { ValueKind: JsonValueKind.Array } ids => state.Backend.PrepareTokens(TokenIds(ids, model.VocabSize)),
            { } other => throw ApiException.Invalid("prompt", $"must be a string or an array of token ids, not {JsonFields.Describe(other)}"),
        };
        if (prompt.TokenCount == 0)
            throw ApiException.Invalid("prompt", "must not be empty");

        var options = OpenAiRequestMapper.SamplingOptions(state.Options, model, request.Temperature, request.TopP, request.TopK, request.MinP,
            request.PresencePenalty, request.FrequencyPenalty, request.Seed, request.LogitBias) with
        {
            MaxTokens = request.MaxTokens is null ? 16 : OpenAiRequestMapper.MaxTokens("max_tokens", request.MaxTokens, model),
            Format = OpenAiRequestMapper.OutputFormat(request.ResponseFormat, request.Grammar, request.JsonSchema),
        };
        return (prompt, options, JsonFields.StringOrStrings(request.Stop, "stop", 16));
    }

    public static int[] TokenIds(JsonElement array, int vocabSize)
    {
        var ids = new int[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int id) || id < 0 || id >= vocabSize)
                throw ApiException.Invalid($"prompt[{i}]", $"must be a token id between 0 and {vocabSize - 1}");
            ids[i++] = id;
        }

        return ids;
    }
}
