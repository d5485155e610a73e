using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using KimiSharp.Gguf;
using KimiSharp.Quants;

namespace KimiSharp.Cli.Commands;

public static class InspectCommand
{
    /// <summary>Hyperparameters shown by name: (label, key suffix after "ARCH.").</summary>
    private static readonly (string Label, string Key)[] Hyperparameters =
    [
        ("layers", "block_count"),
        ("context length", "context_length"),
        ("embedding length", "embedding_length"),
        ("dense FFN length", "feed_forward_length"),
        ("attention heads", "attention.head_count"),
        ("KV heads", "attention.head_count_kv"),
        ("key length", "attention.key_length"),
        ("value length", "attention.value_length"),
        ("key length (MLA)", "attention.key_length_mla"),
        ("value length (MLA)", "attention.value_length_mla"),
        ("q LoRA rank", "attention.q_lora_rank"),
        ("KV LoRA rank", "attention.kv_lora_rank"),
        ("RMS norm epsilon", "attention.layer_norm_rms_epsilon"),
        ("rope dimensions", "rope.dimension_count"),
        ("rope frequency base", "rope.freq_base"),
        ("rope scaling", "rope.scaling.type"),
        ("rope scaling factor", "rope.scaling.factor"),
        ("YaRN original context", "rope.scaling.original_context_length"),
        ("YaRN log multiplier", "rope.scaling.yarn_log_multiplier"),
        ("leading dense layers", "leading_dense_block_count"),
        ("experts", "expert_count"),
        ("experts used per token", "expert_used_count"),
        ("shared experts", "expert_shared_count"),
        ("expert groups", "expert_group_count"),
        ("expert groups used", "expert_group_used_count"),
        ("expert FFN length", "expert_feed_forward_length"),
        ("expert weights scale", "expert_weights_scale"),
        ("expert weights norm", "expert_weights_norm"),
        ("expert gating function", "expert_gating_func"),
        ("vocabulary size", "vocab_size"),
    ];

    private static readonly (string Label, string Key)[] SpecialTokens =
    [
        ("bos", "tokenizer.ggml.bos_token_id"),
        ("eos", "tokenizer.ggml.eos_token_id"),
        ("eot", "tokenizer.ggml.eot_token_id"),
        ("padding", "tokenizer.ggml.padding_token_id"),
        ("unknown", "tokenizer.ggml.unknown_token_id"),
    ];

    public static Command Create()
    {
        var command = new Command("inspect", "Show a GGUF file's architecture, hyperparameters, tensor types and tokenizer");
        var file = new Argument<string>("file") { Description = "GGUF file (any part of a split set)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text" };
        command.Arguments.Add(file);
        command.Options.Add(json);
        command.SetAction(result => CliErrors.Guard(() => Run(result.GetValue(file)!, result.GetValue(json), Console.Out)));
        return command;
    }

    /// <summary>Inspects <paramref name="path"/> and writes the report; throws on a bad file.</summary>
    public static int Run(string path, bool json, TextWriter output)
    {
        using var file = GgufFile.Open(path);
        if (json)
            output.WriteLine(ToJson(file));
        else
            output.Write(ToText(file));
        return 0;
    }

    public sealed record TypeStats(GgmlType Type, int Count, long Bytes, bool Supported);

    /// <summary>Tensor count and bytes per ggml type, most bytes first.</summary>
    public static IReadOnlyList<TypeStats> Histogram(GgufFile file) =>
        file.Tensors.GroupBy(t => t.Type)
            .Select(g => new TypeStats(g.Key, g.Count(), g.Sum(t => t.ByteSize), QuantCodecs.IsSupported(g.Key)))
            .OrderByDescending(s => s.Bytes).ThenBy(s => s.Type.ToString(), StringComparer.Ordinal)
            .ToList();

    public static string ToText(GgufFile file)
    {
        var sb = new StringBuilder();
        var md = file.Metadata;
        var arch = md.GetString("general.architecture", "(none)");
        sb.AppendLine(CultureInfo.InvariantCulture, $"file:          {file.PartPaths[0]}");
        if (file.PartPaths.Count > 1)
            sb.AppendLine(CultureInfo.InvariantCulture, $"split parts:   {file.PartPaths.Count} ({string.Join(", ", file.PartPaths.Select(Path.GetFileName))})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"total size:    {file.TotalFileSize:N0} bytes ({Human(file.TotalFileSize)})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"GGUF version:  {file.Version}, alignment {file.Alignment}, {md.Count} metadata keys");
        sb.AppendLine(CultureInfo.InvariantCulture, $"architecture:  {arch}  (general.architecture)");
        if (md.TryGetString("general.name", out var name))
            sb.AppendLine(CultureInfo.InvariantCulture, $"name:          {name}  (general.name)");

        sb.AppendLine();
        sb.AppendLine("hyperparameters:");
        foreach (var (label, key, value) in PresentHyperparameters(md, arch))
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {label,-24} {FormatScalar(value),-12} {key}");

        sb.AppendLine();
        var histogram = Histogram(file);
        sb.AppendLine(CultureInfo.InvariantCulture, $"tensors: {file.Tensors.Count}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  {"type",-8} {"count",6} {"bytes",18}");
        foreach (var s in histogram)
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {s.Type,-8} {s.Count,6} {s.Bytes,18:N0}  {Human(s.Bytes)}{(s.Supported ? "" : "  (not supported by this build)")}");

        sb.AppendLine();
        if (md.TryGetString("tokenizer.ggml.model", out var tokModel))
        {
            var vocab = md.TryGetValue("tokenizer.ggml.tokens", out var tokens) ? tokens.Length : 0;
            sb.AppendLine(CultureInfo.InvariantCulture, $"tokenizer:     model {tokModel}, pre {md.GetString("tokenizer.ggml.pre", "(none)")}, vocabulary {vocab}");
            var specials = SpecialIds(md).Select(s => $"{s.Label} {s.Id}{(s.Text is null ? "" : $" {s.Text}")}").ToList();
            if (specials.Count > 0)
                sb.AppendLine(CultureInfo.InvariantCulture, $"special ids:   {string.Join(", ", specials)}");
            if (md.TryGetBool("tokenizer.ggml.add_bos_token", out var addBos))
                sb.AppendLine(CultureInfo.InvariantCulture, $"add bos:       {(addBos ? "yes" : "no")}");
        }
        else
        {
            sb.AppendLine("tokenizer:     none");
        }
        sb.AppendLine(md.TryGetString("tokenizer.chat_template", out var template)
            ? $"chat template: embedded ({template.Length:N0} characters)"
            : "chat template: none");

        var unsupported = histogram.Where(s => !s.Supported).Select(s => s.Type.ToString()).ToList();
        sb.AppendLine(unsupported.Count == 0
            ? "runnable:      yes, this build supports every tensor type in the file"
            : $"runnable:      no, unsupported tensor types: {string.Join(", ", unsupported)}");
        return sb.ToString();
    }

    public static string ToJson(GgufFile file)
    {
        var md = file.Metadata;
        var arch = md.GetString("general.architecture", "");
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("file", file.PartPaths[0]);
            w.WriteNumber("file_size", file.TotalFileSize);
            w.WriteNumber("split_count", file.PartPaths.Count);
            w.WriteStartArray("parts");
            foreach (var p in file.PartPaths)
                w.WriteStringValue(p);
            w.WriteEndArray();
            w.WriteNumber("version", file.Version);
            w.WriteNumber("alignment", file.Alignment);
            w.WriteString("architecture", arch);

            w.WriteStartObject("hyperparameters");
            foreach (var (label, key, value) in PresentHyperparameters(md, arch))
            {
                w.WriteStartObject(key[(arch.Length + 1)..]);
                w.WriteString("name", label);
                w.WriteString("key", key);
                w.WritePropertyName("value");
                WriteValue(w, value);
                w.WriteEndObject();
            }
            w.WriteEndObject();

            w.WriteNumber("tensor_count", file.Tensors.Count);
            var histogram = Histogram(file);
            w.WriteStartObject("type_histogram");
            foreach (var s in histogram)
            {
                w.WriteStartObject(s.Type.ToString());
                w.WriteNumber("count", s.Count);
                w.WriteNumber("bytes", s.Bytes);
                w.WriteBoolean("supported", s.Supported);
                w.WriteEndObject();
            }
            w.WriteEndObject();

            w.WriteStartObject("tokenizer");
            if (md.TryGetString("tokenizer.ggml.model", out var model))
            {
                w.WriteString("model", model);
                if (md.TryGetString("tokenizer.ggml.pre", out var pre))
                    w.WriteString("pre", pre);
                w.WriteNumber("vocab_size", md.TryGetValue("tokenizer.ggml.tokens", out var tokens) ? tokens.Length : 0);
                foreach (var s in SpecialIds(md))
                    w.WriteNumber(s.Label + "_token_id", s.Id);
                if (md.TryGetBool("tokenizer.ggml.add_bos_token", out var addBos))
                    w.WriteBoolean("add_bos_token", addBos);
            }
            w.WriteEndObject();
            w.WriteBoolean("chat_template", md.ContainsKey("tokenizer.chat_template"));
            var unsupported = histogram.Where(s => !s.Supported).Select(s => s.Type.ToString()).ToList();
            w.WriteBoolean("runnable", unsupported.Count == 0);
            w.WriteStartArray("unsupported_types");
            foreach (var u in unsupported)
                w.WriteStringValue(u);
            w.WriteEndArray();

            w.WriteStartObject("metadata");
            foreach (var (key, value) in md)
            {
                w.WritePropertyName(key);
                WriteValue(w, value);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static IEnumerable<(string Label, string Key, GgufValue Value)> PresentHyperparameters(GgufMetadata md, string arch)
    {
        foreach (var (label, suffix) in Hyperparameters)
        {
            var key = arch + "." + suffix;
            if (md.TryGetValue(key, out var value))
                yield return (label, key, value);
        }
    }

    private static IEnumerable<(string Label, long Id, string? Text)> SpecialIds(GgufMetadata md)
    {
        string[]? tokens = null;
        foreach (var (label, key) in SpecialTokens)
        {
            if (!md.TryGetInt64(key, out var id))
                continue;
            if (tokens is null && md.TryGetValue("tokenizer.ggml.tokens", out var t) && t.ElementType == GgufValueType.String)
                tokens = (string[])t.Value;
            yield return (label, id, tokens is not null && id >= 0 && id < tokens.Length ? tokens[id] : null);
        }
    }

    /// <summary>Scalars as JSON values; arrays of at most 16 elements in full, longer ones as {"type", "length"}.</summary>
    private static void WriteValue(Utf8JsonWriter w, GgufValue value)
    {
        if (!value.IsArray)
        {
            WriteScalar(w, value.Value);
            return;
        }
        if (value.Length > 16)
        {
            w.WriteStartObject();
            w.WriteString("type", value.ElementType.ToString().ToLowerInvariant());
            w.WriteNumber("length", value.Length);
            w.WriteEndObject();
            return;
        }
        w.WriteStartArray();
        foreach (var item in (System.Collections.IEnumerable)value.Value)
            WriteScalar(w, item!);
        w.WriteEndArray();
    }

    private static void WriteScalar(Utf8JsonWriter w, object v)
    {
        switch (v)
        {
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case float f when float.IsFinite(f): w.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case float or double: w.WriteStringValue(Convert.ToString(v, CultureInfo.InvariantCulture)); break;
            case ulong ul: w.WriteNumberValue(ul); break;
            case long l: w.WriteNumberValue(l); break;
            default: w.WriteNumberValue(Convert.ToInt64(v, CultureInfo.InvariantCulture)); break;
        }
    }

    private static string FormatScalar(GgufValue v) => v.Value switch
    {
        float f => f.ToString("G7", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => v.ToString(),
    };

    private static string Human(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double x = bytes;
        var u = 0;
        while (x >= 1024 && u < units.Length - 1)
        {
            x /= 1024;
            u++;
        }
        return x.ToString(u == 0 ? "0" : "0.00", CultureInfo.InvariantCulture) + " " + units[u];
    }
}
