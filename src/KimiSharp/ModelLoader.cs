using KimiSharp.Engine;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp;

/// <summary>Builds the network of a GGUF file (for <see cref="LocalModel"/>).</summary>
internal static class ModelLoader
{
    /// <param name="matchRepacking">false: sum as llama.cpp run with --no-repack does (see <see cref="ModelOptions"/>).</param>
    /// <param name="exact">llama.cpp's exact summation order (see <see cref="ModelOptions.Exact"/>).</param>
    public static ILanguageModel Load(string path, int threads, bool matchRepacking = true, bool exact = false) =>
        DeepSeek2Model.Load(path, new ModelOptions(threads, MatchLlamaCppRepacking: matchRepacking, Exact: exact));
}
