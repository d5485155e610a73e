using System.Security.Cryptography;
using System.Text;
using KimiSharp.Gguf;

namespace KimiSharp.Server.Backend;

/// <summary>
/// What a model file says about itself, for APIs that describe models (Ollama's /api/tags, /api/show, /api/ps).
/// Read from the GGUF headers only: no tensor data is touched.
/// </summary>
/// <param name="Architecture">general.architecture ("deepseek2").</param>
/// <param name="ParameterCount">general.parameter_count, else the elements of all tensors.</param>
/// <param name="QuantizationLevel">llama.cpp's file type name ("Q4_K_M"), else the type holding most bytes.</param>
/// <param name="Digest">SHA-256 (hex) of each part's name, size and modification time: stable while the files are.</param>
/// <param name="Metadata">Every scalar metadata key in file order (arrays such as the vocabulary are left out).</param>
/// <param name="ChatTemplate">tokenizer.chat_template, or null.</param>
public sealed record ModelFacts(
    string Architecture,
    long ParameterCount,
    string QuantizationLevel,
    long FileSizeBytes,
    DateTimeOffset ModifiedAt,
    string Digest,
    IReadOnlyList<KeyValuePair<string, object>> Metadata,
    string? ChatTemplate)
{
    public static ModelFacts FromGguf(GgufFile file)
    {
        var metadata = file.Metadata;
        var scalars = metadata
            .Where(p => !p.Value.IsArray && p.Key != "tokenizer.chat_template")
            .Select(p => new KeyValuePair<string, object>(p.Key, p.Value.Value))
            .ToList();
        long parameters = metadata.TryGetInt64("general.parameter_count", out long count) ? count : file.Tensors.Sum(t => t.ElementCount);
        metadata.TryGetString("tokenizer.chat_template", out var template);
        return new ModelFacts(
            metadata.GetString("general.architecture", "deepseek2"),
            parameters,
            QuantizationOf(file),
            file.TotalFileSize,
            new DateTimeOffset(File.GetLastWriteTimeUtc(file.PartPaths[0]), TimeSpan.Zero),
            DigestOf(file.PartPaths),
            scalars,
            template);
    }

    /// <summary>"1.0T", "236.0B", "12.3M": Ollama's parameter_size style.</summary>
    public static string HumanCount(long count) => count switch
    {
        >= 1_000_000_000_000 => Scaled(count / 1e12, "T"),
        >= 1_000_000_000 => Scaled(count / 1e9, "B"),
        >= 1_000_000 => Scaled(count / 1e6, "M"),
        >= 1_000 => Scaled(count / 1e3, "K"),
        _ => count.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string Scaled(double value, string unit) => value.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + unit;

    private static string QuantizationOf(GgufFile file)
    {
        if (file.Metadata.TryGetUInt32("general.file_type", out uint fileType) && FileTypeName(fileType) is { } name)
            return name;
        var dominant = file.Tensors.GroupBy(t => t.Type).MaxBy(g => g.Sum(t => t.ByteSize));
        return dominant?.Key.ToString().ToUpperInvariant() ?? "unknown";
    }

    /// <summary>llama.cpp's llama_ftype values and their names (llama.h).</summary>
    private static string? FileTypeName(uint fileType) => fileType switch
    {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        _ => null,
    };

    private static string DigestOf(IReadOnlyList<string> parts)
    {
        var text = new StringBuilder();
        foreach (var part in parts)
        {
            var info = new FileInfo(part);
            text.Append(info.Name).Append('\n').Append(info.Length).Append('\n').Append(info.LastWriteTimeUtc.Ticks).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
