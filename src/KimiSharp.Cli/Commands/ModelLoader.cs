using KimiSharp.Engine;

namespace KimiSharp.Cli.Commands;

/// <summary>Builds the network of a GGUF file for the terminal commands.</summary>
internal static class ModelLoader
{
    public static ILanguageModel Load(string path, int threads) =>
        throw new NotSupportedException("this build has no deepseek2 forward pass yet (branch 'model' not merged)");
}
