using KimiSharp.Engine;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Cli.Commands;

/// <summary>Builds the network of a GGUF file for the terminal commands.</summary>
internal static class ModelLoader
{
    public static ILanguageModel Load(string path, int threads) =>
        DeepSeek2Model.Load(path, new ModelOptions(threads));
}
