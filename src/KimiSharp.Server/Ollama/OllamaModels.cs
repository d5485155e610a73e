using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.Ollama;

/// <summary>
/// The one served model as Ollama describes models. Names: the server's model id, tagged <c>:latest</c> when it has
/// no tag of its own; a request may name it with or without <c>:latest</c>, in any letter case (Ollama's names are
/// case-insensitive). Any other name is 404 <c>model 'NAME' not found</c>, as Ollama answers, naming the served one.
/// </summary>
public static class OllamaModels
{
    public const string Family = "deepseek2";

    /// <summary>"kimi-k2" → "kimi-k2:latest"; "kimi:q2" stays.</summary>
    public static string Tagged(string id) => id.Contains(':') ? id : id + ":latest";

    /// <summary>Checks the requested name against the served model; returns it (replies echo the name asked for).</summary>
    public static string Resolve(string? requested, ModelDescription model, string param = "model")
    {
        if (string.IsNullOrWhiteSpace(requested))
            throw ApiException.Invalid(param, "is required");
        if (string.Equals(Tagged(requested.Trim()), Tagged(model.Id), StringComparison.OrdinalIgnoreCase))
            return requested;
        throw new ApiException(ApiErrorKind.NotFound, $"model '{requested}' not found; this server serves '{Tagged(model.Id)}'", param);
    }

    public static OllamaModelEntry Entry(ModelDescription model)
    {
        var facts = model.Facts;
        return new OllamaModelEntry(Tagged(model.Id), Tagged(model.Id), Time(ModifiedAt(model)), facts?.FileSizeBytes ?? 0,
            facts?.Digest ?? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(model.Id))), Details(model));
    }

    /// <summary>/api/ps: the model stays loaded while the server runs, so it never expires (a year from now, as Ollama shows keep_alive -1 far ahead).</summary>
    public static OllamaModelEntry Running(ModelDescription model) => Entry(model) with
    {
        ExpiresAt = Time(DateTimeOffset.UtcNow.AddYears(1)),
        SizeVram = 0,
        ContextLength = model.ContextLength,
    };

    public static OllamaShowResponse Show(ModelDescription model)
    {
        var facts = model.Facts;
        var info = new JsonObject();
        if (facts is not null)
        {
            foreach (var (key, value) in facts.Metadata)
                info[key] = Json(value);
        }

        // Keys Ollama's clients read (context window, vocabulary) present even without a model file.
        info["general.architecture"] ??= facts?.Architecture ?? Family;
        info["general.parameter_count"] ??= facts?.ParameterCount ?? 0;
        var architecture = info["general.architecture"]!.GetValue<string>();
        info[$"{architecture}.context_length"] ??= model.ContextLength;
        info[$"{architecture}.vocab_size"] ??= model.VocabSize;

        var parameters = $"num_ctx {model.ContextLength}";
        return new OllamaShowResponse(
            $"# Modelfile for {Tagged(model.Id)}, served by KimiSharp\nFROM {Tagged(model.Id)}\nPARAMETER {parameters}\n",
            parameters,
            facts?.ChatTemplate ?? "",
            Details(model),
            info,
            KimiSharp.Grammar.ChatConstraints.ReasoningEndOf(facts?.ChatTemplate) is null ? ["completion", "tools"] : ["completion", "tools", "thinking"],
            Time(ModifiedAt(model)));
    }

    private static OllamaModelDetails Details(ModelDescription model)
    {
        var facts = model.Facts;
        var family = facts?.Architecture ?? Family;
        return new OllamaModelDetails("", "gguf", family, [family],
            facts is null ? "" : ModelFacts.HumanCount(facts.ParameterCount), facts?.QuantizationLevel ?? "");
    }

    private static DateTimeOffset ModifiedAt(ModelDescription model) =>
        model.Facts?.ModifiedAt ?? DateTimeOffset.FromUnixTimeSeconds(model.CreatedUnixSeconds);

    /// <summary>RFC 3339 in UTC, as Go writes time.Time.</summary>
    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A GGUF scalar (boxed CLR value) as JSON.</summary>
    private static JsonNode? Json(object value) => value switch
    {
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        float f => float.IsFinite(f) ? JsonValue.Create(double.Parse(f.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)) : null, // 1e-6, not 9.99999997e-7
        double d => double.IsFinite(d) ? JsonValue.Create(d) : null,
        ulong u => JsonValue.Create(u),
        IConvertible number => JsonValue.Create(number.ToInt64(CultureInfo.InvariantCulture)),
        _ => null,
    };
}
