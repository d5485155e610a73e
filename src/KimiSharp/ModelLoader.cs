using KimiSharp.Engine;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp;

/// <summary>Builds the network of a GGUF file (for <see cref="LocalModel"/>).</summary>
internal static class ModelLoader
{
    /// <param name="matchRepacking">false: sum as llama.cpp run with --no-repack does (see <see cref="ModelOptions"/>).</param>
    /// <param name="exact">llama.cpp's exact summation order (see <see cref="ModelOptions.Exact"/>).</param>
    /// <param name="kvType">Latent KV cache element type; null = the model's default (F16, F32 with exact).</param>
    public static ILanguageModel Load(string path, int threads, bool matchRepacking = true, bool exact = false, KvCacheType? kvType = null) =>
        DeepSeek2Model.Load(path, new ModelOptions(threads, kvType, MatchLlamaCppRepacking: matchRepacking, Exact: exact));
}
