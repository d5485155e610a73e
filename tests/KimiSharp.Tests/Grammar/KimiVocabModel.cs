using KimiSharp.Models.DeepSeek2;
using KimiSharp.Quants;
using KimiSharp.TestModels;

namespace KimiSharp.Tests.Grammar;

/// <summary>
/// A random-weight deepseek2 model with Kimi-K2's 163,840-token vocabulary (<see cref="KimiLikeVocabulary"/> is
/// its tokenizer): Kimi-tiny's structure made narrow (embedding 32, one dense and one MoE layer, Q8_0), so a
/// token costs about a millisecond. Written once per machine into the temp folder (same seed, same bytes).
/// </summary>
internal static class KimiVocabModel
{
    public static TestModelSpec Spec { get; } = TestModelSpec.KimiTiny with
    {
        Name = "kimi-vocab-tiny",
        EmbeddingLength = 32,
        LayerCount = 2,
        LeadingDenseCount = 1,
        HeadCount = 2,
        QLoraRank = 32,
        KvLoraRank = 32,
        QkNopeHeadDim = 16,
        QkRopeHeadDim = 16,
        VHeadDim = 16,
        DenseFfnLength = 64,
        ExpertFfnLength = 32,
        ExpertCount = 4,
        ExpertUsedCount = 2,
        SharedExpertCount = 1,
        Type = GgmlType.Q8_0,
        IncludeTokenizer = false,
        FullKimiVocabulary = true,
        Seed = 163840,
    };

    private static readonly Lazy<string> LazyPath = new(() =>
    {
        string dir = Path.Combine(Path.GetTempPath(), "kimisharp-tests");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "kimi-vocab-tiny-v1.gguf");
        if (File.Exists(path)) return path;
        string temp = path + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        TestModelWriter.Write(Spec, temp);
        File.Move(temp, path, overwrite: true);
        return path;
    });

    public static string Path_ => LazyPath.Value;

    public static DeepSeek2Model Load(int threads = 1) => DeepSeek2Model.Load(LazyPath.Value, new ModelOptions(threads));
}
